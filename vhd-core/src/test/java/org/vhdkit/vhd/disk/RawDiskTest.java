package org.vhdkit.vhd.disk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.testing.ExternalTools;

/** Pass-through disks: a raw file, and a block device (a loop device over a file). */
class RawDiskTest {
    @TempDir
    Path tmp;

    @Test
    void aRawFileIsTheDiskByteForByte() throws IOException {
        Path file = tmp.resolve("raw.img");
        Files.write(file, new byte[1 << 20]);
        byte[] data = new byte[3000];
        new Random(5).nextBytes(data);
        try (RawDisk disk = RawDisk.open(file, false)) {
            assertEquals(1 << 20, disk.size());
            disk.write(4097, data);
        }
        byte[] onFile = Files.readAllBytes(file);
        assertArrayEquals(data, java.util.Arrays.copyOfRange(onFile, 4097, 4097 + data.length));
        assertEquals(1 << 20, onFile.length, "a raw disk never grows its file");
    }

    @Test
    void aFileThatIsNotWholeSectorsIsRefused() throws IOException {
        Path file = tmp.resolve("odd.img");
        Files.write(file, new byte[1000]);
        IOException refused = assertThrows(IOException.class, () -> RawDisk.open(file, true));
        assertTrue(refused.getMessage().contains("1000 bytes"), refused.getMessage());
    }

    @Test
    void aLoopDeviceTakesItsSizeFromTheKernelAndIsHeldExclusively() throws IOException {
        ExternalTools.assumeEnvironment("root".equals(System.getProperty("user.name")), () -> "loop devices need root");
        ExternalTools.assumeAvailable("losetup");
        Path backing = tmp.resolve("backing.img");
        Files.write(backing, new byte[8 << 20]);
        var attached = ExternalTools.run(Duration.ofSeconds(20), "losetup", "-f", "--show", backing.toString());
        ExternalTools.assumeEnvironment(attached.exitCode() == 0,
                () -> "no loop device could be attached: " + attached.stderr());
        Path device = Path.of(attached.stdout().trim());
        try {
            byte[] data = "written through the device".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            try (RawDisk disk = RawDisk.open(device, false)) {
                assertEquals(8 << 20, disk.size());
                disk.write(512, data);
                disk.flush();
                IOException held = assertThrows(IOException.class, () -> RawDisk.open(device, false));
                assertTrue(held.getMessage().contains("in use"), held.getMessage());
            }
            try (RawDisk disk = RawDisk.open(device, true)) {
                byte[] back = new byte[data.length];
                disk.read(512, back);
                assertArrayEquals(data, back);
            }
        } finally {
            ExternalTools.run(Duration.ofSeconds(20), "losetup", "-d", device.toString());
        }
        byte[] onFile = Files.readAllBytes(backing);
        assertEquals('w', onFile[512]);
    }
}
