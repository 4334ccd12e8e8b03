package org.vhdkit.vhd.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DiskGeometryTest {
    private static final long LARGE_DISK_SECTORS = 65535L * 16 * 63;
    private static final long MAX_SECTORS = 65535L * 16 * 255;

    @ParameterizedTest(name = "{0} sectors ({1}) -> {2}/{3}/{4}")
    @CsvSource(textBlock = """
            # sectors,     what,                                   C,     H,  S
            0,             empty disk,                             0,     4,  17
            1,             one sector,                             0,     4,  17
            68,            qemu-afl5: 34816 bytes,                 1,     4,  17
            20480,         10 MiB,                                 301,   4,  17
            69631,         last with 4 heads and 17 spt,           1023,  4,  17
            69632,         4 heads would need 1024 cylinders,      140,   16, 31
            278511,        last with 16 heads and 17 spt,          1023,  16, 17
            278528,        16 heads x 17 spt full,                 561,   16, 31
            507903,        last with 31 spt,                       1023,  16, 31
            507904,        31 spt full,                            503,   16, 63
            514560,        263454720 bytes (qemu-d2v),             510,   16, 63
            1048576,       512 MiB (libvhdi),                      1040,  16, 63
            16777216,      8 GiB (compactVD),                      16644, 16, 63
            66059279,      one sector below 65535*16*63,           65534, 16, 63
            66059280,      65535*16*63: the 255 spt branch,        16191, 16, 255
            66059281,      one sector above 65535*16*63,           16191, 16, 255
            266338304,     136365211648 bytes (Virtual PC/Hyper-V), 65278, 16, 255
            267382799,     one sector below the maximum,           65534, 16, 255
            267382800,     the maximum 65535*16*255,               65535, 16, 255
            267382801,     one sector above the maximum,           65535, 16, 255
            4278190080,    2040 GiB (0xFF000000 sectors),          65535, 16, 255
            """)
    void specificationAlgorithm(long sectors, String what, int cylinders, int heads, int sectorsPerTrack) {
        DiskGeometry geometry = DiskGeometry.forSize(sectors * 512);
        assertEquals(new DiskGeometry(cylinders, heads, sectorsPerTrack), geometry, what);
        assertEquals(geometry, DiskGeometry.forSize(sectors * 512 + 511), "a partial sector does not count");
    }

    @Test
    void tenMebibytes() {
        DiskGeometry geometry = DiskGeometry.forSize(10 << 20);
        assertEquals(new DiskGeometry(301, 4, 17), geometry);
        assertEquals(10479616, geometry.capacity(), "covers less than the size");
    }

    @Test
    void maximum() {
        assertEquals(new DiskGeometry(65535, 16, 255), DiskGeometry.MAX);
        assertEquals(MAX_SECTORS, DiskGeometry.MAX.sectors());
        assertEquals(136899993600L, DiskGeometry.MAX.capacity());
        assertEquals(DiskGeometry.MAX, DiskGeometry.forSize(Long.MAX_VALUE));
        assertEquals(DiskGeometry.MAX, DiskGeometry.forSize(2040L << 30));
    }

    @Test
    void capacityNeverExceedsTheSize() {
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 100_000; i++) {
            long bytes = random.nextLong(1L << random.nextInt(1, 45));
            DiskGeometry geometry = DiskGeometry.forSize(bytes);
            long sectors = Math.min(bytes / 512, MAX_SECTORS);
            assertTrue(geometry.capacity() <= bytes, () -> bytes + " -> " + geometry);
            assertTrue(geometry.heads() >= 4 && geometry.heads() <= 16, () -> bytes + " -> " + geometry);
            int spt = geometry.sectorsPerTrack();
            assertTrue(spt == 17 || spt == 31 || spt == 63 || spt == 255, () -> bytes + " -> " + geometry);
            assertEquals(sectors >= LARGE_DISK_SECTORS, spt == 255, () -> bytes + " -> " + geometry);
            // The algorithm loses less than one track per head and one cylinder's worth.
            assertTrue(sectors - geometry.sectors() < (long) spt * geometry.heads() + spt,
                    () -> bytes + " -> " + geometry);
        }
    }

    @Test
    void sectorsAndCapacity() {
        DiskGeometry geometry = new DiskGeometry(1040, 16, 63);
        assertEquals(1048320, geometry.sectors());
        assertEquals(1048320L * 512, geometry.capacity());
        assertEquals("1040/16/63", geometry.toString());
    }

    @Test
    void refusesValuesThatDoNotFitTheirFields() {
        assertThrows(IllegalArgumentException.class, () -> DiskGeometry.forSize(-1));
        assertThrows(IllegalArgumentException.class, () -> new DiskGeometry(65536, 16, 255));
        assertThrows(IllegalArgumentException.class, () -> new DiskGeometry(-1, 16, 255));
        assertThrows(IllegalArgumentException.class, () -> new DiskGeometry(1, 256, 255));
        assertThrows(IllegalArgumentException.class, () -> new DiskGeometry(1, 16, 256));
        assertEquals(255, new DiskGeometry(0, 255, 255).heads(), "any byte may be stored");
    }
}
