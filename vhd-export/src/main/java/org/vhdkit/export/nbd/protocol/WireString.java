package org.vhdkit.export.nbd.protocol;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The protocol's strings: UTF-8, not NUL-terminated, without NUL, at most {@link #MAX_BYTES}
 * bytes; their length always comes from elsewhere in the message.
 */
public final class WireString {
    /** The longest string the protocol allows, in bytes. */
    public static final int MAX_BYTES = 4096;

    private WireString() {
    }

    /**
     * Reads {@code length} bytes of {@code in} as a string.
     *
     * @throws NbdProtocolException when the length is beyond the limit or the buffer, or the bytes
     *     are not UTF-8 or hold a NUL
     */
    public static String decode(ByteBuffer in, long length, String field) throws NbdProtocolException {
        if (length < 0 || length > MAX_BYTES) {
            throw new NbdProtocolException(field, "length " + length + " is beyond the protocol's " + MAX_BYTES + " bytes");
        }
        if (length > in.remaining()) {
            throw new NbdProtocolException(field, "length " + length + " is beyond the " + in.remaining()
                    + " bytes left in the message");
        }
        ByteBuffer bytes = in.slice(in.position(), (int) length);
        in.position(in.position() + (int) length);
        try {
            String text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes).toString();
            if (text.indexOf('\0') >= 0) {
                throw new NbdProtocolException(field, "holds a NUL character");
            }
            return text;
        } catch (CharacterCodingException e) {
            throw new NbdProtocolException(field, "is not UTF-8");
        }
    }

    /** The most characters of a client's string {@link #quoted} shows. */
    static final int QUOTED_CHARACTERS = 100;

    /**
     * {@code text}, which a client sent (an export name, a TLS identity), as it may stand in a log
     * line or a message: in single quotes, with the quote, the backslash and every control or line
     * separator character escaped (so that no client can start a log line of its own), and cut after
     * {@value #QUOTED_CHARACTERS} characters, with how long it was.
     */
    public static String quoted(String text) {
        int end = text.length() <= QUOTED_CHARACTERS ? text.length() : text.offsetByCodePoints(0,
                text.codePointCount(0, QUOTED_CHARACTERS));
        StringBuilder out = new StringBuilder(end + 2).append('\'');
        for (int i = 0; i < end; i++) {
            char c = text.charAt(i);
            switch (c) {
                case '\'', '\\' -> out.append('\\').append(c);
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('\'');
        if (end < text.length()) {
            out.append("... (").append(text.length()).append(" characters)");
        }
        return out.toString();
    }

    /** The UTF-8 bytes of {@code text}; refuses a string the protocol does not allow. */
    public static byte[] bytes(String text) {
        if (text.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("an NBD string cannot hold NUL: " + text);
        }
        byte[] bytes;
        try {
            ByteBuffer encoded = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(text));
            bytes = new byte[encoded.remaining()];
            encoded.get(bytes);
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("not encodable as UTF-8: " + text, e);
        }
        if (bytes.length > MAX_BYTES) {
            throw new IllegalArgumentException("an NBD string is at most " + MAX_BYTES + " bytes, not " + bytes.length);
        }
        return bytes;
    }

    /** Checks that exactly {@code size} bytes are left in {@code in}, for fixed-size messages. */
    static void requireRemaining(ByteBuffer in, int size, String message) throws NbdProtocolException {
        if (in.remaining() < size) {
            throw new NbdProtocolException(message, in.remaining() + " bytes, not the " + size + " it takes");
        }
    }

    /** Checks that an encoder wrote exactly {@code size} bytes since {@code start}. */
    static void checkWritten(ByteBuffer out, int start, int size, String message) {
        if (out.position() - start != size) {
            throw new IllegalStateException(message + " took " + (out.position() - start) + " bytes, not " + size);
        }
    }
}
