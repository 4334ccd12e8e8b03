package org.vhdkit.cli.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.stack.snapshot.Snapshot;
import org.vhdkit.stack.snapshot.SnapshotTree;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VmConfiguration;

/**
 * {@code vhd vm snapshot list}'s text and JSON of the snapshot tree of the library's
 * {@code SnapshotTreeTest}: s1 with s2 (and s4 under it) and s3 under it, Now on s3.
 */
class SnapshotListingTest {
    private static final VmConfiguration CONFIG = VmConfiguration.create("vm", 16 << 20, 1);

    private static Snapshot node(String name, long second, Snapshot parent) {
        Map<Slot, Path> layers = Map.of(Slot.scsi(0, 0), Path.of("/vms/vm/base_" + name + ".avhd"));
        return new Snapshot(UUID.randomUUID(), name, Instant.ofEpochSecond(second),
                Optional.ofNullable(parent).map(Snapshot::id), CONFIG, new TreeMap<>(layers), false);
    }

    @Test
    void theTreeIndentedUnderParentsWithNowMarked() {
        Snapshot s1 = node("s1", 1, null);
        Snapshot s2 = node("s2", 2, s1);
        Snapshot s3 = node("s3", 3, s1);
        Snapshot s4 = node("s4", 4, s2);
        SnapshotTree tree = new SnapshotTree("vm", List.of(s1, s2, s4, s3), Optional.of(s3.id()));

        String text = SnapshotListing.text(tree, ZoneOffset.UTC);
        assertTrue(text.startsWith("s1  ("), text);
        assertTrue(text.contains("\n  s2  (") && text.contains("\n    s4  (") && text.contains("\n  s3  (")
                && text.contains("\n    Now\n"), text);
        StringWriter json = new StringWriter();
        Json.print(new PrintWriter(json), SnapshotListing.json(tree));
        assertTrue(json.toString().contains("\"now\" : \"" + s3.id() + "\""), json.toString());
    }

    @Test
    void nowAloneWithoutSnapshots() {
        assertEquals("Now (no snapshots)\n", SnapshotListing.text(new SnapshotTree("vm", List.of(), Optional.empty()),
                ZoneOffset.UTC));
    }

    /** The text shows local times, so it says which zone they are in (the JSON is UTC). */
    @Test
    void timesNameTheirZone() {
        SnapshotTree tree = new SnapshotTree("vm", List.of(node("s1", 0, null)), Optional.empty());
        String utc = SnapshotListing.text(tree, ZoneOffset.UTC);
        assertTrue(utc.startsWith("s1  (1970-01-01 00:00:00 +00:00, "), utc);
        String plusTwo = SnapshotListing.text(tree, ZoneOffset.ofHours(2));
        assertTrue(plusTwo.startsWith("s1  (1970-01-01 02:00:00 +02:00, "), plusTwo);
    }
}
