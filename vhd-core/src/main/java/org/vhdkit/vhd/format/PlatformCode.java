package org.vhdkit.vhd.format;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;

/**
 * The Platform Code of a parent locator entry: how the locator's data names the parent disk.
 *
 * <table>
 * <caption>Codes and their data</caption>
 * <tr><th>constant</th><th>stored</th><th>data</th></tr>
 * <tr><td>{@link #NONE}</td><td>0</td><td>an unused entry</td></tr>
 * <tr><td>{@link #WI2R}</td><td>{@code Wi2r}</td><td>relative Windows path, ANSI (deprecated)</td></tr>
 * <tr><td>{@link #WI2K}</td><td>{@code Wi2k}</td><td>absolute Windows path, ANSI (deprecated)</td></tr>
 * <tr><td>{@link #W2RU}</td><td>{@code W2ru}</td><td>relative Windows path, UTF-16LE</td></tr>
 * <tr><td>{@link #W2KU}</td><td>{@code W2ku}</td><td>absolute Windows path, UTF-16LE</td></tr>
 * <tr><td>{@link #MAC}</td><td>{@code Mac }</td><td>a Mac OS alias record (opaque)</td></tr>
 * <tr><td>{@link #MACX}</td><td>{@code MacX}</td><td>a file URL, UTF-8</td></tr>
 * </table>
 *
 * <p>Constants are immutable; every method is safe to call from any thread.
 */
public enum PlatformCode {
    /** An unused locator entry. */
    NONE(0),
    /** A relative Windows path in the ANSI code page (deprecated by the specification). */
    WI2R("Wi2r"),
    /** An absolute Windows path in the ANSI code page (deprecated by the specification). */
    WI2K("Wi2k"),
    /** A relative Windows path in UTF-16 little-endian. */
    W2RU("W2ru"),
    /** An absolute Windows path in UTF-16 little-endian. */
    W2KU("W2ku"),
    /** A Mac OS alias record; it cannot be decoded into a path. */
    MAC("Mac "),
    /** A file URL in UTF-8 ({@code file:///path}). */
    MACX("MacX");

    private static final String FILE_URL_PREFIX = "file://";

    private final int code;

    PlatformCode(int code) {
        this.code = code;
    }

    PlatformCode(String text) {
        this(BigEndian.fourCharacterCode(text));
    }

    /** The value stored in the locator entry. */
    public int code() {
        return code;
    }

    /** The platform stored as {@code code}, or empty for a value the specification does not define. */
    public static Optional<PlatformCode> fromCode(int code) {
        for (PlatformCode platform : values()) {
            if (platform.code == code) {
                return Optional.of(platform);
            }
        }
        return Optional.empty();
    }

    /** Whether the data is a path relative to the child disk's folder ({@code Wi2r}, {@code W2ru}). */
    public boolean isRelative() {
        return this == WI2R || this == W2RU;
    }

    /**
     * The path held in the first {@code length} bytes of a locator's data, with trailing NUL
     * characters removed. {@code W2ru}/{@code W2ku} are read as UTF-16LE, {@code Wi2r}/{@code Wi2k}
     * as windows-1252 (ISO-8859-1 where that is not available), {@code MacX} as a UTF-8 file URL
     * whose path (percent-decoded) is returned; a {@code MacX} value that is not a {@code file://}
     * URL is returned as it is. Bytes that are not valid in the encoding decode to U+FFFD.
     *
     * @return empty for {@link #NONE} and {@link #MAC}
     * @throws IndexOutOfBoundsException when {@code length} is negative or beyond {@code data}
     */
    public Optional<String> decodePath(byte[] data, int length) {
        Objects.checkFromIndexSize(0, length, data.length);
        return switch (this) {
            case NONE, MAC -> Optional.empty();
            case W2RU, W2KU -> Optional.of(stripNuls(new String(data, 0, length, StandardCharsets.UTF_16LE)));
            case WI2R, WI2K -> Optional.of(stripNuls(new String(data, 0, length, ansi())));
            case MACX -> Optional.of(fileUrlPath(stripNuls(new String(data, 0, length, StandardCharsets.UTF_8))));
        };
    }

