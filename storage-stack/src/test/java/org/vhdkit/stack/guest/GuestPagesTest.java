package org.vhdkit.stack.guest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.vhdkit.stack.guest.storvsc.StorvscException;
import org.vhdkit.stack.memory.GuestMemory;

/**
 * The guest's page allocator: the regions it refuses, pages handed out in order, zeroed and
 * contiguous, and a region that runs out.
 */
class GuestPagesTest {
    static final int PAGE = GuestMemory.PAGE_SIZE;
    /** 64 pages of guest memory. */
    private final GuestMemory memory = GuestMemory.allocate("pages-test", 64L * PAGE);

    @AfterEach
    void tearDown() {
        memory.close();
    }

    @ParameterizedTest(name = "{0} bytes at {1}")
    @CsvSource({
            "4096, -4096", // before guest memory
            "0, 0", // empty
            "-4096, 0", // negative
            "4095, 0", // part of a page
            "6144, 4096", // a page and a half
            "4096, 2048", // base inside a page
            "8192, 258048", // runs past the end (the last page is 258048)
            "266240, 0", // more than the memory
            "9223372036854771712, 8192", // would wrap around
    })
    void aRegionThatIsNotWholePagesInsideTheMemoryIsRefused(long length, long base) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new GuestPages(memory, base, length));
        assertEquals("a page region of guest memory, not " + length + " bytes at 0x" + Long.toHexString(base) + " of "
                + memory.size(), e.getMessage());
    }

    @Test
    void pagesComeInOrderZeroedUntilTheRegionRunsOut() throws Exception {
        long base = 8L * PAGE;
        for (long at = 0; at < memory.size(); at += 8) {
            memory.setLong(at, 0x5555_5555_5555_5555L); // what an earlier run left there
        }
        GuestPages pages = new GuestPages(memory, base, 6L * PAGE);
        assertSame(memory, pages.memory());
        assertEquals(6, pages.freePages());

        assertEquals(base, pages.allocate(2));
        assertEquals(base + 2L * PAGE, pages.allocate(3));
        assertEquals(1, pages.freePages());
        for (long at = base; at < base + 5L * PAGE; at += 8) {
            assertEquals(0, memory.getLong(at), "a handed-out page is zeroed at 0x" + Long.toHexString(at));
        }
        assertEquals(0x5555_5555_5555_5555L, memory.getLong(base + 5L * PAGE), "a free page is left as it was");
        assertEquals(0x5555_5555_5555_5555L, memory.getLong(base - 8), "memory before the region is not touched");

        StorvscException e = assertThrows(StorvscException.class, () -> pages.allocate(2));
        assertEquals("the driver's 6-page region at 0x8000 has 1 pages left, not 2", e.getMessage());
        assertEquals(1, pages.freePages(), "a refused allocation takes nothing");
        assertEquals(base + 5L * PAGE, pages.allocate(1), "what is left can still be taken");
        assertEquals(0, pages.freePages());
        assertEquals("the driver's 6-page region at 0x8000 has 0 pages left, not 1",
                assertThrows(StorvscException.class, () -> pages.allocate(1)).getMessage());
    }

    @Test
    void anAllocationOfNoPagesIsRefused() {
        GuestPages pages = new GuestPages(memory, 0, 4L * PAGE);
        for (int count : new int[] {0, -1, Integer.MIN_VALUE}) {
            assertEquals("allocate at least one page, not " + count,
                    assertThrows(IllegalArgumentException.class, () -> pages.allocate(count)).getMessage());
        }
        assertEquals(4, pages.freePages());
    }

    /** A region may cover all of memory; a new allocator over a used region hands its pages out again, zeroed. */
    @Test
    void aNewAllocatorOverTheSameRegionStartsAfresh() throws Exception {
        GuestPages first = new GuestPages(memory, 0, memory.size());
        long gpa = first.allocate(64);
        memory.setLong(gpa + 100 * 8, 42);
        GuestPages again = new GuestPages(memory, 0, memory.size());
        assertEquals(gpa, again.allocate(64));
        assertEquals(0, memory.getLong(gpa + 100 * 8));
    }

    @Test
    void framesAreThePageNumbersOfAContiguousRun() {
        assertArrayEquals(new long[] {8, 9, 10}, GuestPages.frames(8L * PAGE, 3));
        assertArrayEquals(new long[0], GuestPages.frames(8L * PAGE, 0));
        assertArrayEquals(new long[] {0xF_FFFFL, 0x10_0000L}, GuestPages.frames(0xFFFF_F000L, 2), "across 4 GiB");
    }
}
