package org.vhdkit.cli.vm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.StreamSupport;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.stack.guest.workload.Workload;
import org.vhdkit.vhd.VhdDisk;

/**
 * {@code vhd vm run}: the built-in workload through the synthetic SCSI path, from the command line,
 * and what it leaves on the disk.
 */
@Timeout(60)
class VmRunCommandTest {
    private static final long DISK = 16 << 20;

    @TempDir
    Path tmp;

    private VmFolder vms;
    private Path disk;

    @BeforeEach
    void vmWithADisk() throws Exception {
        vms = new VmFolder(tmp.resolve("vms"));
        vms.vm("create", "--memory", "16M", "web").assertSuccess();
        disk = VmFolder.dynamicVhd(tmp, "d.vhd", DISK);
        vms.vm("attach", "web", "--controller", "scsi:0", "--lun", "0", disk.toString()).assertSuccess();
    }

    @Test
    void patternVerifyAndRandomMixThenTheDiskChecksClean() throws Exception {
        CliRun run = vms.vm("run", "web", "--workload", "pattern,verify,random", "--block-size", "4K",
                "--queue-depth", "32", "--count", "2000").assertSuccess();
        List<String> lines = run.out().lines().toList();
        assertEquals("Workload on scsi:0:0 of 'web' (" + disk + "): 4 KiB requests, 32 in flight", lines.get(0));
        assertTrue(lines.get(1).matches("  write: {2}4096 requests, 16 MiB in [0-9.]+ s: [0-9]+ IOPS, [0-9.]+ MiB/s;"
                + " [0-9.]+ signals, [0-9.]+ interrupts per request"), lines.get(1));
        assertTrue(lines.get(2).startsWith("  verify: 4096 requests, 16 MiB in "), lines.get(2));
        assertTrue(lines.get(3).matches("  mix: {4}2000 requests, 7.81 MiB in .* IOPS, .*"), lines.get(3));
        assertTrue(lines.get(4).startsWith("  flush:  1 request in "), lines.get(4));
        assertTrue(lines.get(5).matches("VMBus signals: [0-9]+ for 10193 requests \\([0-9.]+ per request\\)"),
                lines.get(5));
        assertEquals("'web' is Off", lines.get(6));
        assertEquals(7, lines.size());

        assertEquals(0, CliRun.vhd(FileSystems.getDefault(), "check", "-q", disk.toString()).assertSuccess()
                .exitCode());
        try (VhdDisk d = org.vhdkit.vhd.Vhd.openReadOnly(disk)) {
            for (long lba : new long[] {0, 1, DISK / 512 / 2, DISK / 512 - 1}) {
                byte[] sector = new byte[512];
                d.read(lba * 512, sector);
                assertArrayEquals(Workload.expectedSector(lba, 1), sector, "LBA " + lba);
            }
        }
    }

    @Test
    void jsonAndAVerifyThatFindsAnotherSeed() {
        vms.vm("run", "web", "--workload", "pattern", "--seed", "7").assertSuccess();
        JsonNode clean = vms.vm("run", "web", "-o", "json", "--workload", "verify", "--seed", "7").assertSuccess()
                .json();
        assertEquals(List.of("name", "disk", "path", "mode", "blockSize", "queueDepth", "phases", "requests",
                "intercepts", "interceptsPerRequest", "signals", "signalsPerRequest", "state", "stopReason", "clean"),
                fields(clean));
        assertEquals("synthetic", clean.get("mode").asText());
        assertEquals(List.of("verify", "flush"), StreamSupport.stream(clean.get("phases").spliterator(), false)
                .map(p -> p.get("phase").asText()).toList());
        assertEquals(List.of("phase", "requests", "bytes", "seconds", "iops", "megabytesPerSecond",
                "signalsPerRequest", "interruptsPerRequest", "mismatches", "firstMismatch", "failed"),
                fields(clean.get("phases").get(0)));
        assertEquals(DISK, clean.get("phases").get(0).get("bytes").asLong());
        assertEquals(65536, clean.get("blockSize").asInt());
        assertTrue(clean.get("clean").asBoolean());
        assertEquals("Off", clean.get("state").asText());

        CliRun other = vms.vm("run", "web", "--workload", "verify", "--seed", "8", "--span", "1M");
        assertEquals(ExitCodes.DIFFERENT, other.exitCode(), other.err());
        assertTrue(other.out().contains("  verify: 16 requests, 1 MiB in ") && other.out().contains("; 2048 sectors"
                + " differ, the first at LBA 0"), other.out());
    }

    @Test
    void aRunSentToTheHostingProcess() throws Exception {
        vms.vm("create", "--memory", "16M", "db").assertSuccess();
        CompletableFuture<CliRun> host = vms.host("start", "db");
        JsonNode report = vms.vm("run", "web", "-o", "json", "--workload", "random", "--count", "500")
                .assertSuccess().json();
        assertTrue(report.get("clean").asBoolean());
        assertEquals(500, report.get("phases").get(0).get("requests").asLong());
        assertEquals("Running", vms.vm("show", "-o", "json", "db").assertSuccess().json().get("state").asText());
        vms.vm("stop", "db").assertSuccess();
        VmFolder.ended(host).assertSuccess();
    }

