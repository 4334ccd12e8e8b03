package org.vhdkit.stack.vhostuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.LongAdder;
import org.vhdkit.stack.protocol.vhostuser.MemoryTable;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.stack.scsi.ScsiTarget;
import org.vhdkit.vhd.disk.MemoryDisk;

/**
 * Fuzzes what a guest's driver leaves in a split virtqueue: descriptor tables (loops, chains out of
 * the table, addresses outside guest memory or across its two regions, indirect tables, lengths up
 * to 4 GiB, readable after writable) and the requests in the buffers they name, served by the
 * request queue (virtio-scsi commands on a disk and a read-only disk) or the control queue.
 *
 * <p>The input, read by {@link InputBytes} (missing bytes read as 0): a ring size byte (1 to 256
 * entries), a mode byte (bit 0 indirect descriptors negotiated, bit 1 the control queue, bit 2 the
 * second region right after the first in guest physical memory, bit 3 event index), the ring's
 * descriptors, a count and the descriptors of an indirect table at {@link #INDIRECT}, a count and
 * the available heads, then bytes for the request area (at {@link #REQUESTS} of both regions).
 * Each descriptor is 8 bytes: address kind and offset (see {@link #address}), length, flags, next.
 *
 * <p>What must hold for every head: {@link SplitRing#take} returns a chain or a reason, never
 * throws; a chain's ranges all lie inside a region, and add up to its lengths; serving it returns
 * -1 or at most its writable length, and changes no guest byte outside its writable ranges.
 */
class DescriptorChainFuzzTest {
    static final long REGION = 64 * 1024;
    /** Guest physical address of region 1 when not right after region 0. */
    static final long GAP_REGION = 0x40000;
    /** The front-end's user addresses of the regions (never dereferenced, only translated). */
    static final long USER = 0x7f00_0000_0000L;
    static final long AVAILABLE = 0x1000;
    static final long USED = 0x2000;
    static final long INDIRECT = 0x8000;
    static final long REQUESTS = 0xA000;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The disks behind the target, made once: a memory disk's shared arena is slow to close. */
    private static final MemoryDisk DISK = MemoryDisk.create("disk", 256 * 1024);
    private static final MemoryDisk READ_ONLY = MemoryDisk.create("ro", 64 * 1024);

    @FuzzTest
    void take(byte[] input) throws IOException {
        InputBytes in = new InputBytes(input);
        int size = 1 << (in.u8() % 9);
        int mode = in.u8();
        boolean indirect = (mode & 1) != 0;
        boolean control = (mode & 2) != 0;
        long[] guest = {0, (mode & 4) != 0 ? REGION : GAP_REGION};
        int memfd = LinuxCalls.memfd("fuzz-guest", 2 * REGION);
        try (Arena arena = Arena.ofConfined();
             GuestRegions memory = GuestRegions.map(new MemoryTable(List.of(
                     new MemoryTable.Region(guest[0], REGION, USER, 0),
                     new MemoryTable.Region(guest[1], REGION, USER + REGION, REGION))), new int[] {memfd, memfd})) {
            MemorySegment window = memory.window();
            long[] start = {memory.offsetIn(0, guest[0]), memory.offsetIn(1, guest[1])};
            for (int i = 0; i < size; i++) {
                descriptor(in, window, start[0] + 16L * i, guest);
            }
            int indirectCount = in.u8() % 65;
            for (int i = 0; i < indirectCount; i++) {
                descriptor(in, window, start[0] + INDIRECT + 16L * i, guest);
            }
            int[] heads = new int[in.u8() % 17];
            for (int i = 0; i < heads.length; i++) {
                heads[i] = in.u8();
            }
            byte[] requests = in.rest((int) (INDIRECT - 0x2000));
            for (long s : start) {
                MemorySegment.copy(requests, 0, window, ValueLayout.JAVA_BYTE, s + REQUESTS, requests.length);
            }
            SplitRing ring = SplitRing.at(memory, size, USER, USER + AVAILABLE, USER + USED, indirect,
                    (mode & 8) != 0, null, -1);
            ScsiTarget target = new ScsiTarget("fuzz", 4);
            target.attach(0, ScsiDisk.of(DISK, ScsiDisk.Settings.of(new UUID(1, 2))));
            target.attach(1, ScsiDisk.of(READ_ONLY, ScsiDisk.Settings.of(new UUID(1, 3)).withReadOnly(true)));
            List<String> log = new ArrayList<>();
            Virtqueue.Service service = control ? new ControlQueue(target, log::add)
                    : new RequestQueue(target, new LongAdder());
            service.started(arena);
            Virtqueue.Scratch scratch = new Virtqueue.Scratch(new LinuxCalls.Scratch(arena), arena);
            DescriptorChain chain = new DescriptorChain();
            int used = 0;
            for (int head : heads) {
                String refused = ring.take(head, chain);
                String where = "head " + head + " of a ring of " + size;
                if (refused != null) {
                    assertFalse(refused.isBlank(), where);
                    continue;
                }
                inside(chain, false, start, where);
                inside(chain, true, start, where);
                byte[][] before = regions(window, start);
                int n = service.serve(chain, scratch);
                assertTrue(n == -1 || n >= 0 && n <= chain.writableLength, where + ": served " + n + " bytes into "
                        + chain.writableLength);
                byte[][] after = regions(window, start);
                for (int r = 0; r < 2; r++) {
                    for (int i = 0; i < REGION; i++) {
                        if (before[r][i] != after[r][i] && !writable(chain, start[r] + i)) {
                            fail(where + ": wrote byte " + i + " of region " + r + ", outside the chain's writable part");
                        }
                    }
                }
                ring.putUsed(used, head, Math.max(n, 0));
                used = (used + 1) & 0xFFFF;
                ring.publishUsed(used);
                ring.interruptWanted(used - 1, used);
                ring.notifications(true, used);
            }
        } finally {
            LinuxCalls.closeQuietly(memfd);
        }
    }

