package org.vhdkit.export.nbd;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.vhdkit.vhd.disk.MemoryDisk;

/**
 * Fuzzes the NBD server with whatever a client can send: the input is written, as one client, over
 * a Unix socket to a running server (exports {@code d}, writable, and {@code ro}), from the start of
 * the handshake through transmission requests, and the client reads every reply until the server
 * ends the connection. The server must end it for a reason of the protocol, never "after an
 * internal error" (an unchecked exception in a connection), must not fail a request with one, and
 * keeps serving the next client.
 *
 * <p>The log is matched by the server's own words at the start of a line, never by a search in the
 * whole line: a client's strings stand in it (an export name it asked for), and the fuzzer, which
 * sees this test's comparisons, soon sends "internal error" as one (the first CI run that fuzzed
 * this target did; see the input {@code export-name-saying-internal-error}).
 */
class NbdServerFuzzTest {
    private static final int MIB = 1 << 20;
    /** A line of the server's own about an unchecked exception: a connection's end, or a request's failure. */
    private static final Pattern INTERNAL_ERROR = Pattern.compile(
            "client \\d+: (dropped after an internal error|export '(d|ro)': [A-Z_]+ of \\d+ bytes at offset \\d+"
                    + " failed with an internal error)(: .*)?", Pattern.DOTALL);
    private static final Pattern ENDING = Pattern.compile("client \\d+: (dropped|disconnected|ended)\\b.*",
            Pattern.DOTALL);
    private static final List<String> LOG = Collections.synchronizedList(new ArrayList<>());
    private static final NbdServer SERVER = start();

    private static NbdServer start() {
        try {
            Path directory = Files.createTempDirectory("vhdkit-nbd-fuzz");
            Path socket = directory.resolve("nbd.sock");
            socket.toFile().deleteOnExit();
            directory.toFile().deleteOnExit();
            return NbdServer.start(UnixDomainSocketAddress.of(socket), List.of(
                    new NbdServer.Export("d", MemoryDisk.create("d", MIB), false, "writable"),
                    new NbdServer.Export("ro", MemoryDisk.create("ro", MIB), true, "read-only")),
                    LOG::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest
    void oneClient(byte[] input) throws Exception {
        LOG.clear();
        try (SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            client.connect(SERVER.address());
            try {
                client.write(ByteBuffer.wrap(input));
                client.shutdownOutput();
            } catch (IOException e) {
                // The server may have ended the connection before reading everything: that is its right.
            }
            ByteBuffer sink = ByteBuffer.allocate(64 * 1024);
            try {
                while (client.read(sink.clear()) >= 0) {
                    // every reply, until the server closes
                }
            } catch (IOException e) {
                // reset by the server
            }
        }
        // The server logs a connection's end, then forgets the connection.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (SERVER.clients() > 0) {
            assertTrue(System.nanoTime() < deadline, () -> "the server did not end the connection: " + LOG);
            Thread.sleep(1);
        }
        List<String> lines;
        synchronized (LOG) {
            lines = List.copyOf(LOG);
        }
        for (String line : lines) {
            assertFalse(INTERNAL_ERROR.matcher(line).matches(), line);
        }
        assertTrue(!lines.isEmpty() && ENDING.matcher(lines.getLast()).matches(),
                () -> "the connection's last line is not its end: " + lines);
    }
}
