package org.vhdkit.stack.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;
import org.vhdkit.vhd.testing.Fuzzing;

/**
 * Fuzzes reading a VM configuration ({@code vm.json}): any bytes either decode to a configuration
 * that validates, encodes and decodes again to the same configuration, or are refused with a
 * {@link VmConfigurationException} naming the file.
 */
class VmConfigurationFuzzTest {
    private static final Path FILE = Path.of("/vms/fuzzed/vm.json");

    @FuzzTest
    void decode(byte[] input) {
        VmConfiguration configuration;
        try {
            configuration = ConfigurationFile.decode(FILE, input);
        } catch (VmConfigurationException e) {
            Fuzzing.assertClear(e, FILE.toString());
            return;
        }
        try {
            assertEquals(configuration, ConfigurationFile.decode(FILE, ConfigurationFile.encode(configuration)),
                    "a configuration read encodes and reads back the same");
        } catch (VmConfigurationException e) {
            throw new AssertionError("a configuration read is refused once written back: " + e.getMessage(), e);
        }
    }
}