    /**
     * Reads one descriptor from the input and writes it at {@code at}: the address kind (bits 0-1 of
     * the first byte: region 0 + offset, region 1 + offset, region 1 - offset (across the boundary
     * or in the gap), or offset << 32, far outside) with a 16-bit offset, a 16-bit length (times
     * 65536 when bit 2 is set), the flags byte (NEXT, WRITE, INDIRECT) and a 16-bit next index.
     */
    private static void descriptor(InputBytes in, MemorySegment window, long at, long[] guest) {
        int kind = in.u8();
        long offset = in.u16();
        long length = in.u16();
        if ((kind & 4) != 0) {
            length <<= 16;
        }
        long address = switch (kind & 3) {
            case 0 -> guest[0] + offset;
            case 1 -> guest[1] + offset;
            case 2 -> guest[1] - offset;
            default -> offset << 32;
        };
        window.set(U64, at, address);
        window.set(U32, at + 8, (int) length);
        window.set(U16, at + 12, (short) (in.u8() & 7));
        window.set(U16, at + 14, (short) in.u16());
    }

    private static void inside(DescriptorChain chain, boolean deviceWritable, long[] start, String where) {
        int count = deviceWritable ? chain.writableCount : chain.readableCount;
        long total = 0;
        for (int i = 0; i < count; i++) {
            long offset = chain.rangeOffset(deviceWritable, i);
            long length = chain.rangeLength(deviceWritable, i);
            assertTrue(length > 0, where);
            boolean in = false;
            for (long s : start) {
                in |= offset >= s && offset + length <= s + REGION;
            }
            assertTrue(in, () -> where + ": range at window offset " + offset + " (" + length
                    + " bytes) is outside the regions");
            total += length;
        }
        assertEquals(deviceWritable ? chain.writableLength : chain.readableLength, total, where);
    }

    private static boolean writable(DescriptorChain chain, long offset) {
        for (int i = 0; i < chain.writableCount; i++) {
            long o = chain.rangeOffset(true, i);
            if (offset >= o && offset < o + chain.rangeLength(true, i)) {
                return true;
            }
        }
        return false;
    }

    private static byte[][] regions(MemorySegment window, long[] start) {
        byte[][] copy = new byte[2][];
        for (int r = 0; r < 2; r++) {
            copy[r] = window.asSlice(start[r], REGION).toArray(ValueLayout.JAVA_BYTE);
        }
        return copy;
    }
}
