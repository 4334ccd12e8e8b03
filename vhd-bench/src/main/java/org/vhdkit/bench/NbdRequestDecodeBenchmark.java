package org.vhdkit.bench;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.vhdkit.export.nbd.protocol.NbdProtocolException;
import org.vhdkit.export.nbd.protocol.RequestHeader;

/** What {@code vhd serve} does with every request's 28 header bytes: decode them (a 4 KiB NBD_CMD_READ). */
@State(Scope.Thread)
@Fork(jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class NbdRequestDecodeBenchmark {
    private final ByteBuffer wire = ByteBuffer.allocateDirect(RequestHeader.SIZE);

    @Setup
    public void setUp() {
        new RequestHeader(0, 0, 0x1234_5678_9abcL, 123L << 12, 4096).encode(wire);
        wire.flip();
    }

    @Benchmark
    public RequestHeader decodeARead() throws NbdProtocolException {
        wire.rewind();
        return RequestHeader.decode(wire);
    }
}
