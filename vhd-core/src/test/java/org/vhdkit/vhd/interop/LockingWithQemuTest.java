package org.vhdkit.vhd.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.testing.ExternalTools;
import org.vhdkit.vhd.testing.ExternalTools.Result;

/**
 * How our file locks and qemu's meet. qemu (7.2) locks an image with open-file-description read
 * locks on single bytes: 100 + n for each permission it holds (n: 0 consistent read, 1 write, ...)
 * and 200 + n for each it refuses to share; before opening it tests whether anyone's lock covers
 * the bytes it must not meet. vhd-core takes part in the same protocol ({@code io.OfdLock}): readers
 * share with readers, qemu's included, and a writer is alone.
 */
class LockingWithQemuTest {
    @TempDir
    Path tmp;

    /**
     * Two readers do not exclude each other: while vhd-core reads an image, qemu-img info and map
     * read it too. (A whole-file read lock, as vhd-core first took, covers qemu's bytes 101 and 201
     * and made qemu refuse: {@code Failed to get shared "write" lock}.)
     */
    @Test
    void qemuReadsAnImageWeOnlyRead() throws IOException {
        ExternalTools.assumeAvailable("qemu-img");
        Path image = tmp.resolve("read.vhd");
        try (VhdDisk disk = Vhd.create(image, CreateOptions.dynamic(8L * Interop.MIB))) {
            disk.write(0, new byte[] {1});
        }
        try (VhdDisk reader = Vhd.openReadOnly(image)) {
            Result info = Interop.qemuImg("info", "--output=json", "-f", "vpc", image.toString());
            assertEquals(0, info.exitCode(), () -> "qemu-img info while vhd-core reads the image: " + info.stderr());
            Result map = Interop.qemuImg("map", "--output=json", "-f", "vpc", image.toString());
            assertEquals(0, map.exitCode(), () -> "qemu-img map while vhd-core reads the image: " + map.stderr());
            try (VhdDisk second = Vhd.openReadOnly(image)) {
                assertEquals(reader.size(), second.size());
            }
        }
    }

    @Test
    void qemuRefusesAnImageWeHoldOpenForWriting() throws IOException {
        ExternalTools.assumeAvailable("qemu-img");
        Path image = tmp.resolve("written.vhd");
        try (VhdDisk writer = Vhd.create(image, CreateOptions.dynamic(8L * Interop.MIB))) {
            Result info = Interop.qemuImg("info", "-f", "vpc", image.toString());
            assertNotEquals(0, info.exitCode(), info::toString);
            assertTrue(info.stderr().contains("Failed to"), info::toString); // "Failed to lock byte 201"
            // -U (force share) reads it anyway, as documented.
            Interop.qemuImg("info", "-U", "-f", "vpc", image.toString()).requireSuccess();
        }
    }

    /**
     * While qemu-io has an image open for writing (byte 101 locked), we refuse to write it and to
     * read it, as qemu-img itself does without -U, and the refusal names qemu-io's process.
     */
    @Test
    void weRefuseToReadOrWriteAnImageQemuHoldsOpenForWriting() throws Exception {
        ExternalTools.assumeAvailable("qemu-img", "qemu-io");
        Path image = tmp.resolve("qemu-holds.vhd");
        Interop.qemuImg("create", "-q", "-f", "vpc", "-o", "subformat=dynamic,force_size=on", image.toString(), "8M")
                .requireSuccess();
        Path qemuIo = ExternalTools.find("qemu-io").orElseThrow();
        Process holder = new ProcessBuilder(qemuIo.toString(), "-f", "vpc", "-c", "sleep 20000", image.toString())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            waitForQemuLock(image, holder);
            assertThrows(IOException.class, () -> Vhd.open(image, OpenOptions.READ_WRITE).close(),
                    "a second writer beside qemu is refused");
            IOException refused = assertThrows(IOException.class, () -> Vhd.openReadOnly(image).close(),
                    "a reader of an image qemu is writing is refused");
            assertTrue(refused.getMessage().contains("pid " + holder.pid()), refused.getMessage());
            assertTrue(refused.getMessage().contains("qemu-io"), refused.getMessage());
        } finally {
            holder.destroyForcibly();
            holder.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** Waits until /proc/locks shows an OFD lock on the image's inode (qemu-io has opened it). */
    private static void waitForQemuLock(Path image, Process holder) throws Exception {
        long inode = ((Number) Files.getAttribute(image, "unix:ino")).longValue();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            assertTrue(holder.isAlive(), () -> "qemu-io exited early: " + holder.exitValue());
            List<String> locks = Files.readAllLines(Path.of("/proc/locks"));
            if (locks.stream().anyMatch(l -> l.contains("OFDLCK") && l.matches(".*:" + inode + " .*"))) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("qemu-io did not lock " + image + " within 10 s");
    }
}
