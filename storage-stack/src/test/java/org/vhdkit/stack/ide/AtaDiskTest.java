package org.vhdkit.stack.ide;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.ide.IdeVms.BUFFER2;
import static org.vhdkit.stack.ide.IdeVms.BUFFER;
import static org.vhdkit.stack.ide.IdeVms.SCRATCH;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.guest.ide.IdeDriver.Identity;
import org.vhdkit.stack.guest.ide.IdeDriver.Mode;
import org.vhdkit.stack.guest.ide.IdeDriver;
import org.vhdkit.stack.guest.ide.IdeException;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.testing.ExternalTools;
import org.vhdkit.vhd.testing.HugeDisk;

/** ATA disks on the emulated IDE controller, driven by a guest through PIO and DMA. */
@Timeout(60)
class AtaDiskTest {
    private static final long SIZE = 64L << 20;

    @TempDir
    Path dir;

    /** What each write in the guest puts where: (lba, sectors, mode, seed). */
    private record Piece(long lba, int sectors, Mode mode, long seed) {
    }

    private static final List<Piece> PIECES = List.of(
            new Piece(0, 1, Mode.PIO, 1),
            new Piece(7, 9, Mode.PIO, 2),
            new Piece(100, 40, Mode.PIO_MULTIPLE, 3),
            new Piece(1000, 128, Mode.DMA, 4),
            new Piece(2000, 300, Mode.DMA, 5), // more than 256 sectors: the 48-bit form
            new Piece(SIZE / 512 - 20, 20, Mode.PIO, 6), // the last sectors
            new Piece(5000, 16, Mode.DMA, 7));

