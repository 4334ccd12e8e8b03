package org.vhdkit.stack.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.vhdkit.stack.protocol.qmp.QmpMessage;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.WorkerProcess;

/**
 * One running qemu-system-x86_64 and the storage this process serves it: the
 * {@link WorkerProcess} of a VM with a real guest. Lifecycle commands go over QMP; a process that
 * ends by itself (the guest powered off, qemu crashed or was killed) is reported once to the VM,
 * which turns Off and closes this worker: the servers stop and the disks are flushed and closed.
 *
 * <p>Thread-safety: every method may be called from any thread; QMP commands are matched to their
 * answers by id, and {@link #close} is idempotent.
 */
final class QemuWorker implements WorkerProcess {
    private static final System.Logger LOG = System.getLogger(QemuWorker.class.getName());
    static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration QUIT_GRACE = Duration.ofSeconds(5);
    private static final long POLL_MILLIS = 20;

    private final String name;
    private final Process process;
    private final ServedStorage storage;
    private final Path runDir;
    private final Path consoleLink;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile QmpClient qmp;
    private volatile boolean guestPoweredOff;
    private volatile ExitListener listener;
    private final AtomicInteger mediumCount = new AtomicInteger();

    /** The block node holding each IDE drive's medium now (none for an empty DVD drive). */
    private final Map<Slot, String> mediumNodes = new ConcurrentHashMap<>();

    QemuWorker(String name, Process process, ServedStorage storage, Path runDir, Path consoleLink) {
        this.name = name;
        this.process = process;
        this.storage = storage;
        this.runDir = runDir;
        this.consoleLink = consoleLink;
        for (ServedStorage.IdeDrive d : storage.ideDrives()) {
            if (d.socket().isPresent()) {
                mediumNodes.put(d.slot(), d.id());
            }
        }
    }

    /**
     * Puts a new medium into the DVD drive at {@code slot}: qemu's drive is emptied (its old medium's
     * node deleted), then the storage serves {@code iso} on a new export, qemu adds a read-only NBD
     * node for it and inserts it; null leaves the drive empty. Callers serialize on this worker.
     */
    void changeMedium(Slot slot, Path iso) throws IOException {
        String device = "ide" + slot.controller() + "-" + slot.unit();
        ObjectNode eject = QmpMessage.arguments();
        eject.put("id", device);
        eject.put("force", true);
        execute("eject", eject);
        String old = mediumNodes.remove(slot);
        if (old != null) {
            ObjectNode del = QmpMessage.arguments();
            del.put("node-name", old);
            execute("blockdev-del", del);
        }
        Optional<Path> socket = storage.changeMedium(slot, iso);
        if (socket.isEmpty()) {
            return;
        }
        String node = device + "-medium" + mediumCount.incrementAndGet();
        ObjectNode add = QmpMessage.arguments();
        add.put("driver", "nbd");
        add.put("node-name", node);
        add.put("read-only", true);
        ObjectNode server = add.putObject("server");
        server.put("type", "unix");
        server.put("path", socket.get().toString());
        add.put("export", ServedStorage.EXPORT);
        execute("blockdev-add", add);
        mediumNodes.put(slot, node);
        ObjectNode insert = QmpMessage.arguments();
        insert.put("id", device);
        insert.put("node-name", node);
        execute("blockdev-insert-medium", insert);
        ObjectNode close = QmpMessage.arguments();
        close.put("id", device);
        execute("blockdev-close-tray", close);
    }

    /** Connects QMP and starts watching for the process's end; {@code listener} hears of an end not asked for. */
    void attach(QmpClient client, ExitListener exits) {
        this.qmp = client;
        this.listener = exits;
        process.onExit().thenRun(this::exited);
    }

    /** Keeps the console log {@code log} within {@link ConsoleLog#LIMIT} while qemu runs. */
    void limitConsoleLog(Path log) {
        ConsoleLog.watch(name, log, process::isAlive);
    }

    /**
     * The events qemu sends: a guest's power off is told from a crash by its SHUTDOWN event; STOP and
     * RESUME (the guest's processors stopped or went on, for whatever reason) go to the VM.
     */
    void event(QmpMessage.Event e) {
        ExitListener l = listener;
        switch (e.name()) {
            case "SHUTDOWN" -> guestPoweredOff = e.data().path("guest").asBoolean(false);
            case "STOP", "RESUME" -> {
                if (l != null) {
                    l.ranOrStopped(this, e.name().equals("RESUME"));
                }
            }
            default -> {
                // not the VM's business
            }
        }
    }

    private void exited() {
        if (closed.get()) {
            return;
        }
        String reason = guestPoweredOff ? "the guest powered off"
                : "qemu ended unexpectedly (exit status " + process.exitValue() + ")";
        LOG.log(guestPoweredOff ? Level.INFO : Level.WARNING, "''{0}'': {1}", name, reason);
        ExitListener l = listener;
        if (l != null) {
            l.exited(this, reason);
        }
    }

    /** The worker's storage, for hot plug and DVD media. */
    ServedStorage storage() {
        return storage;
    }

    /** Sends {@code execute} over QMP and returns its value. */
    JsonNode execute(String execute, ObjectNode arguments) throws IOException {
        return qmp.execute(execute, arguments, COMMAND_TIMEOUT);
    }

