package org.vhdkit.stack.scsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.vhdkit.stack.scsi.ScsiCommand.Direction;

/**
 * Hostile CDBs: thousands of random commands (seeded, so a failure replays) against a small disk,
 * biased toward the known opcodes and the edge values of their LBA and length fields, with random
 * CDB lengths, directions and scattered buffers, now and then a host failure, a resize or a unit
 * attention. Whatever comes in: no exception, a GOOD or a CHECK CONDITION with one of the
 * documented senses, never a byte outside the disk, never a byte outside the buffer's ranges.
 */
class ScsiDiskFuzzTest {
    private static final long SEED = 0x5C5150L;
    private static final int ROUNDS = 30_000;
    private static final int DISK_SIZE = 64 * 1024; // 128 blocks
    private static final int GUARD = 16 * 1024;
    private static final int WINDOW = 64 * 1024;

    private static final int[] OPCODES = {
        0x00, 0x03, 0x08, 0x0A, 0x12, 0x1A, 0x1B, 0x25, 0x28, 0x2A, 0x2F, 0x35, 0x41, 0x42, 0x5A,
        0x88, 0x8A, 0x8F, 0x91, 0x93, 0x9E, 0xA0, 0xA8, 0xAA, 0xAF,
    };

    private static final Set<Sense> DOCUMENTED = Set.of(Sense.INVALID_COMMAND_OPERATION_CODE, Sense.LBA_OUT_OF_RANGE,
            Sense.INVALID_FIELD_IN_CDB, Sense.LOGICAL_UNIT_NOT_SUPPORTED, Sense.INVALID_FIELD_IN_PARAMETER_LIST,
            Sense.PARAMETER_LIST_LENGTH_ERROR, Sense.SAVING_PARAMETERS_NOT_SUPPORTED, Sense.WRITE_PROTECTED,
            Sense.UNRECOVERED_READ_ERROR, Sense.WRITE_ERROR, Sense.CAPACITY_DATA_CHANGED,
            Sense.REPORTED_LUNS_DATA_CHANGED, Sense.POWER_ON_RESET);

    private static final long[] LBAS = {0, 1, 63, 126, 127, 128, 129, 255, 0x1F_FFFF, 0xFFFF, 0xFFFF_FFFFL,
        0x1_0000_0000L, Long.MAX_VALUE, Long.MIN_VALUE, -1L, -128L};
    private static final long[] COUNTS = {0, 1, 2, 8, 127, 128, 129, 255, 256, 512, 513, 0xFFFF, 0xFFFF_FFFFL};

