package org.vhdkit.vhd.testing.guest;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/**
 * A client of qemu's monitor in control mode (QMP) on a Unix socket qemu listens on
 * ({@code -chardev socket,id=qmp,path=SOCKET,server=on,wait=off -mon chardev=qmp,mode=control}):
 * reads the greeting, negotiates capabilities, then sends one command at a time and returns qemu's
 * answer line. Events that come before an answer are skipped.
 *
 * <p>Thread-safety: {@link #execute} and {@link #close} are synchronized (one command at a time).
 */
public final class Qmp implements AutoCloseable {
    private final SocketChannel socket;
    private final BufferedReader reader;

    private Qmp(SocketChannel socket) {
        this.socket = socket;
        this.reader = new BufferedReader(Channels.newReader(socket, UTF_8));
    }

    /** Connects to qemu's monitor on {@code path} and negotiates capabilities. Thread-safe. */
    public static Qmp connect(Path path) throws IOException {
        SocketChannel socket = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            socket.connect(UnixDomainSocketAddress.of(path));
            Qmp qmp = new Qmp(socket);
            if (qmp.reader.readLine() == null) { // the greeting
                throw new IOException("QMP on " + path + " closed before its greeting");
            }
            qmp.exchange("{\"execute\":\"qmp_capabilities\"}");
            socket = null;
            return qmp;
        } finally {
            if (socket != null) {
                socket.close();
            }
        }
    }

    /**
     * Sends {@code execute} with {@code argumentsJson} as its arguments object (none when null) and
     * returns qemu's answer line (JSON with "return" or "error"). Thread-safe.
     */
    public synchronized String execute(String execute, String argumentsJson) throws IOException {
        return exchange("{\"execute\":\"" + execute + "\""
                + (argumentsJson == null ? "" : ",\"arguments\":" + argumentsJson) + "}");
    }

    private String exchange(String json) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap((json + "\n").getBytes(UTF_8));
        while (bytes.hasRemaining()) {
            socket.write(bytes);
        }
        String line;
        while ((line = reader.readLine()) != null) {
            if (line.contains("\"return\"") || line.contains("\"error\"")) {
                return line;
            }
        }
        throw new IOException("QMP connection closed before the answer to " + json);
    }

    /** Disconnects. Idempotent; thread-safe. */
    @Override
    public synchronized void close() throws IOException {
        socket.close();
    }
}
