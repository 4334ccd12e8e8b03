package org.vhdkit.vhd.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * Turns one fuzz input into a child image and, optionally, its parent, in a directory of their own
 * on the default file system (so that the memory-mapped store and the real locks are what is
 * fuzzed). The input is {@code [flags][child length, 4 bytes big-endian][child][parent]}:
 * flag 1 seals every footer and dynamic header found with a correct checksum, flag 2 links the
 * child to the parent (copies the parent's UUID into the child's header and names the parent file
 * there), flag 4 asks the target to write too. Without parent bytes there is no parent file.
 *
 * <p>Not thread-safe: one instance per target, which rewrites the same two files for every input.
 */
public final class FuzzedImages {
    /** The child's file name. */
    public static final String CHILD = "child.vhd";
    /** The parent's file name, which a linked child names. */
    public static final String PARENT = "parent.vhd";

    private static final int FOOTER = 512;
    private static final int HEADER = 1024;

    private final Path directory;

    /** A directory of its own under the system's temporary directory, removed when the JVM exits. */
    public FuzzedImages(String name) {
        try {
            directory = Files.createTempDirectory(name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        directory.toFile().deleteOnExit();
        directory.resolve(CHILD).toFile().deleteOnExit();
        directory.resolve(PARENT).toFile().deleteOnExit();
    }

    /** The directory the images are written to; every clear refusal names a file in it. */
    public Path directory() {
        return directory;
    }

    /** What one input was turned into. */
    public record Images(Path child, boolean write, long writeAt) {
    }

    /** Writes the images {@code input} describes, replacing those of the input before. */
    public Images write(byte[] input) throws IOException {
        int flags = input.length > 0 ? input[0] & 0xFF : 0;
        int childLength = input.length >= 5 ? (int) Math.min(
                Integer.toUnsignedLong(BigEndianBytes.intAt(input, 1)), input.length - 5) : 0;
        byte[] child = Arrays.copyOfRange(input, Math.min(5, input.length), Math.min(5, input.length) + childLength);
        byte[] parent = Arrays.copyOfRange(input, Math.min(5, input.length) + childLength, input.length);
        if ((flags & 2) != 0) {
            link(child, parent);
        }
        if ((flags & 1) != 0) {
            seal(child);
            seal(parent);
        }
        Path childPath = directory.resolve(CHILD);
        Path parentPath = directory.resolve(PARENT);
        Files.write(childPath, child);
        if (parent.length > 0) {
            Files.write(parentPath, parent);
        } else {
            Files.deleteIfExists(parentPath);
        }
        long writeAt = child.length >= 8 ? BigEndianBytes.intAt(child, 0) & 0xFFFF_FFFFL : 0;
        return new Images(childPath, (flags & 4) != 0, writeAt * VirtualDisk.SECTOR_SIZE);
    }

    /** Reads every byte of {@code disk} that holds data, and the first and last sector of every other extent. */
    public static long readAll(VirtualDisk disk) throws IOException {
        long read = 0;
        MemorySegment buffer = MemorySegment.ofArray(new byte[64 * 1024]);
        for (Extent extent : disk.extents(0, disk.size())) {
            long length = extent.isData() ? extent.length() : Math.min(extent.length(), VirtualDisk.SECTOR_SIZE);
            for (long done = 0; done < length; done += buffer.byteSize()) {
                long n = Math.min(buffer.byteSize(), length - done);
                disk.read(extent.offset() + done, buffer, 0, n);
                read += n;
            }
            if (extent.length() > VirtualDisk.SECTOR_SIZE) {
                disk.read(extent.end() - VirtualDisk.SECTOR_SIZE, buffer, 0, VirtualDisk.SECTOR_SIZE);
            }
        }
        return read;
    }

    private static void link(byte[] child, byte[] parent) {
        long header = headerOffset(child);
        if (header < 0 || header > child.length - HEADER || parent.length < FOOTER) {
            return;
        }
        System.arraycopy(parent, parent.length - FOOTER + 68, child, (int) header + 40, 16);
        byte[] name = PARENT.getBytes(StandardCharsets.UTF_16BE);
        Arrays.fill(child, (int) header + 64, (int) header + 64 + 512, (byte) 0);
        System.arraycopy(name, 0, child, (int) header + 64, name.length);
    }

    private static void seal(byte[] image) {
        if (image.length >= FOOTER && startsWith(image, image.length - FOOTER, "conectix")) {
            Fuzzing.seal(image, image.length - FOOTER, FOOTER, 64);
        }
        if (image.length >= 2 * FOOTER && startsWith(image, 0, "conectix")) {
            Fuzzing.seal(image, 0, FOOTER, 64);
        }
        long header = headerOffset(image);
        if (header >= 0 && header <= image.length - HEADER && startsWith(image, header, "cxsparse")) {
            Fuzzing.seal(image, header, HEADER, 36);
        }
    }

    /** The trailing footer's Data Offset, or the copy's when there is no trailing footer; -1 if neither. */
    private static long headerOffset(byte[] image) {
        if (image.length >= FOOTER && startsWith(image, image.length - FOOTER, "conectix")) {
            return Fuzzing.longAt(image, image.length - FOOTER + 16);
        }
        return startsWith(image, 0, "conectix") ? Fuzzing.longAt(image, 16) : -1;
    }

    private static boolean startsWith(byte[] bytes, long at, String cookie) {
        byte[] c = cookie.getBytes(StandardCharsets.US_ASCII);
        return at >= 0 && at <= bytes.length - c.length
                && Arrays.equals(bytes, (int) at, (int) at + c.length, c, 0, c.length);
    }

    private static final class BigEndianBytes {
        static int intAt(byte[] b, int at) {
            return (b[at] & 0xFF) << 24 | (b[at + 1] & 0xFF) << 16 | (b[at + 2] & 0xFF) << 8 | (b[at + 3] & 0xFF);
        }
    }
}
