package org.vhdkit.vhd.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.RawDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.io.ForwardingByteStore;
import org.vhdkit.vhd.io.StoreInterception;

/**
 * {@link VirtualDisk#sendable} and {@link VirtualDisk#transferTo}, what the NBD server sends large
 * reads with ({@code sendfile}): only bytes that lie in the file as they are (a dynamic or
 * differencing block holding every sector, a raw or fixed disk's range) are sent, and they are the
 * disk's bytes; holes, a block missing sectors (a parent's, or zeros) and a store that observes
 * reads are left to {@link VirtualDisk#read}.
 */
class DirectTransferTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    /** What {@code transferTo} sends of the range, collected in a file, until it sends nothing more. */
    private byte[] transferred(VirtualDisk disk, long offset, long length) throws IOException {
        Path sink = Files.createTempFile(tmp, "sink", ".bin");
        try (FileChannel target = FileChannel.open(sink, StandardOpenOption.WRITE)) {
            long sent = 0;
            while (sent < length) {
                long n = disk.transferTo(offset + sent, length - sent, target);
                if (n == 0) {
                    break;
                }
                sent += n;
            }
        }
        return Files.readAllBytes(sink);
    }

    private static byte[] read(VirtualDisk disk, long offset, int length) throws IOException {
        byte[] b = new byte[length];
        disk.read(offset, b);
        return b;
    }

    @Test
    void aWholeBlockIsSentUpToItsEndAndHolesAndBlocksMissingSectorsAreNot() throws IOException {
        Path parentPath = tmp.resolve("p.vhd");
        byte[] data = new byte[2 * MIB];
        new Random(1).nextBytes(data);
        try (VhdDisk parent = Vhd.create(parentPath, CreateOptions.dynamic(8 * MIB))) {
            parent.write(2 * MIB, data); // block 1 whole; blocks 0, 2 and 3 holes
        }
        try (VhdDisk parent = Vhd.open(parentPath, OpenOptions.READ_ONLY)) {
            assertEquals(0, parent.sendable(0, MIB), "a hole");
            assertEquals(2 * MIB - 4096, parent.sendable(2 * MIB + 4096, 3 * MIB), "to the end of the whole block");
            assertEquals(0, parent.sendable(4 * MIB, 4096), "a hole after it");
            byte[] sent = transferred(parent, 2 * MIB + 4096, 3 * MIB);
            assertArrayEquals(Arrays.copyOfRange(data, 4096, 2 * MIB), sent);
            assertEquals(0, transferred(parent, 0, MIB).length, "a hole is not sent");
        }
        long bitmap;
        try (VhdDisk parent = Vhd.open(parentPath, OpenOptions.READ_ONLY)) {
            bitmap = parent.blockAllocationTable().orElseThrow().sector(1) * 512L;
        }
        try (FileChannel file = FileChannel.open(parentPath, StandardOpenOption.WRITE)) {
            file.write(java.nio.ByteBuffer.wrap(new byte[] {0x0f}), bitmap); // sectors 0-3 of block 1 now read as zeros
        }
        try (VhdDisk parent = Vhd.open(parentPath, OpenOptions.READ_ONLY)) {
            assertEquals(0, parent.sendable(2 * MIB + 8192, MIB), "a block missing some sectors");
            assertEquals(0, transferred(parent, 2 * MIB + 8192, MIB).length);
            byte[] expected = Arrays.copyOf(data, MIB);
            Arrays.fill(expected, 0, 4 * 512, (byte) 0);
            assertArrayEquals(expected, read(parent, 2 * MIB, MIB), "read() still serves it");
        }
    }

    @Test
    void aRawDiskSendsAnyRangeAsItIs() throws IOException {
        Path path = tmp.resolve("r.img");
        byte[] data = new byte[4 * MIB];
        new Random(2).nextBytes(data);
        Files.write(path, data);
        try (RawDisk disk = RawDisk.open(path, true)) {
            assertEquals(MIB + 5, disk.sendable(12345, MIB + 5));
            assertArrayEquals(Arrays.copyOfRange(data, 12345, 12345 + MIB + 5), transferred(disk, 12345, MIB + 5));
            assertArrayEquals(read(disk, 12345, 100), Arrays.copyOf(transferred(disk, 12345, 100), 100));
        }
    }

    @Test
    void aStoreThatObservesReadsSendsNothing() throws IOException {
        Path path = tmp.resolve("d.vhd");
        try (VhdDisk disk = Vhd.create(path, CreateOptions.dynamic(4 * MIB))) {
            disk.write(0, new byte[2 * MIB]);
        }
        try (VhdDisk disk = StoreInterception.call(s -> new ForwardingByteStore(s) { },
                () -> Vhd.open(path, OpenOptions.READ_ONLY))) {
            assertEquals(0, disk.sendable(0, MIB));
            assertEquals(0, transferred(disk, 0, MIB).length);
        }
    }
}
