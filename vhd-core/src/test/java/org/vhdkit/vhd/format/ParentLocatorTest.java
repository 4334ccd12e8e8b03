package org.vhdkit.vhd.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ParentLocatorTest {
    @Test
    void decodesTheTwentyFourBytesAtAnOffset() {
        byte[] bytes = HexFormat.of().parseHex("eeee" // two bytes before the entry
                + "57327275" + "00000200" + "0000001a" + "00000000" + "0000000000001000");
        ParentLocator locator = ParentLocator.decode(bytes, 2);
        assertEquals(new ParentLocator(PlatformCode.W2RU.code(), 0x200, 0x1a, 0, 0x1000), locator);
        assertEquals(Optional.of(PlatformCode.W2RU), locator.platform());
        assertFalse(locator.isEmpty());
        byte[] encoded = new byte[26];
        encoded[0] = encoded[1] = (byte) 0xee;
        locator.encodeInto(encoded, 2);
        assertArrayEquals(bytes, encoded);
    }

    @Test
    void everyEntryEncodesBackToItsBytes() {
        SplittableRandom random = new SplittableRandom(11);
        for (int i = 0; i < 1000; i++) {
            byte[] bytes = new byte[ParentLocator.SIZE];
            random.nextBytes(bytes);
            byte[] encoded = new byte[ParentLocator.SIZE];
            ParentLocator.decode(bytes, 0).encodeInto(encoded, 0);
            assertArrayEquals(bytes, encoded);
        }
    }

    @Test
    void empty() {
        assertTrue(ParentLocator.EMPTY.isEmpty());
        assertEquals(ParentLocator.EMPTY, ParentLocator.decode(new byte[24], 0));
        assertEquals(Optional.of(PlatformCode.NONE), ParentLocator.EMPTY.platform());
        assertTrue(new ParentLocator(0, 1, 2, 3, 4).isEmpty(), "the platform code alone decides");
        assertEquals(Optional.empty(), new ParentLocator(0x12345678, 1, 1, 0, 0).platform());
    }

    @ParameterizedTest(name = "data space {0} -> {1} bytes")
    @CsvSource({
            "0, 0",
            "1, 512",              // sectors, as the specification says
            "8, 4096",
            "511, 261632",
            "512, 512",            // bytes, as Virtual PC and Hyper-V write
            "4096, 4096",
            "-1, 4294967295",      // unsigned
    })
    void dataSpaceBelow512IsSectors(int stored, long bytes) {
        assertEquals(bytes, new ParentLocator(PlatformCode.W2KU.code(), stored, 0, 0, 0).dataSpaceBytes());
    }

    @Test
    void createStoresTheSpaceInWholeSectorsOfBytes() {
        ParentLocator small = ParentLocator.create(PlatformCode.W2RU, 0x1000, 26);
        assertEquals(new ParentLocator(PlatformCode.W2RU.code(), 512, 26, 0, 0x1000), small);
        assertEquals(512, small.dataSpaceBytes());
        assertEquals(1024, ParentLocator.create(PlatformCode.W2KU, 0, 513).dataSpace());
        assertEquals(512, ParentLocator.create(PlatformCode.W2KU, 0, 0).dataSpace());
        assertThrows(IllegalArgumentException.class, () -> ParentLocator.create(PlatformCode.NONE, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> ParentLocator.create(PlatformCode.W2KU, -1, 1));
        assertThrows(IllegalArgumentException.class, () -> ParentLocator.create(PlatformCode.W2KU, 0, -1));
    }

    @Test
    void refusesIndexesOutsideTheArray() {
        assertThrows(IndexOutOfBoundsException.class, () -> ParentLocator.decode(new byte[24], 1));
        assertThrows(IndexOutOfBoundsException.class, () -> ParentLocator.EMPTY.encodeInto(new byte[23], 0));
    }
}