    /**
     * The locator data for {@code path}, without a NUL terminator: UTF-16LE for {@code W2ru} and
     * {@code W2ku}, windows-1252 for {@code Wi2r} and {@code Wi2k}, and for {@code MacX} a UTF-8
     * {@code file://} URL whose path is percent-encoded where URL syntax requires it (an absolute path
     * {@code /a b/c.vhd} gives {@code file:///a%20b/c.vhd}).
     *
     * @throws IllegalArgumentException      when an ANSI form cannot represent a character of the path
     * @throws UnsupportedOperationException for {@link #NONE} and {@link #MAC}
     */
    public byte[] encodePath(String path) {
        Objects.requireNonNull(path, "path");
        return switch (this) {
            case NONE, MAC -> throw new UnsupportedOperationException("cannot encode a path as " + this);
            case W2RU, W2KU -> path.getBytes(StandardCharsets.UTF_16LE);
            case WI2R, WI2K -> encodeStrictly(path, ansi());
            case MACX -> (FILE_URL_PREFIX + percentEncode(path)).getBytes(StandardCharsets.UTF_8);
        };
    }

    private static Charset ansi() {
        return Charset.isSupported("windows-1252") ? Charset.forName("windows-1252") : StandardCharsets.ISO_8859_1;
    }

    private static byte[] encodeStrictly(String path, Charset charset) {
        try {
            ByteBuffer encoded = charset.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(path));
            byte[] bytes = new byte[encoded.remaining()];
            encoded.get(bytes);
            return bytes;
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("path \"" + path + "\" cannot be written in " + charset, e);
        }
    }

    private static String stripNuls(String text) {
        int end = text.length();
        while (end > 0 && text.charAt(end - 1) == '\0') {
            end--;
        }
        return text.substring(0, end);
    }

    /** The path of a file URL: {@code file:///a%20b} and {@code file://localhost/a%20b} give {@code /a b}. */
    private static String fileUrlPath(String url) {
        if (!url.regionMatches(true, 0, FILE_URL_PREFIX, 0, FILE_URL_PREFIX.length())) {
            return url;
        }
        String path = url.substring(FILE_URL_PREFIX.length());
        if (path.regionMatches(true, 0, "localhost/", 0, "localhost/".length())) {
            path = path.substring("localhost".length());
        }
        return percentDecode(path);
    }

    /** Decodes %XX escapes as UTF-8; text with a malformed escape is taken literally. */
    private static String percentDecode(String text) {
        if (text.indexOf('%') < 0) {
            return text;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(text.length());
        int i = 0;
        while (i < text.length()) {
            if (text.charAt(i) == '%') {
                if (i + 2 >= text.length() || !isHex(text.charAt(i + 1)) || !isHex(text.charAt(i + 2))) {
                    return text;
                }
                bytes.write(HexFormat.fromHexDigits(text, i + 1, i + 3));
                i += 3;
            } else {
                int next = text.indexOf('%', i);
                int end = next < 0 ? text.length() : next;
                bytes.writeBytes(text.substring(i, end).getBytes(StandardCharsets.UTF_8));
                i = end;
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static boolean isHex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    private static String percentEncode(String path) {
        StringBuilder url = new StringBuilder(path.length());
        for (byte b : path.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xFF;
            if (isUrlPathCharacter(c)) {
                url.append((char) c);
            } else {
                url.append('%').append(HexFormat.of().withUpperCase().toHexDigits((byte) c));
            }
        }
        return url.toString();
    }

    /** RFC 3986 unreserved characters, sub-delimiters, ':', '@' and '/'. */
    private static boolean isUrlPathCharacter(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || "-._~!$&'()*+,;=:@/".indexOf(c) >= 0;
    }
}
