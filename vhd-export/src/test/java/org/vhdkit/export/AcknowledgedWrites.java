package org.vhdkit.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;

/**
 * The writes a client of an export (an NBD connection, a mounted file) saw acknowledged, by
 * offset, and what must hold for them once the export is closed: {@code check} finds at most
 * leaks in the image, and each reads back. For the fault-injection tests of both exports.
 *
 * <p>Not thread-safe: one test thread.
 */
public final class AcknowledgedWrites {
    private final Map<Long, byte[]> writes = new LinkedHashMap<>();

    public void put(long offset, byte[] data) {
        writes.put(offset, data);
    }

    public byte[] get(long offset) {
        return writes.get(offset);
    }

    /** The writes by offset, in the order they were made (a later one at an offset replaces it). */
    public Map<Long, byte[]> all() {
        return Collections.unmodifiableMap(writes);
    }

    /** Checks the closed image, then opens it: every acknowledged write is there. */
    public void assertInImage(Path image) throws IOException {
        CheckReport report = ImageCheck.check(image, ProgressListener.NONE);
        assertNotEquals(CheckReport.Status.CORRUPT, report.status(), report.toString());
        try (VhdDisk d = Vhd.open(image, OpenOptions.READ_ONLY)) {
            for (Map.Entry<Long, byte[]> w : writes.entrySet()) {
                byte[] back = new byte[w.getValue().length];
                d.read(w.getKey(), back);
                assertArrayEquals(w.getValue(), back, "acknowledged write at " + w.getKey());
            }
        }
    }

    /** {@code length} random bytes from {@code seed}. */
    public static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }
}
