package org.vhdkit.vhd.edit;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;
import org.vhdkit.vhd.ProgressListener;

/**
 * Edits of existing VHD files in place: resize, merge, rebase and set. The entry point of this
 * package; see the package comment for the crash safety they share.
 *
 * <pre>{@code
 * ImageEdits.resize(Path.of("disk.vhd"), 20L << 30, false, ProgressListener.NONE);
 * ImageEdits.merge(Path.of("snapshot.vhd"), MergeOptions.INTO_PARENT, ProgressListener.NONE);
 * ImageEdits.rebase(Path.of("child.vhd"), Path.of("/new/place/base.vhd"), RebaseMode.UNSAFE, ProgressListener.NONE);
 * ImageEdits.set(Path.of("copy.vhd"), FooterChanges.NONE.withUniqueId(UUID.randomUUID()));
 * }</pre>
 *
 * <p>Every method refuses what it cannot do safely with a {@link org.vhdkit.vhd.format.VhdFormatException}
 * naming the file and the reason, before it writes anything; an {@link IOException} other than that
 * one is a failure of the file system, after which the files are still valid as the package comment
 * describes.
 *
 * <p>Thread-safety: every method is safe to call from any thread. Each takes the exclusive lock of
 * the files it writes for as long as it writes them, so it is refused (with an {@link IOException}
 * naming the holder) while another program, or this one, has them open; two edits of one file never
 * overlap.
 */
public final class ImageEdits {
    /**
     * The field of the {@link org.vhdkit.vhd.format.VhdFormatException} that refuses a shrink that would
     * lose data: the one refusal of {@link #resize} that the caller may override.
     */
    public static final String DATA_BEYOND_NEW_SIZE = Resize.DATA_BEYOND_NEW_SIZE;

    private ImageEdits() {
    }

    /**
     * Grows or shrinks a fixed, dynamic or differencing disk to {@code newSize} bytes. A shrink is
     * refused when the range cut off holds data, unless {@code discardData}, and always when it would
     * make a differencing disk smaller than its parent. See {@link Resize} for the steps.
     *
     * @param newSize     a multiple of 512 bytes up to {@link org.vhdkit.vhd.Vhd#MAX_SIZE}
     * @param discardData shrink even when the range cut off holds data, which is lost
     * @param progress    told how much of the range cut off has been checked (shrinking only)
     * @throws IllegalArgumentException when {@code newSize} is out of range
     * @throws org.vhdkit.vhd.format.VhdFormatException with field {@value #DATA_BEYOND_NEW_SIZE} when the
     *         range a shrink would cut off holds data (and {@code discardData} was not given), naming the
     *         first non-zero byte; with another field for every other refusal
     */
    public static ResizeResult resize(Path file, long newSize, boolean discardData, ProgressListener progress)
            throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(progress, "progress");
        return Resize.run(file, newSize, discardData, progress, Checkpoint.NONE);
    }

    /**
     * Merges the differencing disk {@code top} into its parent, or into the ancestor
     * {@link MergeOptions#into()} names, then deletes the disks merged unless
     * {@link MergeOptions#keep()}. See {@link Merge} for how, and why a crash loses nothing.
     *
     * @param progress told how many bytes of {@code top} have been merged, of its size
     */
    public static MergeResult merge(Path top, MergeOptions options, ProgressListener progress) throws IOException {
        Objects.requireNonNull(top, "top");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(progress, "progress");
        return Merge.run(top, options, progress, Checkpoint.NONE);
    }

    /**
     * Links the differencing disk {@code child} to {@code newParent}, which must not be larger than it.
     * See {@link Rebase} for the steps.
     *
     * @param progress told how many bytes of {@code child} have been compared ({@link RebaseMode#SAFE})
     */
    public static RebaseResult rebase(Path child, Path newParent, RebaseMode mode, ProgressListener progress)
            throws IOException {
        Objects.requireNonNull(child, "child");
        Objects.requireNonNull(newParent, "newParent");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(progress, "progress");
        return Rebase.run(child, newParent, mode, progress, Checkpoint.NONE);
    }

    /** Changes the footer fields {@code changes} names. See {@link FooterEdit} for the steps. */
    public static SetResult set(Path file, FooterChanges changes) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(changes, "changes");
        return FooterEdit.run(file, changes, Checkpoint.NONE);
    }
}
