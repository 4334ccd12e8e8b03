package org.vhdkit.stack.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.HostPages;

/**
 * Saving reads only the memory a guest touched, loading writes only the chunks that hold
 * something, and the checksum covers every byte.
 */
class SavedStateTest {
    private static final long SIZE = 64L << 20;
    private static final long MIB = 1L << 20;
    private static final long MARK = 3 * MIB + 17;

    @TempDir
    Path folder;

    /** Saves memory that is zero but for a byte at {@link #MARK} and its last byte. */
    private void saveAnIdleVm() throws Exception {
        try (GuestMemory memory = GuestMemory.allocate("saved", SIZE)) {
            memory.setByte(MARK, (byte) 0x5a);
            memory.setByte(SIZE - 1, (byte) 0xa5);
            SavedState.write(folder, memory, Map.of(), AtomicFile.BeforeRename.NONE);
            if (HostPages.memfdBacked(memory)) {
                OptionalLong resident = HostPages.residentBytes(memory);
                assertTrue(resident.isPresent() && resident.getAsLong() <= 2 * MIB,
                        "saving read only the chunks that were touched, not " + resident);
            }
        }
    }

    @Test
    void loadingTouchesOnlyTheChunksThatAreNotZero() throws Exception {
        saveAnIdleVm();
        try (GuestMemory memory = GuestMemory.allocate("restored", SIZE)) {
            assumeTrue(HostPages.memfdBacked(memory), "only memfd memory is given on first touch");
            SavedState.loadMemory(folder, SavedState.readManifest(folder, SIZE), memory);
            assertEquals(0x5a, memory.getByte(MARK));
            assertEquals((byte) 0xa5, memory.getByte(SIZE - 1));
            OptionalLong resident = HostPages.residentBytes(memory);
            assertTrue(resident.isPresent() && resident.getAsLong() <= 2 * MIB,
                    "only the two chunks that hold something are resident, not " + resident);
        }
    }

    @Test
    void aChunkThatBecameZeroInTheFileIsStillCaughtByTheChecksum() throws Exception {
        saveAnIdleVm();
        try (FileChannel file = FileChannel.open(folder.resolve(SavedState.MEMORY), StandardOpenOption.WRITE)) {
            file.write(ByteBuffer.allocate(1), MARK); // the chunk is all zeros now, so loading skips it
        }
        try (GuestMemory memory = GuestMemory.allocate("restored", SIZE)) {
            VmException e = assertThrows(VmException.class,
                    () -> SavedState.loadMemory(folder, SavedState.readManifest(folder, SIZE), memory));
            assertTrue(e.getMessage().contains("checksum does not match"), e.getMessage());
        }
    }

    @Test
    void theSavedFilesHolesAreFoundWithoutReadingAndDataIsNeverTakenForAHole() throws Exception {
        saveAnIdleVm();
        try (FileHoles holes = FileHoles.of(folder.resolve(SavedState.MEMORY))) {
            assertFalse(holes.hole(3 * MIB, MIB), "the chunk with the mark holds data");
            assertFalse(holes.hole(0, 4 * MIB), "a range that includes it too");
            assertFalse(holes.hole(SIZE - MIB, MIB), "the last chunk holds data");
            assumeTrue(System.getProperty("os.name", "").startsWith("Linux"), "lseek(SEEK_DATA) is Linux's");
            assertTrue(holes.hole(0, 3 * MIB), "untouched memory was left as a hole");
        }
    }
}
