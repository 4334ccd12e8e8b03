package org.vhdkit.vhd.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ParentNotFoundException;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.Extent;

class ParentResolutionTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    private Path chainIn(Path dir) throws IOException {
        Files.createDirectories(dir.resolve("bases"));
        Path base = dir.resolve("bases/base.vhd");
        try (VhdDisk disk = Vhd.create(base, CreateOptions.dynamic(4 * MIB))) {
            disk.write(0, new byte[] {1, 2, 3});
        }
        Path child = dir.resolve("child.vhd");
        try (VhdDisk disk = Vhd.create(child, CreateOptions.differencing(base))) {
            disk.write(1, new byte[] {9});
        }
        return child;
    }

    @Test
    void aChainMovedToAnotherDirectoryIsFoundByItsRelativeLocator() throws IOException {
        Path child = chainIn(tmp.resolve("old"));
        Path moved = tmp.resolve("new");
        Files.move(tmp.resolve("old"), moved, StandardCopyOption.ATOMIC_MOVE);
        try (VhdDisk disk = Vhd.openReadOnly(moved.resolve("child.vhd"))) {
            byte[] back = new byte[3];
            disk.read(0, back);
            assertEquals(1, back[0]);
            assertEquals(9, back[1]);
            assertEquals(3, back[2]);
            assertEquals(moved.resolve("bases/base.vhd").toRealPath(), disk.parent().orElseThrow().path().toRealPath());
        }
    }

    @Test
    void aParentWithAnotherUuidIsRefusedNamingWhatWasTried() throws IOException {
        Path child = chainIn(tmp.resolve("c"));
        Path base = tmp.resolve("c/bases/base.vhd");
        Files.delete(base);
        try (VhdDisk impostor = Vhd.create(base, CreateOptions.dynamic(4 * MIB).withUniqueId(UUID.randomUUID()))) {
            impostor.flush();
        }
        ParentNotFoundException refused = assertThrows(ParentNotFoundException.class, () -> Vhd.openReadOnly(child));
        assertTrue(refused.getMessage().contains("relative locator W2RU"), refused.getMessage());
        assertTrue(refused.getMessage().contains("its UUID is"), refused.getMessage());
        assertTrue(refused.getMessage().startsWith(child.toString()), refused.getMessage());
    }

    @Test
    void theParentNameBesideTheChildIsTheLastResort() throws IOException {
        Path child = chainIn(tmp.resolve("d"));
        Path lonely = tmp.resolve("elsewhere");
        Files.createDirectories(lonely);
        Files.move(child, lonely.resolve("child.vhd"));
        Files.move(tmp.resolve("d/bases/base.vhd"), lonely.resolve("base.vhd"));
        try (VhdDisk disk = Vhd.openReadOnly(lonely.resolve("child.vhd"))) {
            assertEquals(lonely.resolve("base.vhd"), disk.parent().orElseThrow().path().normalize());
        }
    }

    @Test
    void twoChildrenShareOneParentAndTheParentCannotBeOpenedForWritingMeanwhile() throws IOException {
        Path child = chainIn(tmp.resolve("e"));
        Path sibling = siblingIn(tmp.resolve("e"));
        Path base = tmp.resolve("e/bases/base.vhd");
        try (ParentPool parents = new ParentPool();
             VhdDisk a = Vhd.open(child, OpenOptions.READ_ONLY.withParents(parents));
             VhdDisk b = Vhd.open(sibling, OpenOptions.READ_WRITE.withParents(parents))) {
            assertTrue(a.parent().orElseThrow() == b.parent().orElseThrow(), "one shared parent");
            assertInUse(base);
        }
        assertFreeForWriting(base);
    }

    @Test
    void chainsOpenedApartEachOwnTheirParentsAndCloseThemAlone() throws IOException {
        Path child = chainIn(tmp.resolve("g"));
        Path sibling = siblingIn(tmp.resolve("g"));
        Path base = tmp.resolve("g/bases/base.vhd");
        try (VhdDisk a = Vhd.openReadOnly(child)) {
            try (VhdDisk b = Vhd.openReadOnly(sibling)) {
                assertTrue(a.parent().orElseThrow() != b.parent().orElseThrow(), "a parent of each chain's own");
                assertEquals(2, b.chain().size());
            }
            byte[] back = new byte[3];
            a.read(0, back);
            assertEquals(1, back[0], "still read through its parent after the other chain closed");
            assertEquals(9, back[1]);
            assertInUse(base);
        }
        assertFreeForWriting(base);
    }

    /** A second child of the base of the chain in {@code dir}. */
    private static Path siblingIn(Path dir) throws IOException {
        Path sibling = dir.resolve("sibling.vhd");
        try (VhdDisk disk = Vhd.create(sibling, CreateOptions.differencing(dir.resolve("bases/base.vhd")))) {
            disk.flush();
        }
        return sibling;
    }

    /** While a chain over {@code base} is open, the base cannot be opened for writing. */
    private static void assertInUse(Path base) {
        IOException busy = assertThrows(IOException.class, () -> Vhd.open(base, OpenOptions.READ_WRITE));
        assertTrue(busy.getMessage().contains("in use"), busy.getMessage());
    }

    /** Once the chains over {@code base} are closed, it opens for writing. */
    private static void assertFreeForWriting(Path base) throws IOException {
        try (VhdDisk writable = Vhd.open(base, OpenOptions.READ_WRITE)) {
            assertEquals(4 * MIB, writable.size());
        }
    }

    @Test
    void aClosedPoolOpensNothingMore() throws IOException {
        Path child = chainIn(tmp.resolve("h"));
        ParentPool parents = new ParentPool();
        parents.close();
        assertThrows(IllegalStateException.class, () -> Vhd.open(child, OpenOptions.READ_ONLY.withParents(parents)));
        try (VhdDisk alone = Vhd.openReadOnly(child)) {
            assertEquals(2, alone.chain().size());
        }
    }

    @Test
    void aChildOpenedWithoutItsParentLeavesTheParentFreeForWriting() throws IOException {
        Path child = chainIn(tmp.resolve("f"));
        Path base = tmp.resolve("f/bases/base.vhd");
        try (VhdDisk alone = Vhd.open(child, OpenOptions.READ_ONLY.withoutParent());
             VhdDisk parent = Vhd.open(base, OpenOptions.READ_WRITE)) {
            assertTrue(alone.parent().isEmpty());
            byte[] own = new byte[1];
            alone.read(1, own);
            assertEquals(9, own[0]);
            IOException below = assertThrows(IOException.class, () -> alone.read(2 * MIB, new byte[1]));
            assertTrue(below.getMessage().contains("not opened"), below.getMessage());
            // The child took its first block whole (its parent's data copied in).
            assertEquals(java.util.List.of(new Extent(0, 2 * MIB, 0), new Extent(2 * MIB, 2 * MIB, 1)),
                    alone.extents(0, 4 * MIB));
            parent.write(0, new byte[] {7});
        }
    }
}
