package org.vhdkit.stack.snapshot;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.vhd.ProgressListener;

/**
 * One VM's folder as its snapshot tree sees it: the VM, the tree state as last read or written, where
 * the files the tree makes go and how they are named, and the hook tests stop an operation at. The
 * jobs of {@link Snapshots} ({@link TreeQueries}, {@link TreeOperations}, {@link Recovery},
 * {@link Collapse}, {@link TreeCheck}) share one.
 *
 * <p>Not thread-safe: {@link Snapshots} calls it under its guard.
 */
final class SnapshotFolder {
    private static final Pattern MADE = Pattern.compile(".*_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\.avhd");
    static final String STATES = "snapshots";

    final VirtualMachine vm;
    final Path folder;
    /** The tree as last read or written; replaced when a failed operation reads it back. */
    TreeState tree;
    volatile Snapshots.Checkpoint checkpoint = Snapshots.Checkpoint.NONE;

    SnapshotFolder(VirtualMachine vm) {
        this.vm = vm;
        this.folder = vm.folder();
    }

    /** Whether {@code fileName} is the name of an AVHD file the tree could have made ({@code STEM_UUID.avhd}). */
    static boolean isMadeName(String fileName) {
        return MADE.matcher(fileName).matches();
    }

    /** Reads the tree from the folder afresh. */
    void reread() throws IOException {
        tree = TreeState.read(folder);
    }

    /** Writes the tree to the folder, atomically. */
    void write() throws IOException {
        tree.write(folder);
    }

    /** Tells the test hook that the durable step {@code step} is done. */
    void reached(String step) throws IOException {
        checkpoint.reached(step);
    }

    /**
     * A merge's copy as checkpoint steps ({@code "merge: rebasing DONE of TOTAL"}), so that a test can
     * stop inside it; nothing when no checkpoint is set. Progress cannot throw: an IOException from
     * the checkpoint goes out unchecked.
     */
    ProgressListener rebaseProgress() {
        Snapshots.Checkpoint hook = checkpoint;
        if (hook == Snapshots.Checkpoint.NONE) {
            return ProgressListener.NONE;
        }
        return (done, total) -> {
            try {
                hook.reached("merge: rebasing " + done + " of " + total);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        };
    }

    /** The folder of a snapshot's saved state. */
    Path stateDir(UUID id) {
        return folder.resolve(STATES).resolve(id.toString());
    }

    Optional<Path> savedStateOf(Snapshot s) {
        return s.savedState() ? Optional.of(stateDir(s.id())) : Optional.empty();
    }

    /** A new AVHD file's name for a differencing disk on {@code top}: its stem, an underscore and a new UUID. */
    Path newFileFor(Path top) {
        String stem = top.getFileName().toString().replaceFirst("\\.[^.]*$", "")
                .replaceFirst("_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", "");
        return folder.resolve(stem + "_" + UUID.randomUUID() + ".avhd");
    }

    /** The VHD files the VM's configuration attaches. */
    List<Path> configured() {
        return vm.configuration().attachments().stream().filter(a -> a.kind() == Attachment.Kind.DISK)
                .map(Attachment::path).toList();
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }

    SnapshotException fail(String what, IOException e) {
        return new SnapshotException("'" + vm.name() + "': " + what + ": " + e.getMessage(), e);
    }
}
