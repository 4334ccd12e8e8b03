package org.vhdkit.vhd.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.io.ByteStore;

/**
 * Several threads writing a dynamic disk from its start, as {@code vhd bench -w -d 2} does: one
 * thread allocates blocks (growing the file, which re-maps its end) while the others copy into the
 * mapping being replaced. Closing a shared arena under a copy sets the copying thread's interrupt
 * status (JDK 25); left set, the thread's next growing write closed the file's channel
 * (ClosedByInterruptException, then ClosedChannelException for every thread).
 */
class ConcurrentAllocationTest {
    private static final int THREADS = 4;
    private static final long SIZE = 64L << 20;
    private static final int REQUEST = 4096;

    @TempDir
    Path tmp;

    @Test
    void threadsAllocatingBlocksOfAMappedDiskAllSucceedAndReadBack() throws Exception {
        Path path = tmp.resolve("d.vhd");
        Vhd.create(path, CreateOptions.dynamic(SIZE)).close();
        AtomicLong next = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (VhdDisk disk = Vhd.open(path, OpenOptions.READ_WRITE.withBacking(ByteStore.Backing.MAPPED))) {
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                threads.add(Thread.ofPlatform().name("writer-" + t).start(() -> {
                    byte[] bytes = new byte[REQUEST];
                    long i;
                    while (failure.get() == null && (i = next.getAndIncrement()) < SIZE / REQUEST) {
                        Arrays.fill(bytes, (byte) (i % 251 + 1));
                        try {
                            disk.write(i * REQUEST, bytes);
                        } catch (IOException | RuntimeException e) {
                            failure.compareAndSet(null, e);
                        }
                    }
                }));
            }
            for (Thread thread : threads) {
                thread.join();
            }
            assertNull(failure.get(), () -> "a write failed: " + failure.get());
        }
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            byte[] expected = new byte[REQUEST];
            byte[] actual = new byte[REQUEST];
            for (long i = 0; i < SIZE / REQUEST; i++) {
                Arrays.fill(expected, (byte) (i % 251 + 1));
                disk.read(i * REQUEST, actual);
                assertArrayEquals(expected, actual, "request " + i);
            }
        }
    }
}
