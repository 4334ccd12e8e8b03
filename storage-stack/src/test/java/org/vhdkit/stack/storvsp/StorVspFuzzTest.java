package org.vhdkit.stack.storvsp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.*;

import java.lang.management.ManagementFactory;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.vhdkit.stack.vmbus.ChannelClosedException;
import org.vhdkit.stack.vmbus.GpaRangeList;

/** Seeded hostile traffic against the VSP, and the allocation-free steady state. */
class StorVspFuzzTest {
    @Test
    void randomRequestsNeverHurtTheParent() throws Exception {
        Random random = new Random(20240501);
        int closures = 0;
        try (RawGuest g = new RawGuest("fuzz", 1L << 20)) {
            for (int round = 0; round < 3000; round++) {
                if (!g.channel.isOpen()) {
                    String why = g.channel.closure().toString();
                    assertTrue(g.channel.closure().reason().guestFault(), "closed for a parent fault: " + why);
                    closures++;
                    g.channel.close();
                    g.open();
                }
                if (random.nextInt(4) == 0 && !g.vsp.isReady()) {
                    try {
                        for (int op : new int[] {BEGIN_INITIALIZATION, QUERY_PROTOCOL_VERSION, QUERY_PROPERTIES,
                                END_INITIALIZATION}) {
                            g.call(op, VERSIONS[random.nextInt(VERSIONS.length)]); // whatever state the fuzzing left
                        }
                    } catch (ChannelClosedException e) {
                        continue;
                    }
                }
                try {
                    sendRandom(g, random);
                    drain(g);
                } catch (ChannelClosedException e) {
                    // a refused packet: checked at the top of the next round
                }
            }
            if (g.channel.isOpen()) {
                g.channel.close();
            }
            g.open();
            g.initialize(VERSION_WIN8);
            g.memory.write(RawGuest.DATA, new byte[] {42});
            assertEquals(SRB_STATUS_SUCCESS, g.execute(VERSION_WIN8, 0, RawGuest.write16(3, 1), DATA_OUT, 512)
                    .srbStatus(), "the VSP still works after the fuzzing");
        }
        assertTrue(closures > 0, "the fuzzing found no malformed packet at all");
    }

    private static void sendRandom(RawGuest g, Random random) throws Exception {
        int version = VERSIONS[random.nextInt(VERSIONS.length)];
        int lba = random.nextInt(3000);
        byte[] cdb = random.nextBoolean() ? RawGuest.read16(lba, random.nextInt(600))
                : random.nextBoolean() ? RawGuest.write16(lba, random.nextInt(600)) : randomBytes(random, 16);
        int transfer = random.nextInt(5) == 0 ? random.nextInt() : random.nextInt(300 * 1024);
        int length = g.srb(version, random.nextInt(10) == 0 ? 1 : 0, random.nextInt(10) == 0 ? 1 : 0,
                random.nextInt(70), cdb, random.nextInt(4), transfer);
        if (random.nextInt(8) == 0) {
            g.out.set(RawGuest.INT, 0, random.nextInt(16));
        }
        if (random.nextInt(8) == 0) {
            g.out.set(ValueLayout.JAVA_BYTE, HEADER_LENGTH + random.nextInt(SRB_LENGTH_V2), (byte) random.nextInt());
        }
        int sent = random.nextInt(10) == 0 ? random.nextInt(MAX_PACKET_LENGTH + 1) : length;
        if (random.nextBoolean() && transfer > 0) {
            int bytes = random.nextInt(4) == 0 ? 1 + random.nextInt(300 * 1024) : Math.min(Math.abs(transfer), 256 * 1024);
            long gpa = random.nextInt(10) == 0 ? g.memory.size() - random.nextInt(8192)
                    : RawGuest.DATA + random.nextInt(4096);
            if (bytes <= 0 || gpa + bytes > g.memory.size() + 16384) {
                bytes = 512;
            }
            g.sendGpa(new GpaRangeList().addBuffer(gpa, bytes), sent);
        } else {
            g.sendInBand(sent);
        }
    }

    private static byte[] randomBytes(Random random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static void drain(RawGuest g) throws Exception {
        g.channel.receive(g.packet, 200, TimeUnit.MILLISECONDS);
        while (g.channel.tryReceive(g.packet)) {
            // answers of earlier packets
        }
    }

    @Test
    void theSteadyStateAllocatesNothingOnTheConsumer() throws Exception {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        // the consumer polls before it parks, as in a VM: a parked thread's wait node is the vmbus layer's
        try (RawGuest g = new RawGuest("quiet", 1L << 20, org.vhdkit.stack.vmbus.VmbusServer.DEFAULT_POLL)) {
            g.initialize(VERSION_WIN8);
            GpaRangeList ranges = new GpaRangeList().addBuffer(RawGuest.DATA, 4096);
            for (int i = 0; i < 20_000; i++) {
                readOnce(g, ranges, i);
            }
            Thread consumer = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().startsWith("vmbus-quiet-channel")).findFirst().orElse(null);
            assertNotNull(consumer, "the channel's consumer thread");
            long before = threads.getThreadAllocatedBytes(consumer.threadId());
            for (int i = 0; i < 20_000; i++) {
                readOnce(g, ranges, i);
            }
            long allocated = threads.getThreadAllocatedBytes(consumer.threadId()) - before;
            // nothing per request; what little there is comes from parking now and then
            assertTrue(allocated < 4 * 20_000, "the consumer allocated " + allocated + " bytes for 20,000 reads");
        }
    }

    private static void readOnce(RawGuest g, GpaRangeList ranges, int i) throws Exception {
        int length = g.srb(VERSION_WIN8, 0, 0, 0, RawGuest.read16(i % 2000, 8), DATA_IN, 4096);
        g.channel.sendGpaDirect(i + 1_000_000L, true, ranges, g.out, 0, length);
        g.channel.receive(g.packet);
    }
}
