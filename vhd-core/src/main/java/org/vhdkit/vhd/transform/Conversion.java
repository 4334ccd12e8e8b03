package org.vhdkit.vhd.transform;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.DiskImage;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.RawDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.VhdFormatException;
import org.vhdkit.vhd.io.ByteStore;

/**
 * Writes a disk's contents into a new fixed VHD, dynamic VHD or raw image: Hyper-V's Convert-VHD,
 * qemu-img's convert.
 *
 * <pre>{@code
 * try (VirtualDisk source = Conversion.openSource(Path.of("child.vhd"))) {   // a chain, flattened
 *     Conversion.convert(source, Path.of("standalone.vhd"), ConvertOptions.to(ImageType.DYNAMIC),
 *             ProgressListener.NONE);
 * }
 * }</pre>
 *
 * <p>The result holds what the source reads as, byte for byte, and has the source's size: a
 * differencing chain becomes one standalone disk. It is a new disk: a VHD gets a new unique id, the
 * current time, and Hyper-V's creator fields (so that every tool agrees on its size). Ranges that
 * read as zero are not written (see the package comment), and the file is written beside the target
 * and renamed into place only when it is complete and durable. The source is read on a thread of its
 * own a few chunks ahead of the writes, and the host is asked to write the new file back as it grows
 * (every {@value #WRITEBACK_EVERY} bytes written, {@link VirtualDisk#startWriteback}), so that the
 * force at the end has little left to do.
 *
 * <p>Thread-safety: stateless; safe from any thread. The source must not be written while it is
 * converted.
 */
public final class Conversion {
    /**
     * How many bytes are written between two requests to start the target's writeback. The disk
     * then writes one piece while the next is copied, as it would not before the force: measured on
     * a 1 GiB conversion, the force took about 1 s of a 2-3 s run without them, 0.5 s with them. The
     * request promises nothing: the force and the rename after it make the file durable and visible.
     */
    static final long WRITEBACK_EVERY = 32L << 20;

    private Conversion() {
    }

    /**
     * What a conversion wrote.
     *
     * @param target    the file written
     * @param type      its kind
     * @param size      the virtual size, the source's
     * @param blockSize the block size of a dynamic target; 0 otherwise
     * @param fileSize  the size of the file written (a fixed or raw one is sparse and may take less
     *                  space on the host)
     * @param dataBytes the bytes of data written: the disk less the ranges that read as zero
     */
    public record Result(Path target, ImageType type, long size, int blockSize, long fileSize, long dataBytes) {
    }

    /**
     * Opens a file to convert from, read-only: a VHD of any type (a differencing disk with its parent
     * chain), or else a raw image. A file is taken as a VHD when its name ends in {@code .vhd} or it
     * holds a VHD footer cookie ({@code conectix}) at its start or its end; a VHD that cannot be read
     * is refused as such rather than taken for raw bytes.
     *
     * @throws VhdFormatException when a VHD is damaged, a raw image is empty or not a whole number of
     *                            512-byte sectors, or the file is an image of another format (VHDX,
     *                            QCOW, VMDK, VDI), which would otherwise pass for raw bytes
     * @throws IOException        when the file cannot be opened
     */
    public static VirtualDisk openSource(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        return DiskImage.openReadOnly(path);
    }

    /**
     * Writes the contents of {@code source} into a new file at {@code target}.
     *
     * @param progress told how many bytes of the source are done
     * @throws FileAlreadyExistsException when the target exists and the options do not allow
     *                                    overwriting it
     * @throws FileSystemException        when the target is the source, a file of its parent chain, or
     *                                    not a regular file (a device)
     * @throws VhdFormatException         when the source is larger than a VHD can be (2040 GiB) and the
     *                                    target is a VHD
     * @throws IOException                when reading or writing fails, or a target to be replaced is
     *                                    open for writing; the target is then as it was
     */
    @SuppressWarnings("try") // the target to be replaced is held open, not used
    public static Result convert(VirtualDisk source, Path target, ConvertOptions options, ProgressListener progress)
            throws IOException {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(progress, "progress");
        long size = source.size();
        checkFitsTarget(source, options.type());
        refuseSourceAsTarget(source, target);
        if (!options.overwrite() && Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(target.toString(), null,
                    "the file exists already; refusing to overwrite it");
        }
        if (Files.exists(target) && !Files.isRegularFile(target)) {
            throw new FileSystemException(target.toString(), null, "is not a regular file (a device or a folder?);"
                    + " a conversion writes a new file and renames it into place, which cannot replace it");
        }
        long[] dataBytes = {0};
        long fileSize;
        try (ByteStore replaced = holdForReplacement(target, options);
             StagedFile staged = StagedFile.beside(target)) {
            try (VirtualDisk out = createTarget(staged.path(), size, options)) {
                int piece = DataScan.pieceFor(options.type(), options.blockSize());
                long[] sinceWriteback = {0};
                DataScan.scanAhead(source, piece, progress, (offset, bytes) -> {
                    out.write(offset, bytes);
                    dataBytes[0] += bytes.byteSize();
                    sinceWriteback[0] += bytes.byteSize();
                    if (sinceWriteback[0] >= WRITEBACK_EVERY) {
                        sinceWriteback[0] = 0;
                        out.startWriteback();
                    }
                });
                out.flush();
            }
            fileSize = Files.size(staged.path());
            staged.commit(options.overwrite());
        }
        return new Result(target, options.type(), size, options.blockSize(), fileSize, dataBytes[0]);
    }

