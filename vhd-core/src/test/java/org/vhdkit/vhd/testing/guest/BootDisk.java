package org.vhdkit.vhd.testing.guest;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.ExternalTools;
import org.vhdkit.vhd.transform.Conversion;
import org.vhdkit.vhd.transform.ConvertOptions;
import org.vhdkit.vhd.transform.ImageType;

/**
 * A small disk that a PC BIOS boots, as a generation-1 VM boots from IDE (SeaBIOS in qemu's
 * {@code pc} machine): a dynamic VHD of {@link #SIZE} bytes with an MBR (SYSLINUX's {@code mbr.bin},
 * one active FAT16 partition from sector {@link #PARTITION_START}) whose file system holds Debian's
 * kernel as its bzImage (the BIOS boot path; the PVH vmlinux that {@link LinuxGuest} gives qemu
 * directly does not boot from a disk), the tests' initramfs (the one {@link LinuxGuest} boots,
 * gzipped: the BIOS reads slowly under TCG) and a {@code syslinux.cfg} with
 * {@link GuestConsole#KERNEL_ARGUMENTS}, SYSLINUX installed in its boot sector. The kernel line puts
 * the console on ttyS0, kernel messages off it, and the guest's command loop on the same port
 * ({@code vhdkit.channel=ttyS0}), so a VM with one serial port can both log its console and run
 * commands: serve that port on a Unix socket and talk to it with {@link GuestConsole}. The guest's
 * {@code /init} prints {@link #READY_MARK} on ttyS0 once userspace runs, and powers off on the ACPI
 * power button.
 *
 * <p>Built without mounting anything (CI may have no loop devices): {@code mkfs.vfat} makes the
 * file system in a file of its own, {@code mcopy} copies the files in, {@code syslinux --install}
 * writes its boot sector and {@code ldlinux.sys} into that file; the MBR is written here, the
 * partition spliced in behind it, and vhdkit's {@link Conversion} turns the raw image into the VHD.
 * The VHD is cached like the other guest files ({@code ~/.cache/vhdkit/guest/bootdisk-...vhd}, named
 * by a hash of its inputs), so only the first run on a machine builds it (a few seconds, most of them gzip).
 *
 * <p>A missing tool skips the test (fails it when {@code CI=true}) naming the Debian package
 * (syslinux, syslinux-common, mtools, dosfstools; {@code scripts/install-test-tools} installs them).
 *
 * @param vhd                the cached VHD; shared by every test on the machine, so open it read-only
 *                           or {@link #copyTo copy} it first
 * @param kernelVersion      the Debian kernel it boots
 */
public record BootDisk(Path vhd, String kernelVersion) {

    /** The disk's size: room enough for the kernel (about 8 MiB) and the gzipped initramfs (about 4 MiB). */
    public static final long SIZE = 64L << 20;
    /** The partition's first sector (1 MiB, as partitioning tools align it). */
    public static final int PARTITION_START = 2048;
    /** The line the guest's {@code /init} writes on ttyS0 (the console) when userspace runs. */
    public static final String READY_MARK = GuestChannel.MARK + "READY";

    static final Path MBR_CODE = Path.of("/usr/lib/syslinux/mbr/mbr.bin");
    /** FAT16 with LBA addressing, the partition type of the one partition. */
    static final int PARTITION_TYPE = 0x0e;
    /** The MBR's disk signature and the file system's volume id: fixed, so a rebuild gives the same ids. */
    static final int DISK_SIGNATURE = 0x564b4954; // "VKIT"
    static final String VOLUME_LABEL = "VHDKITBOOT";

    /** Bump when the layout changes, so that cached disks from older tooling are not used. */
    private static final String LAYOUT = "bootdisk-layout-2";
    private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(60);

    /**
     * Skips the calling test (fails it when {@code CI=true}) unless a boot disk can be built here:
     * what {@link LinuxGuest#assumeAvailable()} needs, plus mkfs.vfat, mcopy, syslinux and SYSLINUX's
     * MBR code. Thread-safe.
     */
    public static void assumeAvailable() {
        LinuxGuest.assumeAvailable();
        ExternalTools.assumeAvailable("mkfs.vfat", "mcopy", "syslinux");
        ExternalTools.assumeEnvironment(Files.isReadable(MBR_CODE), () -> "no " + MBR_CODE
                + " (Debian package syslinux-common; scripts/install-test-tools installs it)");
    }

    /**
     * The boot disk for the installed kernel, built into the cache unless already there. Skips the
     * test as {@link #assumeAvailable()} does when tools are missing; throws AssertionError naming the
     * step when building fails. Thread-safe (concurrent builders each move a whole file into place).
     */
    public static BootDisk prepare() {
        assumeAvailable();
        try {
            GuestKernel kernel = GuestKernel.installed().orElseThrow(() -> new IOException("no installed kernel"));
            GuestCache cache = GuestCache.user();
            Path initramfs = new Initramfs(kernel, LinuxGuest.DEFAULT_MODULES, LinuxGuest.DEFAULT_PROGRAMS).build(cache);
            String config = syslinuxConfig();
            StringBuilder recipe = new StringBuilder(LAYOUT).append('\n').append(config);
            recipe.append(GuestCache.stamp(kernel.bzImage())).append('\n');
            recipe.append(initramfs.getFileName()).append('\n'); // named by the hash of its own inputs
            recipe.append(GuestCache.stamp(MBR_CODE)).append('\n');
            for (String tool : List.of("mkfs.vfat", "mcopy", "syslinux")) {
                recipe.append(GuestCache.stamp(ExternalTools.find(tool).orElseThrow())).append('\n');
            }
            Path target = cache.file("bootdisk-" + kernel.version(), recipe.toString(), ".vhd");
            if (!Files.isRegularFile(target)) {
                build(kernel.bzImage(), initramfs, config, target);
            }
            return new BootDisk(target, kernel.version());
        } catch (IOException e) {
            throw new AssertionError("cannot build the boot disk: " + e.getMessage(), e);
        }
    }

