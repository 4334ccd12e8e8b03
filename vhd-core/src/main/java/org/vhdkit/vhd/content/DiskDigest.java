package org.vhdkit.vhd.content;

import java.util.HexFormat;
import java.util.Objects;

/**
 * The digest of a disk's contents.
 *
 * <p>Thread-safety: immutable.
 *
 * @param algorithm how it was computed
 * @param hex       the digest in lower-case hexadecimal, as {@code sha256sum} and {@code b3sum} print it
 * @param size      how many bytes it covers: the disk's virtual size
 */
public record DiskDigest(DigestAlgorithm algorithm, String hex, long size) {
    public DiskDigest {
        Objects.requireNonNull(algorithm, "algorithm");
        Objects.requireNonNull(hex, "hex");
        if (!hex.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("not 32 bytes of lower-case hex: " + hex);
        }
        if (size < 0) {
            throw new IllegalArgumentException("negative size " + size);
        }
    }

    /** The digest as bytes (a new array each call). */
    public byte[] bytes() {
        return HexFormat.of().parseHex(hex);
    }
}
