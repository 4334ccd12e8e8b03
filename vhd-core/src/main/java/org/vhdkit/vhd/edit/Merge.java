package org.vhdkit.vhd.edit;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.format.VhdFormatException;

/**
 * Merges a differencing disk into an ancestor: everything the disk shows that the disks above the
 * ancestor hold is written into the ancestor, which then shows what the disk showed; the disks above
 * it are deleted, the disk named first, unless kept.
 *
 * <h2>How the data is found</h2>
 * The disks above the ancestor are each opened alone ({@link OpenOptions#withoutParent()}), and the
 * ancestor for writing, with its own parents read-only: the disks above it are not its parents, so
 * no file is opened twice. Which disk holds each range is resolved here, top down: the disk named
 * first says which ranges it holds ({@link VirtualDisk#extents}); the rest are asked of its parent,
 * and so on; what reaches the ancestor is the ancestor's already. Each range is read from the disk
 * that holds it and written into the ancestor. (Opening the top with its chain would read the merged
 * view directly, but would hold the ancestor open read-only, and it could not be written.)
 *
 * <h2>Sizes</h2>
 * Each disk must be at least as large as its parent. When the disk merged is larger than the
 * ancestor, the ancestor is first grown to its size ({@link Resize}).
 *
 * <h2>Why a crash leaves every file readable and the disk showing the same content</h2>
 * Before the deletions, the only file written is the ancestor, and only at sectors that some disk
 * above it holds. The disk merged reads each such sector from that disk, not from the ancestor, so
 * what it shows never changes, however far the copy got; the disks above the ancestor are only read.
 * The ancestor itself is written through {@link VhdDisk}, whose allocation order leaves a valid file
 * after a crash at any point (at worst with leaked space). After the copy is flushed, the disks are
 * deleted from the top down: a crash among the deletions leaves the ancestor complete and, at worst,
 * disks below the deleted top that nothing uses any more. Running the merge again after a crash
 * before the deletions copies the same bytes again and completes it.
 *
 * <h2>Other children</h2>
 * Any other differencing disk made on the ancestor, or on a disk between it and the disk merged,
 * shows other content afterwards, since its parent's content changed under it. Hyper-V has the same
 * rule. The result warns about it; it cannot name those disks, since nothing records them.
 *
 * <p>Thread-safety: stateless; safe from any thread. The ancestor is held under its exclusive lock
 * for the whole copy.
 */
final class Merge {
    private static final long WINDOW = 64L << 20;
    private static final int CHUNK = 1 << 20;

    private Merge() {
    }

    /** One disk of the chain as found before the merge. */
    private record Layer(Path path, long size) {
    }

    static MergeResult run(Path top, MergeOptions options, ProgressListener progress, Checkpoint checkpoint)
            throws IOException {
        List<Layer> chain = chainOf(top);
        int target = targetIndex(top, chain, options.into());
        for (int i = 0; i < target; i++) {
            if (chain.get(i).size() < chain.get(i + 1).size()) {
                throw new VhdFormatException(chain.get(i).path().toString(), "footer Current Size", -1,
                        "the disk (" + chain.get(i).size() + " bytes) is smaller than its parent "
                                + chain.get(i + 1).path() + " (" + chain.get(i + 1).size() + " bytes); refusing to merge");
            }
        }
        Layer ancestor = chain.get(target);
        long size = chain.getFirst().size();
        boolean grown = false;
        if (size > ancestor.size()) {
            Resize.run(ancestor.path(), size, false, ProgressListener.NONE, checkpoint);
            grown = true;
        }
        long written = copyIntoAncestor(chain, target, progress);
        checkpoint.reached("merged data flushed");

        List<Path> merged = chain.subList(0, target).stream().map(Layer::path).toList();
        List<Path> removed = new ArrayList<>();
        if (!options.keep()) {
            for (Path path : merged) {
                Files.delete(path);
                removed.add(path);
                checkpoint.reached("deleted " + path);
            }
        }
        List<String> warnings = new ArrayList<>();
        warnings.add(ancestor.path() + " now holds the merged content: any other differencing disk made on it"
                + (target > 1 ? " or on the disks merged into it" : "")
                + " shows other content than it was made with");
        if (options.keep() && target > 1) {
            warnings.add("the merged disks were kept: " + top + " still shows the same content, but "
                    + String.join(", ", merged.subList(1, merged.size()).stream().map(Path::toString).toList())
                    + " no longer show theirs");
        }
        if (grown) {
            warnings.add(ancestor.path() + " was grown from " + ancestor.size() + " to " + size
                    + " bytes, the size of " + top);
        }
        return new MergeResult(ancestor.path(), merged, removed, written, grown, warnings);
    }

