package org.vhdkit.vhd.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/**
 * A differencing disk opened without its parent ({@link OpenOptions#withoutParent()}) and written
 * holds only what was written: a new block is not marked wholly held (as a dynamic disk's is), so
 * the rest of it still reads from the parent. (It once was, and read as zeros.)
 */
class DetachedWriteTest {
    @TempDir
    Path tmp;

    @Test
    void aDetachedDifferencingDiskKeepsTheRestOfANewBlockFromItsParent() throws IOException {
        Path base = tmp.resolve("base.vhd");
        byte[] ones = new byte[4 << 20];
        Arrays.fill(ones, (byte) 1);
        try (VhdDisk disk = Vhd.create(base, CreateOptions.dynamic(ones.length))) {
            disk.write(0, ones);
        }
        Path child = tmp.resolve("child.vhd");
        Vhd.create(child, CreateOptions.differencing(base)).close();
        try (VhdDisk alone = Vhd.open(child, OpenOptions.READ_WRITE.withoutParent())) {
            alone.write(0, new byte[512]);
        }
        byte[] expected = ones.clone();
        Arrays.fill(expected, 0, 512, (byte) 0);
        try (VhdDisk disk = Vhd.openReadOnly(child)) {
            byte[] back = new byte[ones.length];
            disk.read(0, back);
            assertArrayEquals(expected, back);
        }
    }
}