    @Test
    void refusals() throws Exception {
        String prefix = "vhd: cannot run the workload on 'web': ";
        assertEquals(prefix + "the workload needs 67 MiB of guest memory for 256 requests of 256 KiB, and 'web' has"
                + " 16 MiB ('vhd vm set --memory ...')", vms.vm("run", "web", "--queue-depth", "256", "--block-size",
                "256K").assertFailure(ExitCodes.REFUSED));
        assertEquals(prefix + "a block size is a multiple of 512 up to 256 KiB, not 1000",
                vms.vm("run", "web", "--block-size", "1000").assertFailure(ExitCodes.REFUSED));
        assertEquals(prefix + "a queue depth of 1 to 256, not 0",
                vms.vm("run", "web", "--queue-depth", "0").assertFailure(ExitCodes.REFUSED));
        // One rule: a value that parses but is out of range is refused (65), as a size or block size is.
        assertEquals("vhd: --span must be a positive multiple of 512 bytes, not 1000",
                vms.vm("run", "web", "--span", "1000").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: invalid value for option '--duration': '0s': a duration must be longer than 0; try 'vhd"
                + " vm run --help'", vms.vm("run", "web", "--workload", "random", "--duration", "0s")
                .assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: --count and --duration are for --workload random; try 'vhd vm run --help'",
                vms.vm("run", "web", "--count", "5").assertFailure(ExitCodes.USAGE));
        assertTrue(vms.vm("run", "web", "--workload", "fast").assertFailure(ExitCodes.USAGE)
                .contains("'fast' is not a workload; use pattern, verify or random"));
        assertEquals(prefix + "nothing is attached at scsi:0:1",
                vms.vm("run", "web", "--disk", "scsi:0:1").assertFailure(ExitCodes.REFUSED));
        assertEquals(prefix + "nothing is attached at ide:0:0",
                vms.vm("run", "web", "--disk", "ide:0:0").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: --mode is for IDE disks; scsi:0:0 is on the synthetic SCSI path; try 'vhd vm run --help'",
                vms.vm("run", "web", "--mode", "pio").assertFailure(ExitCodes.USAGE));

        vms.vm("detach", "web", "--controller", "scsi:0:0").assertSuccess();
        vms.vm("attach", "web", "--controller", "scsi:2:9", "--read-only", disk.toString()).assertSuccess();
        assertEquals(prefix + "scsi:2:9 is attached read-only, and the workload would write to it; use --workload"
                + " verify, or --read-percent 100", vms.vm("run", "web").assertFailure(ExitCodes.REFUSED));
        vms.vm("set", "--integration", "off", "web").assertSuccess();
        assertEquals(prefix + "its integration components are off, and the workload drives the synthetic SCSI path,"
                + " which needs them ('vhd vm set --integration on web')",
                vms.vm("run", "web", "--workload", "verify").assertFailure(ExitCodes.REFUSED));
        vms.vm("create", "bare").assertSuccess();
        assertEquals("vhd: cannot run the workload on 'bare': it has no disk; attach one with 'vhd vm attach bare"
                + " --controller scsi:0 --lun 0 DISK.vhd'", vms.vm("run", "bare").assertFailure(ExitCodes.REFUSED));
    }

    @Test
    void theGuestFindsTheDiskOnAControllerItCountsItself() throws Exception {
        vms.vm("detach", "web", "--controller", "scsi:0:0").assertSuccess();
        vms.vm("attach", "web", "--controller", "scsi:2:9", disk.toString()).assertSuccess();
        Path other = VmFolder.dynamicVhd(tmp, "other.vhd", 1 << 20);
        vms.vm("attach", "web", "--controller", "scsi:1:0", other.toString()).assertSuccess();
        CliRun run = vms.vm("run", "web", "--disk", "scsi:2:9", "--span", "2M").assertSuccess();
        assertTrue(run.out().startsWith("Workload on scsi:2:9 of 'web' (" + disk + ")"), run.out());
        assertTrue(run.out().contains("  write:  32 requests, 2 MiB in "), run.out());
        // The synthetic path: rates in MiB/s like the sizes, and the VMBus signals and interrupts per request.
        assertTrue(run.out().lines().anyMatch(l -> l.matches("  write:  32 requests, 2 MiB in [0-9.]+ s: [0-9]+ IOPS,"
                + " [0-9.]+ MiB/s; [0-9.]+ signals, [0-9.]+ interrupts per request")), run.out());
        assertTrue(run.out().lines().anyMatch(l -> l.matches("  flush: +1 request in [0-9.]+ s; [0-9.]+ signals, [0-9.]+"
                + " interrupts per request")), run.out());
        assertTrue(run.out().lines().anyMatch(l -> l.matches("VMBus signals: [0-9]+ for [0-9]+ requests \\([0-9.]+ per"
                + " request\\)")), run.out());
    }

