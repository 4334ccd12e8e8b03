package org.vhdkit.stack.ide;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.ide.IdeVms.BUFFER2;
import static org.vhdkit.stack.ide.IdeVms.BUFFER;
import static org.vhdkit.stack.ide.IdeVms.SCRATCH;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.guest.ide.IdeDriver.Mode;
import org.vhdkit.stack.guest.ide.IdeDriver;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.partition.GuestContext;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;

/**
 * Hostile register sequences: commands while busy, PRD tables outside guest memory, too short or
 * never ending, byte count limits out of range, LBAs past the end, and random port I/O. Each is
 * refused without harm: nothing written to the disk, the VM and the parent keep running, and a
 * proper command works afterwards.
 */
@Timeout(60)
class HostileIdeTest {
    private static final int P = 0x1F0;
    private static final int CTL = 0x3F6;
    private static final int BM = EmulatedIde.BUS_MASTER_BASE;
    private static final long SIZE = 4L << 20;

    @TempDir
    Path dir;

    /** Task file for LBA28 {@code lba}, {@code count} sectors, master. */
    private static void taskFile(GuestContext g, long lba, int count) {
        g.out8(P + 6, 0xE0 | (int) (lba >>> 24) & 0x0F);
        g.out8(P + 2, count);
        g.out8(P + 3, (int) lba);
        g.out8(P + 4, (int) (lba >>> 8));
        g.out8(P + 5, (int) (lba >>> 16));
    }

    private static void prd(GuestMemory m, long at, long address, int count, boolean last) throws Exception {
        m.setInt(at, (int) address);
        m.setShort(at + 4, (short) count);
        m.setShort(at + 6, (short) (last ? 0x8000 : 0));
    }

    /** Runs a DMA command against the PRD table at {@code table}; returns "status/error/bm-status". */
    private static String dma(GuestContext g, int command, long table, long lba, int count) {
        boolean toMemory = command == 0xC8 || command == 0x25;
        g.out8(BM, 0);
        g.out8(BM + 2, 0x06);
        g.out32(BM + 4, (int) table);
        taskFile(g, lba, count);
        g.out8(P + 7, command);
        g.out8(BM, (toMemory ? 0x08 : 0) | 1);
        String r = String.format("%02X/%02X/%02X", g.in8(P + 7), g.in8(P + 1), g.in8(BM + 2) & 0x07);
        g.out8(BM, 0);
        g.out8(BM + 2, 0x06);
        return r;
    }

