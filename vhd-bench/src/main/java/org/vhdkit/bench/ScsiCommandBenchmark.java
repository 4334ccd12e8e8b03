package org.vhdkit.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.vhdkit.stack.scsi.ScsiCommand;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.vhd.disk.MemoryDisk;

/**
 * A SCSI disk's command path: the CDB decoded and run. TEST UNIT READY is decode and dispatch alone;
 * READ(16) of 8 blocks adds the range checks and a 4 KiB copy from a disk in memory.
 */
@State(Scope.Thread)
@Fork(jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ScsiCommandBenchmark {
    private static final byte[] TEST_UNIT_READY = new byte[6];
    private static final byte[] READ_16 = {(byte) 0x88, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 8, 0, 0};

    private MemoryDisk disk;
    private ScsiDisk unit;
    private Arena arena;
    private MemorySegment buffer;

    @Setup
    public void setUp() {
        disk = MemoryDisk.create("bench", 64L << 20);
        unit = ScsiDisk.of(disk, ScsiDisk.Settings.of(UUID.fromString("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ff")));
        arena = Arena.ofShared();
        buffer = arena.allocate(4096, 4096);
    }

    @TearDown
    public void tearDown() throws Exception {
        arena.close();
        disk.close();
    }

    @Benchmark
    public ScsiCommand testUnitReady() {
        ScsiCommand command = new ScsiCommand().cdb(TEST_UNIT_READY).noData();
        unit.execute(command);
        return command;
    }

    @Benchmark
    public ScsiCommand read16FourKiB() {
        ScsiCommand command = new ScsiCommand().cdb(READ_16).data(buffer, ScsiCommand.Direction.IN);
        unit.execute(command);
        return command;
    }
}
