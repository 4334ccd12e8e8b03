package org.vhdkit.vhd.testing.guest;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Where built guest files are kept between test runs: {@code $XDG_CACHE_HOME/vhdkit/guest}, by
 * default {@code ~/.cache/vhdkit/guest}, each file named by a hash of what it was built from (the
 * recipe: input paths, sizes and times, scripts, module lists). A changed input gives a new name,
 * so nothing stale is ever used; a CI machine's clean home builds once per run.
 *
 * <p>Immutable; thread-safe. Builders write beside the final name and move into place, so that two
 * test JVMs building at once each end with a whole file.
 */
record GuestCache(Path dir) {

    /** The user's cache folder for guest files (created). */
    static GuestCache user() throws IOException {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        Path dir = base.resolve("vhdkit").resolve("guest");
        Files.createDirectories(dir);
        return new GuestCache(dir);
    }

    /** The file for {@code recipe}: {@code PREFIX-HASH.SUFFIX}, 16 hex digits of its SHA-256. */
    Path file(String prefix, String recipe, String suffix) {
        return dir.resolve(prefix + "-" + hash(recipe) + suffix);
    }

    static String hash(String recipe) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(recipe.getBytes(UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK has SHA-256", e);
        }
    }

    /** What identifies a host file's contents for a recipe: its path, size and modification time. */
    static String stamp(Path file) throws IOException {
        return file.toRealPath() + " " + Files.size(file) + " " + Files.getLastModifiedTime(file).toMillis();
    }
}
