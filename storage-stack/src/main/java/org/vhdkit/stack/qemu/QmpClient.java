package org.vhdkit.stack.qemu;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.lang.System.Logger.Level;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.vhdkit.stack.protocol.ProtocolException;
import org.vhdkit.stack.protocol.qmp.QmpMessage;

/**
 * The host's QMP connection to one qemu worker: commands go out with ids and their answers are
 * matched back; events go to the listener. One reader thread reads every line qemu sends; a line
 * that is not QMP, or too long, ends the connection (qemu runs a hostile guest, but its monitor is
 * its own: a broken one means a broken process, which is then turned off).
 *
 * <p>Thread-safety: {@link #execute} from any thread (writes are serialized); the listener runs on
 * the reader thread.
 */
final class QmpClient implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(QmpClient.class.getName());

    private final SocketChannel channel;
    private final String name;
    private final Consumer<QmpMessage.Event> events;
    private final Map<Long, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong(1);
    private final CompletableFuture<String> greeting = new CompletableFuture<>();
    private final Thread reader;
    private volatile boolean closed;

    private QmpClient(SocketChannel channel, String name, Consumer<QmpMessage.Event> events) {
        this.channel = channel;
        this.name = name;
        this.events = events;
        this.reader = Thread.ofPlatform().daemon(true).name(name + "/qmp").unstarted(this::read);
    }

    /**
     * Connects to the monitor at {@code socket}, reads the greeting and negotiates capabilities
     * ({@code qmp_capabilities}); waits up to {@code timeout} for all of it.
     */
    static QmpClient connect(Path socket, String name, Consumer<QmpMessage.Event> events, Duration timeout)
            throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            channel.close();
            throw e;
        }
        QmpClient client = new QmpClient(channel, name, events);
        client.reader.start();
        try {
            client.greeting.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            client.execute("qmp_capabilities", null, timeout);
            return client;
        } catch (IOException e) {
            client.close();
            throw e;
        } catch (ExecutionException e) {
            client.close();
            throw new IOException(name + ": QMP: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            client.close();
            throw new IOException(name + ": QMP: no greeting from qemu within " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            client.close();
            throw new IOException(name + ": QMP: interrupted", e);
        }
    }

    /**
     * Sends {@code execute} with {@code arguments} (null for none) and waits up to {@code timeout}
     * for its answer: the returned value, or an IOException naming the command and qemu's error.
     */
    JsonNode execute(String execute, ObjectNode arguments, Duration timeout) throws IOException {
        long id = ids.getAndIncrement();
        CompletableFuture<JsonNode> answer = new CompletableFuture<>();
        pending.put(id, answer);
        try {
            if (closed) {
                throw new IOException(name + ": QMP " + execute + ": the monitor connection is closed (qemu exited?)");
            }
            ByteBuffer bytes = ByteBuffer.wrap(QmpMessage.command(execute, arguments, id));
            synchronized (channel) {
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
            }
            return answer.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw new IOException(name + ": QMP " + execute + ": " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException(name + ": QMP " + execute + ": no answer from qemu within " + timeout.toMillis()
                    + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(name + ": QMP " + execute + ": interrupted", e);
        } finally {
            pending.remove(id);
        }
    }

    private void read() {
        String why = "qemu closed its monitor";
        try (BufferedReader in = new BufferedReader(boundedReader(), 1 << 16)) {
            String line;
            while ((line = readLine(in)) != null) {
                QmpMessage m = QmpMessage.decode(line);
                switch (m) {
                    case QmpMessage.Greeting g -> greeting.complete(g.version());
                    case QmpMessage.Return r -> complete(r.id(), r.value(), null);
                    case QmpMessage.Error e -> complete(e.id(), null, e.errorClass() + ": " + e.description());
                    case QmpMessage.Event e -> deliver(e);
                }
            }
        } catch (ProtocolException e) {
            why = e.getMessage();
            LOG.log(Level.WARNING, "{0}: {1}; closing the monitor connection", name, why);
        } catch (IOException e) {
            why = closed ? "closed" : "reading the monitor failed: " + e.getMessage();
        } finally {
            closed = true;
            IOException gone = new IOException(why);
            greeting.completeExceptionally(gone);
            pending.values().forEach(f -> f.completeExceptionally(gone));
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    private Reader boundedReader() {
        return Channels.newReader(channel, UTF_8);
    }

    /** A line of at most {@link QmpMessage#MAX_LINE} characters, or null at the end. */
    private static String readLine(BufferedReader in) throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                return line.toString();
            }
            if (line.length() >= QmpMessage.MAX_LINE) {
                throw new ProtocolException(QmpMessage.PROTOCOL, "message", -1, "a line longer than "
                        + QmpMessage.MAX_LINE + " characters");
            }
            if (c != '\r') {
                line.append((char) c);
            }
        }
        return line.isEmpty() ? null : line.toString();
    }

    private void complete(long id, JsonNode value, String error) {
        CompletableFuture<JsonNode> f = pending.get(id);
        if (f == null) {
            return; // an answer nobody waits for any more (timed out)
        }
        if (error != null) {
            f.completeExceptionally(new IOException(error));
        } else {
            f.complete(value);
        }
    }

    private void deliver(QmpMessage.Event e) {
        try {
            events.accept(e);
        } catch (RuntimeException ex) {
            LOG.log(Level.WARNING, name + ": handling QMP event " + e.name() + " failed", ex);
        }
    }

    /** Whether the connection is still open. */
    boolean open() {
        return !closed;
    }

    @Override
    public void close() {
        closed = true;
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
