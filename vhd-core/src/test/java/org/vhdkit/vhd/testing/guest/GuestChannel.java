package org.vhdkit.vhd.testing.guest;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The host's end of the command port: for {@link LinuxGuest} the guest's second serial port (ttyS1),
 * which qemu connects to a Unix socket this class {@link #listen}s on; for a guest whose only serial
 * port is its console (a disk-booted VM, see {@link BootDisk}) that port, which qemu serves on a Unix
 * socket ({@code -chardev socket,server=on,wait=off}) this class {@link #connect}s to. The other end
 * is the loop in the guest's {@code /init} (see that script for the protocol). A command goes as one line, {@code RUN <id> <base64>}; its
 * output (stdout and stderr together) comes back in base64 between {@code @@VHDKIT BEGIN <id>}
 * and {@code @@VHDKIT END <id> <status>}, so any bytes survive the serial line and a marker can
 * never be forged by a command's output. The ids tell a late answer from the current one.
 *
 * <p>Thread-safety: {@link #awaitReady}, {@link #run} and {@link #powerOff} are synchronized (one at a time);
 * a reader thread only fills the queue of received lines; {@link #close} may be called from any
 * thread, and ends a waiting command with an IOException.
 */
final class GuestChannel implements AutoCloseable {
    static final String MARK = "@@VHDKIT ";
    private static final String EOF = "\u0000eof";

    private static final Duration PING_INTERVAL = Duration.ofMillis(500);
    private static final Duration CONNECT_RETRY = Duration.ofMillis(50);

    private final ServerSocketChannel server; // null for a channel that connected as a client
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private volatile SocketChannel channel; // set once, by accept or connect
    private long nextId = 1; // guarded by this

    /** What a command printed and its exit status. */
    record Answer(int exitCode, String output) {
    }

    private GuestChannel(ServerSocketChannel server) {
        this.server = server;
    }

    /** Listens on {@code socket} (a new path) for qemu's connection. */
    static GuestChannel listen(Path socket) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        return new GuestChannel(server);
    }

    /**
     * Connects to {@code socket}, where qemu listens for the guest's serial port, trying again until
     * qemu has made it or {@code timeout} passes, and starts reading. The guest may have written its
     * ready line before anyone listened (qemu drops it then): {@link #awaitReady} asks for it again.
     */
    static GuestChannel connect(Path socket, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                c.connect(UnixDomainSocketAddress.of(socket));
                GuestChannel channel = new GuestChannel(null);
                channel.startReading(c);
                return channel;
            } catch (IOException e) {
                c.close();
                if (System.nanoTime() > deadline) {
                    throw new IOException("cannot connect to the guest's serial port at " + socket + " within "
                            + timeout + ": " + e.getMessage(), e);
                }
                sleep(CONNECT_RETRY);
            }
        }
    }

    /** Accepts qemu's connection (qemu connects as it starts) and starts reading. */
    synchronized void accept() throws IOException {
        SocketChannel c = server.accept();
        server.close();
        startReading(c);
    }

    private void startReading(SocketChannel c) {
        channel = c;
        Thread.ofPlatform().daemon().name("vhdkit-guest-channel").start(() -> {
            try (BufferedReader in = new BufferedReader(Channels.newReader(c, UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    lines.add(line.replace("\r", ""));
                }
            } catch (IOException | UncheckedIOException e) {
                // Closed by us or by qemu's exit: the EOF marker below tells the waiter.
            } finally {
                lines.add(EOF);
            }
        });
    }

    /**
     * Waits for the guest's ready line and returns the guest's uptime it carries (seconds), or
     * throws IOException when the guest did not get there within {@code timeout}. A channel that
     * {@link #connect}ed asks with {@code PING} every 500 ms, since the guest's first ready line may
     * have gone out before it connected; the answer ({@code PONG}) carries the uptime too.
     */
    synchronized double awaitReady(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long id = nextId;
            if (server == null) {
                nextId++;
                send("PING " + id + "\n");
            }
            long left = deadline - System.nanoTime();
            Duration wait = server == null && left > PING_INTERVAL.toNanos() ? PING_INTERVAL : Duration.ofNanos(Math.max(left, 0));
            String line;
            try {
                // An answer to any ping sent so far will do, not only this round's: a guest on a loaded
                // host may answer each ping later than the next one is sent. A PONG naming a ping never
                // sent is not an answer.
                line = awaitLine(l -> l.startsWith(MARK + "READY ") || answersAPingUpTo(l, id), wait,
                        "the guest's ready line");
            } catch (GuestTimeoutException e) {
                if (server != null || System.nanoTime() > deadline) {
                    throw e;
                }
                continue;
            }
            String[] parts = line.split(" ");
            int uptime = line.startsWith(MARK + "READY ") ? 2 : 3;
            return parts.length > uptime ? Double.parseDouble(parts[uptime]) : Double.NaN;
        }
    }

    /** Whether {@code line} is a PONG to one of the pings 1 to {@code last}. */
    private static boolean answersAPingUpTo(String line, long last) {
        if (!line.startsWith(MARK + "PONG ")) {
            return false;
        }
        String[] parts = line.split(" ");
        try {
            long id = Long.parseLong(parts[2]);
            return id >= 1 && id <= last;
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            return false;
        }
    }

    /** Runs {@code script} with {@code sh} in the guest and returns its output and exit status. */
    synchronized Answer run(String script, Duration timeout) throws IOException {
        long id = nextId++;
        send("RUN " + id + " " + Base64.getEncoder().encodeToString(script.getBytes(UTF_8)) + "\n");
        awaitLine(l -> l.equals(MARK + "BEGIN " + id), timeout, "the start of command " + id + "'s answer");
        StringBuilder base64 = new StringBuilder();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String line = poll(deadline, "the end of command " + id + "'s answer");
            if (line.startsWith(MARK + "END " + id + " ")) {
                int status = Integer.parseInt(line.substring((MARK + "END " + id + " ").length()).strip());
                byte[] output = Base64.getMimeDecoder().decode(base64.toString());
                return new Answer(status, new String(output, UTF_8));
            }
            base64.append(line).append('\n');
        }
    }

    /** Asks the guest to sync and power off; returns once it said it synced (or the line closed). */
    synchronized void powerOff(Duration timeout) throws IOException {
        long id = nextId++;
        send("POWEROFF " + id + "\n");
        awaitLine(l -> l.equals(MARK + "OFF " + id) || l.equals(EOF), timeout, "the guest's sync before power-off");
    }

    private void send(String line) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(line.getBytes(UTF_8));
        while (bytes.hasRemaining()) {
            channel.write(bytes);
        }
    }

    private String awaitLine(java.util.function.Predicate<String> wanted, Duration timeout, String what) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String line = poll(deadline, what);
            if (wanted.test(line)) {
                return line;
            }
        }
    }

    private String poll(long deadline, String what) throws IOException {
        try {
            long left = deadline - System.nanoTime();
            String line = left > 0 ? lines.poll(left, TimeUnit.NANOSECONDS) : null;
            if (line == null) {
                throw new GuestTimeoutException("no " + what + " from the guest in time");
            }
            if (line.equals(EOF)) {
                lines.add(EOF); // later waiters see it too
                throw new IOException("the guest's command port closed (qemu exited?) while waiting for " + what);
            }
            return line;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for " + what, e);
        }
    }

    private static void sleep(Duration d) throws IOException {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** A wait that ran out of time: the guest may still be working on the command. */
    static final class GuestTimeoutException extends IOException {
        private static final long serialVersionUID = 1L;

        GuestTimeoutException(String message) {
            super(message);
        }
    }

    @Override
    public void close() throws IOException {
        if (server != null) {
            server.close();
        }
        if (channel != null) {
            channel.close();
        }
    }
}
