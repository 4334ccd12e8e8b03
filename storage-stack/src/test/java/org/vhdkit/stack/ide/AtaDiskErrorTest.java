package org.vhdkit.stack.ide;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.testvm.FaultyDisk;

/**
 * What a guest sees when the host fails a read, write, DMA or flush of an emulated ATA disk: ERR in
 * the status with UNC|ABRT (a read) or ABRT (a write or flush) in the error register, an interrupt,
 * no data phase left hanging, and a disk that takes the next command. And SET FEATURES transfer-mode
 * selection: every mode IDENTIFY offers is accepted and shown selected there, any other is aborted.
 */
class AtaDiskErrorTest {
    private static final int GOOD = 0x50; // DRDY|DSC
    private static final int DATA = 0x58; // DRDY|DSC|DRQ
    private static final int FAILED = 0x51; // DRDY|DSC|ERR
    private static final int UNC_ABRT = 0x44;
    private static final int ABRT = 0x04;
    private static final long PRD = 0x1000;
    private static final long DMA_BUFFER = 0x2000;

    private IdeChannelProbe probe;
    private IdeChannel channel;
    private FaultyDisk disk;
    private GuestMemory memory;

    @BeforeEach
    void attach() throws Exception {
        probe = IdeChannelProbe.create();
        channel = probe.channel();
        memory = probe.child().memory();
        disk = new FaultyDisk(1 << 20);
        channel.drives[0] = new AtaDisk(channel, disk, false, "ERRORS");
        disk.memory().write(0, sectors(8, 1));
    }

    @AfterEach
    void detach() {
        probe.close();
    }

