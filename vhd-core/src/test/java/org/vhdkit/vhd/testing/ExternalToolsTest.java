package org.vhdkit.vhd.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.TestAbortedException;

class ExternalToolsTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    @Test
    void findsToolsOnPathAndNotMissingOnes() {
        Optional<Path> sh = ExternalTools.find("sh");
        assertTrue(sh.isPresent());
        assertTrue(Files.isExecutable(sh.get()));
        assertTrue(ExternalTools.find("no-such-tool-vhdkit").isEmpty());
    }

    @Test
    void missingToolSkipsNamingToolAndPackageAndFailsInCi() {
        Class<? extends Throwable> expected = ExternalTools.inCi() ? AssertionError.class : TestAbortedException.class;
        Throwable e = assertThrows(expected, () -> ExternalTools.assumeAvailable("sh", "no-such-tool-vhdkit"));
        assertTrue(e.getMessage().contains("no-such-tool-vhdkit"), e.getMessage());
        assertTrue(e.getMessage().contains("scripts/install-test-tools"), e.getMessage());
        assertEquals("qemu-utils", ExternalTools.packageFor("qemu-img"));
        assertEquals("libvhdi-utils", ExternalTools.packageFor("vhdimount"));
        assertEquals("fuse3", ExternalTools.packageFor("fusermount3"));
    }

    @Test
    void aMissingPieceOfTheEnvironmentSkipsOutsideCiAndFailsInCi() {
        TestAbortedException skipped = assertThrows(TestAbortedException.class,
                () -> ExternalTools.assumeEnvironment(false, () -> "no corpus here", false));
        assertEquals("Assumption failed: skipped: no corpus here", skipped.getMessage());
        AssertionError failed = assertThrows(AssertionError.class,
                () -> ExternalTools.assumeEnvironment(false, () -> "no corpus here", true));
        assertEquals("CI=true and the test environment is incomplete: no corpus here", failed.getMessage());
        ExternalTools.assumeEnvironment(true, () -> "present", true);
        ExternalTools.assumeEnvironment(true, () -> "present", false);
        assertEquals("bzip2", ExternalTools.packageFor("bzcat"));
        assertEquals("b3sum", ExternalTools.packageFor("b3sum"));
    }

    @Test
    void qemuImgReportsItsVersion() {
        ExternalTools.assumeAvailable("qemu-img");
        ExternalTools.Result r = ExternalTools.run(TIMEOUT, "qemu-img", "--version").requireSuccess();
        assertTrue(r.stdout().contains("qemu-img version"), r.stdout());
    }

    @Test
    void capturesExitCodeStdoutAndStderr() {
        ExternalTools.Result r = ExternalTools.run(TIMEOUT, "sh", "-c", "echo out; echo err >&2; exit 3");
        assertEquals(3, r.exitCode());
        assertEquals("out\n", r.stdout());
        assertEquals("err\n", r.stderr());
        AssertionError e = assertThrows(AssertionError.class, r::requireSuccess);
        String m = e.getMessage();
        assertTrue(m.contains("exit code 3") && m.contains("echo out") && m.contains("out\n")
                && m.contains("err\n"), m);
    }

    @Test
    void runsInTheGivenDirectory() throws IOException {
        ExternalTools.Result r = ExternalTools.run(tmp, TIMEOUT, List.of("pwd")).requireSuccess();
        assertEquals(tmp.toRealPath().toString(), r.stdout().strip());
    }

    @Test
    void hungCommandIsKilledWithItsChildren() throws IOException {
        Path pidFile = tmp.resolve("child.pid");
        AssertionError e = assertThrows(AssertionError.class, () -> ExternalTools.run(Duration.ofSeconds(1),
                "sh", "-c", "sleep 30 & echo $! > '" + pidFile + "'; echo started; sleep 30"));
        assertTrue(e.getMessage().contains("hung: not finished after PT1S"), e.getMessage());
        assertTrue(e.getMessage().contains("started"), "keeps the output so far: " + e.getMessage());
        long childPid = Long.parseLong(Files.readString(pidFile).strip());
        // The background sleep was a descendant: it must be gone too (or a zombie being reaped).
        // SIGKILL is not instant: allow it a moment to land.
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (isRunning(childPid) && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertFalse(isRunning(childPid), "background child " + childPid + " survived");
    }

    @Test
    void fuseProbeSucceedsWhereFuseIsUsable() {
        // Where /dev/fuse is usable and vhdimount installed, the probe (a hand-made fixed VHD)
        // must mount; otherwise every mount test would be skipped without anyone noticing.
        ExternalTools.assumeAvailable("vhdimount");
        Path dev = Path.of("/dev/fuse");
        ExternalTools.assumeEnvironment(Files.isReadable(dev) && Files.isWritable(dev),
                () -> "/dev/fuse absent or not usable by this user");
        assertEquals("", ExternalTools.fuseProblem());
    }

    @Test
    void mountsDynamicVhdAndShowsItsContents() throws IOException {
        ExternalTools.assumeAvailable("qemu-img", "qemu-io", "vhdimount");
        ExternalTools.assumeFuse();
        Path image = tmp.resolve("dynamic.vhd");
        ExternalTools.run(TIMEOUT, "qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=dynamic",
                image.toString(), "8M").requireSuccess();
        ExternalTools.run(TIMEOUT, "qemu-io", "-f", "vpc", "-c", "write -P 0xab 0 1M", image.toString())
                .requireSuccess();
        Path mountDir = tmp.resolve("mnt");
        ExternalTools.Mount mount = ExternalTools.vhdimount(image, mountDir);
        try {
            assertEquals(mountDir.resolve("vhdi1"), mount.disk());
            assertEquals(List.of(mount.disk()), mount.layers());
            // qemu-img rounds 8M up to a whole CHS geometry.
            assertEquals(8_390_656L, Files.size(mount.disk()));
            byte[] head = new byte[4096];
            try (var in = Files.newInputStream(mount.disk())) {
                assertEquals(head.length, in.readNBytes(head, 0, head.length));
            }
            for (byte b : head) {
                assertEquals((byte) 0xab, b);
            }
        } finally {
            mount.close();
        }
        mount.close(); // idempotent
        assertFalse(ExternalTools.isMounted(mountDir.toRealPath()));
        try (Stream<Path> left = Files.list(mountDir)) {
            assertEquals(0, left.count(), "mount point empty after unmount");
        }
    }

    @Test
    void refusedImageFailsWithVhdimountsMessages() throws IOException {
        ExternalTools.assumeAvailable("vhdimount");
        ExternalTools.assumeFuse();
        Path notVhd = tmp.resolve("not.vhd");
        Files.write(notVhd, new byte[4096]);
        AssertionError e = assertThrows(AssertionError.class,
                () -> ExternalTools.vhdimount(notVhd, tmp.resolve("mnt")));
        assertTrue(e.getMessage().contains("exited with code"), e.getMessage());
        assertFalse(ExternalTools.isMounted(tmp.resolve("mnt").toRealPath()));
    }

    /** Alive and not a zombie waiting to be reaped. */
    private static boolean isRunning(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return !stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException e) {
            return false; // gone
        }
    }
}
