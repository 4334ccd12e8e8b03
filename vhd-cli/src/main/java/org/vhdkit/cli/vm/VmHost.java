package org.vhdkit.cli.vm;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.vhdkit.cli.conventions.ErrorReporter;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * The process that hosts running VMs: the {@code vhd vm start} that started them. It holds the
 * {@link Hypervisor} of the folder, and on the Unix domain socket {@code ROOT/.host.sock} it carries
 * out the {@code vhd vm} commands other processes send it, as if they had been typed here, and
 * sends back their output and exit code. It ends when no VM of the folder runs (every one Off or
 * Saved) and no command is under way.
 *
 * <h2>The channel</h2>
 * One connection per command: the client writes a {@link Request} (its command line from
 * {@code vm} on, and its working directory, against which relative paths are resolved) as one JSON
 * document and shuts its output down. The host answers {@link #ACCEPTED} when it takes the command
 * on, then, when it is done, one {@link Reply}, and closes. A connection closed without that first
 * byte was not taken on (the host is closing): the client tries again and finds the folder free. A
 * connection closed after it, without a reply, means the host ended (Ctrl-C) while carrying the
 * command out; the client then says so rather than carry it out a second time. The socket is the
 * owner's alone (mode 0600, and the peer's user is checked), since a command sent here runs as the
 * host's user.
 *
 * <p>A socket file left by a host that died is stale: clients find nobody listening and open the
 * folder themselves (its lock died with the host), and the next host replaces the file.
 *
 * <p>Thread-safety: every method may be called from any thread. The count of commands under way,
 * the closing flag, the VMs run here and the open connections are guarded by {@code guard}.
 */
final class VmHost implements AutoCloseable {
    /** The socket's name in the folder of VMs. */
    static final String SOCKET = ".host.sock";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_MESSAGE = 4 << 20;
    private static final long IDLE_POLL_MILLIS = 100;
    /** How long Ctrl-C waits for the hosting command's report after the VMs are off. */
    private static final long REPORT_WAIT_MILLIS = 2_000;

    /** A command sent to the host: the words from {@code vm} on, and the client's working directory. */
    record Request(List<String> args, String cwd) {
    }

    /** What the command printed, and its exit code. */
    record Reply(int exitCode, String out, String err) {
    }

    /** The host's first byte: the command is taken on. */
    static final int ACCEPTED = '+';

    /** What became of a command sent to a host. */
    sealed interface Outcome {
        /** Carried out, with this reply. */
        record Done(Reply reply) implements Outcome {
        }

        /** Not taken on: the host is closing; try again. */
        record Again() implements Outcome {
        }
    }

    private final Hypervisor hypervisor;
    private final Path socket; // null: no channel (a folder not on the default file system)
    private final ServerSocketChannel server; // null with socket
    private final Thread acceptor;
    private final Object guard = new Object();
    private final Set<VirtualMachine> ran = new LinkedHashSet<>(); // guarded by guard
    private final Set<SocketChannel> connections = new HashSet<>(); // guarded by guard
    private int underWay; // guarded by guard
    private boolean closing; // guarded by guard

    private VmHost(Hypervisor hypervisor, Path socket, ServerSocketChannel server) {
        this.hypervisor = hypervisor;
        this.socket = socket;
        this.server = server;
        this.acceptor = server == null ? null
                : Thread.ofPlatform().daemon(true).name("vhd-vm-host").unstarted(this::acceptLoop);
    }

