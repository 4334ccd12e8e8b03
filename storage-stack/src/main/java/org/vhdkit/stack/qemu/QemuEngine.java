package org.vhdkit.stack.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.vhdkit.stack.protocol.qmp.QmpMessage;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.GuestEngine;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.stack.vm.WorkerLauncher;
import org.vhdkit.stack.vm.WorkerProcess;

/**
 * Runs real guests: the {@link WorkerLauncher} that starts one qemu-system-x86_64 per running VM
 * whose engine is qemu (see the package comment for the design). Give it to the hypervisor with
 * {@code HypervisorOptions.defaults().withWorkerLauncher(QemuEngine.create())}.
 *
 * <p>Files in the VM's folder: {@code console.log} (the serial console, appended; past 16 MiB moved
 * to {@code console.log.1}, see {@link ConsoleLog}), {@code qemu.log} (qemu's command line and its
 * own messages, appended) and, while it runs, {@code console.sock}, a link to the console's socket
 * ({@link #consoleSocket}), and {@code qemu.pid}: a host that dies leaves its qemus running without
 * their storage, and the next start of the VM ends that one. The sockets themselves live in a private
 * folder (mode 0700) under {@code $XDG_RUNTIME_DIR} or the temporary folder, since a VM's folder can
 * be too long for a socket's path.
 *
 * <p>Thread-safety: stateless; any number of VMs may start at once.
 */
public final class QemuEngine implements WorkerLauncher {
    private static final System.Logger LOG = System.getLogger(QemuEngine.class.getName());
    /** The program, found on PATH unless the system property {@code vhdkit.qemu} names it. */
    static final String PROGRAM = "qemu-system-x86_64";
    static final String CONSOLE_LOG = "console.log";
    static final String QEMU_LOG = "qemu.log";
    static final String CONSOLE_LINK = "console.sock";
    /** The running worker's process id, so that a later host can end a worker whose host died. */
    static final String PID_FILE = "qemu.pid";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    /** How long loading a saved state may take. */
    private static final Duration LOAD_TIMEOUT = Duration.ofMinutes(5);
    /** How long a hot remove waits for the guest to release a SCSI controller whose last disk went. */
    private static final Duration UNPLUG_TIMEOUT = Duration.ofSeconds(15);
    /** How long a deleted controller's socket may stay busy in qemu (its device is freed after an RCU grace). */
    private static final Duration CHARDEV_RELEASE = Duration.ofSeconds(5);

    private QemuEngine() {
    }

    /** The engine. Thread-safe. */
    public static QemuEngine create() {
        return new QemuEngine();
    }

