package org.vhdkit.export.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * The byte stream under a connection: the socket itself ({@link Plain}), or TLS over it once the
 * client asked for {@code NBD_OPT_STARTTLS} ({@link PskTransport}, {@link X509Transport}). The
 * protocol code reads and writes through it and never sees which.
 *
 * <p>Thread-safety: {@link #read} is called by the connection's thread only; {@link #write} by one
 * thread at a time ({@link ReplyChannel} serializes); {@link #close} from any thread. A TLS
 * transport guards what its reading side must also send (key updates, close_notify) with its own
 * lock.
 */
interface Transport {
    /** Reads what is there (at least one byte, at most {@code into.remaining()}); -1 at the end of the stream. */
    int read(ByteBuffer into) throws IOException;

    /** Writes every remaining byte of {@code from}, in order. */
    void write(ByteBuffer[] from) throws IOException;

    /** Ends the stream (TLS: sends close_notify when it can without waiting), then closes the socket. */
    void close();

    /** What the client negotiated, for the connection log: "TLS 1.3 TLS_AES_128_GCM_SHA256, PSK identity alice". */
    String describe();

    /** The socket as it is: the fast path, scattering and gathering straight from direct buffers. */
    record Plain(SocketChannel channel) implements Transport {
        @Override
        public int read(ByteBuffer into) throws IOException {
            return channel.read(into);
        }

        @Override
        public void write(ByteBuffer[] from) throws IOException {
            long left = 0;
            for (ByteBuffer b : from) {
                left += b.remaining();
            }
            while (left > 0) {
                left -= channel.write(from);
            }
        }

        @Override
        public void close() {
            NbdServer.closeQuietly(channel);
        }

        @Override
        public String describe() {
            return "no TLS";
        }
    }
}
