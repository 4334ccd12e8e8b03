package org.vhdkit.stack.scsi;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.vhdkit.stack.scsi.ScsiCommand.Direction;

/**
 * Fuzzes SCSI commands against a target with a disk (LUN 0), a read-only disk with UNMAP (LUN 1) and
 * a DVD drive with a disc (LUN 2): a sequence of commands, each a CDB of 1 to 16 bytes, a LUN, a
 * direction and a buffer of up to four ranges with fuzzed contents. Every command completes with
 * GOOD (no sense) or CHECK CONDITION (with sense), transfers no more than its buffer, writes nothing
 * outside its buffer, and touches nothing outside the disks; no exception escapes.
 */
class ScsiCdbFuzzTest {
    private static final int DISK_SIZE = 64 * 1024;
    private static final int GUARD = 4096;
    private static final int WINDOW = 64 * 1024;

    @FuzzTest
    void execute(FuzzedDataProvider data) {
        try (TestDisk disk = new TestDisk(DISK_SIZE); TestDisk readOnlyDisk = new TestDisk(DISK_SIZE, true);
             TestDisk disc = new TestDisk(8 * 2048, true); Arena arena = Arena.ofConfined()) {
            UUID id = new UUID(1, 2);
            ScsiTarget target = new ScsiTarget("fuzz", 4);
            target.attach(0, ScsiDisk.of(disk, ScsiDisk.Settings.of(id)));
            target.attach(1, ScsiDisk.of(readOnlyDisk, ScsiDisk.Settings.of(id).withUnmap(true).withMaxTransferBytes(8192)));
            List<Object> ejected = new ArrayList<>();
            CdRom dvd = new CdRom("dvd", ejected::add);
            dvd.insert(disc);
            target.attach(2, dvd);
            MemorySegment memory = arena.allocate(GUARD + WINDOW + GUARD);
            memory.fill((byte) 0xA5);
            MemorySegment guard = arena.allocate(GUARD);
            guard.fill((byte) 0xA5);
            for (int n = 0; n < 16 && data.remainingBytes() > 0; n++) {
                ScsiCommand c = new ScsiCommand(8);
                byte[] cdb = data.consumeBytes(data.consumeInt(1, ScsiCommand.MAX_CDB_LENGTH));
                if (cdb.length == 0) {
                    return;
                }
                int lun = data.consumeInt(-1, 4);
                c.scatter(memory, data.pickValue(Direction.values()));
                int ranges = data.consumeInt(0, 4);
                for (int r = 0; r < ranges; r++) {
                    int size = data.consumeInt(0, WINDOW);
                    c.addRange(GUARD + data.consumeInt(0, WINDOW - size), size);
                }
                byte[] contents = data.consumeBytes(data.consumeInt(0, 4096));
                MemorySegment.copy(MemorySegment.ofArray(contents), 0, memory, GUARD, contents.length);
                c.cdb(cdb);
                target.execute(lun, c);
                String where = c.toString();
                assertTrue(c.isComplete(), where);
                switch (c.status()) {
                    case GOOD -> assertTrue(c.sense().isEmpty(), where);
                    case CHECK_CONDITION -> assertTrue(c.sense().isPresent(), where);
                    default -> fail(where + ": status " + c.status());
                }
                assertTrue(c.transferred() >= 0 && c.transferred() <= c.dataLength(), where);
                if (memory.asSlice(0, GUARD).mismatch(guard) != -1
                        || memory.asSlice(GUARD + WINDOW, GUARD).mismatch(guard) != -1) {
                    fail(where + " wrote outside its buffer");
                }
                assertTrue(disk.outside.isEmpty(), () -> where + " " + disk.outside);
                assertTrue(readOnlyDisk.outside.isEmpty(), () -> where + " " + readOnlyDisk.outside);
            }
        }
    }
}
