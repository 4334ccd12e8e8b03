package org.vhdkit.vhd.powerloss;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.testing.CrashState;
import org.vhdkit.vhd.testing.CrashStates;
import org.vhdkit.vhd.testing.RecordingLog;

/**
 * Regression: {@code Vhd.create} forced the new file but not its folder, so a power cut soon after
 * it returned could leave no file at all (a file system makes a new name durable when the folder
 * is forced, not the file). Recorded with names durable only after a folder force: once
 * {@code create} has returned, every state a cut can leave holds the file.
 */
class CreatedImageNameTest {
    @TempDir
    Path dir;

    @Test
    void aCreatedImageKeepsItsNameThroughAPowerCutOnceCreateReturned() throws Exception {
        RecordingLog log = RecordingLog.of(dir);
        log.record(() -> {
            try (VhdDisk d = Vhd.create(dir.resolve("new.vhd"), CreateOptions.dynamic(16 << 20))) {
                return d.size();
            }
        });
        int end = log.position();
        assertTrue(log.events().stream().anyMatch(e -> e instanceof RecordingLog.FolderForce), "the folder was forced");
        List<CrashState> states = CrashStates.of(log, 0, end, new Random(1), 4, CrashStates.Names.DURABLE_AFTER_FOLDER_FORCE);
        boolean lostBeforeTheForce = false;
        for (CrashState s : states) {
            if (s.cut() == end) {
                assertTrue(s.files().containsKey("new.vhd"), s + " lost the file created");
            } else {
                lostBeforeTheForce |= !s.files().containsKey("new.vhd");
            }
        }
        assertFalse(states.stream().filter(s -> s.cut() == end).toList().isEmpty(), "states at the end of the log");
        assertTrue(lostBeforeTheForce, "a cut before the folder force may lose the name (the model is not blind)");
    }
}
