package org.vhdkit.vhd.check;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.format.BlockAllocationTable;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;

/**
 * Images of known content made by the library, and the faults {@code check} must find, injected
 * into their raw bytes while they are closed. Public so that the CLI's tests can use it too.
 *
 * <p>Thread-safety: stateless; each method works on the files it is given.
 */
public final class Faults {
    public static final int MIB = 1 << 20;
    /** The size of the dynamic images: six 2 MiB blocks, of which blocks 0, 1, 3 and 5 are written. */
    public static final long DYNAMIC_SIZE = 12L * MIB;

    private Faults() {
    }

    /** An image made and closed, and the bytes it must read as. */
    public record Image(Path path, byte[] model) {
    }

    /** Where the structures of a dynamic or differencing image are. */
    public record Layout(long fileSize, long trailerAt, long headerAt, long tableOffset, int[] table,
                         int bitmapBytes, int blockSize) {
        /** The file offset of a block's bitmap. */
        public long bitmapAt(int block) {
            return Integer.toUnsignedLong(table[block]) * 512;
        }

        /** The file offset of a block's data. */
        public long dataAt(int block) {
            return bitmapAt(block) + bitmapBytes;
        }

        /** The allocated block whose area ends last in the file. */
        public int lastBlock() {
            int last = -1;
            for (int i = 0; i < table.length; i++) {
                if (table[i] != BlockAllocationTable.UNALLOCATED
                        && (last < 0 || Integer.compareUnsigned(table[i], table[last]) > 0)) {
                    last = i;
                }
            }
            return last;
        }
    }

    /** A 12 MiB dynamic disk with data in blocks 0, 1, 3 and 5, some of it across block edges. */
    public static Image dynamic(Path path, long seed) throws IOException {
        byte[] model = new byte[(int) DYNAMIC_SIZE];
        Random random = new Random(seed);
        try (VhdDisk disk = Vhd.create(path, CreateOptions.dynamic(DYNAMIC_SIZE))) {
            write(disk, model, random, 0, 3000);
            write(disk, model, random, 2L * MIB - 700, 5000);  // blocks 0 and 1
            write(disk, model, random, 6L * MIB + 4096, 70_000); // block 3
            write(disk, model, random, 11L * MIB + 513, 1);    // block 5
        }
        return new Image(path, model);
    }

    /** A 4 MiB fixed disk with some data. */
    public static Image fixed(Path path, long seed) throws IOException {
        byte[] model = new byte[4 * MIB];
        Random random = new Random(seed);
        try (VhdDisk disk = Vhd.create(path, CreateOptions.fixed(model.length))) {
            write(disk, model, random, 0, 1024);
            write(disk, model, random, 3L * MIB + 7, 20_000);
        }
        return new Image(path, model);
    }

    /** A differencing disk over {@code parent}, with writes of its own. */
    public static Image differencing(Path path, Image parent, long seed) throws IOException {
        byte[] model = parent.model().clone();
        Random random = new Random(seed);
        try (VhdDisk disk = Vhd.create(path, CreateOptions.differencing(parent.path()))) {
            write(disk, model, random, 4096 + 100, 2000);
            write(disk, model, random, 8L * MIB + 3, 600);
        }
        return new Image(path, model);
    }

    /** Random bytes at {@code offset}, into the disk and the model. */
    public static void write(VhdDisk disk, byte[] model, Random random, long offset, int length) throws IOException {
        byte[] data = new byte[length];
        random.nextBytes(data);
        disk.write(offset, data);
        System.arraycopy(data, 0, model, (int) offset, length);
    }

    /** The layout of a sound dynamic or differencing image, as the library reads it. */
    public static Layout layout(Path path) throws IOException {
        try (VhdDisk disk = Vhd.open(path, org.vhdkit.vhd.OpenOptions.READ_ONLY.withoutParent())) {
            DynamicHeader header = disk.dynamicHeader().orElseThrow();
            BlockAllocationTable bat = disk.blockAllocationTable().orElseThrow();
            int[] table = new int[bat.size()];
            for (int i = 0; i < table.length; i++) {
                table[i] = bat.entry(i);
            }
            return new Layout(disk.fileSize(), disk.fileSize() - Footer.SIZE, disk.footer().dataOffset(),
                    header.tableOffset(), table, header.bitmapBytes(), header.blockSize());
        }
    }

    // ---------------------------------------------------------------- faults

    /** Flips a bit of the checksum of the footer at the end of the file. */
    public static void flipFooterChecksum(Path path) throws IOException {
        xor(path, Files.size(path) - Footer.SIZE + 64 + 3, 0x10);
    }

    /** Flips a bit of the checksum of the footer copy at offset 0. */
    public static void flipCopyChecksum(Path path) throws IOException {
        xor(path, 64 + 3, 0x10);
    }

    /** Flips a bit of the dynamic header's checksum. */
    public static void flipHeaderChecksum(Path path) throws IOException {
        xor(path, 512 + 36 + 3, 0x01);
    }

    /** Overwrites the trailing footer with zeros, as a torn write of its sector leaves it. */
    public static void damageTrailingFooter(Path path) throws IOException {
        poke(path, Files.size(path) - Footer.SIZE, new byte[Footer.SIZE]);
    }

