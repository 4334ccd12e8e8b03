package org.vhdkit.vhd.transform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.vhdkit.vhd.transform.TestDisks.MIB;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.disk.MemoryDisk;

/**
 * The read-ahead walk conversion uses: it must hand over exactly what the plain walk does (the
 * runs of non-zero pieces, in order, with their bytes), and its reader thread must be gone when it
 * returns, also when the sink fails.
 */
class DataScanTest {

    /** A run handed over: where, and its bytes, copied (they are valid only during the call). */
    private record Run(long offset, byte[] bytes) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Run r && r.offset == offset && java.util.Arrays.equals(r.bytes, bytes);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(offset);
        }

        @Override
        public String toString() {
            return "Run[" + offset + ", " + bytes.length + " bytes]";
        }
    }

    @Test
    void readingAheadHandsOverTheSameRunsAsThePlainWalk() throws IOException {
        // 41 MiB and a sector: more chunks than the reader keeps ready, and a last piece shorter than the others.
        long size = 41L * MIB + 512;
        try (MemoryDisk disk = MemoryDisk.create("mixed", size)) {
            TestDisks.fill(disk, new byte[(int) size], 7);
            byte[] last = {1, 2, 3};
            disk.write(size - 3, last);
            for (int piece : new int[] {512, 4096}) {
                List<Run> plain = new ArrayList<>();
                DataScan.scan(disk, piece, ProgressListener.NONE, (offset, bytes) -> plain.add(run(offset, bytes)));
                List<Run> ahead = new ArrayList<>();
                List<Long> progress = new ArrayList<>();
                DataScan.scanAhead(disk, piece, (done, total) -> progress.add(done),
                        (offset, bytes) -> ahead.add(run(offset, bytes)));
                assertEquals(plain, ahead, "piece " + piece);
                assertEquals(size, progress.getLast());
                assertEquals(progress.stream().sorted().toList(), progress, "progress never goes back");
                assertEquals(size - 512, plain.getLast().offset(), "the short last piece is handed over");
            }
        }
    }

    @Test
    void aSinkThatFailsStopsTheReaderBeforeTheScanReturns() throws IOException {
        long size = 64L * MIB;
        try (MemoryDisk disk = MemoryDisk.create("data", size)) {
            byte[] ones = new byte[MIB];
            java.util.Arrays.fill(ones, (byte) 1);
            for (long at = 0; at < size; at += MIB) {
                disk.write(at, ones);
            }
            IOException failure = new IOException("target full");
            AtomicInteger calls = new AtomicInteger();
            IOException e = assertThrows(IOException.class, () -> DataScan.scanAhead(disk, 4096, ProgressListener.NONE,
                    (offset, bytes) -> {
                        if (calls.incrementAndGet() == 2) {
                            throw failure;
                        }
                    }));
            assertSame(failure, e);
            assertEquals(2, calls.get(), "no run is handed over after the failure");
            assertFalse(Thread.getAllStackTraces().keySet().stream()
                    .anyMatch(t -> t.getName().equals("vhd-scan-reader")), "the reader thread is still running");
        }
    }

    private static Run run(long offset, MemorySegment bytes) {
        return new Run(offset, bytes.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    }
}
