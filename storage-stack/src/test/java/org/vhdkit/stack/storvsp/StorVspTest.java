package org.vhdkit.stack.storvsp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.*;

import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vhdkit.stack.scsi.LogicalUnit;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.stack.vmbus.ChannelClosedReason;
import org.vhdkit.stack.vmbus.GpaRangeList;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.stack.protocol.vmbus.PacketType;

/** The storage protocol as the VSP speaks it, driven packet by packet by a hand-made guest. */
class StorVspTest {
    static final long DISK = 1L << 20;
    RawGuest g;

    @BeforeEach
    void setUp() throws Exception {
        g = new RawGuest("vm", DISK);
    }

    @AfterEach
    void tearDown() {
        g.close();
    }

    @Test
    void initializationNegotiatesTheHighestVersionBothSupport() throws Exception {
        assertEquals(STATUS_SUCCESS, g.call(BEGIN_INITIALIZATION, 0).status());
        RawGuest.Answer tooNew = g.call(QUERY_PROTOCOL_VERSION, 0x0700);
        assertEquals(STATUS_REVISION_MISMATCH, tooNew.status());
        assertEquals(COMPLETE_IO, tooNew.operation());
        RawGuest.Answer agreed = g.call(QUERY_PROTOCOL_VERSION, VERSION_THRESHOLD);
        assertEquals(STATUS_SUCCESS, agreed.status());
        assertEquals(VERSION_THRESHOLD, agreed.version());
        RawGuest.Answer properties = g.call(QUERY_PROPERTIES, 0);
        assertEquals(STATUS_SUCCESS, properties.status());
        assertEquals(256 * 1024, properties.maxTransfer());
        assertFalse(g.vsp.isReady());
        assertEquals(STATUS_SUCCESS, g.call(END_INITIALIZATION, 0).status());
        assertTrue(g.vsp.isReady());
        assertEquals(new StorVsp.State(true, VERSION_THRESHOLD), g.vsp.state());
    }

    @Test
    void everyVersionOfTheNotesIsAcceptedAndNothingElse() throws Exception {
        for (int v = 0; v <= 0x0700; v++) {
            assertEquals(v == 0x0200 || v == 0x0402 || v == 0x0501 || v == 0x0600 || v == 0x0602, isSupported(v),
                    Integer.toHexString(v));
        }
    }

    @Test
    void initializationOutOfOrderIsRefusedAndNotActedOn() throws Exception {
        byte[] read = RawGuest.read16(0, 1);
        RawGuest.Answer early = g.execute(VERSION_WIN8, 0, read, DATA_IN, 512);
        assertEquals(STATUS_INVALID_DEVICE_STATE, early.status());
        assertEquals(STATUS_INVALID_DEVICE_STATE, g.call(QUERY_PROTOCOL_VERSION, VERSION_WIN8).status());
        assertEquals(STATUS_INVALID_DEVICE_STATE, g.call(QUERY_PROPERTIES, 0).status());
        assertEquals(STATUS_INVALID_DEVICE_STATE, g.call(END_INITIALIZATION, 0).status());
        assertEquals(STATUS_INVALID_DEVICE_STATE, g.call(RESET_BUS, 0).status());
        assertEquals(STATUS_SUCCESS, g.call(BEGIN_INITIALIZATION, 0).status());
        assertEquals(STATUS_INVALID_DEVICE_STATE, g.call(BEGIN_INITIALIZATION, 0).status(), "begin twice");
        assertEquals(STATUS_INVALID_DEVICE_STATE, g.call(QUERY_PROPERTIES, 0).status(), "properties before version");
        assertEquals(STATUS_INVALID_DEVICE_STATE, g.call(END_INITIALIZATION, 0).status(), "end before properties");
        assertEquals(STATUS_SUCCESS, g.call(QUERY_PROTOCOL_VERSION, VERSION_WIN8).status());
        assertEquals(STATUS_INVALID_DEVICE_STATE, g.call(QUERY_PROTOCOL_VERSION, VERSION_WIN8).status(), "version twice");
        assertEquals(STATUS_INVALID_DEVICE_STATE, g.call(END_INITIALIZATION, 0).status(), "end before properties");
        assertEquals(STATUS_SUCCESS, g.call(QUERY_PROPERTIES, 0).status());
        assertEquals(STATUS_INVALID_PARAMETER, g.call(CREATE_SUB_CHANNELS, 0).status(), "no sub-channels offered");
        assertFalse(g.vsp.isReady());
        assertEquals(STATUS_SUCCESS, g.call(END_INITIALIZATION, 0).status());
        assertEquals(STATUS_INVALID_DEVICE_STATE, g.call(BEGIN_INITIALIZATION, 0).status(), "begin after end");
        assertEquals(STATUS_INVALID_DEVICE_STATE, g.call(QUERY_PROPERTIES, 0).status(), "properties after end");
        assertEquals(0, g.vsp.requestsExecuted(), "nothing refused was executed");
        assertEquals(STATUS_SUCCESS, g.execute(VERSION_WIN8, 0, read, DATA_IN, 512).status());
        assertEquals(1, g.vsp.requestsExecuted());
        assertTrue(g.channel.isOpen());
    }

