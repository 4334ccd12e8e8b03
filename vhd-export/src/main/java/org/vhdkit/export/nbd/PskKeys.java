package org.vhdkit.export.nbd;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Pre-shared keys as GnuTLS's psktool writes them and qemu's {@code tls-creds-psk} ({@code keys.psk}
 * in its directory) and nbdkit's {@code --tls-psk} read them: one {@code identity:hexkey} per line.
 * Empty lines and lines starting with {@code #} are skipped.
 *
 * <p>Thread-safety: immutable after {@link #read}; {@link #key} may be called from any thread.
 */
final class PskKeys {
    /** The file name qemu's {@code tls-creds-psk} looks for in its directory. */
    static final String QEMU_FILE = "keys.psk";
    /** A key file is small: one line per user. */
    private static final long MAX_FILE = 1 << 20;

    private final Path file;
    private final Map<String, byte[]> keys;

    private PskKeys(Path file, Map<String, byte[]> keys) {
        this.file = file;
        this.keys = keys;
    }

    /** Reads {@code path}: a key file, or a directory holding {@value #QEMU_FILE} (qemu's layout). */
    static PskKeys read(Path path) throws CredentialsException {
        Path file = Files.isDirectory(path) ? path.resolve(QEMU_FILE) : path;
        String name = file.toString();
        String text;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE) {
                throw new CredentialsException(name, "file", size + " bytes is too large for a key file");
            }
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file))).toString();
        } catch (CharacterCodingException e) {
            throw new CredentialsException(name, "file", "is not text (UTF-8)");
        } catch (CredentialsException e) {
            throw e;
        } catch (IOException e) {
            throw new CredentialsException(name, "file", "cannot be read: " + reason(e));
        }
        Map<String, byte[]> keys = new LinkedHashMap<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            String where = "line " + (i + 1);
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int colon = line.indexOf(':');
            if (colon < 0) {
                throw new CredentialsException(name, where, "not 'identity:hexkey' (no colon)");
            }
            String identity = line.substring(0, colon);
            String hex = line.substring(colon + 1);
            if (identity.isEmpty()) {
                throw new CredentialsException(name, where, "the identity before the colon is empty");
            }
            if (identity.getBytes(StandardCharsets.UTF_8).length > 65535) {
                throw new CredentialsException(name, where, "the identity is longer than TLS allows (65535 bytes)");
            }
            if (hex.isEmpty()) {
                throw new CredentialsException(name, where, "the key of '" + identity + "' is empty");
            }
            byte[] key;
            try {
                key = HexFormat.of().parseHex(hex);
            } catch (IllegalArgumentException e) {
                throw new CredentialsException(name, where, "the key of '" + identity + "' is not an even number of"
                        + " hexadecimal digits");
            }
            if (keys.putIfAbsent(identity, key) != null) {
                throw new CredentialsException(name, where, "the identity '" + identity + "' has a key already");
            }
        }
        if (keys.isEmpty()) {
            throw new CredentialsException(name, "file", "holds no 'identity:hexkey' line");
        }
        return new PskKeys(file, keys);
    }

    private static String reason(IOException e) {
        String kind = switch (e) {
            case java.nio.file.NoSuchFileException x -> "no such file";
            case java.nio.file.AccessDeniedException x -> "permission denied";
            default -> e.getMessage();
        };
        return kind == null ? e.toString() : kind;
    }

    /** The key of {@code identity}, a copy, or null when the file has none. */
    byte[] key(byte[] identity) {
        byte[] key = keys.get(new String(identity, StandardCharsets.UTF_8));
        return key == null ? null : Arrays.copyOf(key, key.length);
    }

    Path file() {
        return file;
    }

    int size() {
        return keys.size();
    }
}
