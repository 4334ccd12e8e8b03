package org.vhdkit.vhd.testing.guest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * A real Linux guest in qemu-system-x86_64, for tests that need a real operating system's drivers
 * on the other side of a disk: Debian's installed kernel (unpacked once to the ELF vmlinux, booted
 * through the PVH entry) with a small initramfs (busybox, the storage modules, mke2fs and e2fsck),
 * both built once and cached in the user's cache folder. The guest runs shell commands sent over
 * its second serial port and answers with their output and exit status; its console (ttyS0, the
 * kernel's messages), qemu's own output and command line, and each command's duration and exit
 * status ({@code commands.log}) are logged under {@code target/guest-logs/NAME-N/}.
 *
 * <p>Typical use, one guest shared by a test class (booting costs a few seconds under TCG):
 * <pre>{@code
 * guest = LinuxGuest.boot(LinuxGuest.options("nbd-ide").withQemuArgs(
 *         "-drive", "driver=nbd,server.type=unix,server.path=" + socket + ",export=d,if=none,id=d0",
 *         "-device", "ide-hd,drive=d0,bus=ide.0"));
 * String sda = guest.runChecked("mkfs.ext4 -q /dev/sda && echo ok");
 * guest.powerOff();
 * }</pre>
 *
 * <p>The machine is qemu's {@code pc} (i440FX, PIIX3 IDE) with TCG, or KVM when the system
 * property {@code vhdkit.guest.accel} says {@code kvm}. Extra devices come from the test as qemu
 * arguments. Modules loaded by default: {@link #DEFAULT_MODULES}. SCSI scanning is synchronous
 * ({@code scsi_mod.scan=sync}), so the disks present at boot are there when the guest is ready.
 * An ACPI power button press (QMP {@code system_powerdown}) makes the guest sync and power off.
 *
 * <p>A missing qemu, kernel or busybox skips the test (fails it when {@code CI=true}), naming the
 * Debian package; {@code scripts/install-test-tools} installs them. Failures (boot, timeouts, a
 * command's non-zero exit in {@link #runChecked}) are AssertionErrors carrying the end of the
 * console log.
 *
 * <p>Thread-safety: every method may be called from any thread; commands run one at a time
 * (the instance's monitor guards the command port and the QMP connection).
 */
public final class LinuxGuest implements AutoCloseable {

    /** Modules every guest gets (with their dependencies): the disks and file systems tests use. */
    public static final List<String> DEFAULT_MODULES = List.of(
            "virtio_pci", "virtio_rng", "virtio_scsi", "virtio_blk", "ata_piix", "sd_mod", "sr_mod",
            "crc32c_generic", "ext4", "isofs", "button", "evdev");

    /** Host programs copied into every guest (with their libraries). */
    public static final List<String> DEFAULT_PROGRAMS = List.of("mke2fs", "e2fsck");

    /**
     * A guest program the tooling compiles ({@code gcc -static -O2}, cached) for {@link Options#withPrograms}:
     * {@code qdbench [-d DEPTH] [-b BYTES] [-n REQUESTS] [-w] [-q] [-s SEED] DEVICE} keeps DEPTH O_DIRECT
     * requests in flight through Linux native AIO at random offsets (consecutive with -q) and prints one
     * line {@code qdbench depth=.. bytes=.. requests=.. seconds=.. iops=.. mibps=.. lat_avg_us=.. lat_p50_us=..
     * lat_p99_us=.. lat_max_us=.. cpu_user_s=.. cpu_sys_s=..}; busybox dd has one request in flight and no
     * random mode. Needs gcc and a static C library (Debian's gcc and libc6-dev).
     */
    public static final String QDBENCH = "qdbench";

    private static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(30);
    private static final Map<String, AtomicInteger> BOOTS = new ConcurrentHashMap<>();
    /** Prepared kernel and initramfs per module and program list; guarded by itself. */
    private static final Map<List<List<String>>, Prepared> PREPARED = new HashMap<>();

    /**
     * How to boot a guest. {@code name} names the log folder; {@code qemuArgs} are appended to qemu's
     * command line (drives, devices, chardevs, memory backends).
     */
    public record Options(String name, int memoryMiB, boolean sharedMemory, List<String> qemuArgs,
            List<String> modules, List<String> programs, Duration bootTimeout, Path logDir) {

        public Options {
            qemuArgs = List.copyOf(qemuArgs);
            modules = List.copyOf(modules);
            programs = List.copyOf(programs);
        }

        /** These options with {@code args} appended to qemu's command line. Thread-safe (immutable). */
        public Options withQemuArgs(String... args) {
            List<String> all = new ArrayList<>(qemuArgs);
            all.addAll(List.of(args));
            return new Options(name, memoryMiB, sharedMemory, all, modules, programs, bootTimeout, logDir);
        }

        /** These options with more kernel modules to load at boot. Thread-safe (immutable). */
        public Options withModules(String... more) {
            List<String> all = new ArrayList<>(modules);
            all.addAll(List.of(more));
            return new Options(name, memoryMiB, sharedMemory, qemuArgs, all, programs, bootTimeout, logDir);
        }

        /**
         * These options with more programs in the guest's /usr/sbin: host programs found on PATH (with
         * their libraries), or {@link #QDBENCH}, built from C source by the tooling. Thread-safe.
         */
        public Options withPrograms(String... more) {
            List<String> all = new ArrayList<>(programs);
            all.addAll(List.of(more));
            return new Options(name, memoryMiB, sharedMemory, qemuArgs, modules, all, bootTimeout, logDir);
        }

        /**
         * These options with the guest's RAM in a memfd that other processes may map
         * ({@code memory-backend-memfd,share=on}), as every vhost-user backend needs. Thread-safe (immutable).
         */
        public Options withSharedMemory() {
            return new Options(name, memoryMiB, true, qemuArgs, modules, programs, bootTimeout, logDir);
        }

        /**
         * These options with a vhost-user device served by the backend listening on {@code socket}:
         * {@code device} is qemu's driver with any properties of its own ({@code "vhost-user-scsi-pci"},
         * {@code "vhost-user-blk-pci,num-queues=2"}); the guest's memory becomes shared
         * ({@link #withSharedMemory()}). Thread-safe (immutable).
         */
        public Options withVhostUser(String device, Path socket) {
            String id = "vhost" + qemuArgs.stream().filter(a -> a.startsWith("socket,id=vhost")).count();
            return withSharedMemory().withQemuArgs("-chardev", "socket,id=" + id + ",path=" + socket.toAbsolutePath(),
                    "-device", device + ",chardev=" + id);
        }

        /** These options with the guest's memory size. Thread-safe (immutable). */
        public Options withMemoryMiB(int mib) {
            return new Options(name, mib, sharedMemory, qemuArgs, modules, programs, bootTimeout, logDir);
        }

        /** These options with the guest's logs under {@code dir}. Thread-safe (immutable). */
        public Options withLogDir(Path dir) {
            return new Options(name, memoryMiB, sharedMemory, qemuArgs, modules, programs, bootTimeout, dir);
        }
    }

    /** What a command printed (stdout and stderr together) and its exit status. */
    public record Result(int exitCode, String output) {
    }

    /**
     * A block device the guest sees: its name ({@code sda}, {@code sr0}, {@code vda}), size in
     * 512-byte sectors, read-only flag, SCSI vendor and model (empty for virtio-blk) and the sysfs path
     * of its device (which tells the controller: {@code .../ata1/...}, {@code .../virtio2/...}).
     */
    public record Disk(String name, long sectors, boolean readOnly, String vendor, String model, String sysfsPath) {
        /** {@code /dev/NAME}. Thread-safe (immutable). */
        public String device() {
            return "/dev/" + name;
        }

        /** The size in bytes. Thread-safe (immutable). */
        public long size() {
            return sectors * 512;
        }
    }

    /** The kernel and initramfs qemu is given, and whether the kernel boots through PVH. */
    private record Prepared(Path kernel, Path initramfs, boolean pvh, String version) {
    }

    private final Options options;
    private final Process qemu;
    private final GuestChannel channel;
    private final Path runDir;
    private final Path logDir;
    private final Prepared prepared;
    private final Duration bootTime;
    private final double guestUptimeAtReady;
    private Qmp qmp; // guarded by this

    private LinuxGuest(Options options, Process qemu, GuestChannel channel, Path runDir, Path logDir, Prepared prepared,
            Duration bootTime, double guestUptimeAtReady) {
        this.options = options;
        this.qemu = qemu;
        this.channel = channel;
        this.runDir = runDir;
        this.logDir = logDir;
        this.prepared = prepared;
        this.bootTime = bootTime;
        this.guestUptimeAtReady = guestUptimeAtReady;
    }

    /** Default options: 256 MiB, the default modules and programs, a 120 s boot timeout, logs in target/guest-logs. */
    public static Options options(String name) {
        return new Options(name, 256, false, List.of(), DEFAULT_MODULES, DEFAULT_PROGRAMS, Duration.ofSeconds(120),
                Path.of("target", "guest-logs"));
    }

    /**
     * Skips the calling test (fails it when {@code CI=true}) unless a guest can be booted here:
     * qemu-system-x86_64, an installed kernel with its modules, busybox. Thread-safe.
     */
    public static void assumeAvailable() {
        ExternalTools.assumeAvailable("qemu-system-x86_64", "busybox");
        boolean kernel;
        try {
            kernel = GuestKernel.installed().isPresent();
        } catch (IOException e) {
            kernel = false;
        }
        ExternalTools.assumeEnvironment(kernel, () -> "no readable /boot/vmlinuz-VERSION with its /lib/modules/VERSION"
                + " (Debian package linux-image-amd64; scripts/install-test-tools installs it)");
    }

    /**
     * Builds (or takes from the cache) the kernel and initramfs, starts qemu and waits until the
     * guest's command loop is ready. Skips the test as {@link #assumeAvailable()} does when the
     * pieces are missing; throws AssertionError (with the console log's end) when the guest does
     * not come up within the boot timeout. Thread-safe.
     */
    public static LinuxGuest boot(Options options) {
        assumeAvailable();
        Prepared prepared = prepare(options);
        int n = BOOTS.computeIfAbsent(options.name(), k -> new AtomicInteger()).incrementAndGet();
        Path logDir = options.logDir().resolve(options.name() + "-" + n).toAbsolutePath();
        Path runDir = null;
        Process qemu = null;
        GuestChannel channel = null;
        try {
            deleteTree(logDir);
            Files.createDirectories(logDir);
            // Sockets in a short folder of their own: a Unix socket path has at most 107 bytes.
            runDir = Files.createTempDirectory("vhdkit-guest-");
            Path commandSocket = runDir.resolve("cmd.sock");
            channel = GuestChannel.listen(commandSocket);
            List<String> command = new ArrayList<>(List.of(
                    ExternalTools.find("qemu-system-x86_64").orElseThrow().toString(),
                    "-machine", "pc", "-accel", accel(),
                    "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                    "-m", Integer.toString(options.memoryMiB()),
                    "-kernel", prepared.kernel().toString(), "-initrd", prepared.initramfs().toString(),
                    "-append", "console=ttyS0 panic=-1 quiet scsi_mod.scan=sync",
                    "-chardev", "file,id=console,path=" + logDir.resolve("console.log"),
                    "-serial", "chardev:console",
                    "-chardev", "socket,id=command,path=" + commandSocket,
                    "-serial", "chardev:command",
                    "-chardev", "socket,id=qmp,path=" + runDir.resolve("qmp.sock") + ",server=on,wait=off",
                    "-mon", "chardev=qmp,mode=control",
                    // Entropy at once: without it the first getrandom() (mke2fs's UUID) waits seconds
                    // for the kernel's jitter entropy under TCG.
                    "-device", "virtio-rng-pci"));
            if (options.sharedMemory()) {
                command.addAll(List.of("-object", "memory-backend-memfd,id=guest-ram,share=on,size=" + options.memoryMiB() + "M",
                        "-machine", "memory-backend=guest-ram"));
            }
            command.addAll(options.qemuArgs());
            Files.writeString(logDir.resolve("qemu-command.txt"), String.join(" ", command) + "\n");
            long start = System.nanoTime();
            qemu = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(logDir.resolve("qemu.log").toFile())
                    .redirectErrorStream(true)
                    .start();
            acceptOrExit(channel, qemu, logDir);
            double uptime = channel.awaitReady(options.bootTimeout());
            Duration bootTime = Duration.ofNanos(System.nanoTime() - start);
            long cpuMillis = qemu.info().totalCpuDuration().map(Duration::toMillis).orElse(-1L);
            System.err.printf("vhdkit guest %s-%d: ready in %d ms (qemu CPU time %d ms, guest uptime %.2f s; kernel %s %s)%n",
                    options.name(), n, bootTime.toMillis(), cpuMillis, uptime, prepared.version(),
                    prepared.pvh() ? "vmlinux through the PVH entry" : "bzImage through the BIOS (no PVH note)");
            LinuxGuest guest = new LinuxGuest(options, qemu, channel, runDir, logDir, prepared, bootTime, uptime);
            qemu = null;
            channel = null;
            runDir = null;
            return guest;
        } catch (IOException e) {
            throw new AssertionError("guest " + options.name() + " did not boot: " + e.getMessage()
                    + "\n" + tail(logDir.resolve("console.log")) + "\n--- qemu ---\n" + tail(logDir.resolve("qemu.log")), e);
        } finally {
            if (qemu != null) {
                ExternalTools.killTree(qemu);
            }
            closeQuietly(channel);
            deleteTree(runDir);
        }
    }

    /** Runs {@code script} with the guest's {@code sh}, waiting up to 60 s. See {@link #run(String, Duration)}. */
    public Result run(String script) {
        return run(script, DEFAULT_COMMAND_TIMEOUT);
    }

    /**
     * Runs {@code script} (any shell text, several lines allowed) with the guest's busybox {@code sh}
     * in {@code /root}, stdin empty, and returns its output (stdout and stderr together) and exit
     * status. A command not finished within {@code timeout} is an AssertionError; the guest is then
     * killed, since it may still be running it. Thread-safe (commands run one at a time).
     */
    public synchronized Result run(String script, Duration timeout) {
        long start = System.nanoTime();
        try {
            GuestChannel.Answer a = channel.run(script, timeout);
            logCommand(script, a.exitCode(), start);
            return new Result(a.exitCode(), a.output());
        } catch (GuestChannel.GuestTimeoutException e) {
            close();
            throw new AssertionError("guest " + options.name() + ": command not finished after " + timeout
                    + " (guest killed):\n" + script + "\n" + tail(consoleLog()), e);
        } catch (IOException e) {
            throw new AssertionError("guest " + options.name() + ": " + e.getMessage() + "\n" + tail(consoleLog()), e);
        }
    }

    /** Appends a line to {@code commands.log}: when, how long, the exit status and the script's first line. */
    private void logCommand(String script, int exitCode, long startNanos) {
        String first = script.lines().findFirst().orElse("");
        String line = String.format("%s %6d ms  exit %3d  %s%s%n", java.time.LocalTime.now(),
                (System.nanoTime() - startNanos) / 1_000_000, exitCode,
                first.length() > 160 ? first.substring(0, 160) + "..." : first, script.lines().count() > 1 ? " ..." : "");
        try {
            Files.writeString(logDir.resolve("commands.log"), line, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException ignored) {
            // The log is an aid for failures; a command's result does not depend on it.
        }
    }

    /** Runs {@code script} and returns its output, or throws AssertionError when it exits non-zero. Thread-safe. */
    public String runChecked(String script) {
        return runChecked(script, DEFAULT_COMMAND_TIMEOUT);
    }

    /** {@link #runChecked(String)} with a timeout. Thread-safe. */
    public String runChecked(String script, Duration timeout) {
        Result r = run(script, timeout);
        if (r.exitCode() != 0) {
            throw new AssertionError("guest " + options.name() + ": exit status " + r.exitCode() + " from:\n" + script
                    + "\n--- output ---\n" + r.output());
        }
        return r.output();
    }

    /** The guest's block devices (loop and ram devices left out), as {@code /sys/block} shows them now. Thread-safe. */
    public List<Disk> disks() {
        List<Disk> disks = new ArrayList<>();
        for (String line : runChecked("lsdisks").split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split("\t", -1);
            if (f.length < 6) {
                throw new AssertionError("guest " + options.name() + ": lsdisks line not understood: " + line);
            }
            disks.add(new Disk(f[0], Long.parseLong(f[1].strip()), "1".equals(f[2].strip()), f[3].strip(), f[4].strip(),
                    f[5].strip()));
        }
        return disks;
    }

    /**
     * Polls {@link #disks()} (every 200 ms) until {@code condition} holds and returns that list, or
     * throws AssertionError with the last list when {@code timeout} passes: for disks that come and go
     * while the guest runs (hot plug, LUN changes). Thread-safe.
     */
    public List<Disk> awaitDisks(java.util.function.Predicate<List<Disk>> condition, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<Disk> disks = disks();
            if (condition.test(disks)) {
                return disks;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("guest " + options.name() + ": the disks did not change as expected within "
                        + timeout + "; now " + disks);
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for the guest's disks", e);
            }
        }
    }

    /** The kernel's message buffer ({@code dmesg}). Thread-safe. */
    public String dmesg() {
        return runChecked("dmesg");
    }

    /**
     * Sends one QMP command ({@code execute}, with {@code argumentsJson} as its arguments object, or
     * none when null) on qemu's monitor and returns qemu's answer line (JSON with "return" or
     * "error"); events are skipped. The first call negotiates capabilities. Thread-safe.
     */
    public synchronized String qmp(String execute, String argumentsJson) {
        try {
            if (qmp == null) {
                qmp = Qmp.connect(runDir.resolve("qmp.sock"));
            }
            return qmp.execute(execute, argumentsJson);
        } catch (IOException e) {
            throw new AssertionError("guest " + options.name() + ": QMP " + execute + ": " + e.getMessage(), e);
        }
    }

    /**
     * Syncs the guest's disks, powers it off and waits for qemu to exit (which closes and flushes the
     * drives on qemu's side); AssertionError if it does not within 30 s (qemu is then killed).
     * Thread-safe; a guest already off is left as it is.
     */
    public synchronized void powerOff() {
        if (!qemu.isAlive()) {
            return;
        }
        try {
            channel.powerOff(EXIT_TIMEOUT);
        } catch (IOException e) {
            // qemu may already be gone; waiting below says whether it is.
        }
        awaitExit(EXIT_TIMEOUT);
    }

    /**
     * Waits for qemu to exit by itself (the guest powered off, e.g. after {@code system_powerdown})
     * and returns its exit code; AssertionError (and qemu killed) when it has not within
     * {@code timeout}. Thread-safe.
     */
    public int awaitExit(Duration timeout) {
        try {
            if (!qemu.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                close();
                throw new AssertionError("guest " + options.name() + ": qemu did not exit within " + timeout
                        + " (killed)\n" + tail(consoleLog()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new AssertionError("interrupted while waiting for the guest to power off", e);
        }
        closeQuietly(channel);
        return qemu.exitValue();
    }

    /** Whether qemu is still running. Thread-safe. */
    public boolean isRunning() {
        return qemu.isAlive();
    }

    /** From starting qemu to the guest's command loop being ready. Thread-safe (immutable). */
    public Duration bootTime() {
        return bootTime;
    }

    /** The guest kernel's uptime when its command loop became ready, in seconds. Thread-safe (immutable). */
    public double guestUptimeAtReady() {
        return guestUptimeAtReady;
    }

    /** Whether the kernel was booted as an ELF through its PVH entry (else a bzImage through the BIOS). Thread-safe. */
    public boolean bootedThroughPvh() {
        return prepared.pvh();
    }

    /** The serial console's log (the kernel's messages). Thread-safe (immutable). */
    public Path consoleLog() {
        return logDir.resolve("console.log");
    }

    /** The folder of this boot's logs: console, qemu's output and command line. Thread-safe (immutable). */
    public Path logDir() {
        return logDir;
    }

    /** Kills qemu if it still runs and removes the sockets. Idempotent; thread-safe. */
    @Override
    public void close() {
        if (qemu.isAlive()) {
            ExternalTools.killTree(qemu);
        }
        closeQuietly(channel);
        synchronized (this) {
            if (qmp != null) {
                try {
                    qmp.close();
                } catch (IOException ignored) {
                    // Closing anyway.
                }
            }
        }
        deleteTree(runDir);
    }

    /** A guest's kernel and initramfs, for tests that start qemu another way (vhdkit's qemu engine). */
    public record BootFiles(Path kernel, Path initramfs) {
    }

    /**
     * The kernel and initramfs {@link #boot} would give a guest with {@code options}' modules and
     * programs, built or taken from the cache; skips the test as {@link #assumeAvailable()} does when
     * the pieces are missing. Boot it with {@link GuestConsole#KERNEL_ARGUMENTS} to reach its command
     * loop on the console. Thread-safe.
     */
    public static BootFiles bootFiles(Options options) {
        assumeAvailable();
        Prepared p = prepare(options);
        return new BootFiles(p.kernel(), p.initramfs());
    }

    // ---------------------------------------------------------------- internals

    private static String accel() {
        String accel = System.getProperty("vhdkit.guest.accel", "tcg");
        return "kvm".equals(accel) ? "kvm" : "tcg";
    }

    private static Prepared prepare(Options options) {
        List<List<String>> key = List.of(options.modules(), options.programs());
        synchronized (PREPARED) {
            Prepared p = PREPARED.get(key);
            if (p != null) {
                return p;
            }
            try {
                GuestKernel kernel = GuestKernel.installed().orElseThrow();
                GuestCache cache = GuestCache.user();
                Path vmlinux = cache.file("vmlinux-" + kernel.version(), GuestCache.stamp(kernel.bzImage()), "");
                boolean pvh = true;
                if (!Files.isRegularFile(vmlinux)) {
                    try {
                        kernel.unpack(vmlinux);
                    } catch (IOException e) {
                        System.err.println("vhdkit guest: booting the bzImage through the BIOS (slower): " + e.getMessage());
                        pvh = false;
                    }
                }
                Path initramfs = new Initramfs(kernel, options.modules(), options.programs()).build(cache);
                p = new Prepared(pvh ? vmlinux : kernel.bzImage(), initramfs, pvh, kernel.version());
                PREPARED.put(key, p);
                return p;
            } catch (IOException e) {
                throw new AssertionError("cannot prepare the guest's kernel and initramfs: " + e.getMessage(), e);
            }
        }
    }

    private static void acceptOrExit(GuestChannel channel, Process qemu, Path logDir) throws IOException {
        Thread watcher = Thread.ofVirtual().start(() -> {
            try {
                qemu.waitFor();
                channel.close(); // qemu died before connecting: end the accept
            } catch (InterruptedException | IOException ignored) {
                // The accept went through; nothing to do.
            }
        });
        try {
            channel.accept();
        } catch (IOException e) {
            throw new IOException("qemu exited before connecting to the command port (exit code "
                    + (qemu.isAlive() ? "none yet" : qemu.exitValue()) + "):\n" + tail(logDir.resolve("qemu.log")), e);
        } finally {
            watcher.interrupt();
        }
    }

    /** The last lines of a log, for failure messages. */
    static String tail(Path log) {
        try {
            if (!Files.exists(log)) {
                return "(no " + log + ")";
            }
            List<String> lines = Files.readAllLines(log, java.nio.charset.StandardCharsets.ISO_8859_1);
            return "--- end of " + log + " ---\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e.getMessage() + ")";
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // Best effort.
            }
        }
    }

    private static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException ignored) {
            // A leftover temporary folder is harmless.
        }
    }
}