    @Test
    void aGuestWritesThroughPioAndDmaAndTheVhdHoldsTheBytesAndChecksClean() throws Exception {
        Path vhd = TestVms.dynamicVhd(dir, "disk.vhd", SIZE);
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), EmulatedIde.create())) {
            VirtualMachine vm = TestVms.ideVm(h, "ata", Attachment.disk(Slot.ide(0, 0), vhd));
            Identity id = IdeVms.run(vm, g -> {
                IdeDriver d = IdeDriver.open(g, 0, 0, SCRATCH);
                Identity identity = d.identify();
                d.setMultiple(16);
                for (Piece p : PIECES) {
                    byte[] data = IdeVms.pattern(p.seed(), p.sectors() * 512);
                    g.memory().write(BUFFER, data);
                    d.write(p.lba(), p.sectors(), BUFFER, p.mode());
                }
                d.flush();
                // Read every piece back by DMA, and the PIO pieces by PIO too (each PIO word is an intercept).
                for (Piece p : PIECES) {
                    byte[] data = IdeVms.pattern(p.seed(), p.sectors() * 512);
                    for (Mode m : p.mode() == Mode.DMA ? List.of(Mode.DMA) : List.of(p.mode(), Mode.DMA)) {
                        g.memory().write(BUFFER2, new byte[data.length]);
                        d.read(p.lba(), p.sectors(), BUFFER2, m);
                        if (!Arrays.equals(data, IdeVms.read(g.memory(), BUFFER2, data.length))) {
                            throw new AssertionError(p + " read back by " + m + " differs");
                        }
                    }
                }
                return identity;
            });
            assertFalse(id.packet());
            assertEquals(SIZE / 512, id.sectors());
            assertTrue(id.lba48());
            assertTrue(id.flushExt());
            assertTrue(id.dma());
            assertEquals(16, id.maxMultiple());
            assertEquals("Virtual HD", id.model());
            assertEquals(20, id.serial().length());
            assertEquals(SIZE / 512, id.words()[60] | (long) id.words()[61] << 16, "words 60-61 hold the LBA28 count");
            assertTrue(vm.intercepts() > 0);
            vm.turnOff();
        }
        CheckReport report = ImageCheck.check(vhd, ProgressListener.NONE);
        assertEquals(CheckReport.Status.CLEAN, report.status(), report.toString());
        byte[] expected = expectedImage();
        try (VhdDisk disk = Vhd.openReadOnly(vhd)) {
            byte[] actual = new byte[(int) SIZE];
            disk.read(0, MemorySegment.ofArray(actual), 0, SIZE);
            assertArrayEquals(expected, actual, "the VHD holds what the guest wrote");
        }
        ExternalTools.assumeAvailable("qemu-img");
        Path raw = dir.resolve("disk.raw");
        ExternalTools.Result r = ExternalTools.run(Duration.ofSeconds(30), "qemu-img", "convert", "-f", "vpc", "-O", "raw",
                vhd.toString(), raw.toString());
        assertEquals(0, r.exitCode(), r.stderr());
        byte[] converted = Files.readAllBytes(raw);
        assertArrayEquals(expected, Arrays.copyOf(converted, (int) SIZE), "qemu-img reads the same bytes");
    }

    private static byte[] expectedImage() {
        byte[] image = new byte[(int) SIZE];
        for (Piece p : PIECES) {
            byte[] data = IdeVms.pattern(p.seed(), p.sectors() * 512);
            System.arraycopy(data, 0, image, (int) (p.lba() * 512), data.length);
        }
        return image;
    }

    @Test
    void identifyReportsLba28AndLba48CapacitiesAndSwappedStrings() throws Exception {
        IdeChannelProbe probe = IdeChannelProbe.create();
        long sectors = 0x1000_0010L; // more than LBA28 can address
        AtaDisk disk = new AtaDisk(probe.channel(), new HugeDisk(sectors * 512), false, "ABCDEFGHIJ0123456789");
        byte[] id = disk.identifyData();
        assertEquals(0x0FFF_FFFF, word(id, 60) | word(id, 61) << 16);
        assertEquals(sectors, word(id, 100) | (long) word(id, 101) << 16 | (long) word(id, 102) << 32);
        assertEquals(0x0400, word(id, 83) & 0x0400, "48-bit addressing");
        assertEquals(0x3000, word(id, 83) & 0x3000, "FLUSH CACHE and FLUSH CACHE EXT");
        assertEquals(0x0300, word(id, 49) & 0x0300, "LBA and DMA");
        assertEquals('i', id[2 * 27], "'Vi' is stored as 'iV'");
        assertEquals('V', id[2 * 27 + 1]);
        assertEquals('B', id[2 * 10]);
        assertEquals('A', id[2 * 10 + 1]);
        probe.close();
    }

    private static int word(byte[] id, int w) {
        return (id[2 * w] & 0xFF) | (id[2 * w + 1] & 0xFF) << 8;
    }

    @Test
    void aReadOnlyDiskRefusesWritesAndOutOfRangeCommandsAreAborted() throws Exception {
        Path vhd = TestVms.dynamicVhd(dir, "ro.vhd", 8L << 20);
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), EmulatedIde.create())) {
            VirtualMachine vm = TestVms.ideVm(h, "ro", Attachment.disk(Slot.ide(1, 1), vhd, true));
            List<Integer> errors = IdeVms.run(vm, g -> {
                IdeDriver d = IdeDriver.open(g, 1, 1, SCRATCH);
                Identity id = d.identify();
                IdeException write = assertThrows(IdeException.class, () -> d.write(0, 1, BUFFER, Mode.PIO));
                IdeException dma = assertThrows(IdeException.class, () -> d.write(0, 1, BUFFER, Mode.DMA));
                IdeException past = assertThrows(IdeException.class, () -> d.read(id.sectors() - 1, 2, BUFFER, Mode.PIO));
                IdeException pastDma = assertThrows(IdeException.class, () -> d.read(id.sectors(), 1, BUFFER, Mode.DMA));
                d.read(id.sectors() - 1, 1, BUFFER, Mode.DMA); // the last sector is fine
                return List.of(write.error(), write.status(), dma.error(), past.error(), pastDma.error());
            });
            assertEquals(List.of(0x04, 0x51, 0x04, 0x04, 0x04), errors, "ABRT in the error register, DRDY|DSC|ERR");
            vm.turnOff();
        }
        assertEquals(CheckReport.Status.CLEAN, ImageCheck.check(vhd, ProgressListener.NONE).status());
    }

    @Test
    void aMemoryDiskWorksAsAnyVirtualDisk() throws Exception {
        try (IdeChannelProbe probe = IdeChannelProbe.create()) {
            MemoryDisk disk = MemoryDisk.create("m", 1 << 20);
            AtaDisk ata = new AtaDisk(probe.channel(), disk, false, "S");
            probe.channel().drives[0] = ata;
            // WRITE SECTORS by hand through the registers.
            probe.channel().writeRegister(6, 0xE0);
            probe.channel().writeRegister(2, 1);
            probe.channel().writeRegister(3, 5);
            probe.channel().writeRegister(4, 0);
            probe.channel().writeRegister(5, 0);
            probe.channel().writeRegister(7, 0x30);
            assertEquals(0x58, probe.channel().readRegister(7), "DRDY|DSC|DRQ");
            for (int i = 0; i < 256; i++) {
                probe.channel().writeData(2, i);
            }
            assertEquals(0x50, probe.channel().readRegister(7));
            byte[] sector = new byte[512];
            disk.read(5 * 512, MemorySegment.ofArray(sector), 0, 512);
            assertEquals(1, sector[2]);
            assertEquals(0, sector[3]);
            assertEquals((byte) 255, sector[510]);
        }
    }
}
