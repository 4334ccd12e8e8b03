package org.vhdkit.stack.guest.storvsc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.BEGIN_INITIALIZATION;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.END_INITIALIZATION;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.EXECUTE_SRB;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.QUERY_PROPERTIES;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.QUERY_PROTOCOL_VERSION;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.SRB_STATUS_ABORTED;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.SRB_STATUS_ERROR;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.STATUS_INVALID_DEVICE_STATE;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.STATUS_REVISION_MISMATCH;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.STATUS_UNSUCCESSFUL;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.VERSION_WIN6;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.VERSION_WIN7;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.VERSION_WIN8;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.guest.GuestPages;
import org.vhdkit.stack.partition.GuestContext;
import org.vhdkit.stack.protocol.scsi.ScsiOpcodes;
import org.vhdkit.stack.protocol.storage.StorageProtocol;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vmbus.ChannelClosedReason;

/**
 * The guest's storage driver against a provider that misbehaves on purpose
 * ({@link MisbehavingProvider}): version fallback and refusal, refused initialization, a channel
 * closed under a request, REFUSED answers, and a request retried after a unit attention whose disk
 * has gone by then. Each ends in a StorvscException or an {@link IoStatus}, never a hang or a
 * runtime exception, and what still works keeps working.
 */
@Timeout(60)
class StorvscErrorTest {
    private static final long BUFFER = 0x40_0000;

    @TempDir
    Path dir;
    private int runs;

    interface GuestCheck {
        List<String> run(GuestContext ctx) throws Exception;
    }