    /** {@code count} sectors whose bytes depend on {@code seed} and their offset. */
    private static byte[] sectors(int count, int seed) {
        byte[] b = new byte[count * 512];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (i * 7 + seed * 31 + i / 512);
        }
        return b;
    }

    private void command(int command, long lba, int count) {
        channel.writeRegister(6, 0xE0);
        channel.writeRegister(1, 0);
        channel.writeRegister(2, count);
        channel.writeRegister(3, (int) lba & 0xFF);
        channel.writeRegister(4, (int) (lba >>> 8) & 0xFF);
        channel.writeRegister(5, (int) (lba >>> 16) & 0xFF);
        channel.writeRegister(7, command);
    }

    /** The command ended with ERR and {@code error}, raising one interrupt since {@code interruptsBefore}. */
    private void assertFailed(int error, long interruptsBefore) {
        assertEquals(FAILED, status(), "status");
        assertEquals(error, error(), "error register");
        assertEquals(interruptsBefore + 1, channel.interrupts(), "the failure is signalled by one interrupt");
    }

    private int status() {
        return channel.readRegister(7);
    }

    private int error() {
        return channel.readRegister(1);
    }

    private byte[] pioIn(int bytes) {
        byte[] b = new byte[bytes];
        for (int i = 0; i < bytes; i += 2) {
            int w = channel.readData(2);
            b[i] = (byte) w;
            b[i + 1] = (byte) (w >>> 8);
        }
        return b;
    }

    private void pioOut(byte[] b) {
        for (int i = 0; i < b.length; i += 2) {
            channel.writeData(2, (b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8);
        }
    }

    private byte[] onDisk(long lba, int count) throws Exception {
        byte[] b = new byte[count * 512];
        disk.memory().read(lba * 512, MemorySegment.ofArray(b), 0, b.length);
        return b;
    }

    /** Runs a one-entry PRD table over {@code bytes} at {@link #DMA_BUFFER} for command {@code command}. */
    private void dma(int command, long lba, int count, boolean toMemory) throws Exception {
        memory.setInt(PRD, (int) DMA_BUFFER);
        memory.setShort(PRD + 4, (short) (count * 512));
        memory.setShort(PRD + 6, (short) 0x8000);
        for (int i = 0; i < 4; i++) {
            channel.writeBusMaster(4 + i, (int) (PRD >>> (8 * i)) & 0xFF);
        }
        channel.writeBusMaster(2, IdeChannel.BM_ERROR | IdeChannel.BM_INTERRUPT);
        command(command, lba, count);
        channel.writeBusMaster(0, IdeChannel.BM_START | (toMemory ? IdeChannel.BM_TO_MEMORY : 0));
        channel.writeBusMaster(0, toMemory ? IdeChannel.BM_TO_MEMORY : 0);
    }

    @Test
    void aFailedPioReadEndsWithUncAndAbrtAnInterruptAndNoDataPhaseAndTheNextReadWorks() throws Exception {
        disk.failRead(1);
        long before = channel.interrupts();
        command(0x20, 2, 1);
        assertFailed(UNC_ABRT, before);
        assertEquals(0xFFFF, channel.readData(2), "no data phase is left open");
        command(0x20, 2, 1);
        assertEquals(DATA, status());
        assertEquals(0, error(), "the error register is cleared by the next command");
        assertArrayEquals(onDisk(2, 1), pioIn(512));
        assertEquals(GOOD, status());
    }

    @Test
    void aReadFailingOnItsSecondSectorDeliversTheFirstThenEndsWithUnc() throws Exception {
        command(0x20, 0, 3);
        disk.failRead(1); // the first sector is already in the buffer; the second load fails
        assertEquals(DATA, status());
        long before = channel.interrupts();
        assertArrayEquals(onDisk(0, 1), pioIn(512));
        assertFailed(UNC_ABRT, before);
        assertEquals(0xFFFF, channel.readData(2));
        command(0x20, 1, 2);
        assertArrayEquals(onDisk(1, 2), pioIn(1024));
        assertEquals(GOOD, status());
    }

    @Test
    void aFailedPioWriteEndsWithAbrtAnInterruptAndLeavesTheRestUnwrittenAndTheNextWriteWorks() throws Exception {
        byte[] original = onDisk(4, 2);
        disk.failWrite(1);
        command(0x30, 4, 2);
        assertEquals(DATA, status());
        long before = channel.interrupts();
        pioOut(sectors(1, 9));
        assertFailed(ABRT, before);
        channel.writeData(2, 0x1234); // dropped: no data phase
        assertArrayEquals(original, onDisk(4, 2), "nothing of the failed command reached the disk");
        command(0x30, 4, 2);
        pioOut(sectors(2, 9));
        assertEquals(GOOD, status());
        assertArrayEquals(sectors(2, 9), onDisk(4, 2));
    }

    @Test
    void aFailedDmaReadEndsWithUncAndAbrtAndAnInterruptAndTheNextDmaReadWorks() throws Exception {
        disk.failRead(1);
        long before = channel.interrupts();
        dma(0xC8, 1, 2, true);
        assertFailed(UNC_ABRT, before);
        assertEquals(IdeChannel.BM_INTERRUPT, channel.readBusMaster(2) & 0x07, "interrupt, not active, no bus error");
        dma(0xC8, 1, 2, true);
        assertEquals(GOOD, status());
        byte[] read = new byte[1024];
        memory.read(DMA_BUFFER, read);
        assertArrayEquals(onDisk(1, 2), read);
    }

    @Test
    void aFailedDmaWriteEndsWithAbrtAndAnInterruptAndTheNextDmaWriteWorks() throws Exception {
        memory.write(DMA_BUFFER, sectors(2, 5));
        disk.failWrite(1);
        long before = channel.interrupts();
        dma(0xCA, 6, 2, false);
        assertFailed(ABRT, before);
        dma(0xCA, 6, 2, false);
        assertEquals(GOOD, status());
        assertArrayEquals(sectors(2, 5), onDisk(6, 2));
    }

    @Test
    void aFailedFlushEndsWithAbrtAndAnInterruptAndTheNextFlushWorks() {
        for (int command : new int[] {0xE7, 0xEA}) {
            disk.failFlush(1);
            long before = channel.interrupts();
            command(command, 0, 0);
            assertFailed(ABRT, before);
            command(command, 0, 0);
            assertEquals(GOOD, status());
            assertEquals(before + 2, channel.interrupts());
        }
    }

    private int[] identify() {
        command(0xEC, 0, 0);
        assertEquals(DATA, status());
        byte[] b = pioIn(512);
        int[] words = new int[256];
        for (int i = 0; i < 256; i++) {
            words[i] = (b[2 * i] & 0xFF) | (b[2 * i + 1] & 0xFF) << 8;
        }
        return words;
    }

    private void setTransferMode(int mode) {
        channel.writeRegister(6, 0xE0);
        channel.writeRegister(1, 0x03);
        channel.writeRegister(2, mode);
        channel.writeRegister(7, 0xEF);
    }

    @Test
    void everyTransferModeIdentifyOffersIsAcceptedAndShownSelected() {
        int[] words = identify();
        assertEquals(0x0003, words[64] & 0xFF, "PIO 3 and 4 offered");
        assertEquals(0x0007, words[63] & 0xFF, "multiword DMA 0 to 2 offered");
        assertEquals(0x003F, words[88] & 0xFF, "Ultra DMA 0 to 5 offered");
        List<String> selected = new ArrayList<>();
        for (int mode : new int[] {0x00, 0x01, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x20, 0x21, 0x22, 0x40, 0x41, 0x42, 0x43,
                0x44, 0x45}) {
            long before = channel.interrupts();
            setTransferMode(mode);
            assertEquals(GOOD, status(), "mode 0x" + Integer.toHexString(mode) + " accepted");
            assertEquals(before + 1, channel.interrupts());
            int[] after = identify();
            selected.add(Integer.toHexString(mode) + ":" + Integer.toHexString(after[63] >>> 8) + "/"
                    + Integer.toHexString(after[88] >>> 8));
        }
        assertEquals(List.of(
                // PIO modes leave the DMA mode selected as it was (Ultra DMA 2 from power on)
                "0:0/4", "1:0/4", "8:0/4", "9:0/4", "a:0/4", "b:0/4", "c:0/4",
                "20:1/0", "21:2/0", "22:4/0",
                "40:0/1", "41:0/2", "42:0/4", "43:0/8", "44:0/10", "45:0/20"), selected,
                "words 63 and 88 show the one DMA mode selected");
    }

    @Test
    void aTransferModeIdentifyDoesNotOfferIsAbortedAndTheSelectedModeStays() {
        setTransferMode(0x43);
        for (int mode : new int[] {0x02, 0x07, 0x0D, 0x0F, 0x10, 0x18, 0x23, 0x27, 0x46, 0x47, 0x80, 0xFF}) {
            long before = channel.interrupts();
            setTransferMode(mode);
            assertFailed(ABRT, before);
            int[] words = identify();
            assertEquals(0, words[63] >>> 8, "no multiword DMA mode selected");
            assertEquals(0x08, words[88] >>> 8, "Ultra DMA 3 still selected");
        }
    }

    @Test
    void anUnknownSetFeaturesSubcommandIsAborted() {
        channel.writeRegister(6, 0xE0);
        channel.writeRegister(1, 0x99);
        channel.writeRegister(7, 0xEF);
        assertEquals(FAILED, status());
        assertEquals(ABRT, error());
    }
}
