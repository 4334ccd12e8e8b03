package org.vhdkit.vhd.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.zip.GZIPInputStream;

/**
 * The real images in {@code ../shared/vhd-corpus}, decompressed on demand into a test's temporary
 * directory. Tests that use it are skipped, saying where they looked, when the folder is absent (a
 * user's own clone); CI has it, and there (CI=true) its absence fails them.
 */
public final class Corpus {
    /** The system property Surefire sets to the corpus folder. */
    public static final String PROPERTY = "vhdkit.corpus";

    private Corpus() {
    }

    /** How much of the VirtualBox image's front is kept: its headers, table and first blocks. */
    private static final long HEAD = 16 << 20;

    /**
     * Unpacks the front of the one file in a plain tar.bz2 and rebuilds the rest as a hole ending in
     * the footer copy from offset 0: a file of the right size whose headers, table and first blocks
     * are the real ones. The VirtualBox image is 7.8 GB of mostly non-zero bytes (32 s and 7.3 GB of
     * disk to unpack); every other block of this copy reads as zeros, which its tests know.
     * The copy at offset 0 equals the trailing footer in this image, byte for byte.
     */
    private static void extractSparseTar(Path source, Path target) throws IOException {
        Process bzcat = new ProcessBuilder("bzcat", source.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (InputStream in = new java.io.BufferedInputStream(bzcat.getInputStream(), 1 << 20);
             java.nio.channels.FileChannel out = java.nio.channels.FileChannel.open(target,
                     java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE,
                     java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] header = in.readNBytes(512);
            String octal = new String(header, 124, 12, java.nio.charset.StandardCharsets.US_ASCII)
                    .replace("\0", "").trim();
            long size = Long.parseLong(octal, 8);
            byte[] head = in.readNBytes((int) Math.min(HEAD, size));
            writeFully(out, java.nio.ByteBuffer.wrap(head), 0);
            writeFully(out, java.nio.ByteBuffer.wrap(head, 0, 512), size - 512);
        } finally {
            bzcat.destroyForcibly();
        }
    }

    private static void writeFully(java.nio.channels.FileChannel out, java.nio.ByteBuffer buffer, long at)
            throws IOException {
        long position = at;
        while (buffer.hasRemaining()) {
            position += out.write(buffer, position);
        }
    }

    /** The corpus folder; skips the calling test when it is absent. */
    public static Path directory() {
        String configured = System.getProperty(PROPERTY);
        Path dir = configured != null ? Path.of(configured) : Path.of("..", "..", "shared", "vhd-corpus");
        ExternalTools.assumeEnvironment(Files.isDirectory(dir),
                () -> "the real-image corpus is not at " + dir.toAbsolutePath().normalize()
                        + " (it lives in ../shared/vhd-corpus beside the project)");
        return dir;
    }

    /** The raw bytes of a corpus file that is stored uncompressed. */
    public static byte[] bytes(String name) throws IOException {
        return Files.readAllBytes(directory().resolve(name));
    }

    /**
     * A corpus image decompressed once per build into {@code target/corpus-cache} and shared by every
     * test that asks for it: for reading only. (The VirtualBox image is a 7.8 GB sparse file whose
     * decompression alone takes half a minute.) Tests that change an image use {@link #image(String, Path)}.
     */
    public static synchronized Path cached(String name) throws IOException {
        Path cache = Path.of(System.getProperty("vhdkit.corpusCache", "target/corpus-cache"), name);
        Path done = cache.resolve(".complete");
        if (Files.exists(done)) {
            try (var files = Files.list(cache)) {
                return files.filter(p -> !p.getFileName().toString().startsWith(".")).findFirst()
                        .orElseThrow(() -> new IOException("empty cache " + cache));
            }
        }
        if (Files.exists(cache)) {
            try (var files = Files.walk(cache)) {
                for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        Path image = image(name, cache);
        Files.createFile(done);
        return image;
    }

    /**
     * Decompresses a corpus image ({@code .gz}, {@code .bz2}, or the tar.bz2 of
     * {@code compactVD-3hfs}) into {@code into} and returns the image's path.
     */
    public static Path image(String name, Path into) throws IOException {
        Path source = directory().resolve(name);
        Files.createDirectories(into);
        Path target = into.resolve(name.replaceAll("\\.(gz|bz2)$", ""));
        if (name.endsWith(".bz2")) {
            ExternalTools.assumeAvailable("bzcat");
        }
        if (name.startsWith("compactVD")) {
            extractSparseTar(source, target);
            return target;
        }
        if (name.endsWith(".gz")) {
            try (InputStream in = new GZIPInputStream(Files.newInputStream(source))) {
                Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } else if (name.endsWith(".bz2")) {
            Process bzcat = new ProcessBuilder("bzcat", source.toString())
                    .redirectOutput(target.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            try {
                if (bzcat.waitFor() != 0) {
                    throw new IOException("bzcat " + source + " failed");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        } else {
            Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING);
        }
        return target;
    }
}
