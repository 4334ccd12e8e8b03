package org.vhdkit.vhd.edit;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.io.ByteStore;

/**
 * Rewrites fields of the footer that say what a disk is rather than where its data lies: its UUID and
 * its creator fields.
 *
 * <h2>Steps, and what a crash between them leaves</h2>
 * (1) The trailing footer, one sector, forced; (2) for dynamic and differencing disks, the copy at
 * offset 0, one sector, forced. A crash between them leaves the new footer in force (readers take the
 * trailing one) and a copy that disagrees with it, which {@code vhd check} reports and
 * {@code vhd check --repair} or a second run of the same edit brings into line.
 *
 * <p>Thread-safety: stateless; safe from any thread. The edit holds the file's exclusive lock.
 */
final class FooterEdit {
    private FooterEdit() {
    }

    static SetResult run(Path file, FooterChanges changes, Checkpoint checkpoint) throws IOException {
        try (ByteStore store = ByteStore.open(file, ByteStore.Mode.READ_WRITE)) {
            ImageFile image = ImageFile.read(store, false);
            Footer before = image.footer;
            if (changes.isEmpty()) {
                return new SetResult(file, before, before, List.of());
            }
            Footer changed = new Footer(before.features(), before.formatVersion(), before.dataOffset(),
                    before.timestamp(),
                    changes.creatorApplication().orElse(before.creatorApplication()),
                    changes.creatorVersion().orElse(before.creatorVersion()),
                    changes.creatorHostOs().orElse(before.creatorHostOs()),
                    before.originalSize(), before.currentSize(), before.geometry(), before.diskType(),
                    before.checksum(),
                    changes.uniqueId().orElse(before.uniqueId()),
                    before.savedState(), before.reserved());
            byte[] bytes = changed.encode();
            Footer after = Footer.decode(image.name, bytes, 0, image.trailer);
            // A copy that differs although the trailer already holds the change: a run stopped after step 1.
            boolean copyDiffers = !image.isFixed() && !Arrays.equals(store.readBytes(0, Footer.SIZE), bytes);
            if (after.equals(before) && !copyDiffers) {
                return new SetResult(file, before, after, List.of());
            }
            image.rewriteFooter(after, checkpoint);
            List<String> warnings = new ArrayList<>();
            if (!after.uniqueId().equals(before.uniqueId())) {
                warnings.add(file + ": differencing disks made on this disk are linked to its old UUID "
                        + before.uniqueId() + " and will no longer find it as their parent; 'vhd rebase --unsafe"
                        + " --parent " + file + " CHILD' links each of them to it again");
            }
            return new SetResult(file, before, after, warnings);
        }
    }
}
