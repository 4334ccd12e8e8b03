package org.vhdkit.stack.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

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
}
