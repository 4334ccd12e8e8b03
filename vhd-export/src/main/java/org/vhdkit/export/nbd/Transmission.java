package org.vhdkit.export.nbd;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import org.vhdkit.export.nbd.protocol.Chunk;
import org.vhdkit.export.nbd.protocol.ChunkHeader;
import org.vhdkit.export.nbd.protocol.CommandFlags;
import org.vhdkit.export.nbd.protocol.CommandType;
import org.vhdkit.export.nbd.protocol.ErrorCode;
import org.vhdkit.export.nbd.protocol.MetaContext;
import org.vhdkit.export.nbd.protocol.RequestHeader;
import org.vhdkit.export.nbd.protocol.SimpleReply;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * The transmission phase of one connection: its thread reads requests (and a write's data) and
 * runs reads, block status queries and writes without FUA itself, as long as they come from the
 * page cache ({@link #runsHere}); small reads' replies it gathers ({@link #INLINE_MAX}) and sends
 * together when it has read every request the client has sent so far, before it waits for more,
 * and before anything else; large reads' data it sends from the image's file without copying it
 * ({@link #TRANSFER_MIN}). Every other request (and those while the disk is slow) runs in a
 * virtual thread of its own, at most {@link NbdServer#MAX_IN_FLIGHT} at once
 * and with at most {@link NbdServer#MAX_BUFFERED} bytes of data held (and the server's
 * {@link NbdServer.Limits#buffered} across all connections); replies go out through the
 * connection's {@link ReplyChannel} whole, in the order requests finish. See {@link NbdServer} for
 * what each command does.
 *
 * <p>Thread-safety: {@link #serve} runs in the connection's thread; the request threads share only
 * the disk (thread-safe), the reply channel (locked), the buffer pool (concurrent), the semaphores
 * and the atomic counters.
 */
final class Transmission {
    /** The most descriptors one block status reply holds; the client asks again for the rest. */
    static final int MAX_DESCRIPTORS = 8192;
    /**
     * Reads of at most this many bytes are answered on the connection's thread, into the replies
     * it gathers ({@link ReplyChannel#gather}), while their bytes come without waiting: handing a
     * small read to a request thread and waking that thread costs more than copying 4 KiB from
     * the page cache, and replies that are ready together go out in one write.
     */
    static final int INLINE_MAX = 64 * 1024;
    /**
     * A request run on the connection's thread that took longer than this (plus a nanosecond per
     * byte) and read the disk meanwhile ({@link #waitedForDisk}) waited for the disk: the next
     * {@link #HAND_OFF} reads and writes go to request threads, so that requests to a cold or slow
     * disk run side by side instead of one after the other.
     */
    private static final long SLOW_NANOS = 200_000;
    /** Where the connection's thread's count of major page faults is read (Linux): {@link #waitedForDisk}. */
    private static final java.nio.file.Path THREAD_STAT = java.nio.file.Path.of("/proc/thread-self/stat");
    private static final int HAND_OFF = 64;
    /**
     * Reads' data pieces of at least this many bytes go from the image's file to a plain socket
     * without a copy through this process ({@link VirtualDisk#transferTo}, {@code sendfile}; a Unix
     * socket then takes the page cache's pages themselves), when the connection's thread runs them
     * and the disk says they lie in its file as they are. Smaller ones are copied: a copy of a few
     * KiB costs less than the system calls.
     */
    static final int TRANSFER_MIN = 64 * 1024;
    /** Room kept in the gathered replies for an error chunk in place of a read's (a message of at most ~1,000 bytes). */
    private static final int ERROR_ROOM = 2048;
    /** A zeroed buffer that zeroing writes from; never written. */
    private static final MemorySegment ZEROS = MemorySegment.ofBuffer(ByteBuffer.allocateDirect(BufferPool.MAX));

    private final Connection connection;
    private final Handshake.Session session;
    private final NbdServer.Export export;
    /** Where the export's disk is now: a hold may replace it between requests. */
    private final NbdServer.ServedDisk served;
    private final long size;
    private final ReplyChannel out;
    private final BufferPool buffers;
    private final Semaphore inFlight = new Semaphore(NbdServer.MAX_IN_FLIGHT);
    private final Semaphore bytes = new Semaphore(NbdServer.MAX_BUFFERED);
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    /** How many more reads and writes go to request threads before the connection's thread runs them again. Connection thread only. */
    private int handOff;
    /** The connection's thread's major page faults at the last {@link #waitedForDisk}, or -1 when they cannot be read. Connection thread only. */
    private long majorFaults;

    Transmission(Connection connection, Handshake.Session session) {
        this.connection = connection;
        this.session = session;
        this.export = session.export();
        this.served = connection.server().served(export.name());
        this.size = export.disk().size();
        this.out = connection.replies();
        this.buffers = connection.server().buffers();
        this.majorFaults = majorFaults(); // constructed in the connection's thread
    }

    /** A request read, with a write's data. */
    private record Request(RequestHeader header, List<ByteBuffer> data, int charged) {
        int flags() {
            return header.flags();
        }

        long handle() {
            return header.handle();
        }

        long offset() {
            return header.offset();
        }

        long length() {
            return header.length();
        }
    }

    /** Serves requests until the client disconnects or the server stops; says how it ended. */
    String serve() throws IOException {
        ByteBuffer headerBytes = ByteBuffer.allocate(RequestHeader.SIZE);
        String end = "disconnected";
        try {
            while (true) {
                if (connection.buffered() < RequestHeader.SIZE) {
                    out.flush(); // the next read may wait for the client: what is answered goes first
                }
                headerBytes.clear();
                try {
                    connection.readRequest(headerBytes);
                } catch (IOException e) {
                    if (connection.stopping()) {
                        end = "disconnected: the server is stopping";
                    } else if (headerBytes.position() == 0) {
                        end = "disconnected without NBD_CMD_DISC";
                    } else {
                        throw e;
                    }
                    break;
                }
                RequestHeader header = RequestHeader.decode(headerBytes.flip());
                requests.incrementAndGet();
                if (header.type() == CommandType.DISC) {
                    out.flush();
                    end = "disconnected (NBD_CMD_DISC)";
                    break;
                }
                boolean here = runsHere(header);
                if (here && answered(header)) {
                    connection.requestRead();
                    continue;
                }
                out.flush();
                Request request = read(header);
                connection.requestRead();
                if (request != null && here) {
                    runHere(request);
                } else if (request != null) {
                    dispatch(request);
                }
            }
        } finally {
            inFlight.acquireUninterruptibly(NbdServer.MAX_IN_FLIGHT); // every request has replied
        }
        return end + " after " + requests.get() + " requests" + (errors.get() > 0 ? ", " + errors.get() + " refused or failed" : "");
    }

    /**
     * Whether the connection's thread runs a request itself: a read, a block status query or a
     * write without FUA, unless such requests have been found waiting for the disk lately
     * ({@link #handOff}). Everything else (flushes, FUA writes, zeroing, trimming) goes to a
     * request thread.
     */
    private boolean runsHere(RequestHeader h) {
        boolean quick = h.type() == CommandType.READ || h.type() == CommandType.BLOCK_STATUS
                || h.type() == CommandType.WRITE && (h.flags() & CommandFlags.FUA) == 0;
        if (!quick) {
            return false;
        }
        if (handOff > 0) {
            handOff--;
            return false;
        }
        return true;
    }

    /**
     * Runs a request on the connection's thread; when it took longer than a request from the
     * page cache does, hands the next {@link #HAND_OFF} to request threads. The time its reply
     * spent being written does not count: a client slow to take a large read's data (nbdcopy, 64
     * reads of 256 KiB in flight) is no reason to hand reads to request threads, which only adds
     * the hand-offs and a buffer per read in flight.
     */
    private void runHere(Request r) {
        long start = System.nanoTime();
        long written = out.writeNanos();
        try {
            run(r);
        } finally {
            r.data().forEach(buffers::give);
            discharge(r.charged());
        }
        long size = r.header().type() == CommandType.BLOCK_STATUS ? 0 : r.length();
        if (System.nanoTime() - start - (out.writeNanos() - written) > SLOW_NANOS + size // at least 1 GB/s
                && waitedForDisk()) {
            handOff = HAND_OFF;
        }
    }

    /**
     * Whether the connection's thread waited for the disk since the last call: a request that took
     * long did, when the thread's major page faults (the image is read through a memory mapping)
     * went up meanwhile; otherwise it waited for the CPU (a loaded machine), which request threads
     * would not make faster, only add their hand-offs. True where the count cannot be read.
     */
    private boolean waitedForDisk() {
        long before = majorFaults;
        majorFaults = majorFaults();
        return before < 0 || majorFaults < 0 || majorFaults > before;
    }

    /** The calling thread's major page faults so far (field 12 of /proc/thread-self/stat), or -1 when unknown. */
    private static long majorFaults() {
        try {
            String stat = java.nio.file.Files.readString(THREAD_STAT);
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(fields[12 - 3]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Answers a small read into the gathered replies (see {@link #INLINE_MAX}); false when it is
     * not one, or is to be refused (that reply goes the usual way).
     */
    private boolean answered(RequestHeader h) {
        if (h.type() != CommandType.READ || h.length() == 0 || h.length() > INLINE_MAX || check(h) != 0) {
            return false;
        }
        long start = System.nanoTime();
        long stamp = served.lock().readLock(); // as run(): one disk from start to end, a hold waits
        try {
            if (session.structuredReplies()) {
                gatherStructuredRead(h);
            } else {
                gatherSimpleRead(h);
            }
        } finally {
            served.lock().unlockRead(stamp);
        }
        if (System.nanoTime() - start > SLOW_NANOS && waitedForDisk()) {
            handOff = HAND_OFF;
        }
        return true;
    }

    /** A simple reply to a small read, gathered whole: the header and the data, or the header with the error. */
    private void gatherSimpleRead(RequestHeader h) {
        int length = (int) h.length();
        ByteBuffer b = out.gather(SimpleReply.SIZE + length);
        int start = b.position();
        new SimpleReply(0, h.handle()).encode(b);
        try {
            disk().read(h.offset(), MemorySegment.ofBuffer(b).asSlice(0, length));
            b.position(b.position() + length);
        } catch (IOException | RuntimeException e) {
            b.position(start);
            int error = readFailed(h, h.offset(), h.length(), e);
            new SimpleReply(error, h.handle()).encode(b);
        }
    }

    /**
     * A structured reply to a small read, gathered whole: a chunk per hole and per run of data, or
     * an error chunk alone when the disk fails (nothing of the reply has gone out yet).
     */
    private void gatherStructuredRead(RequestHeader h) {
        ByteBuffer b = null;
        int start = 0;
        long at = h.offset();
        long length = h.length();
        try {
            List<Extent> extents = disk().extents(h.offset(), h.length());
            long room = 0;
            for (Extent e : extents) {
                room += ChunkHeader.SIZE + (e.isData() ? Chunk.OffsetData.HEADER_SIZE + e.length() : Chunk.OffsetHole.SIZE);
            }
            b = out.gather((int) Math.max(room, ERROR_ROOM));
            start = b.position();
            for (int i = 0; i < extents.size(); i++) {
                Extent e = extents.get(i);
                boolean last = i == extents.size() - 1;
                at = e.offset();
                length = e.length();
                if (!e.isData()) {
                    ReplyChannel.encode(b, h.handle(), last, new Chunk.OffsetHole(e.offset(), e.length()));
                    continue;
                }
                ReplyChannel.encode(b, h.handle(), last, new Chunk.OffsetData(e.offset(), e.length()));
                disk().read(e.offset(), MemorySegment.ofBuffer(b).asSlice(0, e.length()));
                b.position(b.position() + (int) e.length());
            }
        } catch (IOException | RuntimeException e) {
            if (b == null) {
                b = out.gather(ERROR_ROOM);
                start = b.position();
            }
            b.position(start);
            int error = readFailed(h, at, length, e);
            String message = e instanceof IOException ? failure(CommandType.READ, at, length, error)
                    : "READ failed on the server: an internal error";
            ReplyChannel.encode(b, h.handle(), true, new Chunk.Error(error, shortened(message)));
        }
    }

    /** Logs a read answered on the connection's thread that failed ({@code at}, {@code length}: the part that did); the error the client gets. */
    private int readFailed(RequestHeader h, long at, long length, Exception e) {
        errors.incrementAndGet();
        if (e instanceof IOException io) {
            int error = ErrorMapping.READ.of(io);
            failed(CommandType.READ, at, length, error, io);
            return error;
        }
        connection.log("export '" + export.name() + "': READ of " + h.length() + " bytes at offset "
                + Long.toUnsignedString(h.offset()) + " failed with an internal error: " + e);
        return ErrorCode.EIO;
    }

    /** Takes in a request: a write's data when it is to be written, or null when it was answered already. */
    private Request read(RequestHeader h) throws IOException {
        if (h.type() != CommandType.WRITE) {
            int charge = h.type() == CommandType.READ ? (int) Math.min(h.length(), BufferPool.MAX) : 0;
            charge(charge);
            return new Request(h, List.of(), charge);
        }
        int refusal = check(h);
        if (refusal != 0) {
            connection.skip(h.length());
            refuse(h.handle(), refusal, describe(h, refusal));
            return null;
        }
        int charge = (int) h.length();
        charge(charge);
        List<ByteBuffer> data = new ArrayList<>();
        try {
            for (long done = 0; done < h.length(); ) {
                ByteBuffer b = buffers.take((int) Math.min(h.length() - done, BufferPool.MAX));
                data.add(b);
                connection.readFully(b);
                b.flip();
                done += b.limit();
            }
        } catch (IOException | RuntimeException e) {
            data.forEach(buffers::give);
            discharge(charge);
            throw e;
        }
        return new Request(h, data, charge);
    }

    /**
     * Holds {@code n} bytes of this connection's and the server's budgets for data in memory,
     * waiting for them: the connection reads no further request meanwhile.
     */
    private void charge(int n) {
        java.util.concurrent.Semaphore budget = connection.server().budget();
        boolean mine = bytes.tryAcquire(n);
        if (mine && budget.tryAcquire(n)) {
            return;
        }
        // Waiting for memory is the server's doing, not a stalled client's.
        boolean began = connection.pauseRequest();
        if (!mine) {
            bytes.acquireUninterruptibly(n);
        }
        budget.acquireUninterruptibly(n);
        if (began) {
            connection.resumeRequest();
        }
    }

    private void discharge(int n) {
        connection.server().budget().release(n);
        bytes.release(n);
    }

    private void dispatch(Request r) {
        inFlight.acquireUninterruptibly();
        try {
            Thread.ofVirtual().name("nbd-request").start(() -> {
                try {
                    run(r);
                } finally {
                    r.data().forEach(buffers::give);
                    discharge(r.charged());
                    inFlight.release();
                }
            });
        } catch (RuntimeException | Error e) {
            r.data().forEach(buffers::give);
            discharge(r.charged());
            inFlight.release();
            throw e;
        }
    }

    /**
     * Runs a request on the export's disk of the moment: it holds the export's lock for reading
     * throughout, so a {@link NbdServer.Hold} that replaces the disk waits for it, and the request
     * sees one disk from start to end.
     */
    private void run(Request r) {
        long stamp = served.lock().readLock();
        try {
            runLocked(r);
        } finally {
            served.lock().unlockRead(stamp);
        }
    }

    /** The export's disk now; stable while a request holds the export's lock. */
    private VirtualDisk disk() {
        return served.disk();
    }

    private void runLocked(Request r) {
        RequestHeader h = r.header();
        try {
            int refusal = check(h);
            if (refusal != 0) {
                refuse(h.handle(), refusal, describe(h, refusal));
                return;
            }
            switch (h.type()) {
                case CommandType.READ -> read(r);
                case CommandType.WRITE -> {
                    long at = h.offset();
                    for (ByteBuffer b : r.data()) {
                        disk().write(at, MemorySegment.ofBuffer(b));
                        at += b.limit();
                    }
                    finish(r, ErrorMapping.WRITE);
                }
                case CommandType.FLUSH -> {
                    if (!export.readOnly()) {
                        disk().flush();
                    }
                    done(r.handle());
                }
                case CommandType.TRIM -> {
                    if (h.length() > 0) {
                        disk().discard(h.offset(), h.length());
                    }
                    finish(r, ErrorMapping.WRITE);
                }
                case CommandType.CACHE -> done(r.handle());
                case CommandType.WRITE_ZEROES -> writeZeroes(r);
                case CommandType.BLOCK_STATUS -> blockStatus(r);
                default -> throw new IllegalStateException("check() let through " + CommandType.name(h.type()));
            }
        } catch (IOException e) {
            ErrorMapping mapping = h.type() == CommandType.READ || h.type() == CommandType.BLOCK_STATUS
                    || h.type() == CommandType.CACHE ? ErrorMapping.READ : ErrorMapping.WRITE;
            int error = mapping.of(e);
            if (out.broken()) {
                return; // the client is gone: the connection's end is logged, not each request's
            }
            failed(h.type(), h.offset(), h.length(), error, e);
            replyError(h, error, failure(h.type(), h.offset(), h.length(), error));
        } catch (RuntimeException e) {
            connection.log("export '" + export.name() + "': " + CommandType.name(h.type()) + " of " + h.length()
                    + " bytes at offset " + Long.toUnsignedString(h.offset()) + " failed with an internal error: " + e);
            replyError(h, ErrorCode.EIO, CommandType.name(h.type()) + " failed on the server: an internal error");
        }
    }

    /**
     * Logs a request the disk failed: the export, the request, its range, the error the client got
     * and the disk's own message (which names the server's file, so it goes only to the log).
     */
    private void failed(int type, long offset, long length, int error, IOException e) {
        connection.log("export '" + export.name() + "': " + CommandType.name(type) + " of " + length
                + " bytes at offset " + Long.toUnsignedString(offset) + " failed (answered " + ErrorCode.name(error) + "): "
                + (e == null ? "unknown error" : e.getMessage()));
    }

    /**
     * What the client is told about a request the disk failed: the request and the error, not the
     * disk's message, which names the file and folder the server keeps the image in.
     */
    private static String failure(int type, long offset, long length, int error) {
        return CommandType.name(type) + " of " + length + " bytes at offset " + Long.toUnsignedString(offset)
                + " failed on the server: " + (error == ErrorCode.ENOSPC ? "no space left on the server's disk"
                : error == ErrorCode.EIO ? "an I/O error" : ErrorCode.name(error));
    }

    /** Replies with an error unless the channel has failed (then the connection is ending anyway). */
    private void replyError(RequestHeader h, int error, String message) {
        try {
            refuse(h.handle(), error, message);
        } catch (IOException e) {
            out.fail();
        }
    }

    /** After a write-like command: a flush when FUA asks for one, then success. */
    private void finish(Request r, ErrorMapping mapping) throws IOException {
        if ((r.flags() & CommandFlags.FUA) != 0) {
            disk().flush();
        }
        done(r.handle());
    }

    /** The error a request gets before it runs, or 0 when it may run. */
    private int check(RequestHeader h) {
        int allowed = switch (h.type()) {
            case CommandType.READ, CommandType.WRITE, CommandType.FLUSH, CommandType.TRIM, CommandType.CACHE -> CommandFlags.FUA;
            case CommandType.WRITE_ZEROES -> CommandFlags.FUA | CommandFlags.NO_HOLE
                    | (export.readOnly() ? 0 : CommandFlags.FAST_ZERO);
            case CommandType.BLOCK_STATUS -> CommandFlags.FUA | CommandFlags.REQ_ONE;
            default -> -1;
        };
        if (allowed == -1 || (h.flags() & ~allowed) != 0) {
            return ErrorCode.EINVAL;
        }
        boolean writes = h.type() == CommandType.WRITE || h.type() == CommandType.TRIM
                || h.type() == CommandType.WRITE_ZEROES;
        if (writes && export.readOnly()) {
            return ErrorCode.EPERM;
        }
        if (h.type() == CommandType.FLUSH) {
            return 0;
        }
        if (h.type() == CommandType.BLOCK_STATUS && (!session.allocationContext() || h.length() == 0)) {
            return ErrorCode.EINVAL;
        }
        if ((h.type() == CommandType.READ || h.type() == CommandType.WRITE) && h.length() > NbdServer.MAX_BLOCK_SIZE) {
            return ErrorCode.EINVAL;
        }
        boolean inside = !h.offsetBeyond(size) && h.length() <= size - h.offset();
        if (!inside) {
            return h.type() == CommandType.WRITE || h.type() == CommandType.WRITE_ZEROES ? ErrorCode.ENOSPC : ErrorCode.EINVAL;
        }
        return 0;
    }

    private String describe(RequestHeader h, int error) {
        String what = CommandType.name(h.type()) + " of " + h.length() + " bytes at " + Long.toUnsignedString(h.offset());
        return what + ": " + switch (error) {
            case ErrorCode.EPERM -> "the export is read-only";
            case ErrorCode.ENOSPC, ErrorCode.EINVAL -> {
                if ((h.type() == CommandType.READ || h.type() == CommandType.WRITE) && h.length() > NbdServer.MAX_BLOCK_SIZE) {
                    yield "longer than the maximum block size, " + NbdServer.MAX_BLOCK_SIZE + " bytes";
                }
                if (h.type() == CommandType.BLOCK_STATUS && !session.allocationContext()) {
                    yield "no metadata context was selected (NBD_OPT_SET_META_CONTEXT base:allocation)";
                }
                if (h.type() > CommandType.BLOCK_STATUS) {
                    yield "an unknown command";
                }
                if (h.length() == 0 && h.type() == CommandType.BLOCK_STATUS) {
                    yield "a length of 0";
                }
                yield error == ErrorCode.EINVAL && !h.offsetBeyond(size) && h.length() <= size - h.offset()
                        ? "flags 0x" + Integer.toHexString(h.flags()) + " are not valid for it"
                        : "beyond the end of the export (" + size + " bytes)";
            }
            default -> ErrorCode.name(error);
        };
    }

    private void refuse(long handle, int error, String message) throws IOException {
        errors.incrementAndGet();
        if (session.structuredReplies()) {
            out.chunk(handle, true, new Chunk.Error(error, shortened(message)), null);
        } else {
            out.simple(handle, error, null);
        }
    }

    private void done(long handle) throws IOException {
        out.simple(handle, 0, null);
    }

    private void read(Request r) throws IOException {
        long offset = r.offset();
        long length = r.length();
        if (!session.structuredReplies()) {
            ByteBuffer buffer = buffers.take((int) Math.min(Math.max(length, 1), BufferPool.MAX));
            // A simple reply carries no message, so the log alone says what failed; it is written
            // before the reply (or the closing of the connection) so that it precedes what the client sees.
            try {
                int error = out.simpleRead(r.handle(), length, buffer, (position, into) -> {
                    try {
                        disk().read(offset + position, MemorySegment.ofBuffer(into));
                    } catch (IOException e) {
                        failed(CommandType.READ, offset, length, ErrorMapping.READ.of(e), e);
                        if (position > 0) {
                            // The success header and data went out: a simple reply cannot take them back.
                            connection.log("closing the connection: a simple reply's data cannot be taken back");
                        }
                        throw e;
                    }
                }, ErrorMapping.READ);
                if (error != 0) {
                    errors.incrementAndGet();
                }
            } finally {
                buffers.give(buffer);
            }
            return;
        }
        if (length == 0) {
            out.chunk(r.handle(), true, new Chunk.None(), null);
            return;
        }
        // The pieces of the reply: holes as they are, data cut to the buffer's size.
        List<Extent> pieces = new ArrayList<>();
        for (Extent e : disk().extents(offset, length)) {
            if (!e.isData()) {
                pieces.add(e);
                continue;
            }
            for (long at = e.offset(); at < e.end(); at += BufferPool.MAX) {
                pieces.add(new Extent(at, Math.min(BufferPool.MAX, e.end() - at), e.layer()));
            }
        }
        ByteBuffer buffer = null;
        boolean transfers = !Thread.currentThread().isVirtual() && out.transfers();
        try {
            for (int i = 0; i < pieces.size(); i++) {
                Extent piece = pieces.get(i);
                boolean last = i == pieces.size() - 1;
                if (!piece.isData()) {
                    out.chunk(r.handle(), last, new Chunk.OffsetHole(piece.offset(), piece.length()), null);
                    continue;
                }
                if (transfers && piece.length() >= TRANSFER_MIN && disk().sendable(piece.offset(), piece.length()) == piece.length()) {
                    transfer(r, piece, last);
                    continue;
                }
                if (buffer == null) {
                    buffer = buffers.take((int) Math.min(length, BufferPool.MAX));
                }
                buffer.clear().limit((int) piece.length());
                try {
                    disk().read(piece.offset(), MemorySegment.ofBuffer(buffer));
                } catch (IOException e) {
                    int error = ErrorMapping.READ.of(e);
                    failed(CommandType.READ, piece.offset(), piece.length(), error, e);
                    refuse(r.handle(), error, failure(CommandType.READ, piece.offset(), piece.length(), error));
                    return;
                }
                out.chunk(r.handle(), last, new Chunk.OffsetData(piece.offset(), piece.length()), buffer.position(0));
            }
        } finally {
            if (buffer != null) {
                buffers.give(buffer);
            }
        }
    }

    /**
     * A read's data piece sent from the image's file (see {@link #TRANSFER_MIN}). A failure after
     * its header went out leaves the client nothing but a closed connection (the reply channel
     * closes it); the log says why.
     */
    private void transfer(Request r, Extent piece, boolean last) throws IOException {
        try {
            out.transferChunk(r.handle(), last, new Chunk.OffsetData(piece.offset(), piece.length()),
                    (position, n, target) -> disk().transferTo(piece.offset() + position, n, target),
                    (position, into) -> disk().read(piece.offset() + position, MemorySegment.ofBuffer(into)));
        } catch (IOException e) {
            errors.incrementAndGet();
            connection.log("export '" + export.name() + "': sending the data of a READ of " + r.length()
                    + " bytes at offset " + Long.toUnsignedString(r.offset()) + " failed after its reply began"
                    + " (the disk or the client); closing the connection: " + e.getMessage());
            throw e;
        }
    }

    private void writeZeroes(Request r) throws IOException {
        boolean noHole = (r.flags() & CommandFlags.NO_HOLE) != 0;
        List<Extent> extents = r.length() == 0 ? List.of() : disk().extents(r.offset(), r.length());
        if ((r.flags() & CommandFlags.FAST_ZERO) != 0) {
            boolean allHoles = extents.stream().noneMatch(Extent::isData);
            if (!allHoles || noHole) {
                refuse(r.handle(), ErrorCode.ENOTSUP, "zeroing this range means writing zeros, no faster than a write");
                return;
            }
            finish(r, ErrorMapping.WRITE);
            return;
        }
        for (Extent e : extents) {
            if (!e.isData() && !noHole) {
                continue; // reads as zeros already
            }
            for (long at = e.offset(); at < e.end(); ) {
                long n = Math.min(e.end() - at, ZEROS.byteSize());
                disk().write(at, ZEROS, 0, n);
                at += n;
            }
        }
        finish(r, ErrorMapping.WRITE);
    }

    private void blockStatus(Request r) throws IOException {
        boolean one = (r.flags() & CommandFlags.REQ_ONE) != 0;
        List<Chunk.Descriptor> descriptors = new ArrayList<>();
        long pendingLength = 0;
        int pendingFlags = 0;
        for (Extent e : disk().extents(r.offset(), r.length())) {
            int flags = e.isData() ? 0 : MetaContext.STATE_HOLE | MetaContext.STATE_ZERO;
            if (pendingLength > 0 && flags == pendingFlags) {
                pendingLength += e.length();
                continue;
            }
            if (pendingLength > 0) {
                descriptors.add(new Chunk.Descriptor(pendingLength, pendingFlags));
                if (one || descriptors.size() == MAX_DESCRIPTORS) {
                    pendingLength = 0;
                    break;
                }
            }
            pendingLength = e.length();
            pendingFlags = flags;
        }
        if (pendingLength > 0) {
            descriptors.add(new Chunk.Descriptor(pendingLength, pendingFlags));
        }
        out.chunk(r.handle(), true, new Chunk.BlockStatus(Handshake.BASE_ALLOCATION_ID, descriptors), null);
    }

    /** A message cut to a length the protocol's strings allow with room to spare. */
    static String shortened(String message) {
        return message.length() <= 1000 ? message : message.substring(0, 1000) + "...";
    }
}