    @Test
    void randomCommandsNeverEscape() {
        Random random = new Random(SEED);
        UUID id = new UUID(random.nextLong(), random.nextLong());
        try (TestDisk disk = new TestDisk(DISK_SIZE); TestDisk readOnlyDisk = new TestDisk(DISK_SIZE, true);
             Arena arena = Arena.ofConfined()) {
            ScsiDisk plain = ScsiDisk.of(disk, ScsiDisk.Settings.of(id));
            ScsiDisk unmap = ScsiDisk.of(disk, ScsiDisk.Settings.of(id).withUnmap(true).withMaxTransferBytes(8192));
            ScsiDisk readOnly = ScsiDisk.of(readOnlyDisk, ScsiDisk.Settings.of(id).withUnmap(true));
            ScsiDisk[] units = {plain, unmap, readOnly};
            ScsiTarget target = new ScsiTarget("fuzz", 4);
            target.attach(0, plain);
            target.attach(2, readOnly);

            MemorySegment memory = arena.allocate(GUARD + WINDOW + GUARD);
            MemorySegment reference = arena.allocate(GUARD);
            reference.fill((byte) 0xA5);
            memory.asSlice(0, GUARD).fill((byte) 0xA5);
            memory.asSlice(GUARD + WINDOW, GUARD).fill((byte) 0xA5);
            ScsiCommand c = new ScsiCommand(8);
            byte[] cdb = new byte[32];

            for (int round = 0; round < ROUNDS; round++) {
                weather(random, disk, units);
                if (random.nextInt(8) == 0) {
                    // Fill the window with random bytes, so writes and parameter lists carry garbage.
                    byte[] junk = new byte[WINDOW];
                    random.nextBytes(junk);
                    MemorySegment.copy(MemorySegment.ofArray(junk), 0, memory, GUARD, WINDOW);
                }
                int length = randomCdb(random, cdb);
                int op = cdb[0] & 0xFF;
                if (random.nextBoolean()) {
                    // Cooperative: a buffer of the right direction and about the right size, so that
                    // the command gets past the buffer checks to the disk.
                    cooperativeBuffer(random, c, memory, cdb, op);
                } else {
                    c.scatter(memory, Direction.values()[random.nextInt(3)]);
                    int ranges = random.nextInt(5);
                    for (int r = 0; r < ranges; r++) {
                        int size = random.nextInt(4) == 0 ? random.nextInt(20_000) : 512 * random.nextInt(9);
                        c.addRange(GUARD + random.nextInt(WINDOW - size + 1), size);
                    }
                }
                c.cdb(MemorySegment.ofArray(cdb), 0, length);
                int via = random.nextInt(4);
                try {
                    if (via == 3) {
                        target.execute(random.nextInt(8) - 2, c);
                    } else {
                        units[via].execute(c);
                    }
                } catch (RuntimeException | AssertionError e) {
                    throw new AssertionError("round " + round + ": " + c + " threw", e);
                }
                String where = "round " + round + ": " + c;
                assertTrue(c.isComplete(), where);
                switch (c.status()) {
                    case GOOD -> assertTrue(c.sense().isEmpty(), where);
                    case CHECK_CONDITION -> {
                        Sense sense = c.sense().orElseThrow();
                        assertTrue(DOCUMENTED.contains(sense), where);
                        if (via != 3) {
                            assertEquals(sense, units[via].pendingSense(), where);
                        }
                    }
                    default -> fail(where);
                }
                assertTrue(c.transferred() >= 0 && c.transferred() <= c.dataLength(), where);
                if (memory.asSlice(0, GUARD).mismatch(reference) != -1
                        || memory.asSlice(GUARD + WINDOW, GUARD).mismatch(reference) != -1) {
                    fail(where + " wrote outside its buffer");
                }
                assertTrue(disk.outside.isEmpty(), () -> where + " " + disk.outside);
                assertTrue(readOnlyDisk.outside.isEmpty(), () -> where + " " + readOnlyDisk.outside);
            }
            assertEquals(0, readOnlyDisk.writes.get());
        }
    }

    private static final Set<Integer> DATA_OUT = Set.of(0x0A, 0x2A, 0xAA, 0x8A, 0x41, 0x93, 0x42);

    /**
     * A data buffer in 1 to 3 ranges that fits the CDB's transfer (or, for the commands with small
     * answers, a few blocks); for UNMAP, a parameter list of random descriptors that the CDB names.
     */
    private static void cooperativeBuffer(Random random, ScsiCommand c, MemorySegment memory, byte[] cdb, int op) {
        Direction direction = DATA_OUT.contains(op) ? Direction.OUT : Direction.IN;
        c.scatter(memory, direction);
        if (op == 0x42) {
            long[] descriptors = new long[2 * random.nextInt(6)];
            for (int i = 0; i < descriptors.length; i += 2) {
                descriptors[i] = random.nextInt(8) == 0 ? LBAS[random.nextInt(LBAS.length)] : random.nextInt(120);
                descriptors[i + 1] = random.nextInt(8) == 0 ? COUNTS[random.nextInt(COUNTS.length)] : random.nextInt(9);
            }
            byte[] list = Scsi.unmapList(descriptors);
            MemorySegment.copy(MemorySegment.ofArray(list), 0, memory, GUARD, list.length);
            Scsi.put(cdb, 7, 2, list.length);
            c.addRange(GUARD, list.length);
            return;
        }
        long want = switch (op) {
            case 0x08, 0x0A -> 512L * (cdb[4] == 0 ? 256 : cdb[4] & 0xFF);
            case 0x28, 0x2A -> 512L * Cdb.u16(cdb, 7);
            case 0xA8, 0xAA -> 512L * Cdb.u32(cdb, 6);
            case 0x88, 0x8A -> 512L * Cdb.u32(cdb, 10);
            default -> 512L * (1 + random.nextInt(8));
        };
        int total = (int) Math.min(want, WINDOW);
        int pieces = 1 + random.nextInt(3);
        int from = 0;
        for (int p = 0; p < pieces; p++) {
            int size = p == pieces - 1 ? total - from : random.nextInt(total - from + 1);
            c.addRange(GUARD + random.nextInt(WINDOW - size + 1), size);
            from += size;
        }
    }