    @Test
    void hostileRegisterSequencesAreRefusedWithoutHarm() throws Exception {
        Path vhd = TestVms.dynamicVhd(dir, "victim.vhd", SIZE);
        Path iso = AtapiTest.handMadeIso(dir, "x.iso", 20, 4);
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), EmulatedIde.create())) {
            VirtualMachine vm = TestVms.ideVm(h, "hostile", Attachment.disk(Slot.ide(0, 0), vhd),
                    Attachment.dvd(Slot.ide(1, 0), iso));
            List<String> log = IdeVms.run(vm, g -> {
                List<String> out = new ArrayList<>();
                GuestMemory m = g.memory();
                g.out8(CTL, 0);
                // Idle data port: all ones, writes dropped.
                out.add(String.format("idle %04X %08X", g.in16(P), g.in32(P)));
                g.out16(P, 0x1234);

                // A DMA command waits for the bus master with BSY; nothing else gets through meanwhile.
                taskFile(g, 0, 1);
                g.out8(P + 7, 0xCA); // WRITE DMA, bus master not started
                out.add(String.format("waiting %02X", g.in8(P + 7)));
                g.out8(P + 3, 0x77); // ignored while busy
                g.out8(P + 7, 0x30); // ignored while busy
                out.add(String.format("still %02X lbaLow %02X", g.in8(CTL), g.in8(P + 3)));
                g.out8(CTL, 0x04); // SRST
                g.out8(CTL, 0x00);
                out.add(String.format("reset %02X %02X %02X/%02X", g.in8(P + 7), g.in8(P + 1), g.in8(P + 4), g.in8(P + 5)));

                // PRD tables: outside guest memory, pointing outside, shorter than the transfer, never ending.
                byte[] ones = new byte[64 * 1024];
                Arrays.fill(ones, (byte) 0xEE);
                m.write(BUFFER2, ones);
                out.add("table outside " + dma(g, 0xCA, 0xFFFF_F000L, 0, 8));
                prd(m, SCRATCH, m.size() - 512, 0, true); // 64 KiB from 512 bytes below the end
                out.add("buffer outside " + dma(g, 0xCA, SCRATCH, 0, 128));
                prd(m, SCRATCH, BUFFER2, 512, true); // one sector for eight
                out.add("short " + dma(g, 0xCA, SCRATCH, 0, 8));
                for (int i = 0; i < 9000; i++) {
                    prd(m, BUFFER + 8L * i, BUFFER2, 2, false); // 2 bytes each, no end-of-table
                }
                out.add("endless " + dma(g, 0xCA, BUFFER, 0, 128));
                for (int i = 0; i < 9000; i++) {
                    prd(m, BUFFER + 8L * i, BUFFER2, 1, false); // 1 byte: nothing at all each
                }
                out.add("empty entries " + dma(g, 0xC8, BUFFER, 0, 1));
                prd(m, SCRATCH, BUFFER2, 512, true);
                g.out8(BM + 2, 0x06);
                g.out32(BM + 4, (int) SCRATCH);
                taskFile(g, 0, 1);
                g.out8(P + 7, 0xCA);
                g.out8(BM, 0x08 | 1); // the wrong direction for a write
                out.add(String.format("direction %02X/%02X/%02X", g.in8(P + 7), g.in8(P + 1), g.in8(BM + 2) & 7));
                g.out8(BM, 0);

                // LBAs past the end, a 48-bit address far out, CHS addressing, unknown commands.
                taskFile(g, SIZE / 512, 1);
                g.out8(P + 7, 0x20);
                out.add(String.format("past end %02X/%02X", g.in8(P + 7), g.in8(P + 1)));
                for (int i = 0; i < 2; i++) {
                    g.out8(P + 2, 0);
                    g.out8(P + 3, 0xFF);
                    g.out8(P + 4, 0xFF);
                    g.out8(P + 5, 0xFF);
                }
                g.out8(P + 6, 0xE0);
                g.out8(P + 7, 0x24);
                out.add(String.format("far out %02X/%02X", g.in8(P + 7), g.in8(P + 1)));
                g.out8(P + 6, 0xA0); // CHS
                g.out8(P + 2, 1);
                g.out8(P + 7, 0x20);
                out.add(String.format("chs %02X/%02X", g.in8(P + 7), g.in8(P + 1)));
                g.out8(P + 6, 0xE0);
                g.out8(P + 7, 0x00);
                out.add(String.format("nop %02X/%02X", g.in8(P + 7), g.in8(P + 1)));
                g.out8(P + 7, 0xC4); // READ MULTIPLE before SET MULTIPLE
                out.add(String.format("multiple %02X/%02X", g.in8(P + 7), g.in8(P + 1)));
                g.out8(P + 2, 3);
                g.out8(P + 7, 0xC6); // SET MULTIPLE of 3: not a power of two
                out.add(String.format("set multiple 3 %02X/%02X", g.in8(P + 7), g.in8(P + 1)));

                // ATAPI: byte count limit 0, DMA packets, ATA commands.
                IdeDriver dvd = IdeDriver.open(g, 1, 0, SCRATCH);
                try {
                    dvd.packet(new byte[] {0x28, 0, 0, 0, 0, 16, 0, 0, 1}, BUFFER, 2048, 0);
                    out.add("limit 0 accepted");
                } catch (org.vhdkit.stack.guest.ide.IdeException e) {
                    out.add(String.format("limit 0 %02X/%02X", e.status(), e.error()));
                }
                g.out8(0x170 + 1, 1); // PACKET with DMA
                g.out8(0x170 + 7, 0xA0);
                out.add(String.format("packet dma %02X/%02X", g.in8(0x177), g.in8(0x171)));
                g.out8(0x170 + 7, 0xEC);
                out.add(String.format("identify on atapi %02X/%02X %02X/%02X", g.in8(0x177), g.in8(0x171), g.in8(0x174),
                        g.in8(0x175)));
                // Half a packet, then DEVICE RESET (accepted while DRQ), then a good read.
                g.out8(0x171, 0);
                g.out8(0x174, 0xFE);
                g.out8(0x175, 0xFF);
                g.out8(0x177, 0xA0);
                g.out16(0x170, 0x28);
                g.out8(0x177, 0xEC); // ignored: DRQ
                out.add(String.format("half packet %02X", g.in8(0x376)));
                g.out8(0x177, 0x08);
                out.add(String.format("device reset %02X %02X/%02X", g.in8(0x177), g.in8(0x174), g.in8(0x175)));
                dvd.readCd(16, 1, BUFFER);
                out.add(new String(IdeVms.read(m, BUFFER + 1, 5)));
                // A read past the end of the medium, long enough to be streamed.
                try {
                    dvd.packet(new byte[] {0x28, 0, 0, 0, 0, 10, 0, 0, 100}, BUFFER, 0, 0xFFFE);
                    out.add("past the medium accepted");
                } catch (org.vhdkit.stack.guest.ide.IdeException e) {
                    out.add(String.format("past the medium %d %02X", e.senseKey(), dvd.requestSense()[12]));
                }

                // After all that the disk still works.
                IdeDriver disk = IdeDriver.open(g, 0, 0, SCRATCH);
                disk.identify();
                m.write(BUFFER, IdeVms.pattern(3, 4096));
                disk.write(100, 8, BUFFER, Mode.DMA);
                disk.read(100, 8, BUFFER2, Mode.PIO);
                out.add(Arrays.equals(IdeVms.pattern(3, 4096), IdeVms.read(m, BUFFER2, 4096)) ? "works" : "broken");
                return out;
            });
            assertEquals(List.of(
                    "idle FFFF FFFFFFFF",
                    "waiting D0",
                    "still D0 lbaLow 00",
                    "reset 50 01 00/00",
                    "table outside 51/04/06",
                    "buffer outside 51/04/06",
                    "short 51/04/06",
                    "endless 51/04/06",
                    "empty entries 51/04/06",
                    "direction 51/04/06",
                    "past end 51/04",
                    "far out 51/04",
                    "chs 51/04",
                    "nop 51/04",
                    "multiple 51/04",
                    "set multiple 3 51/04",
                    "limit 0 51/04",
                    "packet dma 51/04",
                    "identify on atapi 41/04 14/EB",
                    "half packet 58",
                    "device reset 00 14/EB",
                    "CD001",
                    "past the medium 5 21",
                    "works"), log);
            assertEquals(VmState.RUNNING, vm.state());
            vm.turnOff();
        }
        assertEquals(CheckReport.Status.CLEAN, ImageCheck.check(vhd, ProgressListener.NONE).status());
        try (VhdDisk d = Vhd.openReadOnly(vhd)) {
            byte[] first = new byte[100 * 512]; // the guest wrote sectors 100-107 at the end
            d.read(0, MemorySegment.ofArray(first), 0, first.length);
            assertTrue(allZero(first), "no refused DMA wrote anything");
        }
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    @Test
    void randomPortIoNeitherHarmsTheParentNorStopsTheVm() throws Exception {
        Path vhd = TestVms.dynamicVhd(dir, "fuzz.vhd", SIZE);
        Path iso = AtapiTest.handMadeIso(dir, "fuzz.iso", 20, 8);
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), EmulatedIde.create())) {
            VirtualMachine vm = TestVms.ideVm(h, "fuzz", Attachment.disk(Slot.ide(0, 0), vhd, true),
                    Attachment.dvd(Slot.ide(1, 1), iso));
            int[] ports = {0x1F0, 0x1F1, 0x1F2, 0x1F3, 0x1F4, 0x1F5, 0x1F6, 0x1F7, 0x3F6, 0x170, 0x171, 0x172, 0x173,
                0x174, 0x175, 0x176, 0x177, 0x376, BM, BM + 2, BM + 4, BM + 6, BM + 8, BM + 10, BM + 12};
            int[] strings = new int[2]; // string accesses made, and those refused as outside guest memory
            String result = IdeVms.run(vm, g -> {
                Random random = new Random(42);
                for (int i = 0; i < 20_000; i++) {
                    int port = ports[random.nextInt(ports.length)];
                    int size = 1 << random.nextInt(3);
                    if (random.nextInt(16) == 0) { // REP INS / REP OUTS of up to 2048 values, anywhere
                        long gpa = (long) (random.nextDouble() * (g.memory().size() + 8192)) - 4096;
                        int count = 1 + random.nextInt(2048);
                        try {
                            if (random.nextBoolean()) {
                                g.inString(port, size, gpa, count);
                            } else {
                                g.outString(port, size, gpa, count);
                            }
                        } catch (org.vhdkit.stack.memory.GuestMemoryException outside) {
                            strings[1]++; // refused before any access
                        }
                        strings[0]++;
                        continue;
                    }
                    if (random.nextBoolean()) {
                        g.in8(port);
                    } else {
                        int value = random.nextInt(8) == 0 ? new int[] {0x20, 0x24, 0xC8, 0x25, 0xA0, 0xEC, 0xA1, 0x08,
                            0xC4, 0xC6, 0xEF, 0xE7, 0xCA}[random.nextInt(13)] : random.nextInt();
                        switch (size) {
                            case 1 -> g.out8(port, value);
                            case 2 -> g.out16(port, value);
                            default -> g.out32(port, value);
                        }
                    }
                }
                for (int c : new int[] {0x3F6, 0x376}) {
                    g.out8(c, 0x04);
                    g.out8(c, 0x00);
                }
                g.out8(BM, 0);
                g.out8(BM + 8, 0);
                IdeDriver disk = IdeDriver.open(g, 0, 0, SCRATCH);
                disk.identify();
                disk.read(0, 8, BUFFER, Mode.DMA);
                IdeDriver dvd = IdeDriver.open(g, 1, 1, SCRATCH);
                dvd.identify();
                try {
                    dvd.testUnitReady();
                } catch (org.vhdkit.stack.guest.ide.IdeException e) {
                    dvd.requestSense(); // a unit attention or a guest eject left by the noise
                }
                return "alive";
            });
            assertEquals("alive", result);
            assertEquals(VmState.RUNNING, vm.state());
            assertTrue(strings[0] > 1000 && strings[1] > 0 && strings[1] < strings[0], Arrays.toString(strings));
            vm.turnOff();
        }
        assertEquals(CheckReport.Status.CLEAN, ImageCheck.check(vhd, ProgressListener.NONE).status());
    }
}
