package org.vhdkit.cli.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.conventions.ExitCodes;

/** {@code vhd vm attach} and {@code detach} on a VM that is Off: the slots and the rules. */
@Timeout(60)
class VmAttachCommandTest {
    @TempDir
    Path tmp;

    private VmFolder vms;
    private Path a;
    private Path b;

    @BeforeEach
    void vm() throws Exception {
        vms = new VmFolder(tmp.resolve("vms"));
        vms.vm("create", "--memory", "16M", "web").assertSuccess();
        a = VmFolder.dynamicVhd(tmp, "a.vhd", 8 << 20);
        b = VmFolder.dynamicVhd(tmp, "b.vhd", 8 << 20);
    }

    private CliRun attach(String... args) {
        String[] all = new String[args.length + 2];
        all[0] = "attach";
        all[1] = "web";
        System.arraycopy(args, 0, all, 2, args.length);
        return vms.vm(all);
    }

    @Test
    void everyKindAtItsSlotAndBackAgain() throws Exception {
        Path iso = Files.write(tmp.resolve("setup.iso"), new byte[2048]);
        Path raw = Files.write(tmp.resolve("raw.img"), new byte[1 << 20]);
        assertEquals("Attached the disk " + a + " to 'web' at ide:0:0\n",
                attach("--controller", "ide:0:0", a.toString()).assertSuccess().out());
        assertEquals("Attached a DVD drive with " + iso + " to 'web' at ide:1:0\n",
                attach("--controller", "IDE:1:0", "--dvd", iso.toString()).assertSuccess().out());
        assertEquals("Attached an empty DVD drive to 'web' at ide:1:1\n",
                attach("--controller", "ide:1:1", "--dvd").assertSuccess().out());
        assertEquals("Attached the disk " + b + " to 'web' at scsi:0:5, read-only\n",
                attach("--controller", "scsi:0", "--lun", "5", "--read-only", b.toString()).assertSuccess().out());
        JsonNode json = attach("--output", "json", "--controller", "scsi:3:63", "--passthrough", raw.toString())
                .assertSuccess().json();
        assertEquals("{\"name\":\"web\",\"slot\":\"scsi:3:63\",\"kind\":\"passthrough\",\"path\":\"" + raw
                + "\",\"readOnly\":false,\"hot\":false}", json.toString());

        String show = vms.vm("show", "web").assertSuccess().out();
        assertTrue(show.endsWith("""
                Attachments: 5
                  ide:0:0    disk         %s
                  ide:1:0    dvd          %s
                  ide:1:1    dvd          (empty)
                  scsi:0:5   disk         %s  read-only
                  scsi:3:63  passthrough  %s
                """.formatted(a, iso, b, raw)), show);

        assertEquals("Detached the pass-through disk " + raw + " from 'web' at scsi:3:63; the file is kept\n",
                vms.vm("detach", "web", "--controller", "scsi:3", "--lun", "63").assertSuccess().out());
        JsonNode detached = vms.vm("detach", "-o", "json", "web", "--controller", "scsi:0:5").assertSuccess().json();
        assertEquals("{\"name\":\"web\",\"slot\":\"scsi:0:5\",\"kind\":\"disk\",\"path\":\"" + b
                + "\",\"readOnly\":true,\"hot\":false}", detached.toString());
        assertTrue(Files.isRegularFile(raw) && Files.isRegularFile(b));
        assertEquals(3, vms.vm("show", "-o", "json", "web").assertSuccess().json().get("attachments").size());
    }

    @Test
    void aFifthIdeDeviceIsRefusedWithTheRule() {
        attach("--controller", "ide:0:0", a.toString()).assertSuccess();
        attach("--controller", "ide:0:1", b.toString()).assertSuccess();
        attach("--controller", "ide:1:0", "--dvd").assertSuccess();
        attach("--controller", "ide:1:1", "--dvd").assertSuccess();
        Path c = tmp.resolve("c.vhd");
        assertEquals("vhd: cannot attach an empty DVD drive to 'web': all 4 IDE slots are taken (a VM has 2 IDE"
                + " controllers with 2 devices each); use SCSI (--controller scsi:N --lun L) or detach one first",
                attach("--controller", "ide:1:1", "--dvd").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: ide:2:0 does not exist: a VM has IDE controllers 0 and 1",
                attach("--controller", "ide:2:0", c.toString()).assertFailure(ExitCodes.REFUSED));
    }