    @Test
    void anIdeDiskByPioAndDmaReportsItsIntercepts() throws Exception {
        Path ide = VmFolder.dynamicVhd(tmp, "ide.vhd", 1 << 20);
        vms.vm("attach", "web", "--controller", "ide:0:0", ide.toString()).assertSuccess();
        CliRun pio = vms.vm("run", "web", "--disk", "ide:0:0", "--mode", "pio", "--seed", "5").assertSuccess();
        List<String> lines = pio.out().lines().toList();
        assertEquals("Workload on ide:0:0 of 'web' (" + ide + "): 64 KiB requests, one at a time by PIO (emulated"
                + " IDE)", lines.get(0));
        // IDE has no VMBus: no signals; sizes and rates both binary; a flush moves no data, so no rate.
        assertTrue(lines.get(1).matches("  write:  16 requests, 1 MiB in [0-9.]+ s: [0-9]+ IOPS, [0-9.]+ MiB/s"),
                lines.get(1));
        assertTrue(lines.get(2).matches("  verify: 16 requests, 1 MiB in [0-9.]+ s: [0-9]+ IOPS, [0-9.]+ MiB/s"),
                lines.get(2));
        assertTrue(lines.get(3).matches("  flush:  1 request in [0-9.]+ s"), lines.get(3));
        assertTrue(lines.get(4).matches("Intercepts: [0-9]+ for 33 requests \\([0-9.]+ per request\\)"), lines.get(4));
        assertEquals("'web' is Off", lines.get(5));

        JsonNode dma = vms.vm("run", "web", "-o", "json", "--disk", "ide:0:0", "--mode", "dma", "--workload",
                "verify", "--seed", "5").assertSuccess().json();
        assertEquals("dma", dma.get("mode").asText());
        assertEquals(1, dma.get("queueDepth").asInt());
        assertTrue(dma.get("clean").asBoolean());
        JsonNode pioJson = vms.vm("run", "web", "-o", "json", "--disk", "ide:0:0", "--mode", "pio", "--workload",
                "verify", "--seed", "5").assertSuccess().json();
        // PIO: a REP INSD/OUTSD and a status read per sector, hundreds of intercepts per 64 KiB request; DMA a handful.
        assertTrue(pioJson.get("interceptsPerRequest").asDouble() > 100, pioJson.toString());
        assertTrue(dma.get("interceptsPerRequest").asDouble() < pioJson.get("interceptsPerRequest").asDouble(),
                dma + " vs " + pioJson);
        // The synthetic run beside it: no intercepts, at most a signal or so per request.
        JsonNode scsi = vms.vm("run", "web", "-o", "json", "--disk", "scsi:0:0").assertSuccess().json();
        assertEquals(0, scsi.get("intercepts").asLong());
        assertTrue(scsi.get("signalsPerRequest").asDouble() <= 1.0, scsi.toString());

        CliRun wrongSeed = vms.vm("run", "web", "--disk", "ide:0:0", "--workload", "verify", "--seed", "6");
        assertEquals(ExitCodes.DIFFERENT, wrongSeed.exitCode(), wrongSeed.out() + wrongSeed.err());
        assertTrue(wrongSeed.out().contains("sectors differ, the first at LBA 0"), wrongSeed.out());

        // The same random mix as on SCSI, one request at a time; its reads checked against the pattern.
        JsonNode mix = vms.vm("run", "web", "-o", "json", "--disk", "ide:0:0", "--workload", "verify,random",
                "--count", "200", "--block-size", "4K", "--seed", "5").assertSuccess().json();
        assertEquals(List.of("verify", "mix", "flush"), mix.get("phases").findValuesAsText("phase"), mix.toString());
        assertEquals(200, mix.get("phases").get(1).get("requests").asLong(), mix.toString());
        assertTrue(mix.get("clean").asBoolean(), mix.toString());
        assertEquals("vhd: --queue-depth is for SCSI disks; IDE has no queue (one request at a time); try 'vhd vm"
                + " run --help'", vms.vm("run", "web", "--disk", "ide:0:0", "--queue-depth", "4")
                .assertFailure(ExitCodes.USAGE));
        assertTrue(vms.vm("run", "web", "--disk", "ide:0:0", "--mode", "udma").assertFailure(ExitCodes.USAGE)
                .contains("'udma' is not an IDE mode; use pio, pio-multiple or dma"));
        CliRun check = CliRun.vhd(FileSystems.getDefault(), "check", ide.toString()).assertSuccess();
        assertTrue(check.out().contains("clean"), check.out());
    }

    private static List<String> fields(JsonNode node) {
        return StreamSupport.stream(((Iterable<String>) node::fieldNames).spliterator(), false).toList();
    }
}