    @Override
    public void pause() throws IOException {
        execute("stop", null);
    }

    @Override
    public void resume() throws IOException {
        execute("cont", null);
    }

    @Override
    public void powerButton() throws IOException {
        execute("system_powerdown", null);
    }

    /**
     * Saves through qemu's migration into {@code file}: qemu writes its stream to a {@code cat} it
     * runs with the file as its output. Waits for the migration to complete.
     */
    @Override
    public void saveTo(Path file, Duration timeout) throws IOException {
        QemuEngine.checkSaveable(this);
        ObjectNode parameters = QmpMessage.arguments();
        parameters.put("max-bandwidth", Long.MAX_VALUE >> 1); // the file takes it as fast as it comes
        execute("migrate-set-parameters", parameters);
        ObjectNode args = QmpMessage.arguments();
        args.put("uri", "exec:cat > " + shellQuoted(file));
        execute("migrate", args);
        awaitMigration(timeout, "save '" + name + "' to " + file);
    }

    /** A qemu stays alive after a save (it waits in runstate postmigrate) and runs on after {@code cont}. */
    @Override
    public boolean snapshotsLive() {
        return true;
    }

    /**
     * Moves the served VHDs at the slots of {@code next} onto their new files (see
     * {@link ServedStorage#switchDisks}) once qemu says its guest is not running: qemu's {@code stop}
     * has drained and flushed its block devices (the IDE drives' NBD clients) and stopped the
     * vhost-user device's rings, so nothing of the guest's is in flight. Serialized with hot plug and
     * media changes on this worker.
     */
    @Override
    public void switchDisks(Map<Slot, Path> next, FileStep between) throws IOException {
        synchronized (this) {
            String status = execute("query-status", null).path("status").asText("");
            if (status.equals("running")) {
                throw new IOException("cannot switch the disks of '" + name + "': its guest is running");
            }
            storage.switchDisks(next, between);
        }
    }

    /** Loads the saved state in {@code file} into a qemu started with {@code -incoming defer}. */
    void load(Path file, Duration timeout) throws IOException {
        ObjectNode args = QmpMessage.arguments();
        args.put("uri", "exec:cat " + shellQuoted(file));
        execute("migrate-incoming", args);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String status = execute("query-status", null).path("status").asText("");
            if (!status.equals("inmigrate")) {
                String migration = execute("query-migrate", null).path("status").asText("");
                if (migration.equals("failed") || !status.equals("paused") && !status.equals("prelaunch")) {
                    throw new IOException("qemu could not load the saved state " + file + " (VM " + status
                            + ", migration " + migration + "); see qemu.log in the VM's folder");
                }
                return;
            }
            pauseOrTimeout(deadline, "load the saved state " + file);
        }
    }

    private void awaitMigration(Duration timeout, String what) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            JsonNode info = execute("query-migrate", null);
            String status = info.path("status").asText("");
            switch (status) {
                case "completed" -> {
                    return;
                }
                case "failed", "cancelled" -> throw new IOException("cannot " + what + ": qemu's migration "
                        + status + (info.has("error-desc") ? ": " + info.get("error-desc").asText() : ""));
                default -> {
                    try {
                        pauseOrTimeout(deadline, what);
                    } catch (IOException e) {
                        try {
                            execute("migrate_cancel", null);
                        } catch (IOException suppressed) {
                            e.addSuppressed(suppressed);
                        }
                        throw e;
                    }
                }
            }
        }
    }

    private void pauseOrTimeout(long deadline, String what) throws IOException {
        if (System.nanoTime() > deadline) {
            throw new IOException("cannot " + what + ": qemu did not finish in time");
        }
        if (!process.isAlive()) {
            throw new IOException("cannot " + what + ": qemu exited");
        }
        try {
            Thread.sleep(POLL_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("cannot " + what + ": interrupted", e);
        }
    }

    /** {@code 'text'} for /bin/sh, quotes inside escaped. */
    static String shellQuoted(Path file) {
        return "'" + file.toString().replace("'", "'\\''") + "'";
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        QmpClient client = qmp;
        try {
            boolean answered = false;
            if (process.isAlive() && client != null && client.open()) {
                try {
                    client.execute("quit", null, QUIT_GRACE);
                    answered = true;
                } catch (IOException e) {
                    // Gone already, or a monitor that no longer answers: the wait below tells which.
                    answered = !process.isAlive();
                }
            }
            // A qemu that did not answer "quit" within the grace is hung: no second grace for it.
            if (!answered || !process.waitFor(QUIT_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(QUIT_GRACE.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        } finally {
            if (client != null) {
                client.close();
            }
            storage.close();
            try {
                Files.deleteIfExists(consoleLink.resolveSibling(QemuEngine.PID_FILE));
                Files.deleteIfExists(consoleLink);
            } catch (IOException e) {
                LOG.log(Level.WARNING, "{0}: cannot remove {1}: {2}", name, consoleLink, e.getMessage());
            }
            deleteTree(runDir);
        }
    }

    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.log(Level.WARNING, "cannot remove {0}: {1}", dir, e.getMessage());
        }
    }
}
