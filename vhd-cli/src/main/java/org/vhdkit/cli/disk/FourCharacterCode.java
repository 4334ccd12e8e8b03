package org.vhdkit.cli.disk;

import java.nio.charset.StandardCharsets;

/**
 * The four-character codes of the VHD format (creator application, host OS, platform code) as text a
 * user can read: trailing spaces and NULs dropped, anything else unprintable as {@code \xNN}.
 * {@code "win "} reads {@code win}, {@code "d2v\0"} reads {@code d2v}, {@code "Wi2k"} stays.
 */
final class FourCharacterCode {
    private FourCharacterCode() {
    }

    /** A code stored as a big-endian int. */
    static String text(int code) {
        byte[] bytes = {(byte) (code >>> 24), (byte) (code >>> 16), (byte) (code >>> 8), (byte) code};
        return text(new String(bytes, StandardCharsets.ISO_8859_1));
    }

    /** A code read as four ISO-8859-1 characters. */
    static String text(String code) {
        int end = code.length();
        while (end > 0 && (code.charAt(end - 1) == ' ' || code.charAt(end - 1) == '\0')) {
            end--;
        }
        StringBuilder text = new StringBuilder(end);
        for (int i = 0; i < end; i++) {
            char c = code.charAt(i);
            if (c >= 0x20 && c < 0x7F) {
                text.append(c);
            } else {
                text.append(String.format("\\x%02x", (int) c));
            }
        }
        return text.toString();
    }
}