    /**
     * A target about to be replaced, held read-only until it is: this refuses a target that a disk of
     * this library (or a VM) has open for writing, and keeps such writers out meanwhile. Null when
     * nothing is replaced.
     */
    private static ByteStore holdForReplacement(Path target, ConvertOptions options) throws IOException {
        if (!options.overwrite() || !Files.exists(target)) {
            return null;
        }
        return ByteStore.open(target, ByteStore.Mode.READ_ONLY, ByteStore.Backing.CHANNEL);
    }

    /** Refuses a source larger than a VHD can be when the target is a VHD. */
    static void checkFitsTarget(VirtualDisk source, ImageType type) throws VhdFormatException {
        long size = source.size();
        if (type != ImageType.RAW && size > Vhd.MAX_SIZE) {
            throw new VhdFormatException(source.name(), "size", -1, size + " bytes is larger than a VHD can be (2040 GiB, "
                    + Vhd.MAX_SIZE + " bytes); convert it to a raw image instead");
        }
    }

    /**
     * A new, empty target: a sparse file of the right size for fixed and raw, opened with the store
     * the file system takes by default. Either store writes with positional writes, never through a
     * mapping: writes through a shared mapping of a sparse file allocated space in the holes between
     * them too (ext4 on Linux 6.18: 56 MiB on the host for 32 MiB of data in half of every 64 KiB;
     * likely the page cache's large folios), where positional writes allocate the blocks they write,
     * as qemu-img's do. On the default file system that is the mapped store, whose descriptor of its
     * own is what {@link VirtualDisk#startWriteback} asks the host through.
     */
    private static VirtualDisk createTarget(Path path, long size, ConvertOptions options) throws IOException {
        CreateOptions vhd = switch (options.type()) {
            case FIXED -> CreateOptions.fixed(size);
            case DYNAMIC -> CreateOptions.dynamic(size).withBlockSize(options.blockSize());
            case RAW -> null;
        };
        if (vhd == null) {
            try (ByteStore store = ByteStore.open(path, ByteStore.Mode.CREATE_NEW)) {
                store.setSize(size);
            }
            return RawDisk.open(path, false);
        }
        Vhd.create(path, vhd).close();
        return Vhd.open(path, OpenOptions.READ_WRITE);
    }

    /**
     * Refuses a target that is the source itself or one of the files it reads from: renaming the
     * result over a parent would break the chain it was read from.
     */
    private static void refuseSourceAsTarget(VirtualDisk source, Path target) throws IOException {
        if (!Files.exists(target)) {
            return;
        }
        for (Path file : filesOf(source)) {
            if (Files.exists(file) && Files.isSameFile(file, target)) {
                throw new FileSystemException(target.toString(), null, file.equals(filesOf(source).getFirst())
                        ? "is the disk being converted; write the result to another file"
                        : "is a parent of the disk being converted; write the result to another file");
            }
        }
    }

    /** The files a disk reads from: a VHD and its parents, or a raw file. */
    private static List<Path> filesOf(VirtualDisk disk) {
        List<Path> files = new ArrayList<>();
        if (disk instanceof VhdDisk vhd) {
            for (VhdDisk layer : vhd.chain()) {
                files.add(layer.path());
            }
        } else if (disk instanceof RawDisk raw) {
            files.add(raw.path());
        }
        return files;
    }
}