    @Test
    void unknownOperationsAreRefusedAndTheChannelGoesOn() throws Exception {
        g.initialize(VERSION_WIN8);
        for (int op : new int[] {0, COMPLETE_IO, REMOVE_DEVICE, ENUMERATE_BUS, FC_HBA_DATA, 14, 99, -1}) {
            assertEquals(STATUS_INVALID_DEVICE_REQUEST, g.call(op, 0).status(), "operation " + op);
        }
        assertEquals(STATUS_SUCCESS, g.call(RESET_LUN, 0).status());
        assertEquals(STATUS_SUCCESS, g.call(RESET_ADAPTER, 0).status());
        assertEquals(STATUS_SUCCESS, g.execute(VERSION_WIN8, 0, RawGuest.read16(0, 1), DATA_IN, 512).status());
    }

    @Test
    void readsAndWritesMoveStraightBetweenGuestMemoryAndTheDisk() throws Exception {
        g.initialize(VERSION_THRESHOLD);
        byte[] data = new byte[8192];
        Arrays.fill(data, (byte) 0x5A);
        data[0] = 1;
        data[8191] = 2;
        g.memory.write(RawGuest.DATA, data);
        RawGuest.Answer w = g.execute(VERSION_THRESHOLD, 0, RawGuest.write16(10, 16), DATA_OUT, 8192);
        assertEquals(STATUS_SUCCESS, w.status());
        assertEquals(SRB_STATUS_SUCCESS, w.srbStatus());
        assertEquals(8192, w.transferred());
        assertEquals(HEADER_LENGTH + SRB_LENGTH_V2, w.payloadLength());
        byte[] onDisk = new byte[8192];
        g.disk.read(10 * 512, onDisk);
        assertArrayEquals(data, onDisk);
        g.memory.write(RawGuest.DATA, new byte[8192]);
        RawGuest.Answer r = g.execute(VERSION_THRESHOLD, 0, RawGuest.read16(10, 16), DATA_IN, 8192);
        assertEquals(SRB_STATUS_SUCCESS, r.srbStatus());
        byte[] back = new byte[8192];
        g.memory.read(RawGuest.DATA, back);
        assertArrayEquals(data, back);
    }

    @Test
    void scatteredPagesAreOneBuffer() throws Exception {
        g.initialize(VERSION_WIN8);
        byte[] data = new byte[3 * 4096];
        new java.util.Random(1).nextBytes(data);
        long[] pages = {0x300, 0x280, 0x2C0};
        for (int i = 0; i < 3; i++) {
            g.memory.write(pages[i] << 12, Arrays.copyOfRange(data, i * 4096, i * 4096 + 4096));
        }
        GpaRangeList ranges = new GpaRangeList().add(0, 3 * 4096, pages, 0, 3);
        int length = g.srb(VERSION_WIN8, 0, 0, 0, RawGuest.write16(100, 24), DATA_OUT, 3 * 4096);
        assertEquals(SRB_STATUS_SUCCESS, g.answer(g.sendGpa(ranges, length)).srbStatus());
        byte[] onDisk = new byte[data.length];
        g.disk.read(100 * 512, onDisk);
        assertArrayEquals(data, onDisk);
    }