    @Test
    void slotRulesAreRefusedWithTheRule() throws Exception {
        Path iso = Files.write(tmp.resolve("x.iso"), new byte[2048]);
        attach("--controller", "scsi:0", "--lun", "0", a.toString()).assertSuccess();
        assertEquals("vhd: cannot attach the disk " + a + " to 'web': " + a + " is already attached at scsi:0:0;"
                + " a file can be attached to a VM once",
                attach("--controller", "scsi:0", "--lun", "1", a.toString()).assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot attach the disk " + b + " to 'web': scsi:0:0 already holds the disk " + a
                + "; detach it first",
                attach("--controller", "scsi:0:0", b.toString()).assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot attach a DVD drive with " + iso + " to 'web': a DVD drive can only be attached to"
                + " IDE (a generation-1 VM has no SCSI DVD drives), not to scsi:1:0",
                attach("--controller", "scsi:1", "--lun", "0", "--dvd", iso.toString())
                        .assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: scsi:0:64 does not exist: a SCSI controller has LUNs 0 to 63",
                attach("--controller", "scsi:0", "--lun", "64", b.toString()).assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: scsi:0:-1 does not exist: a SCSI controller has LUNs 0 to 63",
                attach("--controller", "scsi:0", "--lun", "-1", b.toString()).assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: scsi:4:0 does not exist: a VM has SCSI controllers 0 to 3",
                attach("--controller", "scsi:4", "--lun", "0", b.toString()).assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: ide:0:2 does not exist: an IDE controller has devices 0 (master) and 1 (slave)",
                attach("--controller", "ide:0:2", b.toString()).assertFailure(ExitCodes.REFUSED));
        // Nothing of that changed the VM.
        assertEquals(1, vms.vm("show", "-o", "json", "web").assertSuccess().json().get("attachments").size());
    }

    /** A file may be in a VM's chains once, as a top or as a parent: the VM could never open it twice. */
    @Test
    void aFileAlreadyInAChainIsRefusedAndVmCheckReportsIt() throws Exception {
        Path child = tmp.resolve("child.vhd");
        CliRun.vhd(java.nio.file.FileSystems.getDefault(), "create", "--parent", a.toString(), child.toString())
                .assertSuccess();
        attach("--controller", "scsi:0:0", child.toString()).assertSuccess();
        assertEquals("vhd: cannot attach the disk " + a + " to 'web': " + a + " is already in the chain of the disk"
                + " at scsi:0:0 (" + child + "); a file can be in a VM's disks once, as a disk or as a parent",
                attach("--controller", "scsi:0:1", a.toString()).assertFailure(ExitCodes.REFUSED));

        // The other way round: a child whose parent is attached already.
        vms.vm("detach", "web", "--controller", "scsi:0:0").assertSuccess();
        attach("--controller", "scsi:0:1", a.toString()).assertSuccess();
        assertEquals("vhd: cannot attach the disk " + child + " to 'web': " + a + " is already in the chain of the"
                + " disk at scsi:0:1 (" + a + "); a file can be in a VM's disks once, as a disk or as a parent",
                attach("--controller", "scsi:0:0", child.toString()).assertFailure(ExitCodes.REFUSED));

        // A configuration that has it anyway (made before this rule): vm check says so.
        Path config;
        try (var files = Files.walk(vms.root())) {
            config = files.filter(f -> f.getFileName().toString().equals("config.json")).findFirst().orElseThrow();
        }
        String json = Files.readString(config);
        Files.writeString(config, json.replaceFirst("\"attachments\"\\s*:\\s*\\[", "\"attachments\":[{\"slot\":\"scsi:0:0\","
                + "\"kind\":\"disk\",\"path\":\"" + child + "\",\"readOnly\":false},"));
        assertEquals(2, vms.vm("show", "-o", "json", "web").assertSuccess().json().get("attachments").size());
        CliRun check = vms.vm("check", "web");
        assertEquals(ExitCodes.CORRUPT, check.exitCode(), check.out() + check.err());
        assertTrue(check.out().contains("shared  " + a + ": in the chains of scsi:0:0 and scsi:0:1"), check.out());
    }

