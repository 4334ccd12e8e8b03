package org.vhdkit.cli.vm;

import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.vhdkit.stack.snapshot.Snapshot;
import org.vhdkit.stack.snapshot.SnapshotTree;

/**
 * What {@code vhd vm snapshot list} shows of a VM's {@link SnapshotTree}: the text, one snapshot a
 * line indented under its parent with "Now" marked, and the JSON document.
 *
 * <p>Stateless; thread-safe.
 */
final class SnapshotListing {
    private SnapshotListing() {
    }

    /**
     * The JSON of {@code vhd vm snapshot list}.
     *
     * @param vm        the VM's name
     * @param now       the id of the snapshot Now sits on, or null
     * @param snapshots every snapshot, parents before children, siblings oldest first
     */
    record Listed(String vm, String now, List<Node> snapshots) {
    }

    /** One snapshot in {@link Listed}. */
    record Node(String id, String name, String created, String parent, boolean savedState, List<Layer> layers) {
    }

    /** One layer of a {@link Node}: the frozen file of the disk at {@code slot}. */
    record Layer(String slot, String path) {
    }

    /** {@code tree} as {@link Listed}. */
    static Listed json(SnapshotTree tree) {
        return new Listed(tree.vm(), tree.now().map(UUID::toString).orElse(null), tree.snapshots().stream()
                .map(s -> new Node(s.id().toString(), s.name(), s.created().toString(),
                        s.parent().map(UUID::toString).orElse(null), s.savedState(),
                        s.layers().entrySet().stream()
                                .map(e -> new Layer(e.getKey().toString(), e.getValue().toString())).toList()))
                .toList());
    }

    /** {@code tree} as text, one snapshot a line, indented under its parent; "Now" marked; times in {@code zone}, with its offset. */
    static String text(SnapshotTree tree, ZoneId zone) {
        StringBuilder b = new StringBuilder();
        DateTimeFormatter time = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss xxx").withZone(zone);
        for (Snapshot root : tree.roots()) {
            text(tree, root, 0, b, time);
        }
        if (tree.now().isEmpty()) {
            b.append("Now").append(tree.snapshots().isEmpty() ? " (no snapshots)" : " (not on a snapshot)").append('\n');
        }
        return b.toString();
    }

    private static void text(SnapshotTree tree, Snapshot s, int depth, StringBuilder b, DateTimeFormatter time) {
        String indent = "  ".repeat(depth);
        b.append(indent).append(s.name()).append("  (").append(time.format(s.created()))
                .append(s.savedState() ? ", saved state" : "").append(", ").append(s.id()).append(")\n");
        for (Snapshot c : tree.children(s.id())) {
            text(tree, c, depth + 1, b, time);
        }
        if (tree.now().equals(Optional.of(s.id()))) {
            b.append(indent).append("  Now\n");
        }
    }
}
