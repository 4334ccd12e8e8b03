package org.vhdkit.vhd.edit;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.format.ParentLocator;
import org.vhdkit.vhd.format.PlatformCode;
import org.vhdkit.vhd.format.VhdFormatException;
import org.vhdkit.vhd.io.ByteStore;

/**
 * Points a differencing disk at another parent: a moved or copied one ({@link RebaseMode#UNSAFE}, the
 * link alone is rewritten), or one with other content ({@link RebaseMode#SAFE}, the disk first takes
 * in whatever of the old parents' content the new parent does not have, so that it shows the same
 * bytes afterwards).
 *
 * <h2>The link</h2>
 * The dynamic header's Parent Unique ID, Parent Time Stamp (the new parent file's modification time)
 * and Parent Unicode Name (its file name), and two parent locators as Windows writes them: W2ku, the
 * absolute path, and W2ru, the path relative to the child's folder. Locators of other platforms,
 * which would still name the old parent, are dropped.
 *
 * <h2>Steps, and what a crash between them leaves</h2>
 * <ol>
 * <li>{@link RebaseMode#SAFE} only: for every range the child does not hold, its content through the
 * old parents is compared with the new parent's, and where they differ, written into the child; then
 * flushed. The child's link is untouched, so this writes into it exactly what it already shows: a
 * crash leaves it showing the same content (with leaked space at worst), and running the rebase
 * again starts over.</li>
 * <li>A copy of the footer beyond the end of the file, leaving room for the new locator data before
 * it. The file still ends in a footer; the old trailer becomes an unused sector.</li>
 * <li>The new locator data, over the old trailer and the room after it: space nothing refers to yet.
 * The old locators' data is never overwritten, so until the next step the old link still resolves.</li>
 * <li>The dynamic header, with the new link. This is the commit: before it the disk is linked to its
 * old parent, after it to the new one. It is one 1024-byte write inside the file's first 4 KiB page,
 * which the kernel writes back as a unit and drives with 4 KiB physical sectors write atomically; a
 * device that tore it would leave a header whose checksum fails, which readers refuse rather than
 * misread, and a second run of the rebase rewrites.</li>
 * </ol>
 * Each step is forced to stable storage before the next. The old locators' data stays in the file,
 * unused: a relink costs a few KiB (the new data, padded so that later blocks stay 4 KiB-aligned).
 *
 * <p>Thread-safety: stateless; safe from any thread. The edits hold the child's exclusive lock.
 */
final class Rebase {
    private static final long WINDOW = 64L << 20;
    private static final int CHUNK = 1 << 20;

    private Rebase() {
    }

    static RebaseResult run(Path child, Path newParent, RebaseMode mode, ProgressListener progress,
                            Checkpoint checkpoint) throws IOException {
        UUID oldParentUuid;
        long childSize;
        try (VhdDisk alone = Vhd.open(child, OpenOptions.READ_ONLY.withoutParent())) {
            if (alone.type() != DiskType.DIFFERENCING) {
                throw new VhdFormatException(child.toString(), "footer Disk Type", alone.fileSize() - Footer.SIZE + Footer.DISK_TYPE_OFFSET,
                        "a " + alone.type().name().toLowerCase(java.util.Locale.ROOT) + " disk has no parent;"
                                + " only a differencing disk can be given another");
            }
            oldParentUuid = alone.dynamicHeader().orElseThrow().parentUuid();
            childSize = alone.size();
        }
        UUID newParentUuid;
        try (VhdDisk parent = Vhd.open(newParent, OpenOptions.READ_ONLY)) {
            for (VhdDisk d : parent.chain()) {
                if (Files.isSameFile(d.path(), child)) {
                    throw new VhdFormatException(child.toString(), "new parent", -1, newParent
                            + (d == parent ? " is this disk itself" : " has this disk in its own parent chain")
                            + "; the chain would be a loop");
                }
            }
            if (parent.size() > childSize) {
                throw new VhdFormatException(child.toString(), "new parent", -1, "the new parent " + newParent
                        + " (" + parent.size() + " bytes) is larger than this disk (" + childSize + " bytes)");
            }
            newParentUuid = parent.footer().uniqueId();
        }
        long copied = 0;
        if (mode == RebaseMode.SAFE) {
            try (VhdDisk disk = Vhd.open(child, OpenOptions.READ_WRITE);
                 VhdDisk parent = Vhd.open(newParent, OpenOptions.READ_ONLY)) {
                copied = keepWhatTheDiskShows(disk, parent, progress);
                disk.flush();
            }
            checkpoint.reached("old content copied");
        }
        relink(child, newParent, oldParentUuid, newParentUuid, checkpoint);
        List<String> warnings = new ArrayList<>();
        if (mode == RebaseMode.UNSAFE && !newParentUuid.equals(oldParentUuid)) {
            warnings.add(child + ": the new parent's UUID (" + newParentUuid + ") is not the old one's ("
                    + oldParentUuid + "), so it is not a copy of it; unless it holds the same data, this disk now"
                    + " shows different content");
        }
        return new RebaseResult(child, newParent, mode, oldParentUuid, newParentUuid, copied, warnings);
    }