    @Test
    void commandLinesThatDoNotSayASlotOrAFile() {
        assertEquals("vhd: --controller scsi:0 needs --lun L, the LUN on that controller (0 to 63); try 'vhd vm"
                + " attach --help'", attach("--controller", "scsi:0", a.toString()).assertFailure(ExitCodes.USAGE));
        assertEquals("vhd: give the LUN once: --controller scsi:0 --lun 2, or --controller scsi:0:1 alone; try 'vhd"
                + " vm attach --help'",
                attach("--controller", "scsi:0:1", "--lun", "2", a.toString()).assertFailure(ExitCodes.USAGE));
        assertEquals("vhd: --lun is for SCSI; an IDE slot is --controller ide:C:D, e.g. ide:0:1; try 'vhd vm attach"
                + " --help'", attach("--controller", "ide:0:1", "--lun", "1", a.toString())
                .assertFailure(ExitCodes.USAGE));
        assertEquals("vhd: an IDE slot is --controller ide:C:D (controller 0 or 1, device 0 or 1), e.g. ide:1:0;"
                + " try 'vhd vm attach --help'",
                attach("--controller", "ide:1", a.toString()).assertFailure(ExitCodes.USAGE));
        assertEquals("vhd: 'sata:0' is not a controller; write --controller scsi:N --lun L or --controller ide:C:D;"
                + " try 'vhd vm attach --help'",
                attach("--controller", "sata:0", a.toString()).assertFailure(ExitCodes.USAGE));
        assertEquals("vhd: what to attach? give FILE (a VHD), --dvd [ISO] or --passthrough DEVICE; try 'vhd vm"
                + " attach --help'", attach("--controller", "scsi:0:0").assertFailure(ExitCodes.USAGE));
        assertEquals("vhd: --passthrough DEVICE takes the place of FILE and --dvd; give one of them; try 'vhd vm"
                + " attach --help'", attach("--controller", "scsi:0:0", "--passthrough", "/dev/null", a.toString())
                .assertFailure(ExitCodes.USAGE));
        assertEquals("vhd: missing required option: '--controller=CONTROLLER'; try 'vhd vm attach --help'",
                attach(a.toString()).assertFailure(ExitCodes.USAGE));
    }

    @Test
    void filesThatAreMissingOrNotVhds() throws Exception {
        Path missing = tmp.resolve("missing.vhd");
        assertEquals("vhd: " + missing + ": no such file or directory",
                attach("--controller", "scsi:0:0", missing.toString()).assertFailure(ExitCodes.IO));
        assertEquals("vhd: " + tmp + ": is a directory, not a VHD file",
                attach("--controller", "scsi:0:0", tmp.toString()).assertFailure(ExitCodes.IO));
        Path text = Files.writeString(tmp.resolve("notes.vhd"), "not a disk\n".repeat(100));
        String refused = attach("--controller", "scsi:0:0", text.toString()).assertFailure(ExitCodes.REFUSED);
        assertTrue(refused.startsWith("vhd: " + text + ": "), refused);
        assertEquals(0, vms.vm("show", "-o", "json", "web").assertSuccess().json().get("attachments").size());
    }

    @Test
    void detachingAnEmptySlotIsRefused() {
        assertEquals("vhd: cannot detach scsi:0:7 of 'web': nothing is attached there",
                vms.vm("detach", "web", "--controller", "scsi:0", "--lun", "7").assertFailure(ExitCodes.REFUSED));
    }
}
