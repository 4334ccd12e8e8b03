package org.vhdkit.stack.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.protocol.qmp.QmpMessage;

/**
 * The host's monitor connection against a scripted monitor on a Unix socket: answers matched to
 * their commands, events delivered, and every way a monitor can fail (no greeting, refused
 * capabilities, errors, silence, garbage, an endless line, a hang-up) ending in an IOException that
 * names the VM and the command, never a hang.
 */
class QmpClientTest {
    private static final String GREETING =
            "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 19, \"minor\": 2, \"major\": 7}}, \"capabilities\": []}}";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration SHORT = Duration.ofMillis(300);
    private static final Duration LONG = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private final List<AutoCloseable> closing = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    /** The monitor's side of one connection: lines in, lines out. */
    private record Monitor(BufferedReader in, PrintStream out, SocketChannel channel) {
        String command() throws IOException {
            String line = in.readLine();
            if (line == null) {
                throw new IOException("the client hung up");
            }
            return line;
        }

        long id(String command) throws IOException {
            return JSON.readTree(command).path("id").asLong(-1);
        }

        void send(String line) {
            out.print(line + "\n");
            out.flush();
        }
    }

    private interface Script {
        void run(Monitor m) throws Exception;
    }

    /** Serves one connection on a socket in the test folder with {@code script}; returns the socket. */
    private Path monitor(Script script) throws IOException {
        Path socket = dir.resolve("qmp-" + closing.size() + ".sock");
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        closing.add(server);
        Thread t = Thread.ofPlatform().daemon(true).start(() -> {
            try (SocketChannel c = server.accept()) {
                Monitor m = new Monitor(new BufferedReader(Channels.newReader(c, StandardCharsets.UTF_8)),
                        new PrintStream(Channels.newOutputStream(c), false, StandardCharsets.UTF_8), c);
                script.run(m);
            } catch (Exception e) {
                // the script ends when the client goes
            }
        });
        closing.add(() -> t.join(5000));
        return socket;
    }

    /** Greets and accepts the capabilities negotiation. */
    private static void negotiate(Monitor m) throws IOException {
        m.send(GREETING);
        String caps = m.command();
        assertTrue(caps.contains("qmp_capabilities"), caps);
        m.send("{\"return\": {}, \"id\": " + m.id(caps) + "}");
    }

    private QmpClient connect(Path socket, List<QmpMessage.Event> events, Duration timeout) throws IOException {
        QmpClient c = QmpClient.connect(socket, "vm1", events::add, timeout);
        closing.addFirst(c);
        return c;
    }

