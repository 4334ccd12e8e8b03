package org.vhdkit.export.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.channels.SocketChannel;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.vhdkit.export.nbd.protocol.Chunk;
import org.vhdkit.export.nbd.protocol.ChunkHeader;
import org.vhdkit.export.nbd.protocol.ChunkType;
import org.vhdkit.export.nbd.protocol.SimpleReply;

/**
 * The sending side of a connection: every message (option reply, simple reply, reply chunk) goes
 * out whole, never interleaved with another, under {@link #lock}. Headers are encoded into one
 * direct scratch buffer guarded by the same lock; data is sent from the caller's buffers. The
 * connection's thread also gathers whole replies of its own ({@link #gather}) and sends them
 * together in one write ({@link #flush}), under the same lock.
 *
 * <p>Messages go through the connection's {@link Transport}: the socket, or TLS once the client
 * started it. While a message is being written, {@link #writingSince} says since when, so that the
 * server can drop a client that stops reading its replies.
 *
 * <p>When a send fails (the client went away) the channel is closed, which also ends the
 * connection's reading side, and every later send fails at once.
 *
 * <p>Thread-safety: every method may be called from any thread; {@link #lock} serializes the
 * sending ones. {@link #fail} takes no lock (it must not wait for a blocked send), so
 * {@link #broken} and {@link #writingSince} are volatile.
 */
final class ReplyChannel {
    /** Large enough for any header with its payload that is not disk data (block status: 8 KiB descriptors). */
    static final int SCRATCH = 128 * 1024;
    /**
     * The most bytes of whole replies the connection's thread gathers ({@link #gather}) before they
     * go out in one write ({@link #flush}).
     */
    static final int GATHERED = 256 * 1024;

    private final SocketChannel channel;
    private final ReentrantLock lock = new ReentrantLock();
    private final BufferPool pool;
    /**
     * From the pool, back to it at {@link #release} (a direct buffer per connection left to the
     * garbage collector piles up when clients come and go quickly). Guarded by {@link #lock}.
     */
    private ByteBuffer scratch;
    /** Guarded by {@link #lock}. */
    private Transport transport;
    /**
     * Whole replies the connection's thread answered itself, waiting to go out together, or null
     * before the first. Filled by the connection's thread only; written and given back under
     * {@link #lock}.
     */
    private ByteBuffer gathered;
    private volatile boolean broken;
    /** {@link System#nanoTime} when the message being written began, or 0 when none is. */
    private volatile long writingSince;
    /** Nanoseconds spent in writes so far, waiting for the client to take replies among them. Written under {@link #lock}. */
    private volatile long writeNanos;

    ReplyChannel(SocketChannel channel, BufferPool pool) {
        this.channel = channel;
        this.pool = pool;
        this.scratch = pool.take(SCRATCH);
        this.transport = new Transport.Plain(channel);
    }

    /** From now on, messages go through {@code t} (TLS after {@code NBD_OPT_STARTTLS}). */
    void use(Transport t) {
        lock.lock();
        try {
            transport = Objects.requireNonNull(t);
        } finally {
            lock.unlock();
        }
    }

    /** Whether the channel has failed or been closed: nothing more can be sent. */
    boolean broken() {
        return broken;
    }

    /** Since when ({@link System#nanoTime}) the message being sent has been waiting for the client, or 0. */
    long writingSince() {
        return writingSince;
    }

    /** Ends the stream in order (TLS: close_notify), unless a send is stuck; then closes the channel. */
    void close() {
        if (lock.tryLock()) {
            try {
                writingSince = System.nanoTime();
                if (!broken) {
                    transport.close();
                }
            } finally {
                writingSince = 0;
                lock.unlock();
            }
        }
        fail();
    }

    /**
     * The buffer the connection's thread appends whole replies to (from its position), with at
     * least {@code room} bytes free: what it held goes out first when it has less. A reply is
     * appended whole or not at all (the caller resets the position to drop a partial one), so
     * that the write of the gathered replies never interleaves another message's bytes. Call only
     * from the connection's thread, with {@code room} at most {@link #GATHERED}.
     */
    ByteBuffer gather(int room) {
        if (gathered == null) {
            gathered = pool.take(GATHERED).clear();
        }
        if (gathered.remaining() < room) {
            flush();
        }
        return gathered;
    }

