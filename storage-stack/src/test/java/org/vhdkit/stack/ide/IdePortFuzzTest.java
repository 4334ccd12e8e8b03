package org.vhdkit.stack.ide;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.vhdkit.stack.memory.GuestMemoryException;
import org.vhdkit.stack.scsi.CdRom;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.disk.RawDisk;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * Fuzzes the IDE channel as a guest drives it: a sequence of port accesses (task file registers,
 * device control, the data port in 2 and 4 bytes, the bus master's registers) against an ATA disk
 * (unit 0) and an ATAPI DVD drive with a disc (unit 1), so ATA commands and ATAPI packets alike.
 * Each input is four bytes an access: what, which register, and a 16-bit value. A register access
 * never throws, whatever the sequence; DMA moves only within guest memory.
 */
class IdePortFuzzTest {
    private static final IdeChannelProbe PROBE = probe();
    /** The disc in the DVD drive: a read-only raw file, as an ISO is inserted. */
    private static final VirtualDisk DISC = disc();

    private static IdeChannelProbe probe() {
        try {
            return IdeChannelProbe.create();
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    private static VirtualDisk disc() {
        try {
            Path iso = Files.createTempFile("vhdkit-ide-fuzz", ".iso");
            iso.toFile().deleteOnExit();
            Files.write(iso, new byte[16 * CdRom.BLOCK_SIZE]);
            return RawDisk.open(iso, true);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest
    void accesses(byte[] input) throws GuestMemoryException {
        IdeChannel channel = new IdeChannel(0, PROBE.irq(), PROBE.child().memory());
        channel.drives[0] = new AtaDisk(channel, MemoryDisk.create("disk", 256 * 1024), false, "FUZZ-ATA");
        CdRom dvd = new CdRom("dvd", disk -> { });
        dvd.insert(DISC);
        channel.drives[1] = new AtapiDrive(channel, dvd, "FUZZ-DVD");
        for (int at = 0; at + 4 <= input.length; at += 4) {
            int what = input[at] & 0xFF;
            int register = input[at + 1] & 0xFF;
            int value = (input[at + 2] & 0xFF) | (input[at + 3] & 0xFF) << 8;
            switch (what % 8) {
                case 0 -> channel.writeRegister(register & 7, value & 0xFF);
                case 1 -> channel.readRegister(register & 7);
                case 2 -> channel.writeControl(value & 0xFF);
                case 3 -> channel.writeData((register & 1) == 0 ? 2 : 4, value | value << 16);
                case 4 -> channel.readData((register & 1) == 0 ? 2 : 4);
                case 5 -> channel.writeBusMaster(register & 7, value & 0xFF);
                case 6 -> channel.readBusMaster(register & 7);
                default -> channel.alternateStatus();
            }
        }
    }
}