    @Test
    void anLbaPastTheEndIsIllegalRequestWithAutosense() throws Exception {
        g.initialize(VERSION_WIN8);
        RawGuest.Answer a = g.execute(VERSION_WIN8, 0, RawGuest.read16(DISK / 512, 1), DATA_IN, 512);
        assertEquals(SRB_STATUS_ERROR | SRB_STATUS_AUTOSENSE_VALID, a.srbStatus());
        assertEquals(0x02, a.scsiStatus());
        assertEquals(SENSE_LENGTH_V2 < 18 ? SENSE_LENGTH_V2 : 18, a.senseLength());
        assertEquals(0x5, a.senseKey());
        assertEquals(0x21, a.asc());
        assertEquals(0, a.transferred());
        a = g.execute(VERSION_WIN8, 0, RawGuest.write16(DISK / 512 - 1, 2), DATA_OUT, 1024);
        assertEquals(0x21, a.asc(), "a write running past the end");
        assertEquals(STATUS_IO_DEVICE_ERROR, a.status());
    }

    @Test
    void theOldProtocolHasTheShortSrbAndSense() throws Exception {
        g.initialize(VERSION_WIN6);
        RawGuest.Answer a = g.execute(VERSION_WIN6, 0, RawGuest.read16(DISK / 512, 1), DATA_IN, 512);
        assertEquals(HEADER_LENGTH + SRB_LENGTH_V1, a.payloadLength());
        assertEquals(SENSE_LENGTH_V1, a.senseLength());
        assertEquals(0x21, a.asc());
    }

    @Test
    void aTransferBeyondTheMaximumIsRefusedUnexecuted() throws Exception {
        g.initialize(VERSION_WIN8);
        int bytes = MAX_TRANSFER_BYTES + 512;
        RawGuest.Answer a = g.execute(VERSION_WIN8, 0, RawGuest.write16(0, bytes / 512), DATA_OUT, bytes);
        assertEquals(STATUS_INVALID_PARAMETER, a.status());
        assertEquals(SRB_STATUS_INVALID_REQUEST | SRB_STATUS_AUTOSENSE_VALID, a.srbStatus());
        assertEquals(0x5, a.senseKey());
        assertEquals(0x24, a.asc());
        assertEquals(0, g.vsp.requestsExecuted());
        assertTrue(g.channel.isOpen());
    }

    @Test
    void pathTargetAndLunAreChecked() throws Exception {
        g.initialize(VERSION_WIN8);
        byte[] read = RawGuest.read16(0, 1);
        int length = g.srb(VERSION_WIN8, 1, 0, 0, read, DATA_IN, 0);
        assertEquals(SRB_STATUS_INVALID_PATH_ID, g.answer(g.sendInBand(length)).srbStatus());
        length = g.srb(VERSION_WIN8, 0, 1, 0, read, DATA_IN, 0);
        assertEquals(SRB_STATUS_INVALID_TARGET_ID, g.answer(g.sendInBand(length)).srbStatus());
        RawGuest.Answer a = g.execute(VERSION_WIN8, 64, read, DATA_IN, 512);
        assertEquals(SRB_STATUS_INVALID_LUN, a.srbStatus());
        assertEquals(STATUS_DEVICE_DOES_NOT_EXIST, a.status());
        assertEquals(SRB_STATUS_INVALID_LUN, g.execute(VERSION_WIN8, 5, read, DATA_IN, 512).srbStatus());
        RawGuest.Answer inquiry = g.execute(VERSION_WIN8, 5, new byte[] {0x12, 0, 0, 0, 36, 0}, DATA_IN, 36);
        assertEquals(SRB_STATUS_SUCCESS, inquiry.srbStatus(), "INQUIRY of an empty LUN is answered");
        assertEquals(0x7F, g.memory.getByte(RawGuest.DATA) & 0xFF, "peripheral qualifier 3");
        assertEquals(0, g.vsp.requestsExecuted() - 1, "only the INQUIRY went to the target");
    }

    @Test
    void reportLunsListsTheDisks() throws Exception {
        g.initialize(VERSION_WIN8);
        g.target.attach(7, ScsiDisk.of(MemoryDisk.create("b", 1 << 20), ScsiDisk.Settings.of(UUID.randomUUID())));
        byte[] cdb = new byte[12];
        cdb[0] = (byte) 0xA0;
        cdb[9] = (byte) 200;
        RawGuest.Answer a = g.execute(VERSION_WIN8, 0, cdb, DATA_IN, 200);
        assertEquals(SRB_STATUS_SUCCESS, a.srbStatus());
        assertEquals(24, a.transferred());
        assertEquals(16, Integer.reverseBytes(g.memory.getInt(RawGuest.DATA)));
        assertEquals(0, g.memory.getByte(RawGuest.DATA + 9));
        assertEquals(7, g.memory.getByte(RawGuest.DATA + 17));
    }

