package org.vhdkit.vhd.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Arrays;
import org.vhdkit.vhd.testing.Fuzzing;

/**
 * Fuzzes the dynamic header decoder and its check against the file: the input is 1024 header bytes
 * (sealed with a correct checksum), then the footer's Current Size and the file size, 8 bytes each.
 * Decoding either succeeds, encoding back to the same bytes, or refuses with a
 * {@link VhdFormatException} naming the file; so does {@link DynamicHeader#validateAgainst}.
 */
class DynamicHeaderFuzzTest {
    private static final String FILE = "fuzzed.vhd";

    @FuzzTest
    void decode(byte[] input) {
        byte[] bytes = Arrays.copyOf(input, DynamicHeader.SIZE + 16);
        byte[] header = Arrays.copyOf(bytes, DynamicHeader.SIZE);
        Fuzzing.seal(header, 0, DynamicHeader.SIZE, DynamicHeader.CHECKSUM_OFFSET);
        long currentSize = Fuzzing.longAt(bytes, DynamicHeader.SIZE) & (Footer.MAX_CURRENT_SIZE - 1);
        long fileSize = Fuzzing.longAt(bytes, DynamicHeader.SIZE + 8) & Long.MAX_VALUE;
        try {
            DynamicHeader decoded = DynamicHeader.decode(FILE, header, 0, 512);
            assertArrayEquals(header, decoded.encode(), "a decoded header encodes back to its bytes");
            decoded.validateAgainst(FILE, 512, currentSize, fileSize);
        } catch (VhdFormatException e) {
            Fuzzing.assertClear(e, FILE);
        }
        try {
            DynamicHeader.decodeIgnoringChecksum(FILE, Arrays.copyOf(bytes, DynamicHeader.SIZE), 0, 512);
        } catch (VhdFormatException e) {
            Fuzzing.assertClear(e, FILE);
        }
    }
}