    /** Copies the disk to {@code target} (a new file) for a test that lets a guest write to it. Thread-safe. */
    public Path copyTo(Path target) throws IOException {
        return Files.copy(vhd, target);
    }

    /** The SYSLINUX configuration: boot the one entry at once, no prompt, SYSLINUX's own output on ttyS0 too. */
    static String syslinuxConfig() {
        return """
                SERIAL 0 115200
                DEFAULT linux
                PROMPT 0
                TIMEOUT 0
                LABEL linux
                  KERNEL vmlinuz
                  INITRD initrd
                  APPEND %s
                """.formatted(GuestConsole.KERNEL_ARGUMENTS);
    }

    /** The MBR: SYSLINUX's boot code, the disk signature, one active partition, the 0x55AA mark. */
    static byte[] masterBootRecord(byte[] code, long partitionSectors) throws IOException {
        if (code.length < 440) {
            throw new IOException(MBR_CODE + ": " + code.length + " bytes, less than the 440 of MBR boot code");
        }
        ByteBuffer mbr = ByteBuffer.allocate(VirtualDisk.SECTOR_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        mbr.put(0, code, 0, 440);
        mbr.putInt(440, DISK_SIGNATURE);
        int entry = 446;
        mbr.put(entry, (byte) 0x80); // active: the MBR code boots this one
        // CHS fields at their "use LBA" maximum (head 254, sector 63, cylinder 1023): the code reads by LBA.
        mbr.put(entry + 1, new byte[] {(byte) 0xfe, (byte) 0xff, (byte) 0xff});
        mbr.put(entry + 4, (byte) PARTITION_TYPE);
        mbr.put(entry + 5, new byte[] {(byte) 0xfe, (byte) 0xff, (byte) 0xff});
        mbr.putInt(entry + 8, PARTITION_START);
        mbr.putInt(entry + 12, Math.toIntExact(partitionSectors));
        mbr.put(510, (byte) 0x55);
        mbr.put(511, (byte) 0xaa);
        return mbr.array();
    }

    private static void build(Path bzImage, Path initramfs, String config, Path target) throws IOException {
        Path work = Files.createTempDirectory(target.getParent(), ".bootdisk-");
        try {
            long partitionSectors = SIZE / VirtualDisk.SECTOR_SIZE - PARTITION_START;
            Path partition = work.resolve("partition.img");
            Path cfg = work.resolve("syslinux.cfg");
            Files.writeString(cfg, config);
            Path initrd = work.resolve("initrd");
            gzip(initramfs, initrd);
            tool("mkfs.vfat", "-C", "-F", "16", "-n", VOLUME_LABEL, "-i", Integer.toHexString(DISK_SIGNATURE),
                    "-h", Integer.toString(PARTITION_START), partition.toString(),
                    Long.toString(partitionSectors * VirtualDisk.SECTOR_SIZE / 1024));
            for (Path[] copy : new Path[][] {{bzImage, Path.of("vmlinuz")}, {initrd, Path.of("initrd")},
                    {cfg, Path.of("syslinux.cfg")}}) {
                tool("mcopy", "-i", partition.toString(), copy[0].toString(), "::" + copy[1]);
            }
            tool("syslinux", "--install", partition.toString());

            Path raw = work.resolve("disk.img");
            try (FileChannel out = FileChannel.open(raw, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                    FileChannel in = FileChannel.open(partition)) {
                out.write(ByteBuffer.wrap(masterBootRecord(Files.readAllBytes(MBR_CODE), partitionSectors)), 0);
                long at = (long) PARTITION_START * VirtualDisk.SECTOR_SIZE;
                long size = in.size();
                for (long done = 0; done < size; ) {
                    done += in.transferTo(done, size - done, out.position(at + done));
                }
                out.truncate(SIZE);
                if (out.size() < SIZE) {
                    out.write(ByteBuffer.allocate(1), SIZE - 1);
                }
            }
            Path vhd = work.resolve("disk.vhd");
            try (VirtualDisk source = Conversion.openSource(raw)) {
                Conversion.convert(source, vhd, ConvertOptions.to(ImageType.DYNAMIC), ProgressListener.NONE);
            }
            Files.move(vhd, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            try (Stream<Path> files = Files.walk(work)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /**
     * Compresses the initramfs (about 10 MiB to 4): SYSLINUX reads the files through the BIOS, which
     * under TCG costs about a second per 1.2 MiB, far more than the kernel's gunzip.
     */
    private static void gzip(Path from, Path to) throws IOException {
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(to), 1 << 16) {
            {
                def.setLevel(Deflater.BEST_COMPRESSION);
            }
        }) {
            Files.copy(from, out);
        }
    }

    private static void tool(String name, String... args) throws IOException {
        List<String> argv = new ArrayList<>();
        argv.add(ExternalTools.find(name).orElseThrow(() -> new IOException(name + " not found")).toString());
        argv.addAll(List.of(args));
        ExternalTools.Result r = ExternalTools.run(TOOL_TIMEOUT, argv.toArray(String[]::new));
        if (r.exitCode() != 0) {
            throw new IOException(String.join(" ", argv) + " exited with " + r.exitCode() + ": " + r.stderr().strip()
                    + " " + r.stdout().strip());
        }
    }
}
