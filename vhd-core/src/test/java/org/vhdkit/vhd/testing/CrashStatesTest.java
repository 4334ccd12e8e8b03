package org.vhdkit.vhd.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.io.ByteStore;

/** The recorder and the crash states the power-loss simulation rests on. */
class CrashStatesTest {
    private static final int SECTOR = 512;

    @TempDir
    Path dir;
    @TempDir
    Path out;

    private static byte[] filled(int length, char c) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) c);
        return bytes;
    }

    /** What each 512-byte sector of {@code file} holds: its letter, 0 for zeros, '?' for a mixture. */
    private static String sectors(byte[] file) {
        StringBuilder s = new StringBuilder();
        for (int at = 0; at < file.length; at += SECTOR) {
            byte first = file[at];
            boolean same = true;
            for (int i = at; i < Math.min(file.length, at + SECTOR); i++) {
                same &= file[i] == first;
            }
            s.append(!same ? '?' : first == 0 ? '0' : (char) first);
        }
        return s.toString();
    }

    @Test
    void aPowerCutKeepsWhatWasForcedAndAnySubsetOfWhatWasNotInWholeSectors() throws IOException {
        RecordingLog log = RecordingLog.of(dir);
        log.record(() -> {
            try (ByteStore store = ByteStore.open(dir.resolve("f"), ByteStore.Mode.CREATE_NEW)) {
                store.writeBytes(0, filled(2 * SECTOR, 'A'));
                store.force();
                store.writeBytes(0, filled(16 * SECTOR, 'B')); // not forced: may reach the disk in part
            }
            return null;
        });
        log.reconcile();
        int force = log.events().indexOf(new RecordingLog.Force(0));
        List<CrashState> states = CrashStates.of(log, force + 1, log.position(), new Random(7), 60);
        boolean durableOnly = false;
        boolean everything = false;
        boolean torn = false;
        for (CrashState state : states) {
            assertTrue(state.cut() > force, state.toString());
            String s = sectors(state.files().get("f"));
            assertTrue(s.matches("[AB]{2}[B0]*"), state + ": " + s);
            durableOnly |= s.equals("AA");
            everything |= s.equals("B".repeat(16));
            torn |= s.matches("[AB]{2}[B0]*") && s.contains("B") && (s.contains("A") || s.contains("0"));
        }
        assertTrue(durableOnly, "a state keeps only what was forced");
        assertTrue(everything, "a state keeps every write");
        assertTrue(torn, "a state keeps the unforced write in part");
    }

    @Test
    void materialisedStatesHoldTheFilesUnderTheirNames() throws IOException {
        Files.write(dir.resolve("untouched"), filled(10, 'U'));
        RecordingLog log = RecordingLog.of(dir);
        log.record(() -> {
            try (ByteStore store = ByteStore.open(dir.resolve("f"), ByteStore.Mode.CREATE_NEW)) {
                store.writeBytes(0, filled(SECTOR, 'A'));
                store.force();
            }
            return null;
        });
        List<CrashState> states = CrashStates.of(log, 0, log.position(), new Random(1), 0);
        CrashState last = states.stream().filter(s -> s.cut() == log.position()).findFirst().orElseThrow();
        last.materialise(out);
        assertArrayEquals(filled(SECTOR, 'A'), Files.readAllBytes(out.resolve("f")));
        assertArrayEquals(filled(10, 'U'), Files.readAllBytes(out.resolve("untouched")));
    }

    @Test
    void reconcilingSeesARenameAndRefusesBytesTheRecordingDidNotSee() throws IOException {
        RecordingLog log = RecordingLog.of(dir);
        log.record(() -> {
            try (ByteStore store = ByteStore.open(dir.resolve(".x.partial"), ByteStore.Mode.CREATE_NEW)) {
                store.writeBytes(0, filled(SECTOR, 'X'));
                store.force();
            }
            Files.move(dir.resolve(".x.partial"), dir.resolve("x"));
            return null;
        });
        log.reconcile();
        assertEquals(new RecordingLog.Rename(0, "x"), log.events().getLast());

        Files.write(dir.resolve("x"), filled(SECTOR, 'Y')); // not through a recorded store
        assertThrows(AssertionError.class, log::reconcile);
    }
}
