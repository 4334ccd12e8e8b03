package org.vhdkit.stack.storvsp;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.MAX_PACKET_LENGTH;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.QUERY_PROPERTIES;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.foreign.MemorySegment;
import org.vhdkit.stack.vmbus.ChannelClosedException;
import org.vhdkit.stack.vmbus.GpaRangeList;

/**
 * Fuzzes the storage protocol handler (the VSP) with the packets a guest can send on a fresh
 * channel: up to eight packets, each in-band or with a GPA range (its address and size fuzzed,
 * within guest memory or across its end), its payload fuzzed (storage packet header, SRB, CDB).
 * Then one more request whose answer proves the VSP handled everything before it. The VSP answers,
 * or closes the channel for a fault of the guest's; a closure for a fault of the parent's, no
 * answer at all, or an exception is a finding.
 */
class StorageProtocolFuzzTest {
    private static final RawGuest GUEST = guest();

    private static RawGuest guest() {
        try {
            return new RawGuest("storvsp-fuzz", 1L << 20);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @FuzzTest
    void packets(FuzzedDataProvider data) throws Exception {
        RawGuest g = GUEST;
        g.channel.close(); // also after the parent closed it: the guest still owes its close
        g.open();
        try {
            for (int n = 0; n < 8 && data.remainingBytes() > 0; n++) {
                boolean gpa = data.consumeBoolean();
                long address = data.consumeBoolean() ? RawGuest.DATA + data.consumeInt(0, 64 * 1024)
                        : data.consumeLong(0, g.memory.size() + 16 * 1024);
                int bytes = data.consumeInt(1, 300 * 1024);
                byte[] payload = data.consumeBytes(data.consumeInt(0, MAX_PACKET_LENGTH));
                g.out.fill((byte) 0);
                MemorySegment.copy(MemorySegment.ofArray(payload), 0, g.out, 0, payload.length);
                int length = Math.max(payload.length, data.consumeInt(0, MAX_PACKET_LENGTH));
                if (gpa) {
                    GpaRangeList ranges;
                    try {
                        ranges = new GpaRangeList().addBuffer(address, bytes);
                    } catch (IllegalArgumentException e) {
                        ranges = new GpaRangeList().addBuffer(RawGuest.DATA, 512); // more than a guest's list can say
                    }
                    g.sendGpa(ranges, length);
                } else {
                    g.sendInBand(length);
                }
            }
            g.call(QUERY_PROPERTIES, 0);
        } catch (ChannelClosedException e) {
            String why = g.awaitClosed();
            assertTrue(g.channel.closure().reason().guestFault(), "closed for a fault of the parent's: " + why);
        }
    }
}