    /**
     * Sends the replies gathered so far, in one write. When the write fails the channel is
     * closed (the connection's next read then ends it) and the replies are dropped. Call only
     * from the connection's thread.
     */
    void flush() {
        if (gathered == null || gathered.position() == 0) {
            return;
        }
        lock.lock();
        try {
            if (!broken) {
                gathered.flip();
                write(new ByteBuffer[] {gathered});
            }
        } catch (IOException e) {
            // write() closed the channel: the client is gone, and the connection's next read says so.
        } finally {
            gathered.clear();
            lock.unlock();
        }
    }

    /** Encodes a structured reply chunk's header and payload (for {@link Chunk.OffsetData}, its offset only) into {@code b}. */
    static void encode(ByteBuffer b, long handle, boolean done, Chunk chunk) {
        new ChunkHeader(done ? ChunkType.FLAG_DONE : 0, chunk.type(), handle, chunk.payloadSize()).encode(b);
        chunk.encode(b);
    }

    /** Sends what {@code encoder} writes (at most {@link #SCRATCH} bytes), then {@code data} if not null. */
    void send(Consumer<ByteBuffer> encoder, ByteBuffer data) throws IOException {
        lock.lock();
        try {
            if (broken) {
                throw new IOException("the connection is closed");
            }
            scratch.clear();
            encoder.accept(scratch);
            scratch.flip();
            write(data == null ? new ByteBuffer[] {scratch} : new ByteBuffer[] {scratch, data});
        } finally {
            lock.unlock();
        }
    }

    /** A simple reply, with {@code data} (a read's) or without. */
    void simple(long handle, int error, ByteBuffer data) throws IOException {
        send(b -> new SimpleReply(error, handle).encode(b), data);
    }

    /** A structured reply chunk; {@code data} follows the payload's header for {@link Chunk.OffsetData}. */
    void chunk(long handle, boolean done, Chunk chunk, ByteBuffer data) throws IOException {
        send(b -> encode(b, handle, done, chunk), data);
    }

    /** Supplies the pieces of a long simple read reply, in order, into the buffer given. */
    @FunctionalInterface
    interface Pieces {
        /**
         * Fills {@code into} from its position to its limit with the bytes at {@code position} of the
         * reply's data (through a segment, so the buffer's position does not move).
         */
        void fill(long position, ByteBuffer into) throws IOException;
    }

    /**
     * A simple reply to a read of {@code length} bytes, the data filled piece by piece through
     * {@code buffer} while the lock is held, so that nothing comes between header and data. The
     * first piece is filled before the header goes, so that an error there is still an error
     * reply; an error after that leaves the client nothing but a broken connection, and the
     * channel is closed (as the protocol says).
     *
     * @return the error of the first piece (0 when the reply went out whole)
     */
    int simpleRead(long handle, long length, ByteBuffer buffer, Pieces pieces, ErrorMapping errors) throws IOException {
        lock.lock();
        try {
            if (broken) {
                throw new IOException("the connection is closed");
            }
            long done = 0;
            int first = (int) Math.min(length, buffer.capacity());
            buffer.clear().limit(first);
            try {
                pieces.fill(0, buffer);
            } catch (IOException e) {
                int error = errors.of(e);
                simple(handle, error, null);
                return error;
            }
            buffer.position(0); // filled through a segment: the position did not move
            scratch.clear();
            new SimpleReply(0, handle).encode(scratch);
            scratch.flip();
            write(new ByteBuffer[] {scratch, buffer});
            done = first;
            while (done < length) {
                int n = (int) Math.min(length - done, buffer.capacity());
                buffer.clear().limit(n);
                try {
                    pieces.fill(done, buffer);
                } catch (IOException e) {
                    fail();
                    throw new IOException("a read failed after its reply began; closed the connection: " + e.getMessage(), e);
                }
                buffer.position(0); // filled through a segment: the position did not move
                write(new ByteBuffer[] {buffer});
                done += n;
            }
            return 0;
        } finally {
            lock.unlock();
        }
    }