    @Test
    void dataWithoutADirectionIsRefused() throws Exception {
        g.initialize(VERSION_WIN8);
        RawGuest.Answer a = g.execute(VERSION_WIN8, 0, RawGuest.read16(0, 1), DATA_UNKNOWN, 512);
        assertEquals(SRB_STATUS_INVALID_REQUEST | SRB_STATUS_AUTOSENSE_VALID, a.srbStatus());
        assertEquals(0, g.vsp.requestsExecuted());
    }

    @Test
    void aTransferLengthOtherThanItsRangesClosesTheChannel() throws Exception {
        g.initialize(VERSION_WIN8);
        int length = g.srb(VERSION_WIN8, 0, 0, 0, RawGuest.write16(0, 2), DATA_OUT, 1024);
        g.sendGpa(new GpaRangeList().addBuffer(RawGuest.DATA, 512), length);
        assertTrue(g.awaitClosed().startsWith(ChannelClosedReason.DEVICE_REFUSED.name()));
        assertEquals(0, g.vsp.requestsExecuted());
        reopenAndWork();
    }

    @Test
    void dataInAnInBandPacketClosesTheChannel() throws Exception {
        g.initialize(VERSION_WIN8);
        int length = g.srb(VERSION_WIN8, 0, 0, 0, RawGuest.read16(0, 1), DATA_IN, 512);
        g.sendInBand(length);
        assertTrue(g.awaitClosed().startsWith(ChannelClosedReason.DEVICE_REFUSED.name()));
    }

    @Test
    void aShortSrbOrHeaderClosesTheChannel() throws Exception {
        g.initialize(VERSION_WIN8);
        g.srb(VERSION_WIN8, 0, 0, 0, RawGuest.read16(0, 1), DATA_IN, 0);
        g.sendInBand(HEADER_LENGTH + 16);
        assertTrue(g.awaitClosed().startsWith(ChannelClosedReason.DEVICE_REFUSED.name()));
        reopenAndWork();
        g.out.fill((byte) 0);
        g.sendInBand(8);
        assertTrue(g.awaitClosed().startsWith(ChannelClosedReason.DEVICE_REFUSED.name()));
    }

    @Test
    void gpaRangesOutsideGuestMemoryCloseTheChannelAndTouchNothing() throws Exception {
        g.initialize(VERSION_WIN8);
        long beyond = g.memory.size() >>> 12;
        int length = g.srb(VERSION_WIN8, 0, 0, 0, RawGuest.read16(0, 8), DATA_IN, 4096);
        g.sendGpa(new GpaRangeList().add(0, 4096, new long[] {beyond}, 0, 1), length);
        assertTrue(g.awaitClosed().startsWith(ChannelClosedReason.GPA_OUTSIDE_MEMORY.name()));
        assertEquals(0, g.vsp.requestsExecuted());
        reopenAndWork();
    }

    @Test
    void aCorruptRingIndexClosesTheChannel() throws Exception {
        g.initialize(VERSION_WIN8);
        // the parent-to-guest ring's read index, which the parent reads before it writes an answer
        long toGuestControl = RawGuest.RINGS + (long) RawGuest.RING_PAGES * 4096;
        g.memory.setInt(toGuestControl + 4, 0x13);
        int length = g.srb(VERSION_WIN8, 0, 0, 0, RawGuest.read16(0, 1), DATA_IN, 512);
        g.sendGpa(new GpaRangeList().addBuffer(RawGuest.DATA, 512), length);
        String why = g.awaitClosed();
        assertTrue(why.startsWith(ChannelClosedReason.BAD_READ_INDEX.name()), why);
        reopenAndWork();
    }

