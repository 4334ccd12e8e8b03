package org.vhdkit.vhd.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ChecksumTest {
    @Test
    void onesComplementOfTheByteSum() {
        byte[] bytes = new byte[512];
        assertEquals(0xFFFFFFFF, Checksum.compute(bytes, 0, 512, 64));
        bytes[0] = 1;
        bytes[511] = (byte) 0xFF; // bytes are unsigned
        assertEquals(~256, Checksum.compute(bytes, 0, 512, 64));
    }

    @Test
    void checksumFieldCountsAsZero() {
        byte[] bytes = new byte[512];
        Arrays.fill(bytes, 64, 68, (byte) 0xAB);
        assertEquals(0xFFFFFFFF, Checksum.compute(bytes, 0, 512, 64));
        bytes[63] = 1;
        bytes[68] = 1;
        assertEquals(~2, Checksum.compute(bytes, 0, 512, 64));
    }

    @Test
    void rangeAndFieldAreRelativeToFrom() {
        byte[] bytes = new byte[2000];
        Arrays.fill(bytes, (byte) 1);
        // 1024 bytes from 700, field at 36: 1020 ones count
        assertEquals(~1020, Checksum.compute(bytes, 700, 1024, 36));
    }

    @Test
    void allOnesSum() {
        byte[] bytes = new byte[1024];
        Arrays.fill(bytes, (byte) 0xFF);
        assertEquals(~(1020 * 255), Checksum.compute(bytes, 0, 1024, 36));
    }

    @Test
    void refusesRangesOutsideTheArray() {
        byte[] bytes = new byte[512];
        assertThrows(IndexOutOfBoundsException.class, () -> Checksum.compute(bytes, 1, 512, 64));
        assertThrows(IndexOutOfBoundsException.class, () -> Checksum.compute(bytes, 0, 512, 510));
        assertThrows(IndexOutOfBoundsException.class, () -> Checksum.compute(bytes, 0, 512, -1));
    }
}
