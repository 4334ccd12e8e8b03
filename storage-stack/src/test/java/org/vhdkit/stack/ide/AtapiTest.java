package org.vhdkit.stack.ide;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.ide.IdeVms.BUFFER;
import static org.vhdkit.stack.ide.IdeVms.SCRATCH;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.guest.ide.IdeDriver;
import org.vhdkit.stack.guest.ide.IdeException;
import org.vhdkit.stack.partition.GuestContext;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.vhd.testing.ExternalTools;

/** ATAPI DVD drives on the emulated IDE controller: ISO images read by a guest, and media changes. */
@Timeout(60)
class AtapiTest {
    private static final Slot DVD = Slot.ide(1, 0);

    @TempDir
    Path dir;

    /** An ISO-9660-like file: a primary volume descriptor "CD001" at block 16, a terminator at 17, patterned blocks. */
    static Path handMadeIso(Path dir, String name, int blocks, long seed) throws Exception {
        byte[] iso = IdeVms.pattern(seed, blocks * 2048);
        Arrays.fill(iso, 16 * 2048, 18 * 2048, (byte) 0);
        iso[16 * 2048] = 1;
        System.arraycopy("CD001".getBytes(StandardCharsets.US_ASCII), 0, iso, 16 * 2048 + 1, 5);
        iso[16 * 2048 + 6] = 1;
        iso[17 * 2048] = (byte) 255;
        System.arraycopy("CD001".getBytes(StandardCharsets.US_ASCII), 0, iso, 17 * 2048 + 1, 5);
        Path p = dir.resolve(name);
        Files.write(p, iso);
        return p;
    }

    /** Reads blocks {@code [first, first + count)} through ATAPI in pieces of {@code per}; returns their bytes. */
    private static byte[] readCd(GuestContext g, IdeDriver d, long first, int count, int per) throws Exception {
        byte[] out = new byte[count * 2048];
        for (int at = 0; at < count; at += per) {
            int n = Math.min(per, count - at);
            d.readCd(first + at, n, BUFFER);
            g.memory().read(BUFFER, java.lang.foreign.MemorySegment.ofArray(out), (long) at * 2048, (long) n * 2048);
        }
        return out;
    }