    /** Runs {@code check} on processor 0 of a VM whose only storage provider is {@code provider}. */
    private List<String> inGuest(MisbehavingProvider provider, GuestCheck check) throws Exception {
        CompletableFuture<List<String>> result = new CompletableFuture<>();
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms" + runs++), provider.provider())) {
            VirtualMachine vm = h.create(TestVms.config("vm"));
            vm.start(ctx -> {
                if (ctx.processor() == 0) {
                    try {
                        result.complete(check.run(ctx));
                    } catch (Exception | AssertionError e) {
                        result.completeExceptionally(e);
                    }
                }
            });
            List<String> lines = result.get(30, TimeUnit.SECONDS);
            vm.turnOff();
            return lines;
        }
    }

    private static GuestPages pages(GuestContext ctx) {
        return new GuestPages(ctx.memory(), 0x10_0000, 0x20_0000);
    }

    interface DiskCheck {
        void run(GuestContext ctx, Storvsc storvsc, StorvscDisk disk, List<String> lines) throws Exception;
    }

    /** Opens the driver against {@code provider} and runs {@code check} on LUN 0; returns the lines it added. */
    private List<String> onDisk0(MisbehavingProvider provider, DiskCheck check) throws Exception {
        return inGuest(provider, ctx -> {
            List<String> lines = new ArrayList<>();
            try (Storvsc s = Storvsc.open(ctx, pages(ctx))) {
                check.run(ctx, s, s.disk(0, 0).orElseThrow(), lines);
            }
            return lines;
        });
    }

    /** Opens the driver; returns the refusal's message, or "opened". */
    private List<String> openOutcome(MisbehavingProvider provider) throws Exception {
        return inGuest(provider, ctx -> {
            try (Storvsc s = Storvsc.open(ctx, pages(ctx))) {
                return List.of("opened " + s.controllers().size());
            } catch (StorvscException e) {
                return List.of(e.getMessage());
            }
        });
    }

    /** Writes a pattern to 8 blocks at lba 16 and reads it back; "OK OK same" when both worked. */
    private static String writeAndReadBack(GuestContext ctx, StorvscDisk d) throws Exception {
        byte[] pattern = new byte[8 * 512];
        Arrays.fill(pattern, (byte) 0x5A);
        ctx.memory().write(BUFFER, pattern);
        StorvscController c = d.controller();
        String w = finish(c, d.write(16, 8, BUFFER));
        ctx.memory().write(BUFFER, new byte[pattern.length]);
        String r = finish(c, d.read(16, 8, BUFFER));
        byte[] back = new byte[pattern.length];
        ctx.memory().read(BUFFER, back);
        return w + " " + r + (Arrays.equals(pattern, back) ? " same" : " differs");
    }

    /** Awaits the request {@code tag}, releases it and returns its status. */
    private static String finish(StorvscController c, int tag) throws StorvscException {
        assertEquals(tag, c.awaitCompletion());
        String status = c.status(tag).name();
        c.release(tag);
        return status;
    }

    @Test
    void theDriverFallsBackToTheNewestVersionTheParentAcceptsAndWorksWithIt() throws Exception {
        for (int newest : new int[] {VERSION_WIN8, VERSION_WIN7, VERSION_WIN6}) {
            List<Integer> proposed = new CopyOnWriteArrayList<>();
            MisbehavingProvider provider = new MisbehavingProvider((p, r) -> {
                if (r.operation() != QUERY_PROTOCOL_VERSION) {
                    return false;
                }
                proposed.add(r.version());
                if (r.version() > newest) {
                    p.answerInit(r, STATUS_REVISION_MISMATCH);
                    return true;
                }
                return false;
            });
            List<String> seen = inGuest(provider, ctx -> {
                try (Storvsc s = Storvsc.open(ctx, pages(ctx))) {
                    StorvscDisk d = s.disk(0, 0).orElseThrow();
                    return List.of(Integer.toHexString(d.controller().protocolVersion()), d.blocks() + " blocks",
                            writeAndReadBack(ctx, d));
                }
            });
            assertEquals(List.of(Integer.toHexString(newest), MisbehavingProvider.BLOCKS + " blocks", "OK OK same"), seen,
                    "a parent whose newest version is 0x" + Integer.toHexString(newest));
            List<Integer> expected = new ArrayList<>();
            for (int v : StorageProtocol.VERSIONS) {
                expected.add(v);
                if (v == newest) {
                    break;
                }
            }
            assertEquals(expected, proposed, "newest first, down to the one accepted");
        }
    }

    @Test
    void aParentThatAcceptsNoVersionIsRefusedWithTheVersionsTried() throws Exception {
        List<String> seen = openOutcome(MisbehavingProvider.answering(QUERY_PROTOCOL_VERSION, STATUS_REVISION_MISMATCH));
        assertEquals(1, seen.size());
        assertTrue(seen.getFirst().startsWith("the parent accepts none of the storage protocol versions "), seen.getFirst());
        for (int v : StorageProtocol.VERSIONS) {
            assertTrue(seen.getFirst().contains(StorageProtocol.describeVersion(v)), seen.getFirst());
        }
    }

    @Test
    void aVersionQueryAnsweredWithAnErrorOtherThanMismatchIsRefused() throws Exception {
        List<String> seen = openOutcome(MisbehavingProvider.answering(QUERY_PROTOCOL_VERSION, STATUS_INVALID_DEVICE_STATE));
        assertTrue(seen.getFirst().matches("storage channel \\d+: the parent answered QUERY_PROTOCOL_VERSION with status"
                + " 0xc0000184"), seen.getFirst());
    }

    @Test
    void aRefusedInitializationStepIsReportedByName() throws Exception {
        for (int step : new int[] {BEGIN_INITIALIZATION, QUERY_PROPERTIES, END_INITIALIZATION}) {
            List<String> seen = openOutcome(MisbehavingProvider.answering(step, STATUS_UNSUCCESSFUL));
            assertTrue(seen.getFirst().matches("storage channel \\d+: the parent answered "
                    + StorageProtocol.operationName(step) + " with status 0xc0000001"), seen.getFirst());
        }
    }

    @Test
    void aChannelClosedUnderARequestEndsTheWaitAndLaterRequestsWithAStorvscExceptionUntilReopened() throws Exception {
        MisbehavingProvider provider = MisbehavingProvider.onceOn(ScsiOpcodes.READ_16,
                (p, r) -> r.channel().close(ChannelClosedReason.DEVICE_CLOSED, "the provider went away"));
        List<String> seen = onDisk0(provider, (ctx, s, d, lines) -> {
            StorvscController c = d.controller();
            d.read(0, 1, BUFFER);
            lines.add(assertThrows(StorvscException.class, c::awaitCompletion).getMessage());
            lines.add("open " + c.isOpen());
            lines.add(assertThrows(StorvscException.class, () -> d.write(0, 1, BUFFER)).getMessage());
            lines.add("refreshed " + s.refresh() + ", " + s.controllers().size() + " controller, open "
                    + s.controllers().getFirst().isOpen() + ", the same " + (s.controllers().getFirst() == c));
            lines.add(writeAndReadBack(ctx, s.disk(0, 0).orElseThrow()));
        });
        assertTrue(seen.get(0).matches("storage channel \\d+ closed: .*"), seen.get(0));
        assertTrue(seen.get(0).contains("the provider went away"), seen.get(0));
        assertEquals("open false", seen.get(1));
        assertTrue(seen.get(2).matches("storage channel \\d+ closed: .*"), seen.get(2));
        assertEquals("refreshed true, 1 controller, open true, the same false", seen.get(3),
                "the closed controller is forgotten and the offer, still there, opened again");
        assertEquals("OK OK same", seen.get(4));
    }

    @Test
    void anSrbErrorOrAbortComesBackRefusedAndTheNextRequestWorks() throws Exception {
        List<Integer> answered = new CopyOnWriteArrayList<>();
        MisbehavingProvider provider = new MisbehavingProvider((p, r) -> {
            if (r.operation() == EXECUTE_SRB && r.opcode() == ScsiOpcodes.READ_16 && answered.size() < 3) {
                int[] how = {SRB_STATUS_ERROR, SRB_STATUS_ABORTED, SRB_STATUS_ERROR};
                int which = answered.size();
                answered.add(which);
                // the last: an error with CHECK CONDITION but no sense data is not a check condition
                p.answerSrb(r, how[which], which == 2 ? 0x02 : 0, -1, 0, 0);
                return true;
            }
            return false;
        });
        List<String> seen = onDisk0(provider, (ctx, s, d, lines) -> {
            StorvscController c = d.controller();
            for (int i = 0; i < 3; i++) {
                int tag = d.read(0, 1, BUFFER);
                assertEquals(tag, c.awaitCompletion());
                lines.add(c.status(tag) + " " + c.transferred(tag) + " " + c.senseKey(tag));
                c.release(tag);
            }
            lines.add(writeAndReadBack(ctx, d));
        });
        assertEquals(List.of("REFUSED 0 -1", "REFUSED 0 -1", "REFUSED 0 -1", "OK OK same"), seen);
    }

    @Test
    void aRequestRetriedAfterAUnitAttentionCompletesNoDeviceWhenItsDiskHasGone() throws Exception {
        MisbehavingProvider provider = MisbehavingProvider.onceOn(ScsiOpcodes.WRITE_16, (p, r) -> {
            p.target.detach(0); // the disk goes, and the guest is told the LUNs changed
            p.answerSrb(r, SRB_STATUS_ERROR, 0x02, 0x6, 0x3F, 0x0E);
        });
        List<String> seen = onDisk0(provider, (ctx, s, d, lines) -> {
            StorvscController c = d.controller();
            long scans = c.scanGeneration();
            int tag = d.write(0, 1, BUFFER);
            assertEquals(tag, c.awaitCompletion());
            lines.add(c.status(tag) + " rescanned " + (c.scanGeneration() - scans) + " present " + d.present()
                    + " disks " + c.disks().size() + " in flight " + c.inFlight());
            c.release(tag);
        });
        assertEquals(List.of("NO_DEVICE rescanned 1 present false disks 0 in flight 0"), seen);
    }

    @Test
    void aRequestRetriedAfterAUnitAttentionGoesThroughWhenItsDiskIsStillThere() throws Exception {
        MisbehavingProvider provider = MisbehavingProvider.onceOn(ScsiOpcodes.WRITE_16,
                (p, r) -> p.answerSrb(r, SRB_STATUS_ERROR, 0x02, 0x6, 0x29, 0x00));
        List<String> seen = inGuest(provider, ctx -> {
            try (Storvsc s = Storvsc.open(ctx, pages(ctx))) {
                StorvscDisk d = s.disk(0, 0).orElseThrow();
                long scans = d.controller().scanGeneration();
                String outcome = writeAndReadBack(ctx, d);
                return List.of(outcome + " rescanned " + (d.controller().scanGeneration() - scans));
            }
        });
        assertEquals(List.of("OK OK same rescanned 1"), seen);
    }
}
