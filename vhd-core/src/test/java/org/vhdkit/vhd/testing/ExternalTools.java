package org.vhdkit.vhd.testing;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs the real tools that interop tests compare against (qemu-img, qemu-io, vhdiinfo,
 * vhdimount) with a timeout and captured output, and mounts VHD images with vhdimount.
 *
 * <p>Tests skip when a tool is missing: {@link #assumeAvailable} names the tool and the Debian
 * package that provides it ({@code scripts/install-test-tools} installs them). In CI (the
 * environment variable {@code CI=true}) they fail instead: there our scripts install every tool,
 * so a missing one is a broken install step, not a reason to pass ({@link #assumeEnvironment}).
 *
 * <p>Thread-safety: every static method may be called from any thread; each call starts its
 * own processes and shares no mutable state except the once-computed FUSE probe, which is
 * guarded by the class's monitor. A {@link Mount} is meant for one thread; its {@code close}
 * is idempotent and synchronized.
 */
public final class ExternalTools {

    /** Where a tool comes from on Debian, for the skip message. */
    private static final Map<String, String> PACKAGES = Map.ofEntries(
            Map.entry("qemu-img", "qemu-utils"),
            Map.entry("qemu-io", "qemu-utils"),
            Map.entry("vhdiinfo", "libvhdi-utils"),
            Map.entry("vhdimount", "libvhdi-utils"),
            Map.entry("fusermount", "fuse3"),
            Map.entry("fusermount3", "fuse3"),
            Map.entry("xorriso", "xorriso"),
            Map.entry("nbdinfo", "libnbd-bin"),
            Map.entry("nbdcopy", "libnbd-bin"),
            Map.entry("qemu-nbd", "qemu-utils"),
            Map.entry("losetup", "mount"),
            Map.entry("bzcat", "bzip2"),
            Map.entry("python3", "python3"),
            Map.entry("b3sum", "b3sum"),
            Map.entry("qemu-system-x86_64", "qemu-system-x86"),
            Map.entry("qemu-storage-daemon", "qemu-system-common"),
            Map.entry("busybox", "busybox-static"),
            Map.entry("mke2fs", "e2fsprogs"),
            Map.entry("e2fsck", "e2fsprogs"),
            Map.entry("debugfs", "e2fsprogs"),
            Map.entry("xz", "xz-utils"),
            Map.entry("zstd", "zstd"),
            Map.entry("mkfs.ext4", "e2fsprogs"),
            Map.entry("mkfs.vfat", "dosfstools"),
            Map.entry("mcopy", "mtools"),
            Map.entry("mtype", "mtools"),
            Map.entry("mdir", "mtools"),
            Map.entry("syslinux", "syslinux"),
            Map.entry("gcc", "gcc (and libc6-dev for -static)"),
            Map.entry("mount", "mount"),
            Map.entry("umount", "mount"));

    /** Searched after PATH: a non-root PATH often lacks the sbin folders. */
    private static final List<Path> EXTRA_DIRS =
            List.of(Path.of("/usr/bin"), Path.of("/usr/sbin"), Path.of("/sbin"));

    private static final Duration MOUNT_TIMEOUT = Duration.ofSeconds(15);
    private static final Duration UNMOUNT_TIMEOUT = Duration.ofSeconds(10);
    private static final Pattern VHDI_FILE = Pattern.compile("vhdi(\\d+)");

    /** Why FUSE mounts cannot be made here ("" when they can); computed once. */
    private static String fuseProblem;

    /**
     * Mounts not yet closed, unmounted at JVM exit so that a test that forgets to close one
     * (or a run cut short) leaves no FUSE mount behind. Guarded by itself.
     */
    private static final Set<Mount> OPEN_MOUNTS = new LinkedHashSet<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            List<Mount> left;
            synchronized (OPEN_MOUNTS) {
                left = new ArrayList<>(OPEN_MOUNTS);
            }
            for (Mount m : left) {
                try {
                    m.close();
                } catch (RuntimeException | AssertionError ignored) {
                    // Exiting anyway; close() already tried every way to unmount.
                }
            }
        }, "vhdkit-unmount-at-exit"));
    }

    private ExternalTools() {}

    /** Exit code and everything a finished command printed. */
    public record Result(int exitCode, String stdout, String stderr, List<String> command) {

        public Result {
            command = List.copyOf(command);
        }

        /** For results made by hand (no command known). */
        public Result(int exitCode, String stdout, String stderr) {
            this(exitCode, stdout, stderr, List.of());
        }

        /**
         * Returns this result when the exit code is 0; otherwise throws an AssertionError
         * carrying the command, the exit code, stdout and stderr. Thread-safe (immutable).
         */
        public Result requireSuccess() {
            if (exitCode != 0) {
                throw new AssertionError(describe("failed with exit code " + exitCode));
            }
            return this;
        }

        String describe(String what) {
            return "command " + command + " " + what
                    + "\n--- stdout ---\n" + stdout
                    + "\n--- stderr ---\n" + stderr;
        }
    }

    /**
     * Finds an executable by name on PATH, then in /usr/bin, /usr/sbin and /sbin. A name
     * containing '/' is taken as a path. Thread-safe.
     */
    public static Optional<Path> find(String name) {
        if (name.indexOf('/') >= 0) {
            Path p = Path.of(name);
            return isExecutableFile(p) ? Optional.of(p) : Optional.empty();
        }
        Set<Path> dirs = new LinkedHashSet<>();
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(File.pathSeparator)) {
                if (!dir.isEmpty()) {
                    dirs.add(Path.of(dir));
                }
            }
        }
        dirs.addAll(EXTRA_DIRS);
        for (Path dir : dirs) {
            Path candidate = dir.resolve(name);
            if (isExecutableFile(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /**
     * Skips the calling test (JUnit assumption) unless every named tool is found, with a
     * message naming each missing tool and its Debian package. Thread-safe.
     */
    public static void assumeAvailable(String... names) {
        List<String> missing = new ArrayList<>();
        for (String name : names) {
            if (find(name).isEmpty()) {
                String pkg = PACKAGES.get(name);
                missing.add(pkg == null ? name : name + " (Debian package " + pkg + ")");
            }
        }
        assumeEnvironment(missing.isEmpty(), () -> "not installed: "
                + String.join(", ", missing)
                + "; scripts/install-test-tools installs them (needs root or sudo)");
    }

    /** Whether this is a CI run: the environment variable {@code CI} is {@code true}. */
    public static boolean inCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /**
     * For what a test needs of the machine (a tool, the corpus, root, FUSE): skips the calling test
     * (JUnit assumption) unless {@code present}, with the message {@code "skipped: " + why}; in CI
     * ({@link #inCi()}) fails it instead, since there a missing piece is a broken set-up. Thread-safe.
     */
    public static void assumeEnvironment(boolean present, Supplier<String> why) {
        assumeEnvironment(present, why, inCi());
    }

    /** {@link #assumeEnvironment(boolean, Supplier)} as in CI when {@code ci}. */
    static void assumeEnvironment(boolean present, Supplier<String> why, boolean ci) {
        if (present) {
            return;
        }
        if (ci) {
            throw new AssertionError("CI=true and the test environment is incomplete: " + why.get());
        }
        Assumptions.assumeTrue(false, () -> "skipped: " + why.get());
    }

    /**
     * Skips the calling test unless FUSE mounts can be made here: /dev/fuse present and
     * usable, vhdimount installed, and a probe mount of a tiny VHD succeeds (tried once per
     * JVM). Thread-safe.
     */
    public static void assumeFuse() {
        String problem = fuseProblem();
        assumeEnvironment(problem.isEmpty(), () -> "cannot mount with FUSE here: " + problem);
    }

    /** Runs argv in the current directory; see {@link #run(Path, Duration, List)}. */
    public static Result run(Duration timeout, String... argv) {
        return run(null, timeout, Arrays.asList(argv));
    }

    /**
     * Runs a command to completion with stdin empty and stdout/stderr captured (UTF-8, bad
     * bytes replaced), in {@code workDir} (null: the current directory). A bare program name
     * is looked up with {@link #find}; when it is missing the test is skipped as by
     * {@link #assumeAvailable}. When the command does not finish within {@code timeout}, it and
     * all its descendants are killed and an AssertionError says it hung, with the output so
     * far. A non-zero exit code is returned, not thrown: see {@link Result#requireSuccess()}.
     * Thread-safe.
     */
    public static Result run(Path workDir, Duration timeout, List<String> argv) {
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("empty command");
        }
        List<String> command = new ArrayList<>(argv);
        String program = command.getFirst();
        if (program.indexOf('/') < 0) {
            assumeAvailable(program);
            command.set(0, find(program).orElseThrow().toString());
        }
        Path out = null;
        Path err = null;
        try {
            // Files, not pipes: a reader never blocks, and a descendant that keeps the
            // descriptors open (a daemon) cannot keep us waiting for end-of-file.
            out = Files.createTempFile("vhdkit-run-", ".out");
            err = Files.createTempFile("vhdkit-run-", ".err");
            ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile());
            if (workDir != null) {
                builder.directory(workDir.toFile());
            }
            Process process = builder.start();
            boolean finished;
            try {
                finished = process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                killTree(process);
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while running " + argv, e);
            }
            if (!finished) {
                List<Long> killed = killTree(process);
                Result partial = new Result(-1, readText(out), readText(err), argv);
                throw new AssertionError(partial.describe("hung: not finished after " + timeout
                        + "; killed it and its process tree " + killed));
            }
            return new Result(process.exitValue(), readText(out), readText(err), argv);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + argv, e);
        } finally {
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    /**
     * Mounts {@code image} with vhdimount on {@code mountDir} (created if missing) and returns
     * once the FUSE file system is up. Skips the test when vhdimount or FUSE is unavailable;
     * an image vhdimount refuses is an AssertionError with its messages. vhdimount runs in
     * the foreground ({@code -v}) as a child of this JVM so {@link Mount#close()} can wait for
     * it. The image path is made absolute because vhdimount looks for a differencing image's
     * parent in the image's folder, as given on its command line. Thread-safe.
     */
    public static Mount vhdimount(Path image, Path mountDir) {
        assumeAvailable("vhdimount");
        assumeFuse();
        return mount(image, mountDir);
    }

    /** A vhdimount FUSE mount; close it to unmount. */
    public static final class Mount implements AutoCloseable {
        private final Process process;
        private final Path mountDir;
        private final Path realMountDir;
        private final Path log;
        private final List<Path> layers;
        private boolean closed; // guarded by this

        private Mount(Process process, Path mountDir, Path realMountDir, Path log, List<Path> layers) {
            this.process = process;
            this.mountDir = mountDir;
            this.realMountDir = realMountDir;
            this.log = log;
            this.layers = layers;
        }

        /**
         * The disk's contents as one read-only file: for a differencing image, the image named
         * with its parents applied (vhdimount's highest-numbered {@code vhdiN}; a plain image
         * shows only {@code vhdi1}). Thread-safe (immutable).
         */
        public Path disk() {
            return layers.getLast();
        }

        /**
         * Every file vhdimount shows, in order: {@code vhdi1} is the root of the parent chain,
         * the last one the image named. Thread-safe (immutable).
         */
        public List<Path> layers() {
            return layers;
        }

        /** The mount point. Thread-safe (immutable). */
        public Path mountDir() {
            return mountDir;
        }

        /**
         * Unmounts (fusermount3 -u, fusermount -u or umount, retried while busy), waits for
         * vhdimount to exit, and throws AssertionError if the mount could not be removed.
         * Idempotent; synchronized.
         */
        @Override
        public synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            synchronized (OPEN_MOUNTS) {
                OPEN_MOUNTS.remove(this);
            }
            try {
                String failures = unmount(realMountDir);
                try {
                    if (!process.waitFor(UNMOUNT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                        killTree(process);
                    }
                } catch (InterruptedException e) {
                    killTree(process);
                    Thread.currentThread().interrupt();
                }
                if (isMounted(realMountDir)) {
                    // Last resort so that a test run does not leave mounts behind.
                    runQuietly(List.of("umount", "-l", realMountDir.toString()));
                    throw new AssertionError("could not unmount " + mountDir + ": " + failures);
                }
            } finally {
                deleteQuietly(log);
            }
        }
    }

    // ---------------------------------------------------------------- internals

    static String packageFor(String tool) {
        return PACKAGES.get(tool);
    }

    /** Why FUSE mounts cannot be made here, or "" when they can. Probed once. */
    static synchronized String fuseProblem() {
        if (fuseProblem == null) {
            fuseProblem = probeFuse();
        }
        return fuseProblem;
    }

    private static String probeFuse() {
        Path dev = Path.of("/dev/fuse");
        if (!Files.exists(dev)) {
            return "/dev/fuse is absent (no FUSE in this kernel or container)";
        }
        if (!Files.isReadable(dev) || !Files.isWritable(dev)) {
            return "/dev/fuse is not readable and writable by this user (run as root)";
        }
        if (find("vhdimount").isEmpty()) {
            return "vhdimount not installed (Debian package libvhdi-utils)";
        }
        Path dir = null;
        try {
            dir = Files.createTempDirectory("vhdkit-fuse-probe-");
            Path image = dir.resolve("probe.vhd");
            Files.write(image, tinyFixedVhd(64 * 1024));
            try (Mount m = mount(image, dir.resolve("mnt"))) {
                long size = Files.size(m.disk());
                if (size != 64 * 1024) {
                    return "probe mount showed " + m.disk() + " of " + size + " bytes, expected 65536";
                }
            }
            return "";
        } catch (IOException | RuntimeException | AssertionError e) {
            return "a probe mount with vhdimount failed: " + e.getMessage();
        } finally {
            deleteTree(dir);
        }
    }

    private static Mount mount(Path image, Path mountDir) {
        Path log = null;
        Process process = null;
        try {
            Path absolute = image.toAbsolutePath();
            if (!Files.isRegularFile(absolute)) {
                throw new AssertionError("vhdimount: no such image file: " + absolute);
            }
            Files.createDirectories(mountDir);
            Path real = mountDir.toRealPath();
            if (isMounted(real)) {
                throw new AssertionError("something is already mounted on " + real);
            }
            log = Files.createTempFile("vhdkit-vhdimount-", ".log");
            List<String> command = List.of(find("vhdimount").orElseThrow().toString(),
                    "-v", absolute.toString(), real.toString());
            process = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(log.toFile())
                    .redirectErrorStream(true)
                    .start();
            long deadline = System.nanoTime() + MOUNT_TIMEOUT.toNanos();
            while (!isMounted(real)) {
                if (!process.isAlive()) {
                    throw new AssertionError("vhdimount " + absolute + " exited with code "
                            + process.exitValue() + " before mounting:\n" + readText(log));
                }
                if (System.nanoTime() > deadline) {
                    killTree(process);
                    throw new AssertionError("vhdimount " + absolute + " hung: not mounted after "
                            + MOUNT_TIMEOUT + "; killed it. Output:\n" + readText(log));
                }
                Thread.sleep(20);
            }
            List<Path> layers = listLayers(mountDir);
            if (layers.isEmpty()) {
                Mount broken = new Mount(process, mountDir, real, log, List.of(mountDir.resolve("vhdi1")));
                log = null;
                broken.close();
                throw new AssertionError("vhdimount mounted " + absolute + " but showed no vhdiN file");
            }
            Mount mounted = new Mount(process, mountDir, real, log, layers);
            synchronized (OPEN_MOUNTS) {
                OPEN_MOUNTS.add(mounted);
            }
            log = null; // the Mount owns it now
            process = null;
            return mounted;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot mount " + image + " on " + mountDir, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while mounting " + image, e);
        } finally {
            if (process != null && process.isAlive()) {
                killTree(process);
            }
            deleteQuietly(log);
        }
    }

    private static List<Path> listLayers(Path mountDir) throws IOException {
        try (Stream<Path> entries = Files.list(mountDir)) {
            return entries
                    .filter(p -> VHDI_FILE.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparingInt(ExternalTools::layerNumber))
                    .toList();
        }
    }

    private static int layerNumber(Path p) {
        Matcher m = VHDI_FILE.matcher(p.getFileName().toString());
        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** Tries each unmount command, retrying while the mount is busy; returns what failed. */
    private static String unmount(Path mountDir) {
        List<List<String>> commands = new ArrayList<>();
        for (String tool : List.of("fusermount3", "fusermount")) {
            find(tool).ifPresent(p -> commands.add(List.of(p.toString(), "-u", mountDir.toString())));
        }
        find("umount").ifPresent(p -> commands.add(List.of(p.toString(), mountDir.toString())));
        StringBuilder failures = new StringBuilder();
        long deadline = System.nanoTime() + UNMOUNT_TIMEOUT.toNanos();
        do {
            for (List<String> command : commands) {
                if (!isMounted(mountDir)) {
                    return "";
                }
                String problem = runQuietly(command);
                if (!problem.isEmpty()) {
                    failures.append('\n').append(problem);
                }
            }
            if (!isMounted(mountDir)) {
                return "";
            }
            // "Device or resource busy": a reader may still hold a file open for a moment.
            sleepQuietly(100);
        } while (System.nanoTime() < deadline);
        return failures.toString();
    }

    /** Runs a command, returning "" on success or a description of the failure. */
    private static String runQuietly(List<String> command) {
        try {
            Result r = run(null, UNMOUNT_TIMEOUT, command);
            return r.exitCode() == 0 ? "" : command + " -> " + r.exitCode() + ": " + r.stderr().strip();
        } catch (AssertionError | RuntimeException e) {
            return command + " -> " + e.getMessage();
        }
    }

    /** True when /proc/self/mountinfo lists {@code mountDir} (a real path) as a mount point. */
    static boolean isMounted(Path mountDir) {
        String wanted = mountDir.toString();
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/mountinfo"))) {
            return lines.map(line -> line.split(" "))
                    .filter(fields -> fields.length > 4)
                    .anyMatch(fields -> unescapeMountField(fields[4]).equals(wanted));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** mountinfo writes space, tab, newline and backslash as octal escapes (\040 ...). */
    private static String unescapeMountField(String field) {
        if (field.indexOf('\\') < 0) {
            return field;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && i + 3 < field.length() && field.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                sb.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    /**
     * Kills a process and all its descendants (children first, while the parent still holds
     * them, so that none is re-parented out of reach), then waits for it. Returns the pids.
     * Thread-safe.
     */
    public static List<Long> killTree(Process process) {
        Set<ProcessHandle> seen = new LinkedHashSet<>();
        for (int round = 0; round < 10; round++) {
            List<ProcessHandle> tree = process.descendants().toList();
            List<ProcessHandle> alive = Stream.concat(tree.stream(), seen.stream())
                    .filter(ProcessHandle::isAlive).distinct().toList();
            if (alive.isEmpty()) {
                break;
            }
            seen.addAll(tree);
            alive.forEach(ProcessHandle::destroyForcibly);
            sleepQuietly(10);
        }
        process.destroyForcibly();
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<Long> pids = new ArrayList<>();
        pids.add(process.pid());
        seen.forEach(h -> pids.add(h.pid()));
        return pids;
    }

    /**
     * A fixed VHD of {@code size} zero bytes: the data, then a 512-byte footer. Only for the
     * FUSE probe, so that it needs no other tool; vhd-core's own encoder is what tests test.
     */
    static byte[] tinyFixedVhd(int size) {
        byte[] image = new byte[size + 512];
        ByteBuffer f = ByteBuffer.wrap(image, size, 512).slice();
        f.put(0, "conectix".getBytes(UTF_8));
        f.putInt(8, 2); // features: reserved bit always set
        f.putInt(12, 0x0001_0000); // file format version 1.0
        f.putLong(16, -1L); // data offset: none for a fixed disk
        f.put(28, "vhdk".getBytes(UTF_8)); // creator application
        f.putInt(32, 0x0001_0000); // creator version
        f.put(36, "Wi2k".getBytes(UTF_8)); // creator host OS
        f.putLong(40, size); // original size
        f.putLong(48, size); // current size
        int sectors = size / 512; // geometry C/H/S with C*H*S == sectors for small sizes
        f.putShort(56, (short) (sectors / (4 * 16)));
        f.put(58, (byte) 4);
        f.put(59, (byte) 16);
        f.putInt(60, 2); // disk type: fixed
        UUID id = UUID.randomUUID();
        f.putLong(68, id.getMostSignificantBits());
        f.putLong(76, id.getLeastSignificantBits());
        int sum = 0;
        for (int i = 0; i < 512; i++) {
            sum += f.get(i) & 0xff;
        }
        f.putInt(64, ~sum); // checksum: one's complement of the byte sum, field itself zero
        return image;
    }

    private static boolean isExecutableFile(Path p) {
        return Files.isRegularFile(p) && Files.isExecutable(p);
    }

    private static String readText(Path p) {
        try {
            return new String(Files.readAllBytes(p), UTF_8);
        } catch (IOException e) {
            return "(cannot read " + p + ": " + e.getMessage() + ")";
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // A temporary file left behind is not worth failing a test for.
            }
        }
    }

    private static void deleteTree(Path dir) {
        if (dir == null || isMountedQuietly(dir.resolve("mnt"))) {
            return; // never recurse into a live mount
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(ExternalTools::deleteQuietly);
        } catch (IOException | UncheckedIOException ignored) {
            // As above: a leftover temporary folder is harmless.
        }
    }

    private static boolean isMountedQuietly(Path p) {
        try {
            return Files.exists(p) && isMounted(p.toRealPath());
        } catch (IOException | UncheckedIOException e) {
            return true;
        }
    }
}
