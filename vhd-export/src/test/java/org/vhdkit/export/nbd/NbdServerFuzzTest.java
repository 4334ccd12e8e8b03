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
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.vhdkit.vhd.disk.MemoryDisk;

/**
 * Fuzzes the NBD server with whatever a client can send: the input is written, as one client, over
 * a Unix socket to a running server (exports {@code d}, writable, and {@code ro}), from the start of
 * the handshake through transmission requests, and the client reads every reply until the server
 * ends the connection. The server must end it for a reason of the protocol, never "after an
 * internal error" (an unchecked exception in a connection), and keep serving the next client.
 */
class NbdServerFuzzTest {
    private static final int MIB = 1 << 20;
    private static final LinkedBlockingQueue<String> ENDINGS = new LinkedBlockingQueue<>();
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
                    line -> {
                        if (!line.contains(": connected")) {
                            ENDINGS.add(line);
                        }
                    });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest
    void oneClient(byte[] input) throws Exception {
        ENDINGS.clear();
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
        String ending = ENDINGS.poll(30, TimeUnit.SECONDS);
        assertTrue(ending != null, "the server did not end the connection");
        assertFalse(ending.contains("internal error"), ending);
    }
}
