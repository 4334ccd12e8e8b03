package org.vhdkit.stack.snapshot;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.vhdkit.vhd.testing.Fuzzing;

/**
 * Fuzzes reading a VM's snapshot tree ({@code snapshots.json}): any bytes either read as a tree, which
 * writes and reads back, or are refused with a {@link SnapshotException} naming the file.
 */
class SnapshotTreeFuzzTest {
    private static final Path FOLDER = folder();

    private static Path folder() {
        try {
            Path folder = Files.createTempDirectory("vhdkit-snapshots-fuzz");
            folder.toFile().deleteOnExit();
            folder.resolve(TreeState.FILE).toFile().deleteOnExit();
            return folder;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest
    void read(byte[] input) throws IOException {
        Files.write(FOLDER.resolve(TreeState.FILE), input);
        TreeState tree;
        try {
            tree = TreeState.read(FOLDER);
        } catch (SnapshotException e) {
            Fuzzing.assertClear(e, FOLDER.resolve(TreeState.FILE).toString());
            return;
        }
        tree.write(FOLDER);
        TreeState.read(FOLDER);
    }
}
