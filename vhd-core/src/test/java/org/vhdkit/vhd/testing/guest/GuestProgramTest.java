package org.vhdkit.vhd.testing.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * The guest benchmark the tooling compiles, run on the host (a static x86-64 program runs as well
 * there): built static and cached, it does the requests it was asked for, really writes with
 * {@code -w}, and fails with the device's name when it cannot open it.
 */
class GuestProgramTest {
    private Path dir;

    @BeforeEach
    void folder() throws IOException {
        // Under target/, not /tmp: O_DIRECT needs a real file system, and /tmp may be tmpfs.
        Files.createDirectories(Path.of("target"));
        dir = Files.createTempDirectory(Path.of("target"), "qdbench-");
    }

    @AfterEach
    void clean() throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    @Test
    void qdbenchIsBuiltStaticOnceAndDoesTheRequestsAskedFor() throws IOException {
        ExternalTools.assumeAvailable("gcc");
        GuestCache cache = new GuestCache(Files.createDirectories(dir.resolve("cache")));
        GuestProgram program = GuestProgram.find(LinuxGuest.QDBENCH).orElseThrow();
        Path built = program.build(cache);
        assertEquals(Files.getLastModifiedTime(built), Files.getLastModifiedTime(program.build(cache)), "cached, not rebuilt");
        assertNotEquals(0, ExternalTools.run(Duration.ofSeconds(30), "ldd", built.toString()).exitCode(),
                "static: the initramfs has no C library");

        Path file = dir.resolve("disk.img");
        Files.write(file, new byte[1 << 20]);
        ExternalTools.Result reads = ExternalTools.run(Duration.ofSeconds(60), built.toString(), "-d", "8", "-n", "300",
                file.toString()).requireSuccess();
        assertTrue(reads.stdout().startsWith("qdbench depth=8 bytes=4096 requests=300 seconds="), reads.stdout());
        assertTrue(reads.stdout().contains(" iops=") && reads.stdout().contains(" lat_p99_us="), reads.stdout());

        // Consecutive 4 KiB writes over the whole 1 MiB: every byte now holds the pattern.
        ExternalTools.run(Duration.ofSeconds(60), built.toString(), "-w", "-q", "-d", "4", "-n", "256",
                file.toString()).requireSuccess();
        byte[] pattern = new byte[1 << 20];
        Arrays.fill(pattern, (byte) 0x5a);
        assertTrue(Arrays.equals(pattern, Files.readAllBytes(file)), "qdbench -w wrote every block");

        ExternalTools.Result missing = ExternalTools.run(Duration.ofSeconds(30), built.toString(),
                dir.resolve("absent").toString());
        assertEquals(1, missing.exitCode());
        assertTrue(missing.stderr().contains("absent: No such file"), missing.stderr());
    }

    @Test
    void onlyProgramsWithSourceBesideTheToolingAreBuilt() throws IOException {
        assertTrue(GuestProgram.find("mke2fs").isEmpty(), "a host program is copied, not built");
        assertTrue(GuestProgram.find("../init").isEmpty(), "no paths");
    }
}