    /** Points the table entry of {@code block} a thousand sectors past the end of the file. */
    public static void pointBatEntryPastEnd(Path path, int block) throws IOException {
        Layout layout = layout(path);
        setEntry(path, layout, block, layout.fileSize() / 512 + 1000);
    }

    /** Points the table entry of {@code second} at the block of {@code first}. */
    public static void overlapBatEntries(Path path, int first, int second) throws IOException {
        Layout layout = layout(path);
        setEntry(path, layout, second, Integer.toUnsignedLong(layout.table()[first]));
    }

    /** Points the table entry of {@code block} at the table itself. */
    public static void pointBatEntryAtTable(Path path, int block) throws IOException {
        Layout layout = layout(path);
        setEntry(path, layout, block, layout.tableOffset() / 512);
    }

    /** Sets a table entry to {@code sector}. */
    public static void setEntry(Path path, Layout layout, int block, long sector) throws IOException {
        byte[] entry = ByteBuffer.allocate(4).putInt((int) sector).array();
        poke(path, layout.tableOffset() + 4L * block, entry);
    }

    /** Clears the bitmap bit of {@code sector} of {@code block}. */
    public static void clearBitmapBit(Path path, int block, int sector) throws IOException {
        Layout layout = layout(path);
        long at = layout.bitmapAt(block) + sector / 8;
        byte[] b = read(path, at, 1);
        b[0] &= (byte) ~(0x80 >>> (sector % 8));
        poke(path, at, b);
    }

    /**
     * Puts {@code length} bytes of garbage where the trailing footer is, and the footer after them:
     * garbage after the last block.
     */
    public static void garbageBeforeFooter(Path path, int length, long seed) throws IOException {
        long size = Files.size(path);
        byte[] footer = read(path, size - Footer.SIZE, Footer.SIZE);
        byte[] garbage = new byte[length];
        new Random(seed).nextBytes(garbage);
        poke(path, size - Footer.SIZE + length, footer);
        poke(path, size - Footer.SIZE, garbage);
    }

    /** Appends {@code length} bytes of garbage after the trailing footer. */
    public static void garbageAfterFooter(Path path, int length, long seed) throws IOException {
        byte[] garbage = new byte[length];
        new Random(seed).nextBytes(garbage);
        poke(path, Files.size(path), garbage);
    }

    /** Cuts the trailing footer's last byte off: the 511-byte trailer of old Virtual PC versions. */
    public static void shortenFooter(Path path) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
            channel.truncate(channel.size() - 1);
        }
    }

    /**
     * A leaked block: {@code image} is opened, written in block 2 (unallocated until then), and copied to
     * {@code crashed} with the new block's table entry cleared in the copy: what a crash leaves that
     * kept the block and the footer after it but not the entry (a kill in the middle of the allocation,
     * or a power cut). Returns the copy with the content it must read as (the original's before the
     * write). {@code image} itself is changed: do not use its model afterwards.
     */
    public static Image leakBlock(Image image, Path crashed) throws IOException {
        try (VhdDisk disk = Vhd.open(image.path(), org.vhdkit.vhd.OpenOptions.READ_WRITE)) {
            byte[] data = new byte[5000];
            new Random(99).nextBytes(data);
            disk.write(4L * MIB + 1000, data);
            Files.copy(image.path(), crashed);
            poke(crashed, disk.dynamicHeader().orElseThrow().tableOffset() + 4L * 2, new byte[] {-1, -1, -1, -1});
            return new Image(crashed, image.model().clone());
        }
    }

    // ---------------------------------------------------------------- raw bytes

    /** Writes {@code bytes} at {@code offset} of the (closed) file. */
    public static void poke(Path path, long offset, byte[] bytes) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            long at = offset;
            while (buffer.hasRemaining()) {
                at += channel.write(buffer, at);
            }
        }
    }

    /** The {@code length} bytes at {@code offset}. */
    public static byte[] read(Path path, long offset, int length) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocate(length);
            while (buffer.hasRemaining()) {
                if (channel.read(buffer, offset + buffer.position()) < 0) {
                    throw new java.io.EOFException(path + ": " + length + " bytes at " + offset);
                }
            }
            return buffer.array();
        }
    }

    /** XORs one byte of the file with {@code mask}. */
    public static void xor(Path path, long offset, int mask) throws IOException {
        byte[] b = read(path, offset, 1);
        b[0] ^= (byte) mask;
        poke(path, offset, b);
    }

    /** Whether the disk at {@code path} reads exactly as {@code model}. */
    public static void assertReadsAs(byte[] model, Path path) throws IOException {
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            if (disk.size() != model.length) {
                throw new AssertionError(path + ": size " + disk.size() + ", expected " + model.length);
            }
            byte[] all = new byte[model.length];
            disk.read(0, all);
            int mismatch = Arrays.mismatch(all, model);
            if (mismatch >= 0) {
                throw new AssertionError(path + ": byte " + mismatch + " reads " + all[mismatch] + ", expected "
                        + model[mismatch]);
            }
        }
    }
}
