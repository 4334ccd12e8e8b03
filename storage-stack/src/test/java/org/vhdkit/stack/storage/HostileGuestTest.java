package org.vhdkit.stack.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.guest.GuestPages;
import org.vhdkit.stack.guest.vmbus.GuestChannel;
import org.vhdkit.stack.guest.vmbus.VmbusGuest;
import org.vhdkit.stack.guest.workload.Workload;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.stack.vmbus.ChannelClosedException;
import org.vhdkit.stack.vmbus.ChannelOffer;
import org.vhdkit.stack.vmbus.GpaRangeList;

/** A guest that attacks its storage channel harms nothing but that channel, while another VM works. */
class HostileGuestTest {
    @TempDir
    Path dir;

    @Test
    void aHostileVmLeavesTheParentAndAnotherVmUnharmed() throws Exception {
        Path good = TestVms.dynamicVhd(dir, "good.vhd", 8L << 20);
        Path bad = TestVms.dynamicVhd(dir, "bad.vhd", 8L << 20);
        CompletableFuture<String> attack = new CompletableFuture<>();
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create())) {
            VirtualMachine victim = TestVms.vm(h, "victim", TestVms.scsi(0, 0, good));
            VirtualMachine hostile = TestVms.vm(h, "hostile", TestVms.scsi(0, 0, bad));
            Workload w = new Workload(Workload.Plan.writeAndVerify(11).withRequests(4096, 8));
            victim.start(w);
            hostile.start(ctx -> {
                VmbusGuest bus = VmbusGuest.of(ctx).orElseThrow();
                ChannelOffer offer = bus.offer(ChannelOffer.STORAGE).orElseThrow();
                GuestPages pages = new GuestPages(ctx.memory(), Workload.DRIVER_PAGES, Workload.DRIVER_PAGES_LENGTH);
                StringBuilder seen = new StringBuilder();
                for (int round = 0; round < 3; round++) {
                    long rings = pages.allocate(16);
                    GuestChannel ch = bus.open(offer, GuestPages.frames(rings, 16), 8);
                    MemorySegment p = MemorySegment.ofArray(new byte[64]);
                    p.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 0, 3); // EXECUTE_SRB, uninitialized
                    try {
                        switch (round) {
                            case 0 -> ch.sendGpaDirect(1, true,
                                    new GpaRangeList().add(0, 4096, new long[] {1L << 40}, 0, 1), p, 0, 64);
                            case 1 -> {
                                ctx.memory().setInt(rings + 8 * 4096 + 4, 0x7FFF_FFF9); // the parent's write ring
                                ch.sendInBand(1, true, p, 0, 64);
                            }
                            default -> ch.sendInBand(1, false, p, 0, 64); // no completion asked for
                        }
                        ch.receive(new org.vhdkit.stack.vmbus.VmbusPacket(), 5, TimeUnit.SECONDS);
                        ch.receive(new org.vhdkit.stack.vmbus.VmbusPacket(), 5, TimeUnit.SECONDS);
                    } catch (ChannelClosedException e) {
                        seen.append(e.closure().reason()).append(' ');
                    }
                    ch.close();
                }
                attack.complete(seen.toString().strip());
                while (true) {
                    ctx.safePoint();
                    java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
                }
            });
            assertEquals("GPA_OUTSIDE_MEMORY BAD_READ_INDEX DEVICE_REFUSED", attack.get(20, TimeUnit.SECONDS));
            TestVms.awaitFinished(w);
            assertTrue(w.reports().stream().allMatch(Workload.Report::clean), w.reports().toString());
            assertEquals(VmState.RUNNING, hostile.state(), "the hostile VM itself runs on");
            assertEquals(VmState.RUNNING, victim.state());
            hostile.turnOff();
            victim.turnOff();
        }
    }
}
