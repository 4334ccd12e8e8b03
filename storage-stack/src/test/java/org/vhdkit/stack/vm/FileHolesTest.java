package org.vhdkit.stack.vm;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.io.Libc;

/** Where FileHoles cannot ask the file system, every range counts as data, so nothing is skipped. */
class FileHolesTest {
    @TempDir
    Path dir;

    private Path sparseFile() throws IOException {
        Path file = dir.resolve("memory.bin");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(1 << 20);
            raf.seek(0);
            raf.write(1);
        }
        return file;
    }

    @Test
    void aHoleIsFoundWhereTheFileSystemIsAsked() throws IOException {
        assumeTrue(Libc.system().isPresent(), "needs Linux and native access");
        try (FileHoles holes = FileHoles.of(sparseFile())) {
            assertFalse(holes.hole(0, 4096), "the first page holds data");
            assertTrue(holes.hole(512 << 10, 4096), "the middle of the file was never written");
        }
    }

    @Test
    void withoutACLibraryOrAnOpenDescriptorNothingIsAHole() throws IOException {
        Path file = sparseFile();
        try (FileHoles holes = FileHoles.of(file, null)) {
            assertFalse(holes.hole(512 << 10, 4096));
        }
        assumeTrue(Libc.system().isPresent(), "needs Linux and native access");
        try (FileHoles holes = FileHoles.of(dir.resolve("missing"), Libc.system().orElseThrow())) {
            assertFalse(holes.hole(0, 4096), "a file that cannot be opened has no known holes");
        }
    }
}
