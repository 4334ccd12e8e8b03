package org.vhdkit.export.nbd;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.StampedLock;
import java.util.function.Consumer;
import org.vhdkit.export.nbd.protocol.WireString;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * An NBD server: disks ({@link VirtualDisk}s of any kind: fixed, dynamic or differencing VHD, raw)
 * exported by name to any number of clients at once, over a Unix domain socket or TCP, as the
 * upstream protocol document ({@code doc/proto.md} of NetworkBlockDevice/nbd) describes.
 *
 * <h2>Protocol</h2>
 * The fixed newstyle handshake (with or without {@code NBD_FLAG_C_NO_ZEROES}); the options
 * {@code NBD_OPT_GO}, {@code INFO}, {@code LIST}, {@code ABORT}, {@code EXPORT_NAME} (for old
 * clients), {@code STRUCTURED_REPLY}, {@code SET_META_CONTEXT} and {@code LIST_META_CONTEXT}
 * ({@code base:allocation} only), and {@code NBD_OPT_STARTTLS} when the server has
 * {@link TlsCredentials}; every other option is answered {@code NBD_REP_ERR_UNSUP}. {@code NBD_OPT_GO} and {@code INFO} answer
 * {@code NBD_INFO_EXPORT}, {@code NAME}, {@code DESCRIPTION} and {@code BLOCK_SIZE}: minimum 1
 * (any alignment), preferred 4096, maximum {@value #MAX_BLOCK_SIZE} bytes. The empty export name
 * is the first export. The commands: {@code READ} (with structured replies: data as
 * {@code OFFSET_DATA} chunks, ranges no layer holds as {@code OFFSET_HOLE}), {@code WRITE},
 * {@code FLUSH}, {@code TRIM}, {@code WRITE_ZEROES}, {@code CACHE}, {@code BLOCK_STATUS} and
 * {@code DISC}, with {@code NBD_CMD_FLAG_FUA} on any of them.
 *
 * <h2>TLS</h2>
 * With {@link Tls} credentials (a pre-shared key file or X.509 certificates), a client upgrades with
 * {@code NBD_OPT_STARTTLS} (answered {@code NBD_REP_ACK}, then the TLS handshake; a failed handshake
 * drops the client) and negotiates its options again under TLS: structured replies and metadata
 * contexts chosen before are forgotten. When TLS is {@linkplain Tls#required() required} (the
 * protocol's FORCEDTLS mode) every option but {@code STARTTLS} and {@code ABORT} is answered
 * {@code NBD_REP_ERR_TLS_REQD} until then, and {@code NBD_OPT_EXPORT_NAME} drops the client; when it
 * is only allowed, plaintext clients are served too. A second {@code STARTTLS} is
 * {@code NBD_REP_ERR_INVALID}; without credentials {@code STARTTLS} is {@code NBD_REP_ERR_UNSUP}.
 *
 * <h2>Limits against stalled and greedy clients</h2>
 * See {@link Limits}: a client must finish its handshake within a time limit; a client that begins a
 * request and stops sending, or stops reading replies, is dropped after the stall limit (an idle
 * client between requests is not); at most so many clients at once (the next are closed at once);
 * and the request and reply data of all clients together is bounded as well as each one's, so
 * memory stays bounded whatever the clients do.
 *
 * <h2>What the commands do to the disk</h2>
 * <ul>
 *   <li>{@code WRITE} is {@link VirtualDisk#write}: it allocates exactly as the library does (a
 *       dynamic or differencing disk allocates the blocks it touches). With FUA it is followed by
 *       {@link VirtualDisk#flush}.
 *   <li>{@code FLUSH} is {@link VirtualDisk#flush}: it replies once every write acknowledged
 *       before it (on any connection) is durable.
 *   <li>{@code TRIM} is {@link VirtualDisk#discard}, a hint. Today no disk of the library releases
 *       anything on discard: a fixed, dynamic or differencing VHD and a raw file keep the trimmed
 *       range's contents (the protocol allows it; after a trim the client may assume nothing).
 *   <li>{@code WRITE_ZEROES} leaves the range reading as zeros. Parts of it that no layer holds
 *       ({@code base:allocation} reports them as holes: unallocated blocks or clear sectors of a
 *       dynamic disk, and of a differencing disk where no parent holds them either) already read
 *       as zeros and are left alone, unless {@code NO_HOLE} asks for the range to be allocated;
 *       everything else (and, with {@code NO_HOLE}, the holes too) is written with zeros, which in
 *       a dynamic or differencing disk allocates its blocks. So zeroing a range a differencing
 *       disk's parent holds allocates it in the child, which then hides the parent's data.
 *       {@code FAST_ZERO} succeeds at once when the whole range is such a hole, and is refused
 *       with {@code ENOTSUP} otherwise (zeros would have to be written, no faster than a write).
 *   <li>{@code CACHE} checks the range and does nothing else: the disk's file is in the page cache
 *       or mapped.
 *   <li>{@code BLOCK_STATUS} ({@code base:allocation}) reports {@link VirtualDisk#extents}: a range
 *       some layer holds as data (flags 0), a range no layer holds as {@code HOLE|ZERO}.
 * </ul>
 *
 * <h2>Replacing an export's disk</h2>
 * {@link #hold} stops an export's requests from reaching its disk: those running finish first
 * (each request holds the export's lock from its start to its reply), later ones wait. While held,
 * {@link Hold#replace} puts another disk of the same size in its place; when the hold is released
 * every connection goes on with the new disk, without noticing: no reconnection, no new handshake,
 * the same size and flags. A VM's host uses it to move a running guest's drive onto a new
 * differencing disk (a snapshot) with the guest paused. {@link #replace} is a hold, a replace and a
 * release in one. The server never closes a disk, the replaced one included.
 *
 * <h2>Several clients</h2>
 * Every connection to an export uses the one {@link VirtualDisk} the export was made with: a write
 * is seen by every later read on any connection, and a flush makes every acknowledged write
 * durable, whichever connection made it. That is what {@code NBD_FLAG_CAN_MULTI_CONN} promises, so
 * it is advertised, and several clients may write to one export at once (as {@code nbdcopy} does
 * when it sees the flag); there is no one-writer rule to enforce. Requests on one connection run
 * concurrently (up to {@value #MAX_IN_FLIGHT} at once, and at most {@value #MAX_BUFFERED} bytes of
 * data in memory per connection), each reply sent whole, as {@link VirtualDisk} allows: any number
 * of concurrent reads, writes, flushes and extents.
 *
 * <h2>Refusals</h2>
 * A bad magic, unknown client flags, a malformed option a reply cannot answer, or an unknown export
 * asked for with {@code NBD_OPT_EXPORT_NAME} drop that client; other bad options are answered with
 * the protocol's errors. Requests: unknown commands or flags {@code EINVAL}; reads, trims, caches
 * and block status beyond the end {@code EINVAL}, writes and zeroing beyond it {@code ENOSPC};
 * reads and writes longer than the maximum block size {@code EINVAL} (a write's data is read and
 * dropped, in small pieces); writes, trims and zeroing of a read-only export {@code EPERM}. No
 * buffer is ever sized by a client before the size is checked. Other clients go on in every case.
 *
 * <h2>Disk errors</h2>
 * A request the disk fails is answered {@code EIO}, or {@code ENOSPC} when a write found the image's
 * file system full, and the connection goes on. With structured replies the error carries a message
 * naming the request and the error, never the file (a client has no business knowing where the
 * server keeps its images); the log line names the export, the request, its offset and the file's
 * own error. A read with simple replies that fails after its success header and data went out
 * cannot be answered any more: that connection is closed.
 *
 * <p>Thread-safety: every method may be called from any thread. Connections run in their own
 * (virtual) threads; the set of connections is guarded by {@link #connections}.
 */
public final class NbdServer implements Closeable {
    /** The largest read or write the server takes, as {@code NBD_INFO_BLOCK_SIZE} advertises it. */
    public static final int MAX_BLOCK_SIZE = 32 << 20;
    /** The alignment at which requests are efficient, as advertised. */
    public static final int PREFERRED_BLOCK_SIZE = 4096;
    /** How many requests of one connection run at once; the next waits to be read. */
    static final int MAX_IN_FLIGHT = 64;
    /** The send buffer asked for on a Unix socket (Linux caps it at net.core.wmem_max). */
    static final int UNIX_SEND_BUFFER = 1 << 20;
    /** How many bytes of request and reply data one connection holds at most. */
    static final int MAX_BUFFERED = 64 << 20;
    /** How long {@link #close} waits for clients' requests in flight. */
    private static final long DRAIN_SECONDS = 30;

    /**
     * TLS for the server's connections.
     *
     * @param credentials what the server proves itself with
     * @param required    whether a client must start TLS before anything else (FORCEDTLS); when false,
     *                    plaintext clients are served too
     */
    public record Tls(TlsCredentials credentials, boolean required) {
        public Tls {
            Objects.requireNonNull(credentials, "credentials");
        }
    }

    /**
     * How long and how much a client may take.
     *
     * @param handshake  how long a client has from connecting to choosing an export (TLS handshake included)
     * @param stall      how long a client that began a request may go without sending more of it, and
     *                   how long one may go without taking any of a reply
     * @param clients    how many clients at once; the next are closed as they connect
     * @param buffered   how many bytes of request and reply data all clients together hold at most
     *                   (each client at most {@value #MAX_BUFFERED})
     */
    record Limits(Duration handshake, Duration stall, int clients, int buffered) {
        static final Limits DEFAULT = new Limits(Duration.ofSeconds(10), Duration.ofSeconds(30), 256, 512 << 20);

        Limits {
            if (buffered < MAX_BUFFERED || clients < 1) {
                throw new IllegalArgumentException("limits " + buffered + " bytes, " + clients + " clients");
            }
        }
    }

    /**
     * A disk offered under a name.
     *
     * @param name        what clients ask for (a UTF-8 string of at most 4096 bytes)
     * @param disk        the disk; the server never closes it
     * @param readOnly    whether writes are refused; always true when the disk is read-only
     * @param description what {@code NBD_INFO_DESCRIPTION} and {@code NBD_OPT_LIST} say about it
     */
    public record Export(String name, VirtualDisk disk, boolean readOnly, String description) {
        public Export {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(disk, "disk");
            Objects.requireNonNull(description, "description");
            WireString.bytes(name);
            WireString.bytes(description);
            readOnly = readOnly || disk.isReadOnly();
        }
    }

    private final ServerSocketChannel listener;
    private final SocketAddress address;
    private final List<ServedDisk> exports;
    private final Map<String, ServedDisk> byName;
    private final Consumer<String> log;
    private final Tls tls;
    private final Limits limits;
    private final Semaphore budget;
    private final BufferPool buffers = new BufferPool();
    private final CountDownLatch terminated = new CountDownLatch(1);
    /** Connections not yet ended; guarded by itself. */
    private final Set<Connection> connections = new HashSet<>();
    /** Guarded by {@link #connections}. */
    private boolean closing;
    private int nextClient = 1;
    private final Thread acceptor;
    private final Thread watchdog;

    private NbdServer(ServerSocketChannel listener, List<Export> exports, Tls tls, Limits limits, Consumer<String> log)
            throws IOException {
        this.listener = listener;
        this.tls = tls;
        this.limits = limits;
        this.budget = new Semaphore(limits.buffered());
        this.address = listener.getLocalAddress();
        this.log = log;
        Map<String, ServedDisk> names = new LinkedHashMap<>();
        for (Export e : exports) {
            if (names.putIfAbsent(e.name(), new ServedDisk(e)) != null) {
                throw new IllegalArgumentException("two exports are named '" + e.name() + "'");
            }
        }
        this.byName = names;
        this.exports = List.copyOf(names.values());
        this.acceptor = Thread.ofVirtual().name("nbd-accept").unstarted(this::acceptLoop);
        this.watchdog = Thread.ofVirtual().name("nbd-watchdog").unstarted(this::watch);
    }

    /**
     * Listens on {@code address} (a {@link UnixDomainSocketAddress}, whose file must not exist, or
     * an {@link InetSocketAddress}; port 0 picks a free port, see {@link #address()}) and serves
     * {@code exports} until {@link #close()}.
     *
     * @param log where the connection log goes, one line per event; called from connection threads
     * @throws IOException when the address cannot be bound
     */
    public static NbdServer start(SocketAddress address, List<Export> exports, Consumer<String> log) throws IOException {
        return start(address, exports, null, Limits.DEFAULT, log);
    }

    /**
     * As {@link #start(SocketAddress, List, Consumer)}, with TLS ({@code tls}; null for none).
     * Thread-safe.
     */
    public static NbdServer start(SocketAddress address, List<Export> exports, Tls tls, Consumer<String> log)
            throws IOException {
        return start(address, exports, tls, Limits.DEFAULT, log);
    }

    static NbdServer start(SocketAddress address, List<Export> exports, Tls tls, Limits limits, Consumer<String> log)
            throws IOException {
        Objects.requireNonNull(log, "log");
        Objects.requireNonNull(limits, "limits");
        if (exports.isEmpty()) {
            throw new IllegalArgumentException("no exports");
        }
        ServerSocketChannel listener = address instanceof UnixDomainSocketAddress
                ? ServerSocketChannel.open(StandardProtocolFamily.UNIX)
                : ServerSocketChannel.open();
        try {
            if (!(address instanceof UnixDomainSocketAddress)) {
                listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            }
            listener.bind(address, 64);
            NbdServer server = new NbdServer(listener, exports, tls, limits, log);
            server.acceptor.start();
            server.watchdog.start();
            return server;
        } catch (IOException | RuntimeException e) {
            listener.close();
            throw e;
        }
    }

    /** Where the server listens: the socket file, or the address and the port actually bound. Thread-safe. */
    public SocketAddress address() {
        return address;
    }

    /** The exports, in the order given, each with its disk now. Thread-safe. */
    public List<Export> exports() {
        return exports.stream().map(ServedDisk::export).toList();
    }

    /**
     * Holds the export {@code name}: waits up to {@code timeout} for its requests under way to finish,
     * then keeps later ones waiting until the hold is closed. See the class comment. Thread-safe;
     * a thread holding one export must not send requests to it (they would wait for the hold).
     *
     * @throws IllegalArgumentException when there is no such export
     * @throws IOException              when its requests do not finish in time (nothing is held then)
     */
    public Hold hold(String name, Duration timeout) throws IOException {
        ServedDisk s = byName.get(Objects.requireNonNull(name, "name"));
        if (s == null) {
            throw new IllegalArgumentException("no export is named '" + name + "'");
        }
        long stamp;
        try {
            stamp = s.lock.tryWriteLock(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the requests to export '" + name + "'", e);
        }
        if (stamp == 0) {
            throw new IOException("export '" + name + "': requests still running after " + timeout.toMillis()
                    + " ms; not held");
        }
        return new Hold(s, stamp);
    }

    /**
     * Puts {@code disk} in place of the disk of export {@code name} between two of its requests (a
     * {@link #hold}, {@link Hold#replace}, release); returns the disk replaced, which stays open for
     * its owner to close. Thread-safe.
     *
     * @throws IllegalArgumentException when there is no such export or {@code disk} does not fit it
     * @throws IOException              when its requests do not finish within {@code timeout}
     */
    public VirtualDisk replace(String name, VirtualDisk disk, Duration timeout) throws IOException {
        try (Hold h = hold(name, timeout)) {
            VirtualDisk old = h.disk();
            h.replace(disk);
            return old;
        }
    }

    /**
     * An export held by {@link #hold}: no request runs on its disk until {@link #close}. Used by one
     * thread.
     */
    public static final class Hold implements AutoCloseable {
        private final ServedDisk served;
        private final long stamp;
        private boolean released;

        private Hold(ServedDisk served, long stamp) {
            this.served = served;
            this.stamp = stamp;
        }

        /** The disk the export serves now. */
        public VirtualDisk disk() {
            return served.disk();
        }

        /**
         * Serves {@code disk} in place of the current one from the release on. The caller flushes the
         * old disk first if it must, and closes it after the release when it is done with it.
         *
         * @throws IllegalArgumentException when {@code disk} has another size, or is read-only under a
         *                                  writable export
         * @throws IllegalStateException    when the hold was released
         */
        public void replace(VirtualDisk disk) {
            Objects.requireNonNull(disk, "disk");
            if (released) {
                throw new IllegalStateException("the hold of export '" + served.export().name() + "' was released");
            }
            Export now = served.export();
            if (disk.size() != now.disk().size()) {
                throw new IllegalArgumentException("export '" + now.name() + "' has " + now.disk().size()
                        + " bytes; a disk of " + disk.size() + " bytes cannot take its place");
            }
            if (disk.isReadOnly() && !now.readOnly()) {
                throw new IllegalArgumentException("export '" + now.name() + "' is writable; the read-only disk "
                        + disk.name() + " cannot take its place");
            }
            served.export = new Export(now.name(), disk, now.readOnly(), now.description());
        }

        /** Lets the export's requests go on, on its disk now. Idempotent. */
        @Override
        public void close() {
            if (!released) {
                released = true;
                served.lock.unlockWrite(stamp);
            }
        }
    }

    /** An export and its lock: requests hold it for reading, a {@link Hold} for writing. */
    static final class ServedDisk {
        private final StampedLock lock = new StampedLock();
        private volatile Export export;

        ServedDisk(Export export) {
            this.export = export;
        }

        Export export() {
            return export;
        }

        VirtualDisk disk() {
            return export.disk();
        }

        StampedLock lock() {
            return lock;
        }
    }

    /** The served state of export {@code name}, which exists. */
    ServedDisk served(String name) {
        return byName.get(name);
    }

    /** Waits until {@link #close()} has finished. Thread-safe. */
    public void awaitTermination() throws InterruptedException {
        terminated.await();
    }

    /**
     * Stops: no new connections; each client's requests in flight are finished (for at most 30
     * seconds) and its connection closed; then every writable export's disk is flushed. The disks
     * stay open: their owner closes them. Idempotent; thread-safe.
     */
    @Override
    public void close() throws IOException {
        List<Connection> open;
        synchronized (connections) {
            if (closing) {
                open = null;
            } else {
                closing = true;
                open = new ArrayList<>(connections);
            }
        }
        if (open == null) {
            awaitQuietly();
            return;
        }
        IOException failure = null;
        try {
            listener.close();
            acceptor.join(TimeUnit.SECONDS.toMillis(5));
            watchdog.interrupt();
            open.forEach(Connection::stop);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(DRAIN_SECONDS);
            for (Connection c : open) {
                if (!c.await(deadline - System.nanoTime())) {
                    log.accept("client " + c.id() + ": requests still running after " + DRAIN_SECONDS
                            + " s; closed its connection");
                    c.abort();
                }
            }
            Map<VirtualDisk, Export> disks = new IdentityHashMap<>();
            exports().forEach(e -> disks.putIfAbsent(e.disk(), e));
            for (Export e : disks.values()) {
                if (!e.readOnly()) {
                    try {
                        e.disk().flush();
                    } catch (IOException ex) {
                        log.accept("export '" + e.name() + "': flush failed: " + ex.getMessage());
                        failure = failure == null ? ex : failure;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure = new IOException("interrupted while stopping the NBD server", e);
        } finally {
            if (address instanceof UnixDomainSocketAddress unix) {
                Files.deleteIfExists(unix.getPath());
            }
            terminated.countDown();
        }
        if (failure != null) {
            throw failure;
        }
    }

    private void awaitQuietly() {
        try {
            terminated.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The export a client names; the empty name is the first export. */
    Optional<Export> export(String name) {
        ServedDisk s = name.isEmpty() ? exports.getFirst() : byName.get(name);
        return s == null ? Optional.empty() : Optional.of(s.export());
    }

    BufferPool buffers() {
        return buffers;
    }

    /** TLS, or null. */
    Tls tls() {
        return tls;
    }

    Limits limits() {
        return limits;
    }

    /** The bytes of request and reply data all connections together may still take. */
    Semaphore budget() {
        return budget;
    }

    /** How many clients are connected. Thread-safe. */
    int clients() {
        synchronized (connections) {
            return connections.size();
        }
    }

    /** Drops stalled clients (see {@link Connection#overdue}), looking a few times per stall limit. */
    private void watch() {
        long period = Math.max(10, Math.min(limits.stall().toMillis(), limits.handshake().toMillis()) / 4);
        while (true) {
            try {
                Thread.sleep(period);
            } catch (InterruptedException e) {
                return;
            }
            List<Connection> open;
            synchronized (connections) {
                if (closing) {
                    return;
                }
                open = new ArrayList<>(connections);
            }
            long now = System.nanoTime();
            for (Connection c : open) {
                String why = c.overdue(now);
                if (why != null) {
                    c.abort(why);
                }
            }
            buffers.trim();
        }
    }

    void log(String line) {
        log.accept(line);
    }

    /** Called by a connection as it ends. */
    void ended(Connection c) {
        synchronized (connections) {
            connections.remove(c);
        }
    }

    private void acceptLoop() {
        while (true) {
            SocketChannel channel;
            try {
                channel = listener.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                log.accept("accept failed: " + e.getMessage());
                if (!listener.isOpen()) {
                    return;
                }
                continue;
            }
            Connection c;
            synchronized (connections) {
                if (closing) {
                    closeQuietly(channel);
                    return;
                }
                if (connections.size() >= limits.clients()) {
                    int id = nextClient++;
                    log.accept("client " + id + ": refused: " + limits.clients() + " clients are connected already");
                    closeQuietly(channel);
                    continue;
                }
                c = new Connection(this, nextClient++, channel);
                connections.add(c);
            }
            try {
                if (!(address instanceof UnixDomainSocketAddress)) {
                    channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                } else {
                    // A Unix socket's default send buffer (208 KiB) is less than one 256 KiB read
                    // reply (nbdcopy's size): each such reply waited for the client to take some
                    // first. TCP keeps the kernel's auto-tuning, which setting a size turns off.
                    channel.setOption(StandardSocketOptions.SO_SNDBUF, UNIX_SEND_BUFFER);
                }
                c.start();
            } catch (IOException | RuntimeException | OutOfMemoryError e) {
                // OutOfMemoryError: the system would not give the connection its (platform) thread.
                log.accept("client " + c.id() + ": cannot start: " + e.getMessage());
                c.replies().release();
                ended(c);
                closeQuietly(channel);
            }
        }
    }

    static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // Closing what is already failing.
        }
    }
}
