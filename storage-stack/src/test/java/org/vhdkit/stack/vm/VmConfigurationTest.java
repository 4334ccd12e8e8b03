package org.vhdkit.stack.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VmConfigurationTest {
    private static final Path A = Path.of("/vms/a.vhd");
    private static final Path B = Path.of("/vms/b.vhd");

    private static VmConfiguration base() {
        return VmConfiguration.create("vm1", 512L << 20, 2);
    }

    private static VmConfigurationException refused(VmConfiguration c) {
        return assertThrows(VmConfigurationException.class, c::validate);
    }

    private static void refused(VmConfiguration c, String field, String fragment) {
        VmConfigurationException e = refused(c);
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
        assertTrue(e.getMessage().startsWith(field + ": "), e.getMessage());
    }

    @Test
    void memoryIsAtLeastEightMebibytesAtMostSixtyFourGibibytesInWholePages() throws Exception {
        base().withMemoryBytes(8L << 20).validate();
        base().withMemoryBytes((8L << 20) + 4096).validate();
        base().withMemoryBytes(64L << 30).validate();
        refused(base().withMemoryBytes(4L << 20), "memoryBytes", "4 MiB is below the minimum of 8 MiB");
        refused(base().withMemoryBytes((8L << 20) + 1), "memoryBytes", "is not a whole number of 4 KiB pages");
        refused(base().withMemoryBytes(65L << 30), "memoryBytes", "65 GiB is above the maximum of 64 GiB");
        refused(base().withMemoryBytes(-1), "memoryBytes", "below the minimum");
    }

    @Test
    void oneToFourVirtualProcessors() throws Exception {
        for (int n = 1; n <= HyperVLimits.MAX_VIRTUAL_PROCESSORS; n++) {
            base().withProcessors(n).validate();
        }
        refused(base().withProcessors(0), "processors", "at least 1");
        refused(base().withProcessors(5), "processors", "5 is more than the 4 virtual processors");
    }

    @Test
    void namesAreShortPrintableAndTrimmed() throws Exception {
        base().withName("web server (test) ü").validate();
        refused(base().withName(" "), "name", "needs a name");
        refused(base().withName(" vm"), "name", "white space");
        refused(base().withName("a\tb"), "name", "control characters");
        refused(base().withName("x".repeat(101)), "name", "at most 100 characters");
    }

    @Test
    void slotsExistOnlyWithinTheGenerationOneControllers() throws Exception {
        refused(base().withAttachment(Attachment.disk(Slot.ide(2, 0), A)), "attachments[0].slot",
                "ide:2:0 does not exist: a VM has IDE controllers 0 and 1");
        refused(base().withAttachment(Attachment.disk(Slot.ide(0, 2), A)), "attachments[0].slot",
                "ide:0:2 does not exist: an IDE controller has devices 0 (master) and 1 (slave)");
        refused(base().withAttachment(Attachment.disk(Slot.scsi(4, 0), A)), "attachments[0].slot",
                "SCSI controllers 0 to 3");
        refused(base().withAttachment(Attachment.disk(Slot.scsi(0, 64), A)), "attachments[0].slot", "LUNs 0 to 63");
        refused(base().withAttachment(Attachment.disk(Slot.scsi(-1, 0), A)), "attachments[0].slot", "does not exist");
    }

    @Test
    void aFullGenerationOneVmIsFourIdeDevicesAndTwoHundredFiftySixScsiDisks() throws Exception {
        VmConfiguration c = base();
        for (int ctl = 0; ctl < 2; ctl++) {
            for (int dev = 0; dev < 2; dev++) {
                c = c.withAttachment(ctl == 1 && dev == 0 ? Attachment.emptyDvd(Slot.ide(1, 0))
                        : Attachment.disk(Slot.ide(ctl, dev), Path.of("/vms/ide" + ctl + dev + ".vhd")));
            }
        }
        for (int ctl = 0; ctl < 4; ctl++) {
            for (int lun = 0; lun < 64; lun++) {
                c = c.withAttachment(Attachment.disk(Slot.scsi(ctl, lun), Path.of("/vms/s" + ctl + "-" + lun + ".vhd")));
            }
        }
        c.withBootOrder(List.of(Slot.ide(1, 0), Slot.ide(0, 0))).validate();
        assertEquals(260, c.attachments().size());
    }

    @Test
    void dvdDrivesOnlyOnIdeAndAlwaysReadOnly() throws Exception {
        base().withAttachment(Attachment.dvd(Slot.ide(1, 0), Path.of("/iso/x.iso"))).validate();
        refused(base().withAttachment(Attachment.dvd(Slot.scsi(0, 0), Path.of("/iso/x.iso"))), "attachments[0]",
                "a DVD drive can only be attached to IDE");
        refused(base().withAttachment(new Attachment(Slot.ide(1, 0), Attachment.Kind.DVD, null, false)),
                "attachments[0].readOnly", "always read-only");
    }

    @Test
    void disksNeedAbsolutePaths() throws Exception {
        refused(base().withAttachment(new Attachment(Slot.ide(0, 0), Attachment.Kind.DISK, null, false)),
                "attachments[0].path", "a disk needs a path");
        refused(base().withAttachment(new Attachment(Slot.scsi(0, 0), Attachment.Kind.PASS_THROUGH, null, false)),
                "attachments[0].path", "a pass-through disk needs a path");
        refused(base().withAttachment(Attachment.disk(Slot.ide(0, 0), Path.of("a.vhd"))), "attachments[0].path",
                "'a.vhd' is relative");
        base().withAttachment(Attachment.passThrough(Slot.scsi(0, 1), Path.of("/dev/loop0"), false)).validate();
    }

    @Test
    void aSlotHoldsOneThingAndAFileIsAttachedOnce(@TempDir Path dir) throws Exception {
        refused(base().withAttachment(Attachment.disk(Slot.ide(0, 0), A)).withAttachment(Attachment.disk(Slot.ide(0, 0), B)),
                "attachments[1].slot", "ide:0:0 already holds the disk /vms/a.vhd; detach it first");
        refused(base().withAttachment(Attachment.disk(Slot.ide(0, 0), A))
                        .withAttachment(Attachment.disk(Slot.scsi(0, 0), Path.of("/vms/x/../a.vhd"))),
                "attachments[1].path", "is already attached at ide:0:0; a file can be attached to a VM once");
        Path real = Files.createFile(dir.resolve("real.vhd"));
        Path link = Files.createSymbolicLink(dir.resolve("link.vhd"), real);
        refused(base().withAttachment(Attachment.disk(Slot.scsi(0, 0), real))
                        .withAttachment(Attachment.disk(Slot.scsi(1, 0), link, true)),
                "attachments[1].path", "already attached at scsi:0:0");
    }

    @Test
    void theBiosBootsOnlyFromAttachedIdeSlots() throws Exception {
        VmConfiguration c = base().withAttachment(Attachment.disk(Slot.ide(0, 0), A))
                .withAttachment(Attachment.disk(Slot.scsi(0, 0), B));
        c.withBootOrder(List.of(Slot.ide(0, 0))).validate();
        refused(c.withBootOrder(List.of(Slot.scsi(0, 0))), "bootOrder[0]",
                "scsi:0:0 is on SCSI; the BIOS of a generation-1 VM boots only from IDE");
        refused(c.withBootOrder(List.of(Slot.ide(0, 1))), "bootOrder[0]", "nothing is attached at ide:0:1");
        refused(c.withBootOrder(List.of(Slot.ide(0, 0), Slot.ide(0, 0))), "bootOrder[1]", "listed twice");
        assertEquals(List.of(), c.withoutAttachment(Slot.ide(0, 0)).withBootOrder(List.of(Slot.ide(0, 0)))
                .withoutAttachment(Slot.ide(0, 0)).bootOrder());
    }

    @Test
    void slotsParseFromTheirWrittenForm() throws Exception {
        assertEquals(Slot.ide(1, 0), Slot.parse("ide:1:0"));
        assertEquals(Slot.scsi(3, 63), Slot.parse("SCSI:3:63"));
        assertEquals("scsi:3:63", Slot.scsi(3, 63).toString());
        for (String bad : List.of("", "ide", "ide:0", "ide:0:0:0", "sata:0:0", "ide:x:0", "ide:-1:0", "scsi:0:99999")) {
            VmConfigurationException e = assertThrows(VmConfigurationException.class, () -> Slot.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("slot: "), e.getMessage());
        }
        assertTrue(assertThrows(VmConfigurationException.class, () -> Slot.parse("scsi:0:64")).getMessage()
                .contains("LUNs 0 to 63"));
    }
}
