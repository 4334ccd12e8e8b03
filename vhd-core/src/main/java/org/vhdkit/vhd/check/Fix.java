package org.vhdkit.vhd.check;

import java.io.IOException;
import java.util.List;
import org.vhdkit.vhd.io.ByteStore;

/**
 * One repair, planned by {@link Inspection} and carried out by {@link ImageCheck#repair} on the image
 * opened for writing. Each leaves the image valid at every point a crash could stop it: it changes
 * one sector at a time (a sector write is atomic), or writes what is new into space nothing
 * references and forces it before it cuts the old away.
 *
 * <p>Several findings may share one fix (a damaged trailer and leaked space before it are both
 * repaired by writing the footer lower and truncating): it is applied once.
 *
 * <p>Records are immutable (their arrays are never changed after construction) and safe to share
 * between threads; {@link #apply} needs the store's exclusive lock, which a writable store holds.
 */
sealed interface Fix {
    /** Fixes run in this order of their steps: dynamic header first, then the copy, then the trailer. */
    int order();

    /** Carries the repair out; when it returns, what it wrote is durable. */
    void apply(ByteStore store) throws IOException;

    /**
     * Rewrites a stored checksum whose structure's other fields are valid: four bytes inside one
     * sector, so a crash leaves either the old checksum or the new one.
     *
     * @param fieldOffset the absolute offset of the checksum field
     * @param checksum    the computed checksum
     */
    record RewriteChecksum(long fieldOffset, int checksum, int order) implements Fix {
        @Override
        public void apply(ByteStore store) throws IOException {
            store.writeBytes(fieldOffset, new byte[] {
                (byte) (checksum >>> 24), (byte) (checksum >>> 16), (byte) (checksum >>> 8), (byte) checksum});
            store.force();
        }
    }

    /**
     * Clears a table entry (four bytes within one sector, so a crash leaves the old entry or none):
     * for a block a power cut cut off, wholly past the file's data.
     *
     * @param entryOffset the absolute offset of the entry
     */
    record ClearEntry(long entryOffset) implements Fix {
        @Override
        public int order() {
            return 0;
        }

        @Override
        public void apply(ByteStore store) throws IOException {
            store.writeBytes(entryOffset, new byte[] {-1, -1, -1, -1});
            store.force();
        }
    }

    /**
     * Rewrites one sector, whose new bytes were computed from what the inspection read (a header
     * sector with a field and its checksum changed): a crash leaves the old sector or the new one.
     *
     * @param offset where the sector starts
     * @param sector its 512 new bytes
     */
    record RewriteSector(long offset, byte[] sector, int order) implements Fix {
        @Override
        public void apply(ByteStore store) throws IOException {
            store.writeBytes(offset, sector);
            store.force();
        }
    }

    /**
     * Rewrites the footer copy at offset 0 with the footer in force: one sector.
     *
     * @param footer the 512 bytes to write
     */
    record RewriteCopy(byte[] footer) implements Fix {
        @Override
        public int order() {
            return 1;
        }

        @Override
        public void apply(ByteStore store) throws IOException {
            store.writeBytes(0, footer);
            store.force();
        }
    }

    /**
     * Closes gaps inside the file: moves blocks from its end into them, then moves the trailing
     * footer down to the new end ({@code trailer}) and cuts the file there. Each move copies the
     * block's bitmap and data into its gap (space nothing references) and forces them, then points
     * the block's table entry at the copy (four bytes within one sector) and forces that: a crash
     * leaves the block at its old place or at its new one, the other copy as leaked space.
     *
     * @param moves       the blocks to move, in order
     * @param tableOffset where the Block Allocation Table starts
     * @param blockBytes  a block's bitmap and data
     * @param trailer     the footer at the new end, applied last
     */
    record MoveBlocks(List<Move> moves, long tableOffset, long blockBytes, WriteTrailer trailer) implements Fix {
        private static final int SECTOR_SIZE = 512;
        private static final int COPY_CHUNK = 1 << 20;

        /** Block {@code block}'s bitmap and data go from offset {@code from} to {@code to}. */
        record Move(int block, long from, long to) {
        }

        public MoveBlocks {
            moves = List.copyOf(moves);
        }

        @Override
        public int order() {
            return 2;
        }

        @Override
        public void apply(ByteStore store) throws IOException {
            if (store.size() != trailer.oldSize()) {
                throw new IOException(store.path() + ": the file changed size from " + trailer.oldSize() + " to "
                        + store.size() + " bytes while it was being repaired; nothing more was written");
            }
            for (Move move : moves) {
                long entryAt = tableOffset + 4L * move.block();
                byte[] entry = store.readBytes(entryAt, 4);
                long sector = ((entry[0] & 0xFFL) << 24) | ((entry[1] & 0xFF) << 16) | ((entry[2] & 0xFF) << 8)
                        | (entry[3] & 0xFF);
                if (sector * SECTOR_SIZE != move.from()) {
                    throw new IOException(store.path() + ": BAT entry " + move.block() + " at offset " + entryAt
                            + " changed while the image was being repaired; nothing more was written");
                }
                for (long done = 0; done < blockBytes; done += COPY_CHUNK) {
                    int n = (int) Math.min(COPY_CHUNK, blockBytes - done);
                    store.writeBytes(move.to() + done, store.readBytes(move.from() + done, n));
                }
                store.force();
                long to = move.to() / SECTOR_SIZE;
                store.writeBytes(entryAt,
                        new byte[] {(byte) (to >>> 24), (byte) (to >>> 16), (byte) (to >>> 8), (byte) to});
                store.force();
            }
            trailer.apply(store);
        }
    }

    /**
     * Writes the footer in force at {@code position} (beyond every block, in space nothing references,
     * or over a damaged trailer in place), forces it, then sets the file's size to end with it and
     * forces again. Until the size changes, the old end of the file is what it was: its valid trailer,
     * or its damaged one, which readers pass over for the copy at offset 0.
     *
     * @param position where the footer goes
     * @param footer   the 512 bytes to write
     * @param oldSize  the size of the file when the fix was planned
     */
    record WriteTrailer(long position, byte[] footer, long oldSize) implements Fix {
        @Override
        public int order() {
            return 2;
        }

        /** The size of the file after the fix. */
        long newSize() {
            return position + footer.length;
        }

        @Override
        public void apply(ByteStore store) throws IOException {
            if (store.size() != oldSize) {
                throw new IOException(store.path() + ": the file changed size from " + oldSize + " to "
                        + store.size() + " bytes while it was being repaired; nothing more was written");
            }
            store.writeBytes(position, footer);
            store.force();
            if (store.size() != newSize()) {
                store.setSize(newSize());
                store.force();
            }
        }
    }
}
