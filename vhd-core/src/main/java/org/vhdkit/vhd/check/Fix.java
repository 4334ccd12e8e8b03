package org.vhdkit.vhd.check;

import java.io.IOException;
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