    /**
     * Hosts the VMs of {@code hypervisor}'s folder: listens on its socket, replacing a stale one (the
     * caller holds the folder, so no other host can be listening). Without a channel (a folder off
     * the default file system, or a path too long for a socket) other processes are refused the
     * folder while this runs; a warning on {@code err} says so.
     */
    static VmHost open(Hypervisor hypervisor, PrintWriter err) throws IOException {
        Path root = hypervisor.root();
        if (root.getFileSystem() != FileSystems.getDefault()) {
            return new VmHost(hypervisor, null, null);
        }
        Path socket = root.resolve(SOCKET);
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(socket));
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException e) {
            server.close();
            Files.deleteIfExists(socket);
            err.println("vhd: warning: " + socket + ": cannot listen for other vhd commands (" + e.getMessage()
                    + "); while this runs they cannot use " + root);
            err.flush();
            return new VmHost(hypervisor, null, null);
        }
        VmHost host = new VmHost(hypervisor, socket, server);
        host.acceptor.start();
        return host;
    }

    /** The hypervisor of the hosted folder. */
    Hypervisor hypervisor() {
        return hypervisor;
    }

    /** Notes that {@code vm} was started here, for the report when the host ends. */
    void ran(VirtualMachine vm) {
        synchronized (guard) {
            ran.add(vm);
            guard.notifyAll();
        }
    }

    /** The VMs started in this host, in the order they were started. */
    List<VirtualMachine> ran() {
        synchronized (guard) {
            return List.copyOf(ran);
        }
    }

    /**
     * Waits until no VM of the folder runs and no command is under way, then stops taking commands
     * (later ones are closed unanswered: their clients try again, and find the folder free once the
     * caller closes it).
     */
    void awaitIdle() throws InterruptedException {
        synchronized (guard) {
            while (underWay > 0 || anyActive()) {
                guard.wait(IDLE_POLL_MILLIS); // a guest powering off is seen within one poll
            }
            closing = true;
        }
    }

    private boolean anyActive() {
        for (VirtualMachine vm : hypervisor.virtualMachines()) {
            VmState state = vm.state();
            if (state != VmState.OFF && state != VmState.SAVED) {
                return true;
            }
        }
        return false;
    }

    /** Stops listening, drops connections still open and removes the socket. Idempotent. */
    @Override
    public void close() {
        List<SocketChannel> open;
        synchronized (guard) {
            closing = true;
            open = new ArrayList<>(connections);
            guard.notifyAll();
        }
        if (server == null) {
            return;
        }
        closeQuietly(server);
        open.forEach(VmHost::closeQuietly);
        try {
            acceptor.join(TimeUnit.SECONDS.toMillis(2));
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            // Stale: the next client finds nobody listening, the next host replaces it.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- the host's side ----

    private void acceptLoop() {
        while (true) {
            SocketChannel connection;
            try {
                connection = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!server.isOpen()) {
                    return;
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10)); // out of file descriptors: not a hot loop
                continue;
            }
            synchronized (guard) {
                if (closing) {
                    closeQuietly(connection);
                    continue;
                }
                connections.add(connection);
            }
            Thread.ofVirtual().name("vhd-vm-host-command").start(() -> serve(connection));
        }
    }

    private void serve(SocketChannel connection) {
        boolean counted = false;
        try (connection) {
            boolean allowed = sameUser(connection);
            Request request = allowed ? JSON.readValue(readAll(Channels.newInputStream(connection)), Request.class) : null;
            synchronized (guard) {
                if (closing) {
                    return; // closed without a word: the client tries again, and finds the folder free
                }
                if (allowed) {
                    underWay++;
                    counted = true;
                }
            }
            OutputStream out = Channels.newOutputStream(connection);
            out.write(ACCEPTED);
            out.flush();
            Reply reply = allowed ? execute(request) : new Reply(ExitCodes.IO, "", "vhd: " + socket + ": the vhd"
                    + " process hosting these VMs runs as another user\n");
            // Still counted while the reply goes out: the host does not end, and drop this connection,
            // before the client has it.
            out.write(JSON.writeValueAsBytes(reply));
            out.flush();
        } catch (IOException | RuntimeException e) {
            // The client went away, or sent something that is not a request: nothing to answer.
        } finally {
            synchronized (guard) {
                connections.remove(connection);
                if (counted) {
                    underWay--;
                    guard.notifyAll();
                }
            }
        }
    }

    /** Whether the peer runs as the user that owns the socket (the host's user). */
    private boolean sameUser(SocketChannel connection) {
        try {
            UnixDomainPrincipal peer = connection.getOption(ExtendedSocketOptions.SO_PEERCRED);
            return peer.user().getName().equals(Files.getOwner(socket).getName());
        } catch (IOException | UnsupportedOperationException e) {
            return true; // the socket's mode already keeps other users out
        }
    }

    /** Runs {@code request} as {@code vhd} would, with this host's folder open. */
    private Reply execute(Request request) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        PrintWriter outWriter = new PrintWriter(out);
        PrintWriter errWriter = new PrintWriter(err);
        int code;
        try {
            Path cwd = Path.of(request.cwd());
            ErrorReporter errors = new ErrorReporter();
            CommandLine vhd = new CommandLine(new Root());
            vhd.addSubcommand("vm", new CommandLine(new VmCommand(this)));
            code = vhd.setOut(outWriter)
                    .setErr(errWriter)
                    .setParameterExceptionHandler(errors)
                    .setExecutionExceptionHandler(errors)
                    .registerConverter(Path.class, text -> path(cwd, text))
                    .execute(request.args().toArray(String[]::new));
        } catch (RuntimeException | Error e) {
            errWriter.println("vhd: " + ErrorReporter.classify(e, request.args().contains("--debug")).message());
            code = ExitCodes.INTERNAL;
        }
        outWriter.flush();
        errWriter.flush();
        return new Reply(code, out.toString(), err.toString());
    }

    private static Path path(Path cwd, String text) {
        try {
            return cwd.resolve(text);
        } catch (InvalidPathException e) {
            throw new CommandLine.TypeConversionException("'" + text + "' is not a path: " + e.getReason());
        }
    }

    /** The top of a command sent to the host: {@code vhd}'s options that every subcommand inherits. */
    @Command(name = "vhd")
    static final class Root implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = {"-h", "--help"}, usageHelp = true, scope = ScopeType.INHERIT,
                description = "Show this help and exit.")
        boolean help;

        @Option(names = "--debug", scope = ScopeType.INHERIT, description = "On an error, print the stack trace as well.")
        boolean debug;

        @Override
        public Integer call() {
            throw new ParameterException(spec.commandLine(), "no command given");
        }
    }

    // ---- the client's side ----

    /**
     * Sends {@code request} to the host of the folder {@code root}; empty when no process hosts the
     * folder (no socket, or a stale one nobody listens on).
     *
     * @throws IOException when the host took the command on and ended before it answered: whether
     *     the command was carried out is not known, and it is not sent again
     */
    static Optional<Outcome> send(Path root, Request request) throws IOException {
        if (root.getFileSystem() != FileSystems.getDefault()) {
            return Optional.empty();
        }
        Path socket = root.resolve(SOCKET);
        if (!Files.exists(socket)) {
            return Optional.empty();
        }
        SocketChannel channel;
        try {
            channel = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        } catch (ConnectException | NoSuchFileException e) {
            return Optional.empty(); // stale: its host died
        } catch (IOException e) {
            throw new IOException(socket + ": cannot reach the vhd process hosting the VMs: " + e.getMessage(), e);
        }
        byte[] answer;
        try (channel) {
            OutputStream out = Channels.newOutputStream(channel);
            out.write(JSON.writeValueAsBytes(request));
            out.flush();
            channel.shutdownOutput();
            answer = readAll(Channels.newInputStream(channel));
        } catch (IOException e) {
            // Dropped before the host took the command on (it closes new connections while closing).
            return Optional.of(new Outcome.Again());
        }
        if (answer.length == 0) {
            return Optional.of(new Outcome.Again());
        }
        if (answer[0] != ACCEPTED || answer.length == 1) {
            throw new IOException(root + ": the vhd process hosting the VMs ended while it carried out the command;"
                    + " whether it was done is not known ('vhd vm list' shows the VMs)");
        }
        return Optional.of(new Outcome.Done(JSON.readValue(answer, 1, answer.length - 1, Reply.class)));
    }

    private static byte[] readAll(InputStream in) throws IOException {
        byte[] bytes = in.readNBytes(MAX_MESSAGE + 1);
        if (bytes.length > MAX_MESSAGE) {
            throw new IOException("a message longer than " + MAX_MESSAGE + " bytes");
        }
        return bytes;
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // nothing more to do with it
        }
    }

    /** What the hosting command prints once the host is idle. */
    @FunctionalInterface
    interface Report {
        void print() throws Exception;
    }

    /**
     * Hosts the folder in the foreground: waits until it is idle ({@link #awaitIdle}), then prints
     * {@code report}. Ctrl-C (the JVM's shutdown) turns every running VM off, says so on {@code err},
     * and lets the report be printed before the process exits.
     */
    void serveUntilIdle(PrintWriter err, Report report) throws Exception {
        CountDownLatch reported = new CountDownLatch(1);
        Thread interrupt = Thread.ofPlatform().unstarted(() -> {
            for (String off : turnOffAll()) {
                err.println("vhd: interrupted: turned off '" + off + "'");
            }
            err.flush();
            close();
            try {
                reported.await(REPORT_WAIT_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            hypervisor.close(); // a VM that was starting or saving: turned off once that is done
        });
        Runtime.getRuntime().addShutdownHook(interrupt);
        try {
            awaitIdle();
            report.print();
        } finally {
            reported.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(interrupt);
            } catch (IllegalStateException e) {
                // The JVM is exiting (Ctrl-C): the hook is running.
            }
        }
    }

    /** Turns off every VM still running or paused, for Ctrl-C; returns their names. */
    private List<String> turnOffAll() {
        List<String> names = new ArrayList<>();
        for (VirtualMachine vm : hypervisor.virtualMachines()) {
            try {
                VmState state = vm.state();
                if (state == VmState.RUNNING || state == VmState.PAUSED) {
                    vm.turnOff();
                    names.add(vm.name());
                }
            } catch (VmException e) {
                // Stopping or saving already: the hypervisor's close finishes it.
            }
        }
        return names;
    }
}
