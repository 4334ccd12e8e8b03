package org.vhdkit.stack.vhostuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.protocol.vhostuser.VhostUser.*;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandle;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.vhdkit.stack.protocol.vhostuser.MessageHeader;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.stack.scsi.ScsiTarget;
import org.vhdkit.vhd.disk.MemoryDisk;

/**
 * Fuzzes the vhost-user backend as a hostile front-end drives it: any sequence of messages, any
 * request code, flags, declared and actual payload sizes, and any file descriptors with them (none,
 * the guest's memory, eventfds, a small memfd, too many, the front-end's own socket), on a real
 * Unix socket to a running {@link VhostUserScsi} with a disk and a read-only disk. Guest memory
 * (the test front-end's memfd) starts with bytes of the input, so rings set up by the messages run
 * over fuzzed descriptors.
 *
 * <p>The input, read by {@link InputBytes}: a 16-bit length and that many bytes for guest memory at
 * address 0, then messages until the input ends (at most 32): request code, a flags byte (bit 0
 * NEED_REPLY, bit 1 a wrong version, bit 2 user addresses as given rather than relative to the
 * front-end's mapping, bit 3 a declared size that is the next 16 bits rather than the payload's,
 * bit 7 the REPLY flag), a file descriptor byte ({@link #descriptors}), a payload length byte and
 * the payload. After the messages every eventfd sent is signalled (kicks), and the front-end shuts
 * its side of the stream down and reads replies until the backend closes the connection.
 *
 * <p>What must hold: the backend ends the connection within 10 s of the front-end's end, takes the
 * next front-end and answers its GET_FEATURES (no hang, no dead listener); nothing escaped as an
 * exception (no thread of the backend ended by one, no "stopped listening", no queue worker
 * "stopped: java.lang..." other than an I/O error); and once the front-end has gone, the
 * backend holds no more eventfds and no guest memory mapping than before (nothing leaks per
 * connection).
 */
class VhostUserMessageFuzzTest {
    private static final List<String> LOG = Collections.synchronizedList(new ArrayList<>());
    /** Exceptions that ended a thread of the backend (a queue's worker) without its catching them. */
    private static final List<String> UNCAUGHT = Collections.synchronizedList(new ArrayList<>());
    private static final VhostUserScsi BACKEND = backend();
    private static int baselineEventfds = -1;