    @Test
    void otherPartitionsAreUnaffectedByAHostileGuest() throws Exception {
        try (RawGuest other = new RawGuest("other", DISK)) {
            other.initialize(VERSION_WIN8);
            g.initialize(VERSION_WIN8);
            long beyond = g.memory.size() >>> 12;
            int length = g.srb(VERSION_WIN8, 0, 0, 0, RawGuest.read16(0, 8), DATA_IN, 4096);
            g.sendGpa(new GpaRangeList().add(0, 4096, new long[] {beyond}, 0, 1), length);
            g.awaitClosed();
            other.memory.write(RawGuest.DATA, new byte[] {9, 9, 9});
            assertEquals(SRB_STATUS_SUCCESS,
                    other.execute(VERSION_WIN8, 0, RawGuest.write16(0, 1), DATA_OUT, 512).srbStatus());
            assertEquals(9, other.disk.size() > 0 ? readByte(other, 0) : -1);
            assertTrue(other.channel.isOpen());
        }
    }

    private static int readByte(RawGuest guest, long offset) throws Exception {
        byte[] b = new byte[1];
        guest.disk.read(offset, b);
        return b[0];
    }

    @Test
    void hotAddAndRemoveSendEnumerateBus() throws Exception {
        g.initialize(VERSION_WIN8);
        LogicalUnit unit = ScsiDisk.of(MemoryDisk.create("hot", 1 << 20), ScsiDisk.Settings.of(UUID.randomUUID()));
        g.vsp.hotAdd(3, unit);
        assertEnumerateBus();
        RawGuest.Answer ua = g.execute(VERSION_WIN8, 0, RawGuest.read16(0, 1), DATA_IN, 512);
        assertEquals(0x6, ua.senseKey(), "the other disk reports the change once");
        assertEquals(0x3F, ua.asc());
        assertEquals(0x0E, ua.ascq());
        assertEquals(SRB_STATUS_SUCCESS, g.execute(VERSION_WIN8, 3, RawGuest.read16(0, 1), DATA_IN, 512).srbStatus());
        assertEquals(Optional.of(unit), g.vsp.hotRemove(3, Duration.ofSeconds(5)));
        assertEnumerateBus();
        assertEquals(SRB_STATUS_INVALID_LUN, g.execute(VERSION_WIN8, 3, RawGuest.read16(0, 1), DATA_IN, 512).srbStatus());
        assertEquals(2, g.vsp.announcements());
    }

    @Test
    void theOldestProtocolGetsNoEnumerateBus() throws Exception {
        g.initialize(VERSION_WIN6);
        g.vsp.hotAdd(3, ScsiDisk.of(MemoryDisk.create("hot", 1 << 20), ScsiDisk.Settings.of(UUID.randomUUID())));
        assertEquals(0, g.vsp.announcements());
    }

    private void assertEnumerateBus() throws Exception {
        assertTrue(g.channel.receive(g.packet, 5, TimeUnit.SECONDS));
        assertEquals(PacketType.IN_BAND, g.packet.type());
        assertEquals(ENUMERATE_BUS, g.packet.payloadInt(0));
        assertFalse(g.packet.completionRequested());
    }

    @Test
    void quiesceClosesTheChannelAfterTheRequestInHand() throws Exception {
        g.initialize(VERSION_WIN8);
        assertTrue(g.vsp.quiesce(Duration.ofSeconds(5)));
        assertFalse(g.vsp.state().open());
        String why = g.awaitClosed();
        assertTrue(why.startsWith(ChannelClosedReason.DEVICE_CLOSED.name()), why);
    }

    @Test
    void aReopenedChannelStartsUninitialized() throws Exception {
        g.initialize(VERSION_WIN8);
        g.channel.close();
        g.open();
        assertFalse(g.vsp.isReady());
        assertEquals(STATUS_INVALID_DEVICE_STATE,
                g.execute(VERSION_WIN8, 0, RawGuest.read16(0, 1), DATA_IN, 512).status());
        g.initialize(VERSION_BLUE);
    }

    private void reopenAndWork() throws Exception {
        g.channel.close(); // the guest lets go of the closed channel: waits for the parent's side to end
        g.open();
        g.initialize(VERSION_WIN8);
        g.memory.write(RawGuest.DATA, new byte[] {7});
        assertEquals(SRB_STATUS_SUCCESS, g.execute(VERSION_WIN8, 0, RawGuest.write16(1, 1), DATA_OUT, 512).srbStatus());
        assertEquals(7, readByte(g, 512));
    }
}
