package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.DiskImage;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * {@code vhd mount} and {@code vhd unmount} in this process: their refusals (bad mount points,
 * unknown VMs, snapshots and slots, usage), and a VM's disk and snapshot mounted through
 * {@link DiskSource}, unmounted by {@code vhd unmount}. The process side (signals, another
 * process's unmount) is {@link MountIT}'s.
 */
@Timeout(60)
class MountCommandTest {
    private static final int SIZE = 2 << 20;

    @TempDir
    Path tmp;

    private Path vms;
    private Path base;
    private Path mnt;

    private CliRun vhd(String... args) {
        return CliRun.vhd(FileSystems.getDefault(), args);
    }

    private CliRun vm(String... args) {
        String[] all = new String[args.length + 3];
        all[0] = "vm";
        all[1] = "--vm-root";
        all[2] = vms.toString();
        System.arraycopy(args, 0, all, 3, args.length);
        return vhd(all);
    }

    /** VM 'web' with d.vhd at scsi:0:1 holding 'A' bytes, snapshot s1 taken, then 'B' bytes written in its new top layer. */
    @BeforeEach
    void vmWithASnapshot() throws Exception {
        vms = tmp.resolve("vms");
        mnt = Files.createDirectories(tmp.resolve("mnt"));
        base = tmp.resolve("d.vhd");
        try (VhdDisk d = Vhd.create(base, CreateOptions.dynamic(SIZE))) {
            d.write(0, filled(4096, 'A'));
        }
        vm("create", "--memory", "16M", "web").assertSuccess();
        vm("attach", "web", "--controller", "scsi:0", "--lun", "1", base.toString()).assertSuccess();
        vm("snapshot", "create", "web", "s1").assertSuccess();
        try (VhdDisk top = Vhd.open(top(), OpenOptions.READ_WRITE)) {
            top.write(512, filled(512, 'B'));
        }
    }

    @AfterEach
    void unmountLeftovers() {
        vhd("unmount", mnt.toString());
    }

    private Path top() {
        return Path.of(vm("show", "--output", "json", "web").assertSuccess().json().get("attachments").get(0)
                .get("path").asText());
    }

    private static byte[] filled(int n, char c) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) c);
        return b;
    }

    private static byte[] contents(Path image) throws IOException {
        try (VirtualDisk d = DiskImage.openReadOnly(image)) {
            byte[] b = new byte[(int) d.size()];
            d.read(0, b);
            return b;
        }
    }

    /** Runs {@code vhd mount args} on a thread until it is unmounted; returns once the file is there. */
    private CompletableFuture<CliRun> mount(String... args) throws Exception {
        CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> vhd(args),
                r -> Thread.ofPlatform().name("test-mount").daemon(true).start(r));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(mnt.resolve(MountCommand.FILE))) {
            assertTrue(!run.isDone(), () -> "vhd mount ended: " + run.join());
            assertTrue(System.nanoTime() < deadline, "no mount");
            TimeUnit.MILLISECONDS.sleep(20);
        }
        return run;
    }

    private void assumeFuse() {
        ExternalTools.assumeEnvironment(Files.exists(Path.of("/dev/fuse")), () -> "no /dev/fuse");
        ExternalTools.assumeAvailable("fusermount3");
    }

    @Test
    void aVmsDiskAndItsSnapshotMountAsTheirContentsAndUnmountCleanly() throws Exception {
        assumeFuse();
        byte[] now = contents(top()); // 'A's with 'B's over them; read before this process opens it for the mount
        byte[] then = contents(base);
        assertEquals('B', now[512]);
        CompletableFuture<CliRun> run = mount("mount", "--vm-root", vms.toString(), "--vm", "web", "--controller",
                "scsi:0", "--lun", "1", mnt.toString());
        assertArrayEquals(now, Files.readAllBytes(mnt.resolve(MountCommand.FILE)));
        Files.write(mnt.resolve(MountCommand.FILE), filled(512, 'C'), StandardOpenOption.WRITE);
        String unmounted = vhd("unmount", mnt.toString()).assertSuccess().out();
        assertTrue(unmounted.contains("flushed and closed"), unmounted);
        CliRun mounted = run.get(20, TimeUnit.SECONDS);
        assertEquals(0, mounted.exitCode(), mounted::err);
        assertTrue(mounted.out().contains("read-write") && mounted.out().contains("scsi:0:1"), mounted.out());
        assertEquals('C', contents(top())[0]);
        vhd("check", top().toString()).assertSuccess();

        run = mount("mount", "--vm-root", vms.toString(), "--vm", "web", "--snapshot", "s1", mnt.toString());
        byte[] snapshot = Files.readAllBytes(mnt.resolve(MountCommand.FILE));
        assertArrayEquals(then, snapshot);
        assertEquals('A', snapshot[512]);
        FileSystemException refused = assertThrows(FileSystemException.class, () -> Files.write(
                mnt.resolve(MountCommand.FILE), filled(512, 'D'), StandardOpenOption.WRITE));
        assertTrue(refused.getMessage().contains("Read-only file system"), refused.getMessage());
        vhd("unmount", mnt.toString()).assertSuccess();
        assertTrue(run.get(20, TimeUnit.SECONDS).out().contains("read-only"));
    }

    @Test
    void mountPointsThatCannotBeUsed() throws IOException {
        String missing = vhd("mount", base.toString(), tmp.resolve("nowhere").toString()).assertFailure(ExitCodes.IO);
        assertTrue(missing.contains("nowhere") && missing.contains("no such directory"), missing);
        String file = vhd("mount", base.toString(), base.toString()).assertFailure(ExitCodes.IO);
        assertTrue(file.contains("not a directory"), file);
        String image = vhd("mount", tmp.resolve("none.vhd").toString(), mnt.toString()).assertFailure(ExitCodes.IO);
        assertTrue(image.contains("none.vhd"), image);
        String nothing = vhd("unmount", mnt.toString()).assertFailure(ExitCodes.IO);
        assertTrue(nothing.contains(mnt.toString()) && nothing.contains("nothing is mounted"), nothing);
        String notOurs = vhd("unmount", "/proc").assertFailure(ExitCodes.IO);
        assertTrue(notOurs.contains("not a vhd mount"), notOurs);
    }

    @Test
    void unknownVmsSnapshotsAndSlotsAreRefusedByName() {
        String vmName = vhd("mount", "--vm-root", vms.toString(), "--vm", "nope", mnt.toString())
                .assertFailure(ExitCodes.REFUSED);
        assertTrue(vmName.contains("no VM is named 'nope'"), vmName);
        String snapshot = vhd("mount", "--vm-root", vms.toString(), "--vm", "web", "--snapshot", "s9", mnt.toString())
                .assertFailure(ExitCodes.REFUSED);
        assertTrue(snapshot.contains("s9"), snapshot);
        String slot = vhd("mount", "--vm-root", vms.toString(), "--vm", "web", "--controller", "ide:0:1",
                mnt.toString()).assertFailure(ExitCodes.REFUSED);
        assertTrue(slot.contains("no disk at ide:0:1") && slot.contains("scsi:0:1"), slot);
        String root = vhd("serve", "--socket", tmp.resolve("s").toString(), "--vm-root", tmp.resolve("none").toString(),
                "--vm", "web").assertFailure(ExitCodes.REFUSED);
        assertTrue(root.contains("no VM is named 'web'"), root);
    }

    @Test
    void aVmDiskInUseIsRefusedNamingTheSlotAndWhatToDo() throws Exception {
        try (VhdDisk held = Vhd.open(top(), OpenOptions.READ_WRITE)) { // as a running VM holds it
            String message = vhd("mount", "--vm-root", vms.toString(), "--vm", "web", mnt.toString())
                    .assertFailure(ExitCodes.IO);
            assertTrue(message.contains("disk at scsi:0:1 of VM 'web'") && message.contains("in use")
                    && message.contains("stop it first"), message);
        }
    }

    @Test
    void usageErrors() {
        String lone = vhd("mount", "--controller", "scsi:0:1", base.toString(), mnt.toString())
                .assertFailure(ExitCodes.USAGE);
        assertTrue(lone.contains("go with --vm"), lone);
        String both = vhd("mount", "--vm-root", vms.toString(), "--vm", "web", base.toString(), mnt.toString())
                .assertFailure(ExitCodes.USAGE);
        assertTrue(both.contains("only MOUNTPOINT"), both);
        String lun = vhd("mount", "--vm-root", vms.toString(), "--vm", "web", "--controller", "scsi:0", mnt.toString())
                .assertFailure(ExitCodes.USAGE);
        assertTrue(lun.contains("needs --lun"), lun);
        vhd("serve", "--socket", tmp.resolve("s").toString(), "--snapshot", "s1", base.toString())
                .assertFailure(ExitCodes.USAGE);
    }
}
