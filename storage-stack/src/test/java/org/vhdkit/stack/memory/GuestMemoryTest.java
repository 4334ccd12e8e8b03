package org.vhdkit.stack.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.vhdkit.vhd.io.Libc;

class GuestMemoryTest {
    @Test
    void valuesAreLittleEndianAndRoundTrip() throws GuestMemoryException {
        try (GuestMemory memory = GuestMemory.allocate("vm1", 2 * GuestMemory.PAGE_SIZE)) {
            memory.setInt(4, 0x11223344);
            assertEquals(0x44, memory.getByte(4));
            memory.setLong(4093, 0x0102030405060708L); // across a page boundary
            assertEquals(0x0102030405060708L, memory.getLong(4093));
            memory.setIntRelease(8192 - 4, 7);
            assertEquals(7, memory.getIntAcquire(8192 - 4));
            memory.write(100, new byte[] {1, 2, 3});
            byte[] back = new byte[3];
            memory.read(100, back);
            assertArrayEquals(new byte[] {1, 2, 3}, back);
        }
    }

    @Test
    void everyAccessOutsideTheMemoryIsRefusedNamingThePartition() {
        try (GuestMemory memory = GuestMemory.allocate("vm1", GuestMemory.PAGE_SIZE)) {
            GuestMemoryException e = assertThrows(GuestMemoryException.class, () -> memory.getInt(4094));
            assertTrue(e.getMessage().startsWith("vm1: "), e.getMessage());
            assertThrows(GuestMemoryException.class, () -> memory.read(-1, new byte[1]));
            assertThrows(GuestMemoryException.class, () -> memory.slice(1, Long.MAX_VALUE));
            assertThrows(GuestMemoryException.class, () -> memory.write(Long.MAX_VALUE - 1, new byte[4]));
            assertThrows(GuestMemoryException.class, () -> memory.pageAddress(1));
            assertThrows(GuestMemoryException.class, () -> memory.pageAddress(-1));
        }
    }

    @Test
    void sizesMustBeWholePages() {
        assertThrows(IllegalArgumentException.class, () -> GuestMemory.allocate("vm", 1000));
        assertThrows(IllegalArgumentException.class, () -> GuestMemory.allocate("vm", 0));
    }

    @Test
    void aGuestViewSharesTheBytesButCannotFreeThem() throws GuestMemoryException {
        try (GuestMemory memory = GuestMemory.allocate("vm1", GuestMemory.PAGE_SIZE)) {
            GuestMemory view = memory.guestView();
            view.setInt(0, 42);
            view.close();
            assertEquals(42, memory.getInt(0), "the memory is still there after the view was closed");
        }
    }

    @Test
    void onLinuxMemoryIsAMemfdWhosePagesTheHostGivesOnlyWhenTouched() throws Exception {
        assumeTrue(Libc.system().isPresent(), "memfd memory needs Linux and native access");
        long size = 64L << 20;
        try (GuestMemory memory = GuestMemory.allocate("lazy", size)) {
            assertTrue(HostPages.memfdBacked(memory), "in a memfd");
            assertEquals(OptionalLong.of(0), HostPages.residentBytes(memory), "nothing resident before a touch");
            assertTrue(memory.untouched(0, size));
            memory.setByte(size - 1, (byte) 7);
            assertTrue(memory.untouched(0, size - GuestMemory.PAGE_SIZE), "all but the last page");
            assertFalse(memory.untouched(size - GuestMemory.PAGE_SIZE, GuestMemory.PAGE_SIZE));
            assertFalse(memory.untouched(1, size - 1));
            assertThrows(GuestMemoryException.class, () -> memory.untouched(size - 1, 2));
            assertEquals(OptionalLong.of(GuestMemory.PAGE_SIZE), HostPages.residentBytes(memory),
                    "one page resident after one byte was written");
            assertEquals(OptionalLong.of(GuestMemory.PAGE_SIZE), HostPages.residentBytes(memory),
                    "asking did not touch");
            assertEquals(7, memory.getByte(size - 1), "the last byte can be written and read");
            assertThrows(GuestMemoryException.class, () -> memory.getByte(size));
            assertThrows(GuestMemoryException.class, () -> memory.write(size - 1, new byte[2]));
            memory.setByte(size - 1, (byte) 0);
            assertEquals(-1, memory.slice(0, size).mismatch(MemorySegment.ofArray(new byte[(int) size])),
                    "zeros everywhere");
        }
    }

    @Test
    void closingMemfdMemoryUnmapsItAndClosesItsDescriptor() throws Exception {
        assumeTrue(Libc.system().isPresent(), "memfd memory needs Linux and native access");
        for (int i = 0; i < 200; i++) { // a leak of mappings or descriptors would show as a failure here
            GuestMemory memory = GuestMemory.allocate("closing", 1L << 30);
            memory.setLong((1L << 30) - 8, i);
            long address = memory.slice(0, 0).address();
            int fd = memory.fd();
            memory.close();
            if (i % 50 == 0) {
                assertTrue(HostPages.residentBytes(address).isEmpty(), "unmapped on close");
                Path link = Path.of("/proc/self/fd/" + fd);
                assertTrue(!Files.exists(link, LinkOption.NOFOLLOW_LINKS)
                        || !Files.readSymbolicLink(link).toString().contains("vhdkit-guest-closing"), "fd closed");
            }
            assertThrows(IllegalStateException.class, () -> memory.getByte(0), "unusable after close");
        }
    }
}
