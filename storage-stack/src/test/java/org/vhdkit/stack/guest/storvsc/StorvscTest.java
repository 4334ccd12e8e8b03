package org.vhdkit.stack.guest.storvsc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.guest.GuestPages;
import org.vhdkit.stack.partition.GuestContext;
import org.vhdkit.stack.storage.SyntheticStorage;
import org.vhdkit.stack.protocol.storage.StorageProtocol;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.HyperVLimits;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.HypervisorOptions;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;

/** The guest's storage driver in a running VM: what it finds and how requests end. */
class StorvscTest {
    @TempDir
    Path dir;

    interface GuestCheck {
        List<String> run(GuestContext ctx) throws Exception;
    }

    /** Runs {@code check} in a VM with {@code config}'s disks; returns what it reported. */
    private List<String> inGuest(VmConfiguration config, GuestCheck check) throws Exception {
        CompletableFuture<List<String>> result = new CompletableFuture<>();
        try (Hypervisor h = Hypervisor.open(dir.resolve("vms"),
                HypervisorOptions.defaults().withDeviceProvider(SyntheticStorage.create()))) {
            VirtualMachine vm = h.create(config);
            vm.start(ctx -> {
                if (ctx.processor() == 0) {
                    try {
                        result.complete(check.run(ctx));
                    } catch (Exception e) {
                        result.completeExceptionally(e);
                    }
                }
            });
            List<String> lines = result.get(20, TimeUnit.SECONDS);
            vm.turnOff();
            return lines;
        }
    }

    private Path vhd(String name, long size) throws Exception {
        Path p = dir.resolve(name);
        Vhd.create(p, CreateOptions.dynamic(size)).close();
        return p;
    }

    private static GuestPages pages(GuestContext ctx) {
        return new GuestPages(ctx.memory(), 0x10_0000, 0x20_0000);
    }

    @Test
    void theDriverNegotiatesAndFindsEveryDisk() throws Exception {
        VmConfiguration config = VmConfiguration.create("vm", HyperVLimits.MIN_MEMORY_BYTES, 1)
                .withAttachment(Attachment.disk(Slot.scsi(0, 0), vhd("a.vhd", 3L << 20)))
                .withAttachment(Attachment.disk(Slot.scsi(0, 9), vhd("b.vhd", 5L << 20), true))
                .withAttachment(Attachment.disk(Slot.scsi(3, 63), vhd("c.vhd", 1L << 20)));
        List<String> seen = inGuest(config, ctx -> {
            List<String> lines = new ArrayList<>();
            try (Storvsc s = Storvsc.open(ctx, pages(ctx))) {
                for (StorvscController c : s.controllers()) {
                    lines.add("controller " + Integer.toHexString(c.protocolVersion()) + " " + c.maxTransferBytes());
                }
                for (StorvscDisk d : s.disks()) {
                    lines.add(d.lun() + " " + d.sizeBytes() + " " + d.blockSize() + (d.readOnly() ? " ro" : ""));
                }
            }
            return lines;
        });
        String controller = "controller " + Integer.toHexString(StorageProtocol.VERSION_THRESHOLD) + " " + (256 * 1024);
        assertEquals(List.of(controller, controller, "0 3145728 512", "9 5242880 512 ro", "63 1048576 512"), seen);
    }

    @Test
    void refusalsComeBackWithTheirSense() throws Exception {
        Path readOnly = vhd("ro.vhd", 1L << 20);
        byte[] before = Files.readAllBytes(readOnly);
        VmConfiguration config = VmConfiguration.create("vm", HyperVLimits.MIN_MEMORY_BYTES, 1)
                .withAttachment(Attachment.disk(Slot.scsi(0, 0), vhd("a.vhd", 1L << 20)))
                .withAttachment(Attachment.disk(Slot.scsi(0, 1), readOnly, true));
        List<String> seen = inGuest(config, ctx -> {
            List<String> lines = new ArrayList<>();
            try (Storvsc s = Storvsc.open(ctx, pages(ctx))) {
                StorvscDisk rw = s.disk(0, 0).orElseThrow();
                StorvscDisk ro = s.disk(0, 1).orElseThrow();
                StorvscController c = rw.controller();
                long buffer = 0x40_0000;
                lines.add(outcome(c, rw.read(rw.blocks(), 1, buffer)));
                lines.add(outcome(c, rw.write(rw.blocks() - 1, 2, buffer)));
                lines.add(outcome(c, ro.write(0, 1, buffer)));
                lines.add(outcome(c, ro.read(0, 1, buffer)));
                lines.add(outcome(c, c.submitCdb(rw, new byte[] {(byte) 0xC1, 0, 0, 0, 0, 0}, 0, 0,
                        StorageProtocol.DATA_UNKNOWN)));
                lines.add(outcome(c, rw.flush()));
            }
            return lines;
        });
        assertEquals(List.of("CHECK_CONDITION 5/21/0", "CHECK_CONDITION 5/21/0", "CHECK_CONDITION 7/27/0", "OK 512",
                "CHECK_CONDITION 5/20/0", "OK 0"), seen);
        assertArrayEquals(before, Files.readAllBytes(readOnly), "a read-only attachment is never written");
    }

    private static String outcome(StorvscController c, int tag) throws StorvscException {
        int done = c.awaitCompletion();
        assertEquals(tag, done);
        String s = c.status(done) + (c.status(done) == IoStatus.OK ? " " + c.transferred(done)
                : String.format(" %x/%x/%x", c.senseKey(done), c.asc(done), c.ascq(done)));
        c.release(done);
        return s;
    }

    @Test
    void withoutIntegrationComponentsThereIsNoVmbus() throws Exception {
        VmConfiguration config = VmConfiguration.create("vm", HyperVLimits.MIN_MEMORY_BYTES, 1)
                .withIntegrationComponents(false)
                .withAttachment(Attachment.disk(Slot.scsi(0, 0), vhd("a.vhd", 1L << 20)));
        List<String> seen = inGuest(config, ctx -> {
            try {
                Storvsc.open(ctx, pages(ctx)).close();
                return List.of("opened");
            } catch (StorvscException e) {
                return List.of(e.getMessage());
            }
        });
        assertTrue(seen.getFirst().contains("no VMBus"), seen.toString());
    }

    @Test
    void pagesComeFromTheReservedRegionOnly() throws Exception {
        org.vhdkit.stack.memory.GuestMemory memory = org.vhdkit.stack.memory.GuestMemory.allocate("m", 1 << 20);
        try {
            GuestPages pages = new GuestPages(memory, 0x8000, 0x3000);
            memory.setLong(0x9000, -1);
            assertEquals(0x8000, pages.allocate(2));
            assertEquals(0, memory.getLong(0x9000), "zeroed");
            assertEquals(0xA000, pages.allocate(1));
            org.junit.jupiter.api.Assertions.assertThrows(StorvscException.class, () -> pages.allocate(1));
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> new GuestPages(memory, 0xFF000, 0x2000));
        } finally {
            memory.close();
        }
    }
}
