package org.vhdkit.vhd.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.DiskImage;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ParentNotFoundException;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.format.VhdFormatException;

/**
 * A differencing disk is untrusted input: its locators may name anything. Opening it follows a
 * locator only to a regular VHD file of a plausible size whose UUID is the one the child was linked
 * to; what a locator names is refused without being opened (a FIFO would block the opening), and a
 * chain that comes back to one of its own disks is refused. Each test has a time limit on a thread
 * of its own as a guard against a hang, which is the failure it exists to catch.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class UntrustedParentTest {
    private static final int KIB = 1024;

    @TempDir
    Path tmp;

    /** base.vhd and child.vhd linked to it in {@code tmp}; returns the child. */
    private Path chain() throws IOException {
        Path base = tmp.resolve("base.vhd");
        try (VhdDisk disk = Vhd.create(base, CreateOptions.dynamic(64 * KIB).withBlockSize(4 * KIB))) {
            disk.write(0, new byte[] {1, 2, 3});
        }
        Path child = tmp.resolve("child.vhd");
        try (VhdDisk disk = Vhd.create(child, CreateOptions.differencing(base))) {
            disk.write(1, new byte[] {9});
        }
        return child;
    }

    private static ParentNotFoundException refusedToOpen(Path child) {
        return assertThrows(ParentNotFoundException.class, () -> Vhd.openReadOnly(child).close());
    }

    @Test
    void aLocatorNamingAFifoIsRefusedWithoutOpeningIt() throws Exception {
        Path child = chain();
        Path base = tmp.resolve("base.vhd");
        Files.delete(base);
        mkfifo(base);
        ParentNotFoundException refused = refusedToOpen(child);
        assertTrue(refused.getMessage().contains("is a FIFO (named pipe), not a VHD file; not opened"), refused.getMessage());
    }

    @Test
    void openingAFifoAsTheImageIsRefusedWithoutBlocking() throws Exception {
        Path fifo = tmp.resolve("pipe.vhd");
        mkfifo(fifo);
        IOException refused = assertThrows(IOException.class, () -> Vhd.openReadOnly(fifo).close());
        assertEquals(fifo + ": is a FIFO (named pipe), not a disk image; not opened", refused.getMessage());
        IOException probed = assertThrows(IOException.class, () -> DiskImage.openReadOnly(fifo).close());
        assertTrue(probed.getMessage().contains("is a FIFO (named pipe)"), probed.getMessage());
    }

    @Test
    void aLocatorNamingASocketIsRefused() throws Exception {
        Path child = chain();
        Path base = tmp.resolve("base.vhd");
        Files.delete(base);
        try (ServerSocketChannel socket = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            socket.bind(UnixDomainSocketAddress.of(base));
            ParentNotFoundException refused = refusedToOpen(child);
            assertTrue(refused.getMessage().contains("is a socket, not a VHD file; not opened"), refused.getMessage());
        }
    }

    @Test
    void aLocatorNamingADeviceOrAFileUnderProcOrSysIsRefused() throws Exception {
        Path child = chain();
        Path base = tmp.resolve("base.vhd");
        for (String target : new String[] {"/dev/zero", "/proc/self/mem", "/sys/kernel/notes"}) {
            Files.delete(base);
            Files.createSymbolicLink(base, Path.of(target));
            ParentNotFoundException refused = refusedToOpen(child);
            String tree = target.substring(0, target.indexOf('/', 1));
            assertTrue(refused.getMessage().contains("under " + tree + ", where no disk image lives; not opened"),
                    refused.getMessage());
        }
    }

    /** /dev/shm is tmpfs, where images (and the power-loss tests' crash states) may well live. */
    @Test
    void aParentInSharedMemoryUnderDevIsFollowed() throws Exception {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "no writable /dev/shm");
        Path folder = Files.createTempDirectory(shm, "vhdkit-untrusted-");
        try {
            Path base = folder.resolve("base.vhd");
            try (VhdDisk disk = Vhd.create(base, CreateOptions.dynamic(64 * KIB).withBlockSize(4 * KIB))) {
                disk.write(0, new byte[] {1, 2, 3});
            }
            Path child = folder.resolve("child.vhd");
            Vhd.create(child, CreateOptions.differencing(base)).close();
            try (VhdDisk disk = Vhd.openReadOnly(child)) {
                byte[] first = new byte[3];
                disk.read(0, first);
                assertArrayEquals(new byte[] {1, 2, 3}, first, "the child reads its parent's bytes");
            }
        } finally {
            try (var files = Files.list(folder)) {
                for (Path file : files.toList()) {
                    Files.delete(file);
                }
            }
            Files.delete(folder);
        }
    }

    @Test
    void aHugeFileOfAnotherKindIsRefusedWithoutBeingOpened() throws Exception {
        Path child = chain();
        Path base = tmp.resolve("base.vhd");
        Files.delete(base);
        try (RandomAccessFile huge = new RandomAccessFile(base.toFile(), "rw")) {
            huge.setLength(1L << 40); // sparse: a terabyte that costs nothing
        }
        ParentNotFoundException refused = refusedToOpen(child);
        assertTrue(refused.getMessage().contains("it is 1099511627776 bytes, more than a VHD parent of this 65536-byte"
                + " disk can be"), refused.getMessage());
    }

    @Test
    void aFileWithoutAFooterIsRefusedAfterLookingOnlyAtWhereTheCookieWouldBe() throws Exception {
        Path child = chain();
        Path base = tmp.resolve("base.vhd");
        Files.delete(base);
        Files.write(base, new byte[96 * KIB]);
        ParentNotFoundException refused = refusedToOpen(child);
        assertTrue(refused.getMessage().contains("it has no VHD footer (no \"conectix\" at its end or start); not opened"),
                refused.getMessage());
    }

    @Test
    void aParentWithAnotherUuidIsNotFollowed() throws Exception {
        Path child = chain();
        Path base = tmp.resolve("base.vhd");
        Files.delete(base);
        try (VhdDisk impostor = Vhd.create(base, CreateOptions.dynamic(64 * KIB).withUniqueId(UUID.randomUUID()))) {
            impostor.flush();
        }
        ParentNotFoundException refused = refusedToOpen(child);
        assertTrue(refused.getMessage().contains("its UUID is"), refused.getMessage());
    }

    @Test
    void aChainThatLoopsIsRefusedNamingTheLoop() throws Exception {
        Path a = chain(); // child.vhd over base.vhd
        Path b = tmp.resolve("b.vhd");
        try (VhdDisk disk = Vhd.create(b, CreateOptions.differencing(a))) {
            disk.flush();
        }
        // child.vhd's locators name base.vhd: make that b.vhd, and link child.vhd to b.vhd's UUID.
        Files.delete(tmp.resolve("base.vhd"));
        Files.createSymbolicLink(tmp.resolve("base.vhd"), b.getFileName());
        relink(a, uuidOf(b));
        VhdFormatException refused = assertThrows(VhdFormatException.class, () -> Vhd.openReadOnly(b).close());
        // Refused where the loop closes (child.vhd, whose parent would be b.vhd again), and so for b.vhd.
        assertEquals(a + ": parent chain: the chain loops (" + b.toRealPath() + " -> " + a.toRealPath() + " -> "
                + b.toRealPath() + "): a disk cannot be its own ancestor; refused", refused.getMessage());
    }

    @Test
    void aDiskThatIsItsOwnParentIsRefused() throws Exception {
        Path child = chain();
        Files.delete(tmp.resolve("base.vhd"));
        Files.createSymbolicLink(tmp.resolve("base.vhd"), child.getFileName());
        relink(child, uuidOf(child));
        VhdFormatException refused = assertThrows(VhdFormatException.class, () -> Vhd.openReadOnly(child).close());
        assertTrue(refused.getMessage().contains("the chain loops (" + child.toRealPath() + " -> " + child.toRealPath()
                + ")"), refused.getMessage());
    }

    private static UUID uuidOf(Path image) throws IOException {
        try (VhdDisk disk = Vhd.open(image, OpenOptions.READ_ONLY.withoutParent())) {
            return disk.footer().uniqueId();
        }
    }

    /** Rewrites the Parent UUID in the dynamic header of {@code image}, keeping everything else. */
    private static void relink(Path image, UUID parent) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            byte[] footerBytes = new byte[Footer.SIZE];
            file.seek(file.length() - Footer.SIZE);
            file.readFully(footerBytes);
            long at = Footer.decode(image.toString(), footerBytes, 0, file.length() - Footer.SIZE).dataOffset();
            byte[] headerBytes = new byte[DynamicHeader.SIZE];
            file.seek(at);
            file.readFully(headerBytes);
            DynamicHeader header = DynamicHeader.decode(image.toString(), headerBytes, 0, at);
            file.seek(at);
            file.write(header.withParent(parent, header.parentTimestamp(), header.parentName(), header.locators()).encode());
        }
    }

    private static void mkfifo(Path path) throws Exception {
        Process process = new ProcessBuilder("mkfifo", path.toString()).inheritIO().start();
        assertEquals(0, process.waitFor(), "mkfifo " + path);
    }
}
