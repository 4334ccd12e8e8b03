package org.vhdkit.vhd.image;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/**
 * Damaged images are refused with an {@link IOException} (a {@code VhdFormatException} where a
 * field is wrong) or read as what they hold; never a runtime exception, a hang, or a read outside
 * the file. Bytes of the metadata of real-shaped images are overwritten at random, many times.
 */
class DamagedImageTest {
    private static final int MIB = 1 << 20;
    private static final int ROUNDS = 400;

    @TempDir
    Path tmp;

    private byte[] chainBytes(Path dir) throws IOException {
        Path base = dir.resolve("base.vhd");
        try (VhdDisk disk = Vhd.create(base, CreateOptions.dynamic(6 * MIB).withBlockSize(MIB))) {
            disk.write(0, new byte[] {1});
            disk.write(3 * MIB + 100, new byte[700]);
        }
        Path child = dir.resolve("child.vhd");
        try (VhdDisk disk = Vhd.create(child, CreateOptions.differencing(base))) {
            disk.write(MIB - 10, new byte[20]);
        }
        return Files.readAllBytes(child);
    }

    @Test
    void randomDamageToMetadataIsRefusedCleanly() throws IOException {
        Path dir = tmp.resolve("chain");
        Files.createDirectories(dir);
        byte[] original = chainBytes(dir);
        // The metadata: footer copy, header, locators, table (the first 8 KiB), bitmaps, the trailer.
        int[] hot = {0, 8192, original.length - 512};
        Random random = new Random(11);
        Path damaged = dir.resolve("damaged.vhd");
        int refused = 0;
        for (int round = 0; round < ROUNDS; round++) {
            byte[] bytes = original.clone();
            int flips = 1 + random.nextInt(4);
            for (int i = 0; i < flips; i++) {
                int region = hot[random.nextInt(hot.length)];
                int at = region == 8192 ? random.nextInt(original.length - 512) : region + random.nextInt(region == 0 ? 8192 : 512);
                bytes[at] = random.nextInt(3) == 0 ? (byte) 0xFF : (byte) random.nextInt(256);
            }
            Files.write(damaged, bytes);
            int seed = round;
            if (!assertTimeoutPreemptively(Duration.ofSeconds(10), () -> openAndReadAll(damaged, seed))) {
                refused++;
            }
        }
        // Both outcomes must occur, or the damage is not reaching what it should.
        assertTrue(refused > ROUNDS / 10 && refused < ROUNDS, refused + " of " + ROUNDS + " refused");
    }

    /** Whether the image opened and read; false when it was refused. */
    private static boolean openAndReadAll(Path path, int round) {
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            byte[] buffer = new byte[MIB];
            for (long at = 0; at < disk.size(); at += buffer.length) {
                disk.read(at, java.lang.foreign.MemorySegment.ofArray(buffer), 0, 0); // zero length is a read too
                disk.read(at, java.lang.foreign.MemorySegment.ofArray(buffer), 0, Math.min(buffer.length, disk.size() - at));
            }
            disk.extents(0, disk.size());
            return true;
        } catch (IOException refused) {
            return false; // what a damaged image should produce
        } catch (RuntimeException e) {
            throw new AssertionError("round " + round + ": a damaged image raised " + e, e);
        }
    }
}
