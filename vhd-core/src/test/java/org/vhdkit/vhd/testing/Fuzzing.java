package org.vhdkit.vhd.testing;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;

/**
 * What every fuzz target (a {@code *FuzzTest} class, one {@code @FuzzTest} each) shares: the rule for
 * an acceptable refusal, and how fuzzed bytes are sealed with a correct checksum so that the fuzzer
 * gets past it to the fields behind.
 *
 * <p>The targets run over their regression inputs ({@code <TargetName>Inputs/} beside the class in
 * src/test/resources) in every build, and fuzz for {@code -Dvhdkit.fuzz.seconds} in the profile
 * {@code fuzz}; see RELIABILITY.md.
 *
 * <p>Thread-safety: stateless; safe from any thread.
 */
public final class Fuzzing {
    private Fuzzing() {
    }

    /**
     * Asserts that {@code refusal}, our declared exception for {@code source}, says clearly what was
     * refused: a message that names the source. Anything else (an unchecked exception, an error) is
     * left to propagate from the target, which the fuzzer reports as a finding.
     */
    public static void assertClear(IOException refusal, String source) {
        String message = refusal.getMessage();
        assertNotNull(message, () -> "a refusal without a message: " + refusal);
        assertTrue(message.contains(source), () -> "the refusal does not name " + source + ": " + message);
    }

    /**
     * Stores in {@code bytes[at + checksumOffset]} the VHD checksum (the ones' complement of the byte
     * sum) of the {@code size} bytes at {@code at}, when they lie inside {@code bytes}.
     */
    public static void seal(byte[] bytes, long at, int size, int checksumOffset) {
        if (at < 0 || at > bytes.length - size) {
            return;
        }
        int start = (int) at;
        for (int i = 0; i < 4; i++) {
            bytes[start + checksumOffset + i] = 0;
        }
        int sum = 0;
        for (int i = start; i < start + size; i++) {
            sum += bytes[i] & 0xFF;
        }
        int checksum = ~sum;
        for (int i = 0; i < 4; i++) {
            bytes[start + checksumOffset + i] = (byte) (checksum >>> (24 - 8 * i));
        }
    }

    /** The big-endian 64-bit value at {@code bytes[at]}, or -1 when it does not lie inside. */
    public static long longAt(byte[] bytes, long at) {
        if (at < 0 || at > bytes.length - 8) {
            return -1;
        }
        long value = 0;
        for (int i = 0; i < 8; i++) {
            value = value << 8 | (bytes[(int) at + i] & 0xFF);
        }
        return value;
    }
}
