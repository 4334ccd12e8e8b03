package org.vhdkit.stack;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.vhdkit.vhd.testing.FuzzTargets;

/**
 * Every fuzz target of storage-stack in one fuzz test: what the profile {@code fuzz} fuzzes, one JVM for the
 * module's targets (see {@link FuzzTargets}). A single target is still fuzzed on its own with
 * {@code -Dvhdkit.fuzz.targets=NAME}.
 */
class EveryTargetFuzzTest {
    private static final FuzzTargets TARGETS = FuzzTargets.of(EveryTargetFuzzTest.class);

    @BeforeAll
    static void seeds() throws IOException {
        int seeds = TARGETS.writeSeeds(EveryTargetFuzzTest.class, "fuzz");
        if (seeds > 0) {
            System.out.println("EveryTargetFuzzTest: " + seeds + " seeds for " + TARGETS);
        }
    }

    @FuzzTest
    void fuzz(FuzzedDataProvider data) throws Throwable {
        TARGETS.dispatch(data);
    }

    @Test
    void findsTheModulesTargets() {
        assertTrue(TARGETS.names().containsAll(java.util.List.of("DescriptorChainFuzzTest", "IdePortFuzzTest", "RingReaderFuzzTest", "ScsiCdbFuzzTest",
                "SnapshotTreeFuzzTest", "StorageProtocolFuzzTest", "VhostUserMessageFuzzTest", "VmConfigurationFuzzTest")), TARGETS::toString);
    }
}
