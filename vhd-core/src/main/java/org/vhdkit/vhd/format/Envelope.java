package org.vhdkit.vhd.format;

import java.util.Arrays;

/**
 * The two checks every checksummed VHD structure (the footer, the dynamic header) opens its decoding
 * with: the cookie in its first eight bytes, then the checksum over all its bytes.
 *
 * <p>Stateless; safe from any thread.
 */
final class Envelope {
    private Envelope() {
    }

    /**
     * Checks the cookie at {@code bytes[at]} and, when {@code verifyChecksum}, the stored checksum.
     *
     * @param structure      how refused fields are named: {@code "<structure> Cookie"}, {@code "<structure> Checksum"}
     * @param cookie         the cookie's ASCII bytes, expected at the structure's start
     * @param cookieText     the same as text, for the message
     * @param size           the structure's size, over which the checksum runs
     * @param checksumOffset where the checksum field sits in the structure
     * @return the stored checksum
     */
    static int check(String source, String structure, byte[] bytes, int at, long fileOffset, byte[] cookie,
                     String cookieText, int size, int checksumOffset, boolean verifyChecksum)
            throws VhdFormatException {
        if (!Arrays.equals(bytes, at, at + cookie.length, cookie, 0, cookie.length)) {
            throw new VhdFormatException(source, structure + " Cookie", fileOffset,
                    BigEndian.quoted(bytes, at, cookie.length) + ", expected \"" + cookieText + "\"");
        }
        int stored = BigEndian.readInt(bytes, at + checksumOffset);
        int computed = Checksum.compute(bytes, at, size, checksumOffset);
        if (verifyChecksum && stored != computed) {
            throw new VhdFormatException(source, structure + " Checksum", fileOffset + checksumOffset,
                    String.format("stored 0x%08x, computed 0x%08x", stored, computed));
        }
        return stored;
    }
}
