package org.vhdkit.stack.vmbus;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.foreign.MemorySegment;
import org.vhdkit.stack.memory.GuestMemory;

/**
 * Fuzzes the VMBus ring reader, the parent's side of what a guest writes: the ring's bytes, its read
 * and write indices, pending send size and feature bits are the guest's to choose. The reader hands
 * out packets or refuses with a {@link RingException} that gives a reason; it stops after at most as
 * many packets as the ring can hold, and nothing else escapes.
 */
class RingReaderFuzzTest {
    private static final int PAGE = GuestMemory.PAGE_SIZE;
    private static final GuestMemory MEMORY = memory();
    private static final Ring RING = ring();
    private static final VmbusPacket PACKET = new VmbusPacket();

    private static GuestMemory memory() {
        return GuestMemory.allocate("ring-fuzz", 64L * PAGE);
    }

    private static Ring ring() {
        try {
            return Gpadl.create(1, MEMORY, new long[] {40, 41, 7, 42, 13}).ring(0, 5);
        } catch (VmbusException e) {
            throw new IllegalStateException(e);
        }
    }

    @FuzzTest
    void read(FuzzedDataProvider data) throws Exception {
        int start = data.consumeInt();
        int write = data.consumeInt();
        int pending = data.consumeInt();
        int features = data.consumeInt();
        byte[] contents = data.consumeRemainingAsBytes();
        byte[] ring = new byte[RING.size()];
        System.arraycopy(contents, 0, ring, 0, Math.min(contents.length, ring.length));
        RING.write(0, MemorySegment.ofArray(ring), 0, ring.length);
        int aligned = Math.floorMod(start, RING.size() / 8) * 8;
        RING.publishWriteIndex(write);
        RING.publishReadIndex(aligned);
        RING.setPendingSendSize(pending);
        RING.setFeatureBits(features);
        RingReader reader = new RingReader(RING, new Signal(), aligned);
        for (int reads = 0;; reads++) {
            assertTrue(reads <= RING.size() / 16, "the reader must run out of packets");
            try {
                if (!reader.read(PACKET)) {
                    return;
                }
            } catch (RingException e) {
                assertNotNull(e.reason(), "a refusal gives its reason");
                assertNotNull(e.getMessage());
                return;
            }
        }
    }
}