    @Override
    public WorkerProcess launch(VmConfiguration config, Path folder, Optional<Path> savedState,
                                WorkerProcess.ExitListener listener) throws IOException {
        Path qemu = program();
        endStaleWorker(folder, config);
        boolean kvm = kvm(config.engine().accel());
        Path runDir = runtimeDir();
        ServedStorage storage = null;
        Process process = null;
        QmpClient qmp = null;
        try {
            storage = ServedStorage.open(config, runDir, line -> LOG.log(Level.DEBUG, "{0}: {1}", config.name(), line));
            QemuCommandLine line = new QemuCommandLine(qemu, config, kvm, runDir, folder.resolve(CONSOLE_LOG),
                    storage.ideDrives(), storage.scsiControllers(), savedState.isPresent());
            Path log = folder.resolve(QEMU_LOG);
            Files.writeString(log, "--- " + Instant.now() + ": " + String.join(" ", line.words()) + "\n",
                    StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            process = new ProcessBuilder(line.words())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .redirectErrorStream(true)
                    .start();
            Files.writeString(folder.resolve(PID_FILE), process.pid() + "\n", StandardCharsets.US_ASCII);
            Path link = folder.resolve(CONSOLE_LINK);
            QemuWorker worker = new QemuWorker(config.name(), process, storage, runDir, link);
            qmp = connect(runDir.resolve(QemuCommandLine.QMP_SOCKET), config.name(), process, log, worker);
            worker.attach(qmp, listener);
            worker.limitConsoleLog(folder.resolve(CONSOLE_LOG));
            Files.deleteIfExists(link);
            Files.createSymbolicLink(link, runDir.resolve(QemuCommandLine.CONSOLE_SOCKET));
            if (savedState.isPresent()) {
                try {
                    worker.load(savedState.get(), LOAD_TIMEOUT);
                } catch (IOException e) {
                    worker.close();
                    throw e;
                }
            }
            return worker;
        } catch (IOException | RuntimeException e) {
            if (qmp != null) {
                qmp.close();
            }
            if (process != null) {
                process.destroyForcibly();
                try {
                    process.waitFor();
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
            }
            if (storage != null) {
                storage.close();
            }
            QemuWorker.deleteTree(runDir);
            for (String name : List.of(PID_FILE, CONSOLE_LINK)) {
                try {
                    Files.deleteIfExists(folder.resolve(name));
                } catch (IOException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            throw e;
        }
    }

    /**
     * Ends the qemu a host that died left running for this VM: the folder is this hypervisor's now
     * (it is locked), so a live process named after the VM ({@code -name vhdkit-ID}) at the pid the
     * folder records has lost its storage and can only hold memory. Anything else at that pid is
     * left alone.
     */
    static void endStaleWorker(Path folder, VmConfiguration config) throws IOException {
        Path file = folder.resolve(PID_FILE);
        if (!Files.isRegularFile(file)) {
            return;
        }
        long pid;
        try {
            pid = Long.parseLong(Files.readString(file, StandardCharsets.US_ASCII).strip());
        } catch (NumberFormatException e) {
            Files.deleteIfExists(file);
            return;
        }
        Optional<ProcessHandle> stale = ProcessHandle.of(pid).filter(p -> p.info().commandLine().orElse("")
                .contains("vhdkit-" + config.id()));
        if (stale.isPresent()) {
            LOG.log(Level.WARNING, "''{0}'': ending qemu (process {1}) left running by a host that ended",
                    config.name(), pid);
            stale.get().destroyForcibly();
            try {
                stale.get().onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while ending a stale qemu", e);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                throw new IOException("qemu process " + pid + ", left running for '" + config.name()
                        + "' by a host that ended, does not end", e);
            }
        }
        Files.deleteIfExists(file);
    }

    /** Connects to the monitor once qemu has made its socket, or says why qemu ended first. */
    private static QmpClient connect(Path socket, String name, Process process, Path log, QemuWorker worker)
            throws IOException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            if (!process.isAlive()) {
                throw new IOException("qemu exited at once (status " + process.exitValue() + "): " + tail(log));
            }
            if (Files.exists(socket)) {
                try {
                    return QmpClient.connect(socket, name, worker::event, START_TIMEOUT);
                } catch (IOException e) {
                    if (!process.isAlive()) {
                        continue; // says so above
                    }
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("qemu did not open its monitor within " + START_TIMEOUT.toSeconds() + " s");
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while qemu started", e);
            }
        }
    }

    /** The last lines qemu wrote: why it would not start. */
    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.ISO_8859_1);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 5), lines.size())).strip();
        } catch (IOException e) {
            return "(see " + log + ")";
        }
    }

    /** qemu-system-x86_64, or a refusal naming the Debian package. */
    static Path program() throws IOException {
        String named = System.getProperty("vhdkit.qemu");
        if (named != null && !named.isBlank()) {
            Path p = Path.of(named);
            if (Files.isExecutable(p)) {
                return p;
            }
            throw new IOException(p + " (the system property vhdkit.qemu) is not an executable file");
        }
        return onPath(System.getenv("PATH"));
    }

    /** {@link #PROGRAM} in the folders of {@code path} (a PATH value), or the refusal naming the package. */
    static Path onPath(String path) throws IOException {
        for (String dir : (path == null ? "/usr/bin:/bin" : path).split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path p = Path.of(dir, PROGRAM);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        throw new IOException(PROGRAM + " was not found on PATH; a real guest needs it: install Debian's package"
                + " qemu-system-x86 (apt-get install qemu-system-x86), which brings SeaBIOS too");
    }

    /** Whether to use KVM: when asked, or for auto when /dev/kvm is there on real hardware virtualisation. */
    static boolean kvm(GuestEngine.Accelerator accel) {
        return switch (accel) {
            case KVM -> true;
            case TCG -> false;
            case AUTO -> Files.isReadable(Path.of("/dev/kvm")) && hardwareVirtualisation();
        };
    }

    private static boolean hardwareVirtualisation() {
        try {
            String cpuinfo = Files.readString(Path.of("/proc/cpuinfo"), StandardCharsets.ISO_8859_1);
            return cpuinfo.lines().filter(l -> l.startsWith("flags")).anyMatch(l -> (" " + l + " ").contains(" vmx ")
                    || (" " + l + " ").contains(" svm "));
        } catch (IOException e) {
            return false;
        }
    }

    /** A new private folder (0700) for a VM's sockets, with a short path. */
    private static Path runtimeDir() throws IOException {
        String xdg = System.getenv("XDG_RUNTIME_DIR");
        Path base = xdg != null && !xdg.isBlank() && xdg.length() < 40 && Files.isDirectory(Path.of(xdg))
                ? Path.of(xdg) : Path.of(System.getProperty("java.io.tmpdir"));
        if (base.toString().length() > 40) {
            base = Path.of("/tmp");
        }
        return Files.createTempDirectory(base, "vhdkit-vm-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }

    /**
     * The serial console's socket of the running VM in {@code folder}: where {@code vhd vm console}
     * connects (the target of its {@code console.sock} link). Thread-safe.
     *
     * @throws IOException when the VM has no console now (not running with a real guest)
     */
    public static Path consoleSocket(Path folder) throws IOException {
        Path link = folder.resolve(CONSOLE_LINK);
        if (!Files.isSymbolicLink(link)) {
            throw new IOException(link + ": no console: the VM is not running a real guest");
        }
        return Files.readSymbolicLink(link);
    }

    /** Connects to the console socket {@code socket} ({@link #consoleSocket}). Thread-safe. */
    public static SocketChannel connectConsoleSocket(Path socket) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(UnixDomainSocketAddress.of(socket));
            return channel;
        } catch (IOException e) {
            channel.close();
            throw new IOException(socket + ": cannot connect to the console: " + e.getMessage(), e);
        }
    }

    // ---- changes to a running VM ----

    /**
     * Hot adds {@code attachment} (a disk or pass-through disk at a SCSI slot) to the running real
     * guest {@code vm}: the disk opens here and appears at its LUN of the controller's vhost-user
     * backend (the guest hears of it through the event queue); on a controller that has no disk yet, a
     * backend starts for it and qemu gets its {@code vhost-user-scsi-pci} device ({@code chardev-add},
     * {@code device_add}) at the controller's fixed PCI address, which the guest finds through ACPI PCI
     * hot plug. The change is recorded in the VM's configuration; on any refusal nothing of it is left
     * behind. A guest without ACPI PCI hot plug sees a new controller only at its next boot: qemu takes
     * the device either way and cannot tell. Thread-safe.
     */
    public static void hotAdd(VirtualMachine vm, Attachment attachment) throws VmException {
        if (attachment.slot().bus() != Slot.Bus.SCSI || attachment.kind() == Attachment.Kind.DVD) {
            throw new VmException("cannot hot add " + attachment + " to '" + vm.name() + "': only SCSI slots take"
                    + " disks while the VM runs");
        }
        QemuWorker worker = worker(vm, "hot add " + attachment + " to");
        synchronized (worker) {
            VmConfiguration next = vm.configuration().withAttachment(attachment);
            next.validate();
            int n = attachment.slot().controller();
            try {
                settleControllers(worker);
                if (worker.storage().unplugging(n)) {
                    throw new IOException("SCSI controller " + n + " is still being removed: the guest has not"
                            + " released it since its last disk was removed; try again later");
                }
                Optional<ServedStorage.ScsiController> added = worker.storage().hotAdd(attachment);
                if (added.isPresent()) {
                    plug(worker, added.get());
                }
            } catch (IOException e) {
                throw new VmException("cannot hot add " + attachment + " to '" + vm.name() + "': " + e.getMessage(), e);
            }
            try {
                vm.recordHotPlug(next);
            } catch (VmException | RuntimeException e) {
                try {
                    if (worker.storage().hotRemove(attachment.slot())) {
                        unplug(worker, n, unplugWait(vm));
                    }
                } catch (IOException undo) {
                    e.addSuppressed(undo);
                }
                throw e;
            }
        }
    }

    /**
     * Hot removes the disk at {@code slot} of the running real guest {@code vm}; returns what was
     * there. When it was its controller's last disk, the controller goes too ({@code device_del}; the
     * guest releases it through ACPI PCI hot plug, then its backend stops), since a start from a saved
     * state makes only the controllers that have disks. Thread-safe.
     */
    public static Attachment hotRemove(VirtualMachine vm, Slot slot) throws VmException {
        QemuWorker worker = worker(vm, "hot remove " + slot + " from");
        synchronized (worker) {
            VmConfiguration current = vm.configuration();
            Attachment a = current.attachment(slot).filter(x -> slot.bus() == Slot.Bus.SCSI).orElseThrow(() ->
                    new VmException("cannot hot remove " + slot + " from '" + vm.name() + "': nothing is attached"
                            + " there that can be removed while the VM runs"));
            boolean last;
            try {
                last = worker.storage().hotRemove(slot);
            } catch (IOException e) {
                throw new VmException("cannot hot remove " + slot + " from '" + vm.name() + "': " + e.getMessage(), e);
            }
            vm.recordHotPlug(current.withoutAttachment(slot));
            if (last) {
                unplug(worker, slot.controller(), unplugWait(vm));
            }
            return a;
        }
    }

    /** Gives qemu the device of the new controller {@code c}; on a refusal removes the chardev and the backend. */
    private static void plug(QemuWorker worker, ServedStorage.ScsiController c) throws IOException {
        int n = c.number();
        try {
            worker.execute("chardev-add", QemuCommandLine.scsiChardevAdd(n, c.socket()));
        } catch (IOException e) {
            worker.storage().removeController(n);
            throw new IOException("qemu refused the socket of SCSI controller " + n + ": " + e.getMessage(), e);
        }
        try {
            worker.execute("device_add", QemuCommandLine.scsiDeviceAdd(n));
        } catch (IOException e) {
            removeChardev(worker, n);
            worker.storage().removeController(n);
            throw new IOException("qemu refused SCSI controller " + n + " (device_add): " + e.getMessage()
                    + "; turn the VM off to add the disk there", e);
        }
    }

    /** How long to wait for the guest to release a controller: not at all while it is paused. */
    private static Duration unplugWait(VirtualMachine vm) {
        return vm.state() == VmState.PAUSED ? Duration.ZERO : UNPLUG_TIMEOUT;
    }

    /**
     * Takes away the device of controller {@code n}, which has no disk now: {@code device_del}, then
     * waits up to {@code wait} for the guest to release it and stops its backend. A guest that has
     * not released it by then keeps it (the backend serves no LUN; it is stopped once the guest let it
     * go, at the next hot add or save) and a save is refused until it does
     * ({@link #settleControllers}); a qemu that refuses keeps it for good: logged.
     */
    private static void unplug(QemuWorker worker, int n, Duration wait) {
        try {
            worker.storage().markUnplugging(n);
            worker.execute("device_del", deviceId(n));
            long deadline = System.nanoTime() + wait.toNanos();
            while (present(worker, n)) {
                if (System.nanoTime() > deadline) {
                    LOG.log(Level.INFO, "SCSI controller {0}: the guest has not released it within {1} s;"
                            + " it stays until the guest does", n, wait.toSeconds());
                    return;
                }
                Thread.sleep(50);
            }
            removeChardev(worker, n);
            worker.storage().removeController(n);
        } catch (IOException e) {
            worker.storage().unmarkUnplugging(n);
            LOG.log(Level.WARNING, "SCSI controller {0} has no disk but stays: {1}", n, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops the backends of the controllers the guest released since their removal; refuses when a
     * controller with no disk is still in qemu (being removed, or the guest cannot hot remove it):
     * its device would be in a saved state that a start, which makes controllers only for disks, could
     * not load. Before a save and a hot add; callers hold the worker's lock or take it here.
     */
    static void settleControllers(QemuWorker worker) throws IOException {
        synchronized (worker) {
            for (int n : worker.storage().emptyControllers()) {
                if (present(worker, n)) {
                    continue;
                }
                removeChardev(worker, n);
                worker.storage().removeController(n);
            }
        }
    }

    /**
     * Refuses a save while a SCSI controller without disks is in qemu (see {@link #settleControllers}).
     * Thread-safe.
     */
    static void checkSaveable(QemuWorker worker) throws IOException {
        synchronized (worker) {
            settleControllers(worker);
            List<Integer> left = worker.storage().emptyControllers();
            if (!left.isEmpty()) {
                throw new IOException("SCSI controller " + left.getFirst() + " has no disk left but is still in the"
                        + " guest (it has not released it after its last disk was removed), and a start from the saved"
                        + " state would not have it; wait for the guest, add a disk to it, or turn the VM off");
            }
        }
    }

    /** Whether qemu has the device of SCSI controller {@code n} (a device being removed is there until released). */
    private static boolean present(QemuWorker worker, int n) throws IOException {
        ObjectNode args = QmpMessage.arguments();
        args.put("path", "/machine/peripheral");
        for (JsonNode child : worker.execute("qom-list", args)) {
            if (child.path("name").asText("").equals(QemuCommandLine.scsiId(n))) {
                return true;
            }
        }
        return false;
    }

    private static ObjectNode deviceId(int n) {
        ObjectNode args = QmpMessage.arguments();
        args.put("id", QemuCommandLine.scsiId(n));
        return args;
    }

    /**
     * Removes controller {@code n}'s socket from qemu. qemu frees a deleted device after its RCU
     * grace period, so its socket can still be "busy" for a moment after the device has left the
     * tree: tried again for up to {@link #CHARDEV_RELEASE}.
     */
    private static void removeChardev(QemuWorker worker, int n) {
        ObjectNode args = QmpMessage.arguments();
        args.put("id", QemuCommandLine.scsiChardev(n));
        long deadline = System.nanoTime() + CHARDEV_RELEASE.toNanos();
        while (true) {
            try {
                worker.execute("chardev-remove", args);
                return;
            } catch (IOException e) {
                if (System.nanoTime() > deadline || !String.valueOf(e.getMessage()).contains("busy")) {
                    LOG.log(Level.WARNING, "cannot remove the socket of SCSI controller {0} from qemu: {1}", n,
                            e.getMessage());
                    return;
                }
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Puts {@code iso} (null: no medium) into the DVD drive at {@code slot} of the running real guest
     * {@code vm}: a new NBD export serves it and qemu's drive changes medium
     * ({@code blockdev-change-medium}, or {@code eject} for none). Recorded in the configuration. Thread-safe.
     */
    public static void changeMedium(VirtualMachine vm, Slot slot, Path iso) throws VmException {
        QemuWorker worker = worker(vm, "change the medium in " + slot + " of");
        synchronized (worker) {
            VmConfiguration next;
            try {
                next = vm.configuration().withMedia(slot, iso);
            } catch (IllegalArgumentException e) {
                throw new VmException("cannot change the medium of '" + vm.name() + "': " + e.getMessage());
            }
            next.validate();
            try {
                worker.changeMedium(slot, iso);
            } catch (IOException e) {
                throw new VmException("cannot change the medium in " + slot + " of '" + vm.name() + "': "
                        + e.getMessage(), e);
            }
            vm.recordHotPlug(next);
        }
    }

    private static QemuWorker worker(VirtualMachine vm, String what) throws VmException {
        AtomicReference<QemuWorker> found = new AtomicReference<>();
        vm.process().ifPresent(p -> {
            if (p instanceof QemuWorker q) {
                found.set(q);
            }
        });
        if (found.get() == null) {
            throw new VmException("cannot " + what + " '" + vm.name() + "': it is " + vm.state()
                    + ", not running a real guest");
        }
        return found.get();
    }
}
