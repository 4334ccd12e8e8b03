package org.vhdkit.cli.vm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
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
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
 * <h2>Hostile clients</h2>
 * Whatever connects must not stop the host serving the real commands nor hold its memory, so a
 * client gets at most what {@link Limits#DEFAULT} allows:
 * <ul>
 *   <li>64 connections open at once. One more is closed unanswered, which a client reads as "not
 *       taken on, try again": a real {@code vhd vm} command retries for {@link VmCommand#FOLDER_WAIT}
 *       (5 s), so it gets through once stalled connections time out.
 *   <li>3 s to send the whole request, counted from the accept (not per read, so trickling bytes does
 *       not extend it): a real client sends at once; 3 s leaves room for a loaded machine and stays
 *       below the 5 s a refused client retries for.
 *   <li>1 MiB of request ({@link #MAX_REQUEST}); a client refuses to send a longer command line
 *       itself. With the cap on connections, request buffers hold at most 64 MiB however many
 *       clients connect, and a connection that stalls before sending holds no buffer beyond the 16
 *       KiB chunk its read fills (requests are read in chunks, not into one buffer of the limit).
 * </ul>
 * A request that is not one (not JSON, trailing bytes, no command line, no absolute working
 * directory, too long, or not complete in time) is answered, after {@link #ACCEPTED}, with a
 * {@link Reply} of exit code {@link ExitCodes#USAGE} (64; {@link ExitCodes#IO}, 74, for one not
 * complete in time) whose message names the socket, the client's user and what was wrong; a client
 * that still reads gets it, where before it saw the connection closed. A peer of another user is
 * answered with exit code {@link ExitCodes#IO} and its request is not read; when the peer's user
 * cannot be told, the command is refused too. A command's words are taken as sent: the client
 * expanded its {@code @files}, so the host does not read files a request names with {@code @}.
 *
 * <p>Thread-safety: every method may be called from any thread. The count of commands under way,
 * the closing flag, the VMs run here and the open connections are guarded by {@code guard}.
 */
final class VmHost implements AutoCloseable {
    /** The socket's name in the folder of VMs. */
    static final String SOCKET = ".host.sock";

    private static final ObjectMapper JSON = new ObjectMapper();
    /** The longest reply a client reads: a command's output. */
    private static final int MAX_MESSAGE = 4 << 20;
    /** The longest request the host reads: a command line, with its {@code @files} expanded. */
    static final int MAX_REQUEST = 1 << 20;
    /** Refuses a request with bytes after its JSON document, unknown fields or a wrong shape. */
    private static final ObjectReader REQUEST = JSON.readerFor(Request.class)
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS, DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static final long IDLE_POLL_MILLIS = 100;
    /** How long Ctrl-C waits for the hosting command's report after the VMs are off. */
    private static final long REPORT_WAIT_MILLIS = 2_000;

    /** A command sent to the host: the words from {@code vm} on, and the client's working directory. */
    record Request(List<String> args, String cwd) {
    }

    /** What the command printed, and its exit code. */
    record Reply(int exitCode, String out, String err) {
    }

    /**
     * What one host lets its clients hold: connections open at once, time to send a request from the
     * accept on, and bytes of request. See the class comment for why these values.
     */
    record Limits(int maxConnections, Duration requestTimeout, int maxRequest) {
        static final Limits DEFAULT = new Limits(64, Duration.ofSeconds(3), MAX_REQUEST);
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
    private final Limits limits;
    private final UserPrincipal owner; // the host's user, who alone may send commands; null with socket
    private final ScheduledExecutorService timer; // ends requests not complete in time; null with socket
    private final Object guard = new Object();
    private final Set<VirtualMachine> ran = new LinkedHashSet<>(); // guarded by guard
    private final Set<SocketChannel> connections = new HashSet<>(); // guarded by guard
    private int underWay; // guarded by guard
    private boolean closing; // guarded by guard

    private VmHost(Hypervisor hypervisor, Path socket, ServerSocketChannel server, UserPrincipal owner, Limits limits) {
        this.hypervisor = hypervisor;
        this.socket = socket;
        this.server = server;
        this.owner = owner;
        this.limits = limits;
        this.acceptor = server == null ? null
                : Thread.ofPlatform().daemon(true).name("vhd-vm-host").unstarted(this::acceptLoop);
        if (server == null) {
            this.timer = null;
        } else {
            ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1,
                    Thread.ofPlatform().daemon(true).name("vhd-vm-host-timeouts").factory());
            t.setRemoveOnCancelPolicy(true); // a request read in time leaves nothing queued behind it
            this.timer = t;
        }
    }

    /**
     * Hosts the VMs of {@code hypervisor}'s folder: listens on its socket, replacing a stale one (the
     * caller holds the folder, so no other host can be listening). Without a channel (a folder off
     * the default file system, or a path too long for a socket) other processes are refused the
     * folder while this runs; a warning on {@code err} says so.
     */
    static VmHost open(Hypervisor hypervisor, PrintWriter err) throws IOException {
        return open(hypervisor, err, Limits.DEFAULT);
    }

    /** {@link #open(Hypervisor, PrintWriter)} with other limits, for tests that reach them quickly. */
    static VmHost open(Hypervisor hypervisor, PrintWriter err, Limits limits) throws IOException {
        Path root = hypervisor.root();
        if (root.getFileSystem() != FileSystems.getDefault()) {
            return new VmHost(hypervisor, null, null, null, limits);
        }
        Path socket = root.resolve(SOCKET);
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        UserPrincipal owner;
        try {
            server.bind(UnixDomainSocketAddress.of(socket));
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
            owner = Files.getOwner(socket); // once: a file replaced later does not change who may send
        } catch (IOException e) {
            server.close();
            Files.deleteIfExists(socket);
            err.println("vhd: warning: " + socket + ": cannot listen for other vhd commands (" + e.getMessage()
                    + "); while this runs they cannot use " + root);
            err.flush();
            return new VmHost(hypervisor, null, null, null, limits);
        }
        VmHost host = new VmHost(hypervisor, socket, server, owner, limits);
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
        timer.shutdownNow();
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

    /** The connections open now, at most {@link Limits#maxConnections}: for tests. */
    int connectionsOpen() {
        synchronized (guard) {
            return connections.size();
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
                if (closing || connections.size() >= limits.maxConnections()) {
                    // Unanswered: the client tries again (a real one for FOLDER_WAIT), by when
                    // stalled connections have timed out.
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
            Optional<UserPrincipal> peer = peer(connection);
            String client = "user '" + peer.map(UserPrincipal::getName).orElse("?") + "'";
            Request request = null;
            BadRequest refused = null; // why the request is not carried out
            if (peer.isEmpty()) {
                refused = new BadRequest(ExitCodes.IO, "cannot tell which user sent it");
            } else if (!peer.get().equals(owner)) {
                // Not read: another user holds no buffer and no time of the host.
                refused = new BadRequest(ExitCodes.IO, "the vhd process hosting these VMs runs as another user ('"
                        + owner.getName() + "')");
            } else {
                try {
                    request = parse(receive(connection));
                } catch (BadRequest e) {
                    refused = e;
                }
            }
            synchronized (guard) {
                if (closing) {
                    return; // closed without a word: the client tries again, and finds the folder free
                }
                if (refused == null) {
                    underWay++;
                    counted = true;
                }
            }
            OutputStream out = Channels.newOutputStream(connection);
            out.write(ACCEPTED);
            out.flush();
            Reply reply = refused == null ? execute(request) : new Reply(refused.code, "", "vhd: " + socket
                    + ": refused a request from " + client + ": " + refused.getMessage() + "\n");
            // Still counted while the reply goes out: the host does not end, and drop this connection,
            // before the client has it.
            out.write(JSON.writeValueAsBytes(reply));
            out.flush();
            finish(connection);
        } catch (IOException | RuntimeException e) {
            // The client went away before it had the reply: nothing more to tell it.
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

    /**
     * Ends the reply with an end of output and waits, for at most the request timeout, for the client
     * to close. Closing first with bytes of a request unread (another user's, one too long) would
     * reset the connection, and a client reading to the end would get that error, not the reply.
     */
    private void finish(SocketChannel connection) throws IOException {
        connection.shutdownOutput();
        ScheduledFuture<?> cut = timer.schedule(() -> closeQuietly(connection), limits.requestTimeout().toMillis(),
                TimeUnit.MILLISECONDS);
        try {
            ByteBuffer sink = ByteBuffer.allocate(4096);
            long drained = 0;
            while (drained <= limits.maxRequest() && connection.read(sink.clear()) >= 0) {
                drained += sink.position(); // a client that goes on sending past a request's worth is cut off
            }
        } finally {
            cut.cancel(false);
        }
    }

    /** The peer's user; empty when it cannot be told (then the command is refused). */
    private static Optional<UserPrincipal> peer(SocketChannel connection) {
        try {
            UnixDomainPrincipal peer = connection.getOption(ExtendedSocketOptions.SO_PEERCRED);
            return Optional.of(peer.user());
        } catch (IOException | UnsupportedOperationException e) {
            return Optional.empty();
        }
    }

    /** What a client sent: its bytes, up to one more than allowed, and whether it was late. */
    private record Received(byte[] bytes, boolean late) {
    }

    /**
     * Reads the request until the client shuts its output down, for at most the request timeout:
     * then the input is shut down, which wakes the read (a virtual thread's too) at an end of input,
     * and the connection is still there to say why.
     */
    private Received receive(SocketChannel connection) throws IOException {
        AtomicBoolean late = new AtomicBoolean();
        ScheduledFuture<?> deadline = timer.schedule(() -> {
            late.set(true);
            try {
                connection.shutdownInput();
            } catch (IOException e) {
                // closed already: the read has ended
            }
        }, limits.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
        try {
            // Read in chunks as bytes come (InputStream.readNBytes), not into a buffer of the limit.
            byte[] bytes = Channels.newInputStream(connection).readNBytes(limits.maxRequest() + 1);
            return new Received(bytes, late.get());
        } finally {
            deadline.cancel(false);
        }
    }

    /** A request that is not carried out, with the exit code of the reply that says why. */
    private static final class BadRequest extends Exception {
        private static final long serialVersionUID = 1L;
        final int code;

        BadRequest(int code, String message) {
            super(message, null, false, false);
            this.code = code;
        }
    }

    private Request parse(Received received) throws BadRequest {
        byte[] bytes = received.bytes();
        if (received.late()) {
            // Even a complete JSON document: the protocol ends a request with the end of its output.
            throw new BadRequest(ExitCodes.IO, "the request was not complete within "
                    + limits.requestTimeout().toMillis() + " ms (" + bytes.length + " bytes received)");
        }
        if (bytes.length > limits.maxRequest()) {
            throw new BadRequest(ExitCodes.USAGE, "the request is longer than " + limits.maxRequest() + " bytes");
        }
        Request request;
        try {
            request = REQUEST.readValue(bytes);
        } catch (JsonProcessingException e) {
            String why = e.getOriginalMessage().lines().findFirst().orElse("");
            throw new BadRequest(ExitCodes.USAGE, "not a vhd request (" + bytes.length + " bytes): "
                    + (why.length() > 200 ? why.substring(0, 200) + "..." : why));
        } catch (IOException e) {
            throw new BadRequest(ExitCodes.USAGE, "not a vhd request: " + e.getMessage());
        }
        if (request == null || request.args() == null || request.args().isEmpty() || request.args().contains(null)) {
            throw new BadRequest(ExitCodes.USAGE, "not a vhd request: no command line (\"args\", a list of words)");
        }
        try {
            if (request.cwd() == null || !Path.of(request.cwd()).isAbsolute()) {
                throw new BadRequest(ExitCodes.USAGE, "not a vhd request: no absolute working directory (\"cwd\")");
            }
        } catch (InvalidPathException e) {
            throw new BadRequest(ExitCodes.USAGE, "not a vhd request: the working directory is not a path: "
                    + e.getReason());
        }
        return request;
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
                    .setExpandAtFiles(false) // the client expanded them; an @/dev/zero would hang the host
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
        byte[] bytes = JSON.writeValueAsBytes(request);
        if (bytes.length > MAX_REQUEST) {
            channel.close();
            throw new IOException(socket + ": the command line is too long to send to the vhd process hosting the"
                    + " VMs (" + bytes.length + " bytes, at most " + MAX_REQUEST + ")");
        }
        byte[] answer;
        try (channel) {
            try {
                OutputStream out = Channels.newOutputStream(channel);
                out.write(bytes);
                out.flush();
                channel.shutdownOutput();
            } catch (IOException e) {
                // The host may have answered before it read all (a refusal): its reply is still there.
            }
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
