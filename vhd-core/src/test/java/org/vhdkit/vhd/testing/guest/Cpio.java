package org.vhdkit.vhd.testing.guest;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Writes a cpio archive in the "newc" format, the one the Linux kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst): per entry a 110-byte ASCII header
 * of thirteen 8-digit hex fields after the magic {@code 070701}, the name and its NUL, padding to
 * 4 bytes, the data, padding to 4 bytes; the archive ends with the entry {@code TRAILER!!!}.
 * Timestamps and owners are zero, so the same entries give the same bytes.
 *
 * <p>Not thread-safe: one writer per archive.
 */
final class Cpio implements AutoCloseable {
    static final int TYPE = 0170000;
    static final int DIRECTORY = 0040000;
    static final int REGULAR = 0100000;
    static final int SYMLINK = 0120000;
    static final int CHARACTER_DEVICE = 0020000;

    private final OutputStream out;
    private long written;
    private int inode = 1;

    Cpio(OutputStream out) {
        this.out = out;
    }

    void directory(String name) throws IOException {
        entry(name, DIRECTORY | 0755, new byte[0], 0, 0);
    }

    void file(String name, int permissions, byte[] data) throws IOException {
        entry(name, REGULAR | permissions, data, 0, 0);
    }

    void symlink(String name, String target) throws IOException {
        entry(name, SYMLINK | 0777, target.getBytes(UTF_8), 0, 0);
    }

    void characterDevice(String name, int permissions, int major, int minor) throws IOException {
        entry(name, CHARACTER_DEVICE | permissions, new byte[0], major, minor);
    }

    /** Writes the trailer entry; the stream stays open (its owner closes it). */
    @Override
    public void close() throws IOException {
        entry("TRAILER!!!", 0, new byte[0], 0, 0);
        out.flush();
    }

    private void entry(String name, int mode, byte[] data, int rdevMajor, int rdevMinor) throws IOException {
        byte[] nameBytes = name.getBytes(UTF_8);
        StringBuilder header = new StringBuilder("070701");
        int[] fields = {
            "TRAILER!!!".equals(name) ? 0 : inode++, mode, 0, 0,
            (mode & TYPE) == DIRECTORY ? 2 : 1, // nlink
            0, data.length, 0, 0, rdevMajor, rdevMinor, nameBytes.length + 1, 0,
        };
        for (int field : fields) {
            header.append(String.format("%08x", field));
        }
        write(header.toString().getBytes(US_ASCII));
        write(nameBytes);
        write(new byte[] {0});
        pad();
        write(data);
        pad();
    }

    private void write(byte[] bytes) throws IOException {
        out.write(bytes);
        written += bytes.length;
    }

    private void pad() throws IOException {
        while (written % 4 != 0) {
            out.write(0);
            written++;
        }
    }
}