    /** Now and then: a host failure switched on or off, a resize, a unit attention. */
    private static void weather(Random random, TestDisk disk, ScsiDisk[] units) {
        if (random.nextInt(20) == 0) { // failures are rare and short
            disk.failReads = false;
            disk.failWrites = false;
            disk.failFlush = false;
            disk.failDiscard = false;
        }
        switch (random.nextInt(400)) {
            case 0 -> disk.failReads = true;
            case 1 -> disk.failWrites = true;
            case 2 -> disk.failFlush = true;
            case 3 -> disk.failDiscard = true;
            case 4, 5 -> disk.resize(512L * (64 + random.nextInt(65)));
            case 6, 7 -> units[random.nextInt(units.length)].postUnitAttention(
                    random.nextBoolean() ? Sense.POWER_ON_RESET : Sense.REPORTED_LUNS_DATA_CHANGED);
            default -> {
            }
        }
    }

    /** Fills {@code cdb} with a random CDB and returns the length to claim for it. */
    private static int randomCdb(Random random, byte[] cdb) {
        random.nextBytes(cdb);
        int op = random.nextInt(10) < 8 ? OPCODES[random.nextInt(OPCODES.length)] : random.nextInt(256);
        cdb[0] = (byte) op;
        int group = Cdb.groupLength(op);
        if (random.nextInt(3) > 0) {
            cdb[1] = (byte) (random.nextInt(4) == 0 ? cdb[1] : random.nextBoolean() ? 0 : 0x08);
            if (op == 0x9E) {
                cdb[1] = 0x10;
            }
            if (op == 0x5A || op == 0x1A) {
                cdb[2] = (byte) (random.nextInt(4) << 6 | (random.nextBoolean() ? 0x08 : 0x3F));
                cdb[3] = 0;
            }
            long lba = random.nextBoolean() ? random.nextInt(130)
                    : LBAS[random.nextInt(LBAS.length)] + (random.nextBoolean() ? 0 : random.nextInt(3) - 1);
            long count = random.nextBoolean() ? random.nextInt(17) : COUNTS[random.nextInt(COUNTS.length)];
            switch (group) {
                case 6 -> {
                    cdb[1] = (byte) (lba >>> 16 & 0x1F);
                    cdb[2] = (byte) (lba >>> 8);
                    cdb[3] = (byte) lba;
                    cdb[4] = (byte) count;
                }
                case 10 -> {
                    Scsi.put(cdb, 2, 4, lba);
                    Scsi.put(cdb, 7, 2, count);
                }
                case 12 -> {
                    Scsi.put(cdb, 2, 4, lba);
                    Scsi.put(cdb, 6, 4, count);
                }
                case 16 -> {
                    Scsi.put(cdb, 2, 8, lba);
                    Scsi.put(cdb, 10, 4, count);
                }
                default -> {
                }
            }
            if (group > 0) {
                if (random.nextInt(8) > 0) {
                    cdb[group - 1] = 0; // CONTROL
                }
            }
        }
        int roll = random.nextInt(10);
        if (roll < 7 && group > 0) {
            return group;
        }
        return roll < 9 ? random.nextInt(21) : random.nextInt(256);
    }
}
