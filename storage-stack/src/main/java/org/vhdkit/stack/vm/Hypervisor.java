package org.vhdkit.stack.vm;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.vhdkit.stack.partition.ParentPartition;

/**
 * The hypervisor over a folder of VMs: the entry point of the hypervisor core. Opening it creates
 * the parent partition and reads every VM in the folder; starting a VM creates its child partition.
 *
 * <h2>The folder</h2>
 * <pre>
 *   ROOT/.lock                       held while a hypervisor has the folder open
 *   ROOT/ID/config.json              a VM's configuration ({@link VmConfiguration}), ID its UUID
 *   ROOT/ID/saved-state.json         present only while the VM is Saved, with
 *   ROOT/ID/memory.bin, devices.vsv  its guest memory and device state
 * </pre>
 * The default root is {@code $XDG_DATA_HOME/vhdkit/vms} ({@code ~/.local/share/vhdkit/vms}). Every
 * file is replaced atomically; a later hypervisor over the same folder finds the same VMs, Saved
 * ones still Saved. VMs running when the hypervisor closes are turned off. A folder is used by one
 * hypervisor at a time (another process or another open in this one is refused, naming the folder).
 *
 * <p>A VM folder that cannot be read (a damaged configuration) is left alone and reported by
 * {@link #problems()}; the other VMs are usable.
 *
 * <p>Thread-safety: every method may be called from any thread. The registry of VMs is guarded by
 * its own monitor ({@code vms}), which is also held while a configuration is written so that names
 * stay unique; a VM's own state is guarded by that VM.
 */