    /** The disk and its parents, the disk first. */
    private static List<Layer> chainOf(Path top) throws IOException {
        List<Layer> chain = new ArrayList<>();
        try (VhdDisk disk = Vhd.open(top, OpenOptions.READ_ONLY)) {
            if (disk.type() != DiskType.DIFFERENCING) {
                throw new VhdFormatException(top.toString(), "footer Disk Type", disk.fileSize() - Footer.SIZE + Footer.DISK_TYPE_OFFSET,
                        "a " + disk.type().name().toLowerCase(java.util.Locale.ROOT)
                                + " disk has no parent to merge into; only a differencing disk can be merged");
            }
            for (VhdDisk d : disk.chain()) {
                chain.add(new Layer(d.path(), d.size()));
            }
        }
        return chain;
    }

    private static int targetIndex(Path top, List<Layer> chain, Optional<Path> into) throws IOException {
        if (into.isEmpty()) {
            return 1;
        }
        for (int i = 1; i < chain.size(); i++) {
            if (Files.isSameFile(chain.get(i).path(), into.get())) {
                return i;
            }
        }
        if (Files.isSameFile(top, into.get())) {
            throw new VhdFormatException(top.toString(), "merge target", -1, "cannot merge a disk into itself; name"
                    + " one of its parents");
        }
        throw new VhdFormatException(top.toString(), "merge target", -1, into.get() + " is not in this disk's"
                + " parent chain (" + String.join(" -> ", chain.stream().map(l -> l.path().toString()).toList()) + ")");
    }

    /** Copies what the disks above {@code chain[target]} hold into it, flushed. Returns the bytes written. */
    private static long copyIntoAncestor(List<Layer> chain, int target, ProgressListener progress) throws IOException {
        List<VhdDisk> above = new ArrayList<>();
        try (VhdDisk ancestor = Vhd.open(chain.get(target).path(), OpenOptions.READ_WRITE)) {
            try {
                for (int i = 0; i < target; i++) {
                    above.add(Vhd.open(chain.get(i).path(), OpenOptions.READ_ONLY.withoutParent()));
                }
                Copier copier = new Copier(above, ancestor);
                long size = above.getFirst().size();
                for (long window = 0; window < size; window += WINDOW) {
                    copier.copy(0, window, Math.min(WINDOW, size - window));
                    progress.progress(Math.min(size, window + WINDOW), size);
                }
                ancestor.flush();
                return copier.written;
            } finally {
                for (VhdDisk disk : above) {
                    disk.close();
                }
            }
        }
    }

    /** Resolves which disk above the ancestor holds each range, and copies it. Not thread-safe. */
    private static final class Copier {
        private final List<VhdDisk> above;
        private final VhdDisk ancestor;
        private final byte[] buffer = new byte[CHUNK];
        long written;

        Copier(List<VhdDisk> above, VhdDisk ancestor) {
            this.above = above;
            this.ancestor = ancestor;
        }

        /** Copies what disk {@code level} (0 the top) and those below it, above the ancestor, hold in the range. */
        void copy(int level, long offset, long length) throws IOException {
            if (level == above.size()) {
                return; // the ancestor's own
            }
            VhdDisk disk = above.get(level);
            // Beyond a disk's end, the disks above it read zeros; the ancestor (grown, or no larger) has none there.
            long inside = Math.min(length, disk.size() - offset);
            if (inside <= 0) {
                return;
            }
            for (Extent extent : disk.extents(offset, inside)) {
                if (extent.layer() == 0) {
                    copyData(disk, extent.offset(), extent.length());
                } else {
                    copy(level + 1, extent.offset(), extent.length());
                }
            }
        }

        private void copyData(VhdDisk from, long offset, long length) throws IOException {
            for (long at = offset; at < offset + length; at += CHUNK) {
                int n = (int) Math.min(CHUNK, offset + length - at);
                from.read(at, MemorySegment.ofArray(buffer), 0, n);
                if (isZero(buffer, n) && readsAsZero(ancestor, at, n)) {
                    continue; // nothing to write: a dynamic ancestor keeps its space
                }
                ancestor.write(at, MemorySegment.ofArray(buffer), 0, n);
                written += n;
            }
        }

        private static boolean isZero(byte[] bytes, int n) {
            for (int i = 0; i < n; i++) {
                if (bytes[i] != 0) {
                    return false;
                }
            }
            return true;
        }

        private static boolean readsAsZero(VirtualDisk disk, long offset, long length) throws IOException {
            for (Extent extent : disk.extents(offset, length)) {
                if (extent.isData()) {
                    return false;
                }
            }
            return true;
        }
    }
}