    /** Sends a read's bytes straight from the disk's file: {@link org.vhdkit.vhd.disk.VirtualDisk#transferTo}. */
    @FunctionalInterface
    interface Transfer {
        /** Sends up to {@code length} bytes of the reply's data from {@code position} to {@code target}; how many it sent (0: none). */
        long send(long position, long length, WritableByteChannel target) throws IOException;
    }

    /**
     * Whether {@link #transferChunk} may send: the client's stream is the socket itself, not TLS,
     * which must encrypt every byte in this process.
     */
    boolean transfers() {
        lock.lock();
        try {
            return transport instanceof Transport.Plain;
        } finally {
            lock.unlock();
        }
    }

    /**
     * A data chunk whose bytes go from the disk's file to the socket without a copy through this
     * process ({@code transfer}, {@code sendfile}); what that does not send (the socket would make
     * the thread wait, the disk changed) is read by {@code pieces} into a pooled buffer and written.
     * The header goes first, so a disk error after it cannot be answered any more: the channel is
     * closed (as the protocol says) and the error thrown. Call only when {@link #transfers}, from
     * a platform thread, with a chunk of at most {@link BufferPool#MAX} bytes.
     */
    void transferChunk(long handle, boolean done, Chunk.OffsetData chunk, Transfer transfer, Pieces pieces) throws IOException {
        lock.lock();
        ByteBuffer buffer = null;
        try {
            if (broken) {
                throw new IOException("the connection is closed");
            }
            scratch.clear();
            encode(scratch, handle, done, chunk);
            scratch.flip();
            write(new ByteBuffer[] {scratch});
            long length = chunk.dataLength();
            long sent = 0;
            long start = System.nanoTime();
            writingSince = start;
            try {
                while (sent < length) {
                    long n = transfer.send(sent, length - sent, channel);
                    if (n <= 0) {
                        break;
                    }
                    sent += n;
                }
            } catch (IOException e) {
                fail();
                throw e;
            } finally {
                writingSince = 0;
                writeNanos += System.nanoTime() - start;
            }
            if (sent < length) {
                buffer = pool.take((int) (length - sent));
                try {
                    pieces.fill(sent, buffer);
                } catch (IOException e) {
                    fail();
                    throw e;
                }
                write(new ByteBuffer[] {buffer.position(0)}); // filled through a segment: the position did not move
            }
        } finally {
            if (buffer != null) {
                pool.give(buffer);
            }
            lock.unlock();
        }
    }

    /**
     * Gives the scratch and gathering buffers back to the pool once the connection has ended (nothing sends any
     * more); every later send fails. When a send is somehow still stuck, the buffer is left to the
     * garbage collector.
     */
    void release() {
        broken = true;
        if (lock.tryLock()) {
            try {
                if (scratch != null) {
                    pool.give(scratch);
                    scratch = null;
                }
                if (gathered != null) {
                    pool.give(gathered);
                    gathered = null;
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * Nanoseconds spent in writes so far, by every thread: what a request's time minus this
     * difference leaves is its own (the disk and the CPU), not the client's being slow to read.
     */
    long writeNanos() {
        return writeNanos;
    }

    /** Closes the channel at once, without waiting for a send in progress: nothing more will be sent (or read). */
    void fail() {
        broken = true;
        NbdServer.closeQuietly(channel);
    }

    /** Under {@link #lock}. */
    private void write(ByteBuffer[] buffers) throws IOException {
        if (broken) {
            throw new IOException("the connection is closed");
        }
        long start = System.nanoTime();
        writingSince = start;
        try {
            transport.write(buffers);
        } catch (IOException e) {
            fail();
            throw e;
        } finally {
            writingSince = 0;
            writeNanos += System.nanoTime() - start; // under the lock: one writer at a time
        }
    }
}