public final class Hypervisor implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Hypervisor.class.getName());
    private static final String LOCK_FILE = ".lock";
    /** What a real guest's worker process leaves in its VM's folder: its console and its own log. */
    private static final List<String> WORKER_FILES = List.of("console.log", "console.log.1", "qemu.log",
            "console.sock", "qemu.pid");

    private final Path root;
    private final HypervisorOptions options;
    private final ParentPartition parent;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final Map<UUID, VirtualMachine> vms = new LinkedHashMap<>(); // guarded by itself
    private final List<String> problems = new ArrayList<>(); // written only while opening
    private boolean closed; // guarded by vms
    private volatile AtomicFile.BeforeRename beforeRename = AtomicFile.BeforeRename.NONE; // tests simulate crashes

    private Hypervisor(Path root, HypervisorOptions options, FileChannel lockChannel, FileLock lock) {
        this.root = root;
        this.options = options;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.parent = ParentPartition.create();
    }

    /** {@code $XDG_DATA_HOME/vhdkit/vms}, or {@code ~/.local/share/vhdkit/vms} without it. */
    public static Path defaultRoot() {
        String xdg = System.getenv("XDG_DATA_HOME");
        Path data = xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()
                ? Path.of(xdg)
                : Path.of(System.getProperty("user.home"), ".local", "share");
        return data.resolve("vhdkit").resolve("vms");
    }

    /** Opens the VMs under {@code root} (created if missing) with the default options. */
    public static Hypervisor open(Path root) throws VmException {
        return open(root, HypervisorOptions.defaults());
    }

    /**
     * Opens the VMs under {@code root} (created if missing).
     *
     * @throws FolderInUseException when another hypervisor has the folder open
     */
    public static Hypervisor open(Path root, HypervisorOptions options) throws VmException {
        Objects.requireNonNull(options, "options");
        Path dir = root.toAbsolutePath().normalize();
        FileChannel channel = null;
        try {
            Files.createDirectories(dir);
            channel = FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw new FolderInUseException(dir);
            }
            Hypervisor h = new Hypervisor(dir, options, channel, lock);
            h.load();
            return h;
        } catch (VmException e) {
            closeQuietly(channel);
            throw e;
        } catch (IOException e) {
            closeQuietly(channel);
            throw new VmException(dir + ": cannot open the VM folder: " + e.getMessage(), e);
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing was written through it
            }
        }
    }

    private void load() throws IOException {
        List<Path> folders = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
            for (Path p : entries) {
                if (Files.isDirectory(p) && !p.getFileName().toString().startsWith(".")) {
                    folders.add(p);
                }
            }
        }
        folders.sort(Comparator.naturalOrder());
        for (Path folder : folders) {
            UUID id;
            try {
                id = UUID.fromString(folder.getFileName().toString());
            } catch (IllegalArgumentException e) {
                problems.add(folder + ": not a VM folder (its name is not a VM id); left alone");
                continue;
            }
            AtomicFile.removeLeftovers(folder);
            Path config = folder.resolve(ConfigurationFile.NAME);
            if (!Files.exists(config)) {
                if (isEmpty(folder)) {
                    Files.delete(folder); // a VM whose creation or deletion was cut short
                } else {
                    problems.add(folder + ": has no " + ConfigurationFile.NAME + "; left alone");
                }
                continue;
            }
            VmConfiguration c;
            try {
                c = ConfigurationFile.read(config);
            } catch (VmException e) {
                problems.add(e.getMessage());
                continue;
            }
            if (!c.id().equals(id)) {
                problems.add(config + ": id: " + c.id() + " is not the id of its folder; left alone");
                continue;
            }
            if (nameTaken(c.name(), null)) {
                problems.add(config + ": name: another VM is already named '" + c.name() + "'; left alone");
                continue;
            }
            VmState state = VmState.OFF;
            if (SavedState.exists(folder)) {
                state = VmState.SAVED;
            } else {
                SavedState.delete(folder); // files of a save that did not finish
            }
            vms.put(id, new VirtualMachine(this, folder, c, state));
        }
        for (String p : problems) {
            LOG.log(Level.WARNING, p);
        }
    }

    private static boolean isEmpty(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.findAny().isEmpty();
        }
    }

    /** The folder of VMs. */
    public Path root() {
        return root;
    }

    /** The options VMs run with. */
    public HypervisorOptions options() {
        return options;
    }

    /** The parent partition, where VM workers and device providers run. */
    public ParentPartition parent() {
        return parent;
    }

    /** What could not be read when the folder was opened, one line each; those VMs are not listed. */
    public List<String> problems() {
        return List.copyOf(problems);
    }

    /** Every VM, by name. */
    public List<VirtualMachine> virtualMachines() {
        synchronized (vms) {
            return vms.values().stream().sorted(Comparator.comparing(VirtualMachine::name)).toList();
        }
    }

    /** The VM named {@code name} (names compare without regard to case), if there is one. */
    public Optional<VirtualMachine> find(String name) {
        synchronized (vms) {
            return vms.values().stream().filter(vm -> vm.name().equalsIgnoreCase(name)).findFirst();
        }
    }

    /** The VM named {@code name}; refused, naming the folder, if there is none. */
    public VirtualMachine get(String name) throws VmException {
        return find(name).orElseThrow(() -> new VmException("no VM is named '" + name + "' in " + root));
    }

    /** The VM with id {@code id}, if there is one. */
    public Optional<VirtualMachine> find(UUID id) {
        synchronized (vms) {
            return Optional.ofNullable(vms.get(id));
        }
    }

    /**
     * Creates a VM from {@code config} (checked first) and writes its folder; it is Off. Refused if
     * the configuration breaks a rule or its name or id is taken.
     */
    public VirtualMachine create(VmConfiguration config) throws VmException {
        config.validate();
        synchronized (vms) {
            checkOpen();
            if (nameTaken(config.name(), null)) {
                throw new VmConfigurationException("name", "a VM named '" + config.name() + "' already exists");
            }
            if (vms.containsKey(config.id())) {
                throw new VmConfigurationException("id", "a VM with id " + config.id() + " already exists");
            }
            Path folder = root.resolve(config.id().toString());
            try {
                Files.createDirectory(folder);
                try {
                    ConfigurationFile.write(folder.resolve(ConfigurationFile.NAME), config, beforeRename);
                    AtomicFile.forceFolder(root);
                } catch (IOException | RuntimeException e) {
                    AtomicFile.removeLeftovers(folder);
                    Files.deleteIfExists(folder.resolve(ConfigurationFile.NAME));
                    Files.deleteIfExists(folder);
                    throw e;
                }
            } catch (IOException e) {
                throw new VmException("cannot create '" + config.name() + "' in " + folder + ": " + e.getMessage(), e);
            }
            VirtualMachine vm = new VirtualMachine(this, folder, config, VmState.OFF);
            vms.put(config.id(), vm);
            return vm;
        }
    }

    /** Deletes the VM named {@code name}: its folder, never its disks. Refused unless it is Off or Saved. */
    public void delete(String name) throws VmException {
        get(name).delete();
    }

    /** Turns off every running VM, then destroys the parent partition and lets go of the folder. Idempotent. */
    @Override
    public void close() {
        List<VirtualMachine> all;
        synchronized (vms) {
            if (closed) {
                return;
            }
            closed = true;
            all = List.copyOf(vms.values());
        }
        for (VirtualMachine vm : all) {
            vm.turnOffForClose();
        }
        parent.close();
        try {
            lock.release();
        } catch (IOException e) {
            LOG.log(Level.WARNING, root + ": cannot release the folder lock: " + e.getMessage());
        }
        closeQuietly(lockChannel);
    }

    // ---- for VirtualMachine ----

    AtomicFile.BeforeRename beforeRename() {
        return beforeRename;
    }

    void beforeRename(AtomicFile.BeforeRename hook) {
        beforeRename = hook;
    }

    /** Writes {@code next} as the configuration of {@code vm}, keeping names unique. */
    void store(VirtualMachine vm, VmConfiguration next) throws VmException {
        synchronized (vms) {
            checkOpen();
            if (nameTaken(next.name(), vm)) {
                throw new VmConfigurationException("name", "a VM named '" + next.name() + "' already exists");
            }
            try {
                ConfigurationFile.write(vm.folder().resolve(ConfigurationFile.NAME), next, beforeRename);
            } catch (IOException e) {
                throw new VmException("cannot write the configuration of '" + vm.name() + "' to " + vm.folder()
                        + ": " + e.getMessage(), e);
            }
        }
    }

    /** Removes {@code vm}'s folder: the configuration first, so a cut-short deletion leaves no half VM listed. */
    void removeFolder(VirtualMachine vm) throws VmException {
        synchronized (vms) {
            Path folder = vm.folder();
            try {
                Files.deleteIfExists(folder.resolve(ConfigurationFile.NAME));
                AtomicFile.forceFolder(folder);
                SavedState.delete(folder);
                AtomicFile.removeLeftovers(folder);
                for (String log : WORKER_FILES) { // a real guest's logs (see org.vhdkit.stack.qemu)
                    Files.deleteIfExists(folder.resolve(log));
                }
                Files.deleteIfExists(folder);
                AtomicFile.forceFolder(root);
            } catch (IOException e) {
                throw new VmException("cannot delete the folder of '" + vm.name() + "' (" + folder + "): "
                        + e.getMessage(), e);
            } finally {
                if (!Files.exists(folder.resolve(ConfigurationFile.NAME))) {
                    vms.remove(vm.id());
                }
            }
        }
    }

    private boolean nameTaken(String name, VirtualMachine except) {
        for (VirtualMachine vm : vms.values()) {
            if (vm != except && vm.name().equalsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    private void checkOpen() throws VmException {
        if (closed) {
            throw new VmException(root + ": the hypervisor is closed");
        }
    }
}
