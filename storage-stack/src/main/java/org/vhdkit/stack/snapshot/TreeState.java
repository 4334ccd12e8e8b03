package org.vhdkit.stack.snapshot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import org.vhdkit.stack.vm.ConfigurationFile;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmConfigurationException;
import org.vhdkit.vhd.io.FolderEvents;

/**
 * The persisted state of one VM's tree: the nodes, "Now", the AVHD files the tree made (each with
 * the file it is a differencing disk of) and the operation under way, if any. Stored as
 * {@code snapshots.json} in the VM's folder, replaced atomically (a forced temporary file renamed
 * over it, then the folder forced).
 *
 * <p>Not thread-safe: {@link Snapshots} guards it.
 */
final class TreeState {
    static final String FILE = "snapshots.json";
    static final int FORMAT = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What an operation under way will make; see {@link Snapshots} for the recovery of each. */
    enum Op { TAKE, APPLY }

    /**
     * An operation under way.
     *
     * @param op       take or apply
     * @param node     the node taken (not yet in the tree) or applied
     * @param newFiles the differencing disks it makes, by slot
     */
    record Pending(Op op, Snapshot node, Map<Slot, Path> newFiles) {
    }

    final Map<UUID, Snapshot> nodes = new LinkedHashMap<>();
    /** The AVHD files the tree made, each with its parent file. */
    final Map<Path, Path> files = new LinkedHashMap<>();
    UUID now;
    Pending pending;

    static TreeState read(Path folder) throws IOException {
        Path file = folder.resolve(FILE);
        TreeState t = new TreeState();
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return t;
        }
        try {
            JsonNode root = JSON.readTree(bytes);
            if (root == null || root.path("format").asInt(-1) != FORMAT) {
                throw new SnapshotException(file + ": not a snapshot tree of format " + FORMAT);
            }
            for (JsonNode n : root.path("nodes")) {
                Snapshot s = node(n);
                t.nodes.put(s.id(), s);
            }
            for (JsonNode f : root.path("files")) {
                Path made = Path.of(f.get("path").asText());
                if (!made.isAbsolute() || !folder.toAbsolutePath().equals(made.getParent())
                        || !SnapshotFolder.isMadeName(made.getFileName().toString())) {
                    throw new SnapshotException(file + ": files: " + made + " is not an AVHD file the tree could have"
                            + " made (NAME_UUID.avhd in " + folder + "); refusing a tree that would delete it");
                }
                t.files.put(made, Path.of(f.get("parent").asText()));
            }
            t.now = root.hasNonNull("now") ? UUID.fromString(root.get("now").asText()) : null;
            JsonNode p = root.get("pending");
            if (p != null && !p.isNull()) {
                t.pending = new Pending(Op.valueOf(p.get("op").asText()), node(p.get("node")), slotPaths(p.get("newFiles")));
            }
            return t;
        } catch (SnapshotException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new SnapshotException(file + ": cannot be read as a snapshot tree: " + e.getMessage(), e);
        }
    }

    void write(Path folder) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("now", now == null ? null : now.toString());
        ArrayNode ns = root.putArray("nodes");
        for (Snapshot s : nodes.values()) {
            ns.add(node(s));
        }
        ArrayNode fs = root.putArray("files");
        files.forEach((path, parent) -> fs.addObject().put("path", path.toString()).put("parent", parent.toString()));
        if (pending == null) {
            root.putNull("pending");
        } else {
            ObjectNode p = root.putObject("pending");
            p.put("op", pending.op().name());
            p.set("node", node(pending.node()));
            p.set("newFiles", slotPaths(pending.newFiles()));
        }
        byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
        Path target = folder.resolve(FILE);
        Path temp = folder.resolve("." + FILE + ".tmp");
        try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        FolderEvents.written(temp);
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        FolderEvents.renamed(temp, target);
        forceFolder(folder);
    }

    static void forceFolder(Path folder) throws IOException {
        FolderEvents.force(folder);
    }

    // ---- JSON ----

    private static ObjectNode node(Snapshot s) {
        ObjectNode n = JSON.createObjectNode();
        n.put("id", s.id().toString());
        n.put("name", s.name());
        n.put("created", s.created().toString());
        n.put("parent", s.parent().map(UUID::toString).orElse(null));
        n.put("savedState", s.savedState());
        n.set("configuration", configuration(s.configuration()));
        n.set("layers", slotPaths(s.layers()));
        return n;
    }

    private static Snapshot node(JsonNode n) throws IOException {
        return new Snapshot(UUID.fromString(n.get("id").asText()), n.get("name").asText(),
                Instant.parse(n.get("created").asText()),
                n.hasNonNull("parent") ? Optional.of(UUID.fromString(n.get("parent").asText())) : Optional.empty(),
                configuration(n.get("configuration")), new TreeMap<>(slotPaths(n.get("layers"))),
                n.path("savedState").asBoolean(false));
    }

    private static ArrayNode slotPaths(Map<Slot, Path> map) {
        ArrayNode a = JSON.createArrayNode();
        map.forEach((slot, path) -> a.addObject().put("slot", slot.toString()).put("path", path.toString()));
        return a;
    }

    private static Map<Slot, Path> slotPaths(JsonNode a) throws IOException {
        Map<Slot, Path> map = new TreeMap<>();
        for (JsonNode e : a) {
            map.put(Slot.parse(e.get("slot").asText()), Path.of(e.get("path").asText()));
        }
        return map;
    }

    static ObjectNode configuration(VmConfiguration c) {
        return ConfigurationFile.toJson(c);
    }

    /** A node's configuration; one written before configurations had a format field reads as format 1. */
    private static VmConfiguration configuration(JsonNode n) throws IOException {
        if (n instanceof ObjectNode o && !o.has("format")) {
            ObjectNode withFormat = o.deepCopy();
            withFormat.put("format", 1);
            n = withFormat;
        }
        try {
            return ConfigurationFile.fromJson(n);
        } catch (VmConfigurationException e) {
            throw new IOException("a snapshot's configuration: " + e.getMessage(), e); // read() names the file
        }
    }
}