    @Test
    void answersComeBackToTheirCommandsAndEventsToTheListener() throws Exception {
        List<QmpMessage.Event> events = new CopyOnWriteArrayList<>();
        Path socket = monitor(m -> {
            negotiate(m);
            String first = m.command();
            String second = m.command();
            // An event between, and the answers in the other order, as qemu may send them.
            m.send("{\"event\": \"STOP\", \"data\": {}, \"timestamp\": {\"seconds\": 0, \"microseconds\": 0}}");
            m.send("{\"return\": {\"n\": 2}, \"id\": " + m.id(second) + "}");
            m.send("{\"return\": {\"n\": 1}, \"id\": " + m.id(first) + "}");
            m.command(); // until the client goes
        });
        QmpClient c = connect(socket, events, LONG);
        Thread other = Thread.ofVirtual().start(() -> {
            try {
                assertEquals(1, c.execute("first", null, LONG).path("n").asInt());
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        });
        Thread.sleep(100); // "first" goes out first
        assertEquals(2, c.execute("second", null, LONG).path("n").asInt());
        assertTrue(other.join(Duration.ofSeconds(20)), "the first command was answered");
        assertEquals(List.of("STOP"), events.stream().map(QmpMessage.Event::name).toList());
        assertTrue(c.open());
    }

    @Test
    void anErrorAnswerNamesTheCommandAndQemusReason() throws Exception {
        Path socket = monitor(m -> {
            negotiate(m);
            String cmd = m.command();
            m.send("{\"error\": {\"class\": \"GenericError\", \"desc\": \"Duplicate ID 'scsi1'\"}, \"id\": "
                    + m.id(cmd) + "}");
            m.command();
        });
        QmpClient c = connect(socket, new CopyOnWriteArrayList<>(), LONG);
        IOException e = assertThrows(IOException.class, () -> c.execute("device_add", QmpMessage.arguments(), LONG));
        assertEquals("vm1: QMP device_add: GenericError: Duplicate ID 'scsi1'", e.getMessage());
        assertTrue(c.open(), "a refused command leaves the monitor usable");
    }

    @Test
    void aListenerThatThrowsDoesNotEndTheConnection() throws Exception {
        Path socket = monitor(m -> {
            negotiate(m);
            String cmd = m.command();
            m.send("{\"event\": \"RESUME\"}");
            m.send("{\"return\": {}, \"id\": " + m.id(cmd) + "}");
            m.command();
        });
        QmpClient c = QmpClient.connect(socket, "vm1", e -> {
            throw new IllegalStateException("a broken listener");
        }, LONG);
        closing.addFirst(c);
        assertTrue(c.execute("cont", null, LONG).isObject());
        assertTrue(c.open());
    }

    @Test
    void noGreetingWithinTheTimeoutIsAnError() throws Exception {
        Path socket = monitor(m -> m.command());
        IOException e = assertThrows(IOException.class, () -> connect(socket, List.of(), SHORT));
        assertEquals("vm1: QMP: no greeting from qemu within 300 ms", e.getMessage());
    }

    @Test
    void refusedCapabilitiesAreAnErrorNamingThem() throws Exception {
        Path socket = monitor(m -> {
            m.send(GREETING);
            String caps = m.command();
            m.send("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"no\"}, \"id\": " + m.id(caps) + "}");
            m.command();
        });
        IOException e = assertThrows(IOException.class, () -> connect(socket, List.of(), LONG));
        assertTrue(e.getMessage().startsWith("vm1: QMP qmp_capabilities: CommandNotFound: no"), e.getMessage());
    }

    @Test
    void aMonitorThatHangsUpBeforeGreetingIsAnError() throws Exception {
        Path socket = monitor(m -> m.channel().close());
        IOException e = assertThrows(IOException.class, () -> connect(socket, List.of(), LONG));
        assertTrue(e.getMessage().contains("qemu closed its monitor"), e.getMessage());
    }

    @Test
    void noSocketIsAnError() {
        assertThrows(IOException.class, () -> connect(dir.resolve("none.sock"), List.of(), LONG));
    }

    @Test
    void aCommandWithoutAnswerTimesOutAndALateAnswerIsIgnored() throws Exception {
        Path socket = monitor(m -> {
            negotiate(m);
            String slow = m.command();
            String next = m.command();
            m.send("{\"return\": {\"late\": true}, \"id\": " + m.id(slow) + "}");
            m.send("{\"return\": {\"n\": 2}, \"id\": " + m.id(next) + "}");
            m.command();
        });
        QmpClient c = connect(socket, List.of(), LONG);
        IOException e = assertThrows(IOException.class, () -> c.execute("query-migrate", null, SHORT));
        assertEquals("vm1: QMP query-migrate: no answer from qemu within 300 ms", e.getMessage());
        assertEquals(2, c.execute("query-status", null, LONG).path("n").asInt());
    }

    @Test
    void aHangUpFailsTheWaitingCommandAndLaterOnesAtOnce() throws Exception {
        Path socket = monitor(m -> {
            negotiate(m);
            m.command();
            m.channel().close();
        });
        QmpClient c = connect(socket, List.of(), LONG);
        long start = System.nanoTime();
        IOException e = assertThrows(IOException.class, () -> c.execute("quit", null, LONG));
        assertTrue(e.getMessage().contains("qemu closed its monitor"), e.getMessage());
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(15), "not the whole timeout");
        assertFalse(waitClosed(c), "the client sees the connection closed");
        IOException later = assertThrows(IOException.class, () -> c.execute("cont", null, LONG));
        assertTrue(later.getMessage().contains("the monitor connection is closed"), later.getMessage());
    }

    @Test
    void garbageOrAnEndlessLineEndsTheConnection() throws Exception {
        for (String bad : List.of("this is not json", "{\"return\": \"" + "y".repeat(QmpMessage.MAX_LINE + 10))) {
            Path socket = monitor(m -> {
                negotiate(m);
                m.command();
                m.send(bad);
                m.command();
            });
            QmpClient c = connect(socket, List.of(), LONG);
            IOException e = assertThrows(IOException.class, () -> c.execute("query-status", null, LONG));
            assertTrue(e.getMessage().contains("QMP"), e.getMessage());
            assertFalse(waitClosed(c));
        }
    }

    /** Whether {@code c} is still open after waiting up to 10 s for it to close. */
    private static boolean waitClosed(QmpClient c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (c.open() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        return c.open();
    }
}
