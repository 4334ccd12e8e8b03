package org.vhdkit.vhd.testing.guest;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command port's client mode, against a stand-in for qemu's socket server and the guest's
 * {@code /init} (the real guest is BootFromIdeOverNbdTest's, in vhd-export): the host connects once
 * the socket exists, asks with PING until the guest answers (the ready line it wrote before anyone
 * connected is lost), and reads a command's answer between its markers past console noise.
 */
@Timeout(60)
class GuestChannelTest {
    @TempDir
    Path tmp;

    @Test
    void aClientWaitsForTheSocketAndPingsUntilTheGuestAnswersThenRunsACommand() throws Exception {
        Path socket = tmp.resolve("console.sock");
        List<String> received = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Void> guest = CompletableFuture.runAsync(() -> {
            try {
                Thread.sleep(300); // qemu has not made its socket yet when the host first tries
                try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                    server.bind(UnixDomainSocketAddress.of(socket));
                    try (SocketChannel c = server.accept();
                            BufferedReader in = new BufferedReader(Channels.newReader(c, UTF_8))) {
                        String first = in.readLine(); // the guest is still booting: no answer
                        received.add(first);
                        String second = in.readLine();
                        received.add(second);
                        String id = second.split(" ")[1];
                        write(c, "[    2.5] some kernel line\r\n@@VHDKIT PONG 999 1.0\n@@VHDKIT PONG " + id + " 12.50 0.1\n");
                        String run = in.readLine();
                        received.add(run);
                        String[] f = run.split(" ");
                        String script = new String(Base64.getDecoder().decode(f[2]), UTF_8);
                        String out = Base64.getMimeEncoder().encodeToString(("ran: " + script + "\n").getBytes(UTF_8));
                        write(c, "noise\n@@VHDKIT BEGIN " + f[1] + "\n" + out + "\n@@VHDKIT END " + f[1] + " 3\n");
                        in.readLine(); // until the host closes
                    }
                }
            } catch (IOException | InterruptedException e) {
                throw new RuntimeException(e);
            }
        });
        try (GuestChannel channel = GuestChannel.connect(socket, Duration.ofSeconds(20))) {
            assertEquals(12.5, channel.awaitReady(Duration.ofSeconds(20)));
            GuestChannel.Answer a = channel.run("echo hi", Duration.ofSeconds(20));
            assertEquals(3, a.exitCode());
            assertEquals("ran: echo hi\n", a.output());
        }
        guest.get();
        assertTrue(received.get(0).startsWith("PING ") && received.get(1).startsWith("PING "), received.toString());
        assertTrue(received.get(2).startsWith("RUN "), received.toString());
    }

    @Test
    void noSocketWithinTheTimeoutIsAnErrorNamingIt() {
        Path socket = tmp.resolve("nobody.sock");
        IOException e = assertThrows(IOException.class, () -> GuestChannel.connect(socket, Duration.ofMillis(200)));
        assertTrue(e.getMessage().contains(socket.toString()), e.getMessage());
    }

    private static void write(SocketChannel c, String text) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(UTF_8));
        while (b.hasRemaining()) {
            c.write(b);
        }
    }
}
