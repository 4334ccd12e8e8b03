package org.vhdkit.vhd;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.vhdkit.vhd.disk.RawDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.format.VhdFormatException;
import org.vhdkit.vhd.io.ByteStore;

/**
 * Opens a disk image whatever it is, VHD or raw: the entry point for tools that take either
 * ({@code convert}, {@code digest}, {@code compare}, {@code map}). It tells a VHD from a raw image
 * before either is opened, and refuses images of other formats that would otherwise pass for raw
 * bytes.
 *
 * <p>A file is a VHD when its name ends in {@code .vhd}, or when the footer cookie {@code conectix}
 * begins its last 512 bytes (or its last 511, as old Virtual PC left them) or its first 512 (the
 * footer copy of a dynamic or differencing disk). Otherwise it is raw, and must be a non-empty whole
 * number of 512-byte sectors.
 *
 * <p>The file is read through a {@link ByteStore}, which shares this process's one channel to it and
 * honours its locks: a file another process has open for writing is refused here as it would be
 * when opened, and no channel of our own is opened and closed behind the library's back (where
 * locks are POSIX locks, that would drop those the process holds on the file).
 *
 * <p>Thread-safety: stateless; safe from any thread.
 */
public final class DiskImage {
    /** What a file holds. */
    public enum Format {
        /** A VHD: fixed, dynamic or differencing. */
        VHD,
        /** A raw disk image: the disk's bytes, nothing else. */
        RAW
    }

    private static final byte[] COOKIE = Footer.COOKIE.getBytes(StandardCharsets.US_ASCII);

    /** Image formats that would otherwise be taken for raw bytes: their signature, where, and name. */
    private record Signature(long offset, byte[] magic, String format) {
    }

    private static final List<Signature> OTHER_FORMATS = List.of(
            new Signature(0, "vhdxfile".getBytes(StandardCharsets.US_ASCII), "a VHDX image"),
            new Signature(0, new byte[] {'Q', 'F', 'I', (byte) 0xFB}, "a QCOW image"),
            new Signature(0, "KDMV".getBytes(StandardCharsets.US_ASCII), "a VMDK image"),
            new Signature(0x40, new byte[] {0x7F, 0x10, (byte) 0xDA, (byte) 0xBE}, "a VirtualBox VDI image"));

    private DiskImage() {
    }

    /**
     * Opens {@code path} read-only: as a VHD (with its parent chain) when it is one, else as a raw
     * image.
     *
     * @throws VhdFormatException when it is an image of another format, neither a VHD nor a whole
     *                            number of sectors, or a damaged VHD (never read as raw)
     */
    public static VirtualDisk openReadOnly(Path path) throws IOException {
        return switch (probe(path)) {
            case VHD -> Vhd.openReadOnly(path);
            case RAW -> RawDisk.open(path, true);
        };
    }

    /**
     * Opens {@code path} as {@link #openReadOnly} does, or for writing when {@code readOnly} is false
     * (a VHD's parents stay read-only).
     *
     * @throws VhdFormatException as {@link #openReadOnly}
     */
    public static VirtualDisk open(Path path, boolean readOnly) throws IOException {
        if (readOnly) {
            return openReadOnly(path);
        }
        return switch (probe(path)) {
            case VHD -> Vhd.open(path, OpenOptions.READ_WRITE);
            case RAW -> RawDisk.open(path, false);
        };
    }

    /**
     * What {@code path} holds.
     *
     * @throws VhdFormatException when it is an image of another format, or neither a VHD nor a
     *                            whole number of sectors
     */
    public static Format probe(Path path) throws IOException {
        try (ByteStore store = ByteStore.open(path, ByteStore.Mode.READ_ONLY, ByteStore.Backing.CHANNEL)) {
            long size = store.size();
            for (Signature signature : OTHER_FORMATS) {
                if (holds(store, signature.offset(), signature.magic())) {
                    throw new VhdFormatException(path.toString(), "file signature", signature.offset(),
                            "the file is " + signature.format() + ", not a VHD or a raw image; vhdkit reads only"
                                    + " those (qemu-img convert -O vpc makes a VHD of it)");
                }
            }
            Path name = path.getFileName();
            if (name != null && name.toString().toLowerCase(Locale.ROOT).endsWith(".vhd")
                    || holds(store, 0, COOKIE)
                    || holds(store, size - Footer.SIZE, COOKIE)
                    || holds(store, size - (Footer.SIZE - 1), COOKIE)) {
                return Format.VHD;
            }
            if (size == 0 || size % VirtualDisk.SECTOR_SIZE != 0) {
                throw new VhdFormatException(path.toString(), "raw image size", -1, size == 0
                        ? "the file is empty; a raw image holds a disk's bytes"
                        : size + " bytes is not a whole number of 512-byte sectors (" + size % VirtualDisk.SECTOR_SIZE
                                + " bytes too many), so the file is not a raw disk image, and it is not a VHD either");
            }
            return Format.RAW;
        }
    }

    /** Whether the bytes at {@code at} are {@code magic}; false when they lie outside the file. */
    private static boolean holds(ByteStore store, long at, byte[] magic) throws IOException {
        if (at < 0 || at > store.size() - magic.length) {
            return false;
        }
        return Arrays.equals(store.readBytes(at, magic.length), magic);
    }
}
