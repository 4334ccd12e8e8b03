package org.vhdkit.vhd.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

class StoreInterceptionTest {

    /** Records the offset of every write and each force, as a power-loss recorder would. */
    private static final class Recording extends ForwardingByteStore {
        final List<String> calls;

        Recording(ByteStore delegate, List<String> calls) {
            super(delegate);
            this.calls = calls;
        }

        @Override
        public void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
            calls.add("write " + offset + "+" + length);
            super.write(offset, src, srcOffset, length);
        }

        @Override
        public void force() throws IOException {
            calls.add("force");
            super.force();
        }
    }

    @TempDir
    Path dir;

    @Test
    void everyStoreTheOperationOpensIsWrappedAndSeesItsWritesAndForces() throws IOException {
        Path image = dir.resolve("d.vhd");
        List<String> calls = Collections.synchronizedList(new ArrayList<>());
        StoreInterception.call(store -> new Recording(store, calls), () -> {
            Vhd.create(image, CreateOptions.dynamic(8L << 20)).close();
            try (VhdDisk disk = Vhd.open(image, OpenOptions.READ_WRITE)) {
                disk.write(3L << 20, MemorySegment.ofArray(new byte[4096]));
                disk.flush();
            }
            return null;
        });
        assertTrue(calls.contains("force"), calls::toString);
        assertTrue(calls.stream().anyMatch(c -> c.startsWith("write ")), calls::toString);
        int forces = calls.size();

        try (VhdDisk disk = Vhd.open(image, OpenOptions.READ_WRITE)) {
            disk.write(0, MemorySegment.ofArray(new byte[512]));
            disk.flush();
        }
        assertEquals(forces, calls.size(), "a store opened outside the scope is not wrapped");
    }

    @Test
    void singleBytesAndArraysReachTheTwoOverriddenMethods() throws IOException {
        Path file = dir.resolve("raw");
        List<String> calls = new ArrayList<>();
        try (ByteStore store = StoreInterception.call(s -> new Recording(s, calls),
                () -> ByteStore.open(file, ByteStore.Mode.CREATE_NEW))) {
            assertInstanceOf(Recording.class, store);
            store.writeBytes(0, new byte[] {1, 2, 3});
            store.writeByte(1, (byte) 9);
            assertEquals(9, store.readByte(1));
            assertEquals(List.of("write 0+3", "write 1+1"), calls);
            assertFalse(store.isReadOnly());
            // A byte past the end goes to the wrapped store, whose refusal stays its own.
            java.io.EOFException past = org.junit.jupiter.api.Assertions.assertThrows(java.io.EOFException.class,
                    () -> store.writeByte(100, (byte) 1));
            assertTrue(past.getMessage().contains("past the end of the file (3 bytes)"), past.getMessage());
            assertEquals(List.of("write 0+3", "write 1+1"), calls, "not seen as a write");
        }
    }
}
