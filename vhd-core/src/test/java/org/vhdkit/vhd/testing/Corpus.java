package org.vhdkit.vhd.testing;


import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.GZIPInputStream;
import org.vhdkit.vhd.format.Footer;

/**
 * The real images in {@code ../shared/vhd-corpus}, the one loader of them for every test: as files
 * decompressed into a directory ({@link #image}, {@link #cached}), as the start and end of an image
 * read by streaming ({@link #excerpt}), or as the bytes of a file stored uncompressed
 * ({@link #bytes}).
 *
 * <p>The folder is the system property {@value #PROPERTY} (Surefire sets it), or else
 * {@code ../../shared/vhd-corpus} from a module's directory or {@code ../shared/vhd-corpus} from the
 * project's. A test that needs the corpus is skipped, saying where it looked, when the folder is
 * absent (a user's own clone); so is one whose file is missing from it, or that needs {@code bzcat}
 * where it is not installed. CI has them all, and there (CI=true) their absence fails the test.
 *
 * <p>Thread-safety: safe from any thread; {@link #cached} is serialized, excerpts are cached in a
 * concurrent map.
 */
public final class Corpus {
    /** The system property Surefire sets to the corpus folder. */
    public static final String PROPERTY = "vhdkit.corpus";

    /** How much of an image's start an {@link Excerpt} keeps: footer copy, dynamic header and BAT of every image. */
    public static final int HEAD_BYTES = 1 << 20;

    /** Where the folder is looked for without {@value #PROPERTY}: from a module, then from the project. */
    private static final List<Path> DEFAULTS = List.of(Path.of("..", "..", "shared", "vhd-corpus"),
            Path.of("..", "shared", "vhd-corpus"));

    /** How much of the VirtualBox image's front is kept: its headers, table and first blocks. */
    private static final long HEAD = 16 << 20;

    private static final Map<String, Excerpt> EXCERPTS = new ConcurrentHashMap<>();

    private Corpus() {
    }

    /**
     * A corpus image decompressed by streaming, in part: the start, the last 512 bytes and the
     * size. (The largest expands to 7.8 GB.)
     *
     * @param name the corpus file name
     * @param size the size of the decompressed file
     * @param head its first {@code min(size, HEAD_BYTES)} bytes
     * @param tail its last 512 bytes, or null when it was too costly to read to the end
     */
    public record Excerpt(String name, long size, byte[] head, byte[] tail) {
        /** The trailing footer's offset in the file. */
        public long tailOffset() {
            return size - Footer.SIZE;
        }

        /** {@code length} bytes of the head from {@code at}, zero past the end of the file. */
        public byte[] headBytes(int at, int length) {
            return Arrays.copyOfRange(head, at, at + length);
        }
    }

    /** The corpus folder; skips the calling test when it is absent. */
    public static Path directory() {
        String configured = System.getProperty(PROPERTY);
        List<Path> candidates = configured != null ? List.of(Path.of(configured)) : DEFAULTS;
        for (Path dir : candidates) {
            if (Files.isDirectory(dir)) {
                return dir;
            }
        }
        ExternalTools.assumeEnvironment(false, () -> "the real-image corpus is not at "
                + String.join(" or ", candidates.stream().map(p -> p.toAbsolutePath().normalize().toString()).toList())
                + (configured != null ? " (from -D" + PROPERTY + ")"
                        : " (system property " + PROPERTY + " is not set; the corpus lives in ../shared/vhd-corpus"
                                + " beside the project)"));
        throw new AssertionError("not reached: assumeEnvironment(false, ...) always throws");
    }

    /** The corpus file {@code name}; skips the calling test when it is absent, or needs bzcat that is not there. */
    private static Path file(String name) {
        Path file = directory().resolve(name);
        ExternalTools.assumeEnvironment(Files.isRegularFile(file), () -> "corpus file " + file + " not found");
        if (name.endsWith(".bz2")) {
            ExternalTools.assumeAvailable("bzcat");
        }
        return file;
    }

    /** The raw bytes of a corpus file that is stored uncompressed. */
    public static byte[] bytes(String name) throws IOException {
        return Files.readAllBytes(file(name));
    }

    /** The start and end of the corpus image {@code name}, decompressed once per run and kept in memory. */
    public static Excerpt excerpt(String name) {
        Path file = file(name);
        return EXCERPTS.computeIfAbsent(name, n -> {
            try {
                return readExcerpt(file);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
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
        Path source = file(name);
        Files.createDirectories(into);
        Path target = into.resolve(name.replaceAll("\\.(gz|bz2)$", ""));
        if (isTar(name)) {
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
            if (waitFor(bzcat) != 0) {
                throw new IOException("bzcat " + source + " failed");
            }
        } else {
            Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING);
        }
        return target;
    }

    /** The one corpus file that is a tar archive (of one sparse 7.8 GB file). */
    private static boolean isTar(String name) {
        return name.startsWith("compactVD-");
    }

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
            long size = tarMemberSize(source.getFileName().toString(), in);
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

    private static Excerpt readExcerpt(Path file) throws IOException {
        String name = file.getFileName().toString();
        if (name.endsWith(".gz")) {
            try (InputStream in = new GZIPInputStream(Files.newInputStream(file), 1 << 16)) {
                return readWhole(name, in);
            }
        }
        if (name.endsWith(".bz2")) {
            Process bzcat = new ProcessBuilder("bzcat", file.toString())
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            try (InputStream in = bzcat.getInputStream()) {
                if (isTar(name)) {
                    // The start of the tar's one member, without reading on: its tail is not read.
                    long size = tarMemberSize(name, in);
                    return new Excerpt(name, size, in.readNBytes((int) Math.min(size, HEAD_BYTES)), null);
                }
                return readWhole(name, in);
            } finally {
                bzcat.destroy();
                waitFor(bzcat);
            }
        }
        byte[] bytes = Files.readAllBytes(file);
        return new Excerpt(name, bytes.length, Arrays.copyOf(bytes, Math.min(bytes.length, HEAD_BYTES)),
                bytes.length >= Footer.SIZE ? Arrays.copyOfRange(bytes, bytes.length - Footer.SIZE, bytes.length)
                        : null);
    }

    /** Reads a whole stream, keeping its head and its last 512 bytes. */
    private static Excerpt readWhole(String name, InputStream in) throws IOException {
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
        return new Excerpt(name, size, head, tail);
    }

    /** Reads the header of a tar stream's first member and returns the member's size. */
    private static long tarMemberSize(String name, InputStream in) throws IOException {
        byte[] header = in.readNBytes(512);
        if (header.length < 512) {
            throw new IOException(name + ": truncated tar header");
        }
        String octal = new String(header, 124, 12, StandardCharsets.US_ASCII).replace("\0", "").trim();
        return Long.parseLong(octal, 8);
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
