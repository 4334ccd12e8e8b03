package org.vhdkit.stack.vmbus;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.protocol.vmbus.PacketType;

/**
 * The storage stack's VMBus ring: one in-band packet written into a 64 KiB ring in guest memory
 * (scattered pages, as a guest hands them over) and read back, on one thread: the packet's
 * descriptor, payload copy, index updates and signal checks on both ends. Payloads of 64 bytes (a
 * storvsp SRB is about that) and 4 KiB.
 */
@State(Scope.Thread)
@Fork(jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RingBenchmark {
    private static final int PAGE = GuestMemory.PAGE_SIZE;

    @Param({"64", "4096"})
    public int payload;

    private GuestMemory memory;
    private RingWriter writer;
    private RingReader reader;
    private final VmbusPacket packet = new VmbusPacket();
    private MemorySegment bytes;
    private long txid;

    @Setup
    public void setUp() throws Exception {
        memory = GuestMemory.allocate("jmh-ring", 64L * PAGE);
        long[] pages = new long[17];
        pages[0] = 40;
        for (int i = 1; i < pages.length; i++) {
            pages[i] = i % 2 == 0 ? i : 20 + i; // scattered data pages
        }
        Ring ring = Gpadl.create(1, memory, pages).ring(0, pages.length);
        writer = new RingWriter(ring, new Signal(), 0);
        reader = new RingReader(ring, new Signal(), 0);
        bytes = MemorySegment.ofArray(new byte[payload]);
    }

    @TearDown
    public void tearDown() {
        memory.close();
    }

    @Benchmark
    public VmbusPacket writeThenRead() throws RingException {
        if (!writer.tryWrite(PacketType.IN_BAND, VmbusPacket.FLAG_COMPLETION_REQUESTED, ++txid, null, 0, bytes, 0,
                payload)) {
            throw new IllegalStateException("ring full");
        }
        if (!reader.read(packet)) {
            throw new IllegalStateException("ring empty");
        }
        return packet;
    }
}