    /**
     * Writes into {@code disk}, wherever it holds nothing and what it shows differs from what
     * {@code newParent} holds, what it shows. Returns the bytes written.
     */
    private static long keepWhatTheDiskShows(VhdDisk disk, VirtualDisk newParent, ProgressListener progress)
            throws IOException {
        long size = disk.size();
        byte[] old = new byte[CHUNK];
        byte[] now = new byte[CHUNK];
        long written = 0;
        for (long window = 0; window < size; window += WINDOW) {
            for (Extent extent : disk.extents(window, Math.min(WINDOW, size - window))) {
                if (extent.layer() == 0) {
                    continue; // the disk's own bytes: the parent does not matter there
                }
                for (long at = extent.offset(); at < extent.end(); at += CHUNK) {
                    int n = (int) Math.min(CHUNK, extent.end() - at);
                    disk.read(at, MemorySegment.ofArray(old), 0, n);
                    readOrZeros(newParent, at, now, n);
                    written += writeDifferingSectors(disk, at, old, now, n);
                }
            }
            progress.progress(Math.min(size, window + WINDOW), size);
        }
        return written;
    }

    /** Writes into the disk each run of sectors in which {@code old} and {@code now} differ. */
    private static long writeDifferingSectors(VirtualDisk disk, long at, byte[] old, byte[] now, int n)
            throws IOException {
        long written = 0;
        int sector = VirtualDisk.SECTOR_SIZE;
        int i = 0;
        while (i < n) {
            if (Arrays.equals(old, i, i + sector, now, i, i + sector)) {
                i += sector;
                continue;
            }
            int start = i;
            while (i < n && !Arrays.equals(old, i, i + sector, now, i, i + sector)) {
                i += sector;
            }
            disk.write(at + start, MemorySegment.ofArray(old), start, i - start);
            written += i - start;
        }
        return written;
    }

    /** Reads {@code n} bytes of {@code disk} at {@code at}, zeros beyond its end. */
    private static void readOrZeros(VirtualDisk disk, long at, byte[] dst, int n) throws IOException {
        int inside = (int) Math.max(0, Math.min(n, disk.size() - at));
        if (inside > 0) {
            disk.read(at, MemorySegment.ofArray(dst), 0, inside);
        }
        Arrays.fill(dst, inside, n, (byte) 0);
    }

    /** Rewrites the link: steps 2 to 4 of the class comment. */
    private static void relink(Path child, Path newParent, UUID oldParentUuid, UUID newParentUuid,
                               Checkpoint checkpoint) throws IOException {
        try (ByteStore store = ByteStore.open(child, ByteStore.Mode.READ_WRITE)) {
            ImageFile image = ImageFile.read(store, false);
            DynamicHeader header = image.header();
            if (image.footer.diskType() != DiskType.DIFFERENCING || !header.parentUuid().equals(oldParentUuid)) {
                throw new IOException(child + ": the image changed while it was being rebased; its link was left as"
                        + " it is. Is another program using it?");
            }
            ParentLink link = ParentLink.of(child, newParent, newParentUuid);
            byte[] relative = link.relativeData();
            byte[] absolute = link.absoluteData();
            ParentLocator relativeLocator = ParentLocator.create(PlatformCode.W2RU, image.trailer, relative.length);
            long absoluteAt = image.trailer + relativeLocator.dataSpaceBytes();
            ParentLocator absoluteLocator = ParentLocator.create(PlatformCode.W2KU, absoluteAt, absolute.length);
            long end = absoluteAt + absoluteLocator.dataSpaceBytes();
            long newTrailer = image.trailerAfter(end);

            store.writeBytes(newTrailer, image.footer.encode());
            store.force();
            checkpoint.reached("footer moved to the new end");

            byte[] data = new byte[(int) (end - image.trailer)];
            System.arraycopy(relative, 0, data, 0, relative.length);
            System.arraycopy(absolute, 0, data, (int) (absoluteAt - image.trailer), absolute.length);
            store.writeBytes(image.trailer, data);
            store.force();
            checkpoint.reached("locator data written");

            List<ParentLocator> locators = new ArrayList<>(Collections.nCopies(DynamicHeader.LOCATOR_COUNT,
                    ParentLocator.EMPTY));
            locators.set(0, absoluteLocator); // slot order as Windows writes it
            locators.set(1, relativeLocator);
            image.rewriteHeader(header.withParent(newParentUuid, link.timestamp(), link.name(), locators));
            checkpoint.reached("header written");
        }
    }
}