    @Test
    void aGuestReadsAnIsoMadeByXorrisoAndGetsTheFilesBytes() throws Exception {
        ExternalTools.assumeAvailable("xorriso");
        Path content = Files.createDirectories(dir.resolve("content"));
        Files.write(content.resolve("data.bin"), IdeVms.pattern(9, 100_000));
        Files.writeString(content.resolve("README.TXT"), "hello from the DVD\n");
        Path iso = dir.resolve("made.iso");
        ExternalTools.Result r = ExternalTools.run(Duration.ofSeconds(30), "xorriso", "-as", "mkisofs", "-quiet", "-V",
                "VHDKIT", "-o", iso.toString(), content.toString());
        assertEquals(0, r.exitCode(), r.stderr());
        byte[] file = Files.readAllBytes(iso);
        int blocks = file.length / 2048;
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), EmulatedIde.create())) {
            VirtualMachine vm = TestVms.ideVm(h, "xorriso", Attachment.dvd(DVD, iso));
            List<byte[]> got = IdeVms.run(vm, g -> {
                IdeDriver d = IdeDriver.open(g, 1, 0, SCRATCH);
                IdeDriver.Identity id = d.identify();
                if (!id.packet()) {
                    throw new AssertionError("not an ATAPI device");
                }
                d.testUnitReady();
                byte[] capacity = new byte[8];
                d.packet(new byte[] {0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, BUFFER, 8, 0xFFFE);
                g.memory().read(BUFFER, capacity);
                // The head of the image (system area and volume descriptors) in one 64 KiB READ, then its end.
                byte[] head = readCd(g, d, 0, 32, 32);
                byte[] tail = readCd(g, d, blocks - 8, 8, 3);
                return List.of(capacity, head, tail);
            });
            long lastLba = ((got.get(0)[0] & 0xFFL) << 24) | (got.get(0)[1] & 0xFF) << 16 | (got.get(0)[2] & 0xFF) << 8
                    | (got.get(0)[3] & 0xFF);
            assertEquals(blocks - 1, lastLba, "READ CAPACITY: the last block");
            assertArrayEquals(Arrays.copyOfRange(file, 0, 32 * 2048), got.get(1));
            assertEquals("CD001", new String(got.get(1), 16 * 2048 + 1, 5, StandardCharsets.US_ASCII),
                    "the primary volume descriptor at block 16");
            assertArrayEquals(Arrays.copyOfRange(file, (blocks - 8) * 2048, blocks * 2048), got.get(2));
            vm.turnOff();
        }
    }

    @Test
    void aGuestReadsAHandMadeIsoWithByteCountLimitsOfEverySize() throws Exception {
        Path iso = handMadeIso(dir, "hand.iso", 40, 3);
        byte[] file = Files.readAllBytes(iso);
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), EmulatedIde.create())) {
            VirtualMachine vm = TestVms.ideVm(h, "hand", Attachment.dvd(DVD, iso));
            List<byte[]> got = IdeVms.run(vm, g -> {
                IdeDriver d = IdeDriver.open(g, 1, 0, SCRATCH);
                d.identify();
                List<byte[]> out = new ArrayList<>();
                out.add(readCd(g, d, 0, 40, 40)); // 80 KiB: streamed through the 64 KiB buffer
                for (int limit : new int[] {2, 510, 2048, 3000, 0xFFFF}) {
                    byte[] cdb = {(byte) 0xA8, 0, 0, 0, 0, 16, 0, 0, 0, 2, 0, 0}; // READ(12) of blocks 16-17
                    long n = d.packet(cdb, BUFFER, 4096, limit);
                    if (n != 4096) {
                        throw new AssertionError("limit " + limit + ": " + n + " bytes");
                    }
                    out.add(IdeVms.read(g.memory(), BUFFER, 4096));
                }
                return out;
            });
            assertArrayEquals(file, got.get(0));
            for (int i = 1; i < got.size(); i++) {
                assertArrayEquals(Arrays.copyOfRange(file, 16 * 2048, 18 * 2048), got.get(i));
            }
            vm.turnOff();
        }
    }

    @Test
    void mediaChangesReachTheGuestInOrder() throws Exception {
        Path first = handMadeIso(dir, "first.iso", 20, 1);
        Path second = handMadeIso(dir, "second.iso", 24, 2);
        BlockingQueue<String> toHost = new ArrayBlockingQueue<>(16);
        BlockingQueue<String> toGuest = new ArrayBlockingQueue<>(16);
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), EmulatedIde.create())) {
            VirtualMachine vm = TestVms.ideVm(h, "media", Attachment.emptyDvd(DVD));
            CompletableFuture<List<String>> seen = IdeVms.start(vm, g -> {
                List<String> log = new ArrayList<>();
                IdeDriver d = IdeDriver.open(g, 1, 0, SCRATCH);
                d.identify();
                log.add(probe(d));
                log.add("event " + mediaEvent(g, d));
                toHost.add("empty seen");
                g.blocking(() -> toGuest.poll(20, TimeUnit.SECONDS));
                log.add(probe(d)); // the unit attention
                log.add(probe(d)); // ready
                log.add("event " + mediaEvent(g, d));
                log.add(new String(readCd(g, d, 16, 1, 1), 1, 5, StandardCharsets.US_ASCII));
                toHost.add("first read");
                g.blocking(() -> toGuest.poll(20, TimeUnit.SECONDS)); // the host swaps the medium
                log.add(probe(d));
                log.add(probe(d));
                byte[] cap = new byte[8];
                d.packet(new byte[] {0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, BUFFER, 8, 0xFFFE);
                g.memory().read(BUFFER, cap);
                log.add("last " + (cap[3] & 0xFF));
                toHost.add("second read");
                g.blocking(() -> toGuest.poll(20, TimeUnit.SECONDS)); // the host ejects
                log.add(probe(d));
                log.add("event " + mediaEvent(g, d));
                return log;
            });
            assertEquals("empty seen", toHost.poll(20, TimeUnit.SECONDS));
            assertEquals(Optional.empty(), EmulatedIde.media(vm, DVD));
            EmulatedIde.insert(vm, DVD, first);
            assertEquals(Optional.of(first), EmulatedIde.media(vm, DVD));
            toGuest.add("go");
            assertEquals("first read", toHost.poll(20, TimeUnit.SECONDS));
            EmulatedIde.insert(vm, DVD, second);
            toGuest.add("go");
            assertEquals("second read", toHost.poll(20, TimeUnit.SECONDS));
            assertEquals(Optional.of(second), EmulatedIde.eject(vm, DVD));
            toGuest.add("go");
            assertEquals(List.of(
                    "NOT READY 3A", "event 0",
                    "UNIT ATTENTION 28", "ready", "event 2", "CD001",
                    "UNIT ATTENTION 28", "ready", "last 23",
                    "NOT READY 3A", "event 3"), IdeVms.await(seen));
            VmException noDrive = assertThrows(VmException.class, () -> EmulatedIde.eject(vm, Slot.ide(0, 0)));
            assertTrue(noDrive.getMessage().contains("no DVD drive at ide:0:0"), noDrive.getMessage());
            vm.turnOff();
        }
    }

    /** TEST UNIT READY, and on failure REQUEST SENSE: "ready" or the sense key and ASC. */
    private static String probe(IdeDriver d) throws IdeException {
        try {
            d.testUnitReady();
            return "ready";
        } catch (IdeException e) {
            byte[] sense = d.requestSense();
            String key = switch (e.senseKey()) {
                case 2 -> "NOT READY";
                case 5 -> "ILLEGAL REQUEST";
                case 6 -> "UNIT ATTENTION";
                default -> "key " + e.senseKey();
            };
            if ((sense[2] & 0x0F) != e.senseKey()) {
                throw new AssertionError("the error register says key " + e.senseKey() + ", the sense data "
                        + (sense[2] & 0x0F));
            }
            return key + String.format(" %02X", sense[12] & 0xFF);
        }
    }

    /** GET EVENT STATUS NOTIFICATION, polled, media class: the event code. */
    private static int mediaEvent(GuestContext g, IdeDriver d) throws Exception {
        d.packet(new byte[] {0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8, 0}, BUFFER, 8, 0xFFFE);
        return g.memory().getByte(BUFFER + 4) & 0x0F;
    }

    @Test
    void theGuestEjectsUnlessItPreventedRemoval() throws Exception {
        Path iso = handMadeIso(dir, "eject.iso", 20, 5);
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), EmulatedIde.create())) {
            VirtualMachine vm = TestVms.ideVm(h, "eject", Attachment.dvd(DVD, iso));
            List<String> log = IdeVms.run(vm, g -> {
                List<String> out = new ArrayList<>();
                IdeDriver d = IdeDriver.open(g, 1, 0, SCRATCH);
                out.add(probe(d));
                d.packet(new byte[] {0x1E, 0, 0, 0, 1, 0}, BUFFER, 0, 0xFFFE); // prevent
                try {
                    d.packet(new byte[] {0x1B, 0, 0, 0, 2, 0}, BUFFER, 0, 0xFFFE); // eject
                    out.add("ejected while prevented");
                } catch (IdeException e) {
                    byte[] sense = d.requestSense();
                    out.add(String.format("refused %d %02X/%02X", e.senseKey(), sense[12], sense[13]));
                }
                d.packet(new byte[] {0x1E, 0, 0, 0, 0, 0}, BUFFER, 0, 0xFFFE); // allow
                d.packet(new byte[] {0x1B, 0, 0, 0, 2, 0}, BUFFER, 0, 0xFFFE);
                out.add(probe(d));
                return out;
            });
            assertEquals(List.of("ready", "refused 5 53/02", "NOT READY 3A"), log);
            assertEquals(Optional.empty(), EmulatedIde.media(vm, DVD), "the host sees the guest's eject");
            assertEquals(Optional.empty(), vm.configuration().attachment(DVD).flatMap(Attachment::media),
                    "and the configuration records it");
            vm.turnOff();
        }
    }
}
