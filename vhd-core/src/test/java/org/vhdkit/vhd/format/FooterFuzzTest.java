package org.vhdkit.vhd.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Arrays;
import org.vhdkit.vhd.testing.Fuzzing;

/**
 * Fuzzes the footer decoder: any 512 bytes (sealed with a correct checksum when the first input byte
 * is odd, so that the fuzzer reaches every field) decode to a footer that encodes back to the same
 * bytes (but for the Saved State flag, written as 0 or 1), or are refused with a {@link VhdFormatException} naming the file.
 */
class FooterFuzzTest {
    private static final String FILE = "fuzzed.vhd";

    @FuzzTest
    void decode(byte[] input) {
        byte[] bytes = Arrays.copyOf(input, Footer.SIZE);
        if (input.length > 0 && (input[0] & 1) == 1) {
            Fuzzing.seal(bytes, 0, Footer.SIZE, Footer.CHECKSUM_OFFSET);
        }
        try {
            Footer footer = Footer.decode(FILE, bytes, 0, 4096);
            assertArrayEquals(normalized(bytes), footer.encode(), "a decoded footer encodes back to its bytes");
        } catch (VhdFormatException e) {
            Fuzzing.assertClear(e, FILE);
        }
        try {
            Footer.decodeIgnoringChecksum(FILE, bytes, 0, 4096);
        } catch (VhdFormatException e) {
            Fuzzing.assertClear(e, FILE);
        }
    }

    /**
     * {@code bytes} as the encoder writes them back: a Saved State byte other than 0 reads as saved and
     * is written as 1 (FooterTest#savedStateOtherThanZeroOrOneReadsAsSavedAndIsWrittenAsOne), with the
     * checksum to match.
     */
    private static byte[] normalized(byte[] bytes) {
        byte[] copy = bytes.clone();
        if (copy[Footer.SAVED_STATE_OFFSET] != 0 && copy[Footer.SAVED_STATE_OFFSET] != 1) {
            copy[Footer.SAVED_STATE_OFFSET] = 1;
            Fuzzing.seal(copy, 0, Footer.SIZE, Footer.CHECKSUM_OFFSET);
        }
        return copy;
    }
}