    private static VhostUserScsi backend() {
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> UNCAUGHT.add(t.getName() + ": " + e));
        try {
            Path dir = Files.createTempDirectory("vhdkit-vhost-user-fuzz");
            dir.toFile().deleteOnExit();
            ScsiTarget target = new ScsiTarget("fuzz", 4);
            target.attach(0, ScsiDisk.of(MemoryDisk.create("disk", 1 << 20), ScsiDisk.Settings.of(new UUID(1, 2))));
            target.attach(1, ScsiDisk.of(MemoryDisk.create("ro", 64 * 1024),
                    ScsiDisk.Settings.of(new UUID(1, 3)).withReadOnly(true)));
            Path socket = dir.resolve("vu.sock");
            socket.toFile().deleteOnExit();
            return VhostUserScsi.start(socket, target, new VhostUserScsi.Options(2), LOG::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest
    void messages(byte[] input) throws IOException {
        LOG.clear();
        UNCAUGHT.clear();
        InputBytes in = new InputBytes(input);
        List<Integer> eventfds = new ArrayList<>();
        int smallMemfd = -1;
        try (TestFrontEnd f = TestFrontEnd.connect(BACKEND.socket()); Arena arena = Arena.ofConfined()) {
            byte[] memory = in.take(in.u16() % 8193);
            MemorySegment.copy(memory, 0, f.guest, ValueLayout.JAVA_BYTE, 0, memory.length);
            MemorySegment message = arena.allocate(MessageHeader.LENGTH + 0x10000);
            for (int n = 0; n < 32 && !in.exhausted(); n++) {
                int request = in.u8();
                int flags = in.u8();
                int fdChoice = in.u8();
                int declared = (flags & 8) != 0 ? in.u16() : -1;
                byte[] payload = in.take(in.u8());
                MemorySegment p = message.asSlice(MessageHeader.LENGTH);
                MemorySegment.copy(payload, 0, p, ValueLayout.JAVA_BYTE, 0, payload.length);
                if ((flags & 4) == 0) {
                    relativeAddresses(request, p, payload.length, f.base);
                }
                int headerFlags = ((flags & 2) != 0 ? 2 : VERSION) | ((flags & 1) != 0 ? FLAG_NEED_REPLY : 0)
                        | ((flags & 0x80) != 0 ? FLAG_REPLY : 0);
                new MessageHeader(request, headerFlags, declared >= 0 ? declared : payload.length).encode(message, 0);
                if (smallMemfd < 0 && (fdChoice & 15) == 4) {
                    smallMemfd = LinuxCalls.memfd("fuzz-small", 4096);
                }
                int[] fds = descriptors(fdChoice, f, eventfds, smallMemfd);
                try {
                    LinuxCalls.send(f.socket, message, MessageHeader.LENGTH + payload.length, fds);
                } catch (IOException e) {
                    break; // the backend closed the connection (a stream it cannot follow)
                }
            }
            try (Arena a = Arena.ofConfined()) {
                LinuxCalls.Scratch s = new LinuxCalls.Scratch(a);
                for (int fd : eventfds) {
                    LinuxCalls.signal(fd, s);
                }
            }
            awaitTheEnd(f.socket);
        } finally {
            eventfds.forEach(LinuxCalls::closeQuietly);
            LinuxCalls.closeQuietly(smallMemfd);
        }
        assertGetFeaturesAnswered();
        int eventfdsHeld;
        int probe = LinuxCalls.connect(BACKEND.socket());
        try {
            // Served only once the previous front-ends' connections ended and were cleaned up.
            getFeatures(probe);
            eventfdsHeld = count("anon_inode:[eventfd]");
            assertEquals(0, mappings(), "guest memory mappings left after the front-end went: " + LOG);
        } finally {
            LinuxCalls.closeQuietly(probe);
        }
        if (baselineEventfds < 0) {
            baselineEventfds = eventfdsHeld;
        }
        assertTrue(UNCAUGHT.isEmpty(), () -> "a thread of the backend died: " + UNCAUGHT + "\nlog: " + LOG);
        assertEquals(baselineEventfds, eventfdsHeld, () -> "eventfds held after the front-end went: " + LOG);
        synchronized (LOG) {
            for (String line : LOG) {
                assertTrue(!line.startsWith("stopped listening") && !(line.contains(": stopped: ")
                        && !line.contains(": stopped: java.io.IOException")), () -> "the backend failed: " + line
                        + "\nlog: " + LOG);
            }
        }
    }

    /**
     * Ends the front-end's side of the stream (the backend reads the messages sent, then the end)
     * and reads the backend's replies until it closes the connection, which it does once it has
     * handled every message and reset the device: within 10 s, or the backend hangs.
     */
    private static void awaitTheEnd(int socket) throws IOException {
        try {
            int r = (int) SHUTDOWN.invokeExact(socket, 1); // SHUT_WR
            assertEquals(0, r, "shutdown of the front-end's socket");
        } catch (Throwable e) {
            throw new AssertionError(e);
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        try (Arena a = Arena.ofConfined()) {
            LinuxCalls.Scratch s = new LinuxCalls.Scratch(a);
            MemorySegment buffer = a.allocate(64 * 1024);
            int[] fds = new int[LinuxCalls.MAX_FDS];
            while (true) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                assertTrue(left > 0 && (LinuxCalls.poll(socket, -1, (int) left, s) & 1) != 0,
                        () -> "the backend did not end the connection within 10 s of the front-end's end: " + LOG);
                long got = LinuxCalls.receive(socket, buffer, (int) buffer.byteSize(), fds);
                for (int i = 0; i < (int) (got >>> 32); i++) {
                    LinuxCalls.closeQuietly(fds[i]);
                }
                if ((int) got == 0) {
                    return;
                }
            }
        } catch (IOException e) {
            // reset by the backend: it ended the connection
        }
    }

    /** libc's shutdown(2), which {@link LinuxCalls} has no use for. */
    @SuppressWarnings("restricted")
    private static final MethodHandle SHUTDOWN = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("shutdown").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    /** The file descriptors chosen by {@code choice}'s low 4 bits, to send with a message. */
    private static int[] descriptors(int choice, TestFrontEnd f, List<Integer> eventfds, int smallMemfd)
            throws IOException {
        return switch (choice & 15) {
            case 1 -> new int[] {f.memfd};
            case 2 -> new int[] {eventfd(eventfds)};
            case 3 -> new int[] {f.memfd, f.memfd};
            case 4 -> new int[] {smallMemfd};
            case 5 -> new int[] {eventfd(eventfds), eventfd(eventfds)};
            case 6 -> new int[] {f.memfd, f.memfd, f.memfd, f.memfd, f.memfd, f.memfd, f.memfd, f.memfd, f.memfd};
            case 7 -> new int[] {eventfd(eventfds), f.memfd};
            case 8 -> new int[] {f.socket};
            default -> new int[0];
        };
    }

    private static int eventfd(List<Integer> eventfds) throws IOException {
        int fd = LinuxCalls.eventfd();
        eventfds.add(fd);
        return fd;
    }

    /**
     * Makes the user addresses of SET_MEM_TABLE's regions and SET_VRING_ADDR's rings relative to
     * where the front-end mapped guest memory, so that inputs can name real rings.
     */
    private static void relativeAddresses(int request, MemorySegment payload, int length, long base) {
        if (request == SET_MEM_TABLE) {
            for (long at = 8 + 16; at + 8 <= length; at += 32) {
                payload.set(TestFrontEnd.U64, at, payload.get(TestFrontEnd.U64, at) + base);
            }
        } else if (request == SET_VRING_ADDR) {
            for (long at = 8; at + 8 <= length && at < 32; at += 8) {
                payload.set(TestFrontEnd.U64, at, payload.get(TestFrontEnd.U64, at) + base);
            }
        }
    }

    private static void assertGetFeaturesAnswered() throws IOException {
        int fd = LinuxCalls.connect(BACKEND.socket());
        try {
            getFeatures(fd);
        } finally {
            LinuxCalls.closeQuietly(fd);
        }
    }

    /** Sends GET_FEATURES on {@code fd} and checks the answer comes within 10 s. */
    private static void getFeatures(int fd) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(MessageHeader.LENGTH + 8);
            new MessageHeader(GET_FEATURES, VERSION, 0).encode(m, 0);
            LinuxCalls.send(fd, m, MessageHeader.LENGTH, new int[0]);
            int ready = LinuxCalls.poll(fd, -1, 10_000, new LinuxCalls.Scratch(a));
            assertTrue((ready & 1) != 0, () -> "the backend did not answer GET_FEATURES within 10 s: " + LOG);
            assertEquals(MessageHeader.LENGTH + 8, LinuxCalls.readFully(fd, m, MessageHeader.LENGTH + 8),
                    () -> "the backend closed the next front-end's connection: " + LOG);
            assertEquals(FrontEnd.FEATURES, m.get(TestFrontEnd.U64, MessageHeader.LENGTH));
        }
    }

    private static int count(String link) throws IOException {
        int n = 0;
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : (Iterable<Path>) fds::iterator) {
                try {
                    if (Files.readSymbolicLink(p).toString().equals(link)) {
                        n++;
                    }
                } catch (IOException e) {
                    // closed while listed (the directory's own descriptor)
                }
            }
        }
        return n;
    }

    /** Mappings of the test front-end's guest memory in this process other than the front-end's own. */
    private static long mappings() throws IOException {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.filter(l -> l.contains("memfd:test-guest") || l.contains("memfd:fuzz-small")).count();
        }
    }
}
