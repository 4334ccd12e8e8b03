package org.vhdkit.vhd.format;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.GZIPInputStream;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * The real-world images of {@code shared/vhd-corpus}, found through the system property
 * {@code vhdkit.corpus} (Surefire sets it). A test that needs them is skipped, with a message saying
 * where they were looked for, when the folder is absent.
 *
 * <p>Images are decompressed by streaming ({@code java.util.zip} for gzip, {@code bzcat} for bzip2),
 * keeping only the start, the last 512 bytes and the size: the largest expands to 7.8 GB. Results
 * are cached for the run; safe for concurrent use.
 */
final class Corpus {
    /** How much of the start of an image is kept: footer copy, dynamic header and BAT of every image. */
    static final int HEAD_BYTES = 1 << 20;

    private static final Map<String, Image> CACHE = new ConcurrentHashMap<>();

    private Corpus() {
    }

    /**
     * A decompressed image, in part.
     *
     * @param name the corpus file name
     * @param size the size of the decompressed file
     * @param head its first {@code min(size, HEAD_BYTES)} bytes
     * @param tail its last 512 bytes, or null when it was too costly to read to the end
     */
    record Image(String name, long size, byte[] head, byte[] tail) {
        /** The trailing footer's offset in the file. */
        long tailOffset() {
            return size - Footer.SIZE;
        }

        /** {@code length} bytes of the head from {@code at}, zero past the end of the file. */
        byte[] headBytes(int at, int length) {
            return Arrays.copyOfRange(head, at, at + length);
        }
    }

    /** The corpus folder; skips the calling test when it is absent. */
    static Path directory() {
        String property = System.getProperty("vhdkit.corpus");
        Path dir = Path.of(property != null ? property : "../shared/vhd-corpus").toAbsolutePath().normalize();
        ExternalTools.assumeEnvironment(Files.isDirectory(dir), () -> "VHD corpus not found at " + dir
                + (property == null ? " (system property vhdkit.corpus is not set)" : " (from -Dvhdkit.corpus)"));
        return dir;
    }

    /** The image in the corpus file {@code name}, decompressed; skips the test when it is absent. */
    static Image image(String name) {
        Path file = directory().resolve(name);
        ExternalTools.assumeEnvironment(Files.isRegularFile(file), () -> "corpus file " + file + " not found");
        if (name.endsWith(".bz2")) {
            ExternalTools.assumeAvailable("bzcat");
        }
        return CACHE.computeIfAbsent(name, n -> {
            try {
                return load(file);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /** The raw bytes of an uncompressed corpus file; skips the test when it is absent. */
    static byte[] bytes(String name) throws IOException {
        Path file = directory().resolve(name);
        ExternalTools.assumeEnvironment(Files.isRegularFile(file), () -> "corpus file " + file + " not found");
        return Files.readAllBytes(file);
    }

    private static Image load(Path file) throws IOException {
        String name = file.getFileName().toString();
        if (name.endsWith(".gz")) {
            try (InputStream in = new GZIPInputStream(Files.newInputStream(file), 1 << 16)) {
                return read(name, in);
            }
        }
        if (name.endsWith(".bz2")) {
            Process bzcat = new ProcessBuilder("bzcat", file.toString())
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            try (InputStream in = bzcat.getInputStream()) {
                return isTar(name) ? readTarMember(name, in) : read(name, in);
            } finally {
                bzcat.destroy();
                waitFor(bzcat);
            }
        }
        byte[] bytes = Files.readAllBytes(file);
        return new Image(name, bytes.length, Arrays.copyOf(bytes, Math.min(bytes.length, HEAD_BYTES)),
                bytes.length >= Footer.SIZE ? Arrays.copyOfRange(bytes, bytes.length - Footer.SIZE, bytes.length)
                        : null);
    }

    /** The one corpus file that is a tar archive (of one sparse 7.8 GB file). */
    private static boolean isTar(String name) {
        return name.startsWith("compactVD-");
    }

    /** Reads a whole stream, keeping its head and its last 512 bytes. */
    private static Image read(String name, InputStream in) throws IOException {
        byte[] head = in.readNBytes(HEAD_BYTES);
        long size = head.length;
        byte[] tail = head.length >= Footer.SIZE
                ? Arrays.copyOfRange(head, head.length - Footer.SIZE, head.length) : null;
        byte[] buffer = new byte[1 << 16];
        for (int n; (n = in.read(buffer)) > 0; ) {
            size += n;
            if (n >= Footer.SIZE) {
                System.arraycopy(buffer, n - Footer.SIZE, tail, 0, Footer.SIZE);
            } else {
                System.arraycopy(tail, n, tail, 0, Footer.SIZE - n);
                System.arraycopy(buffer, 0, tail, Footer.SIZE - n, n);
            }
        }
        return new Image(name, size, head, tail);
    }

    /**
     * Reads the start of the first member of a tar stream, without reading on: its size comes from
     * the tar header, its tail is not read.
     */
    private static Image readTarMember(String name, InputStream in) throws IOException {
        byte[] header = in.readNBytes(512);
        if (header.length < 512) {
            throw new IOException(name + ": truncated tar header");
        }
        String octal = new String(header, 124, 12, StandardCharsets.US_ASCII).replace("\0", "").trim();
        long size = Long.parseLong(octal, 8);
        byte[] head = in.readNBytes((int) Math.min(size, HEAD_BYTES));
        return new Image(name, size, head, null);
    }

    private static int waitFor(Process process) throws IOException {
        try {
            return process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted waiting for " + process.info().command().orElse("bzcat"), e);
        }
    }
}
