package org.vhdkit.stack.vm;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * A VM's configuration file, {@code config.json} in its folder: the JSON form of a
 * {@link VmConfiguration}, written atomically and read back strictly (every field present and of
 * its type, no unknown field, no duplicate key) before the configuration's own rules are checked.
 * Refusals name the file and the field.
 *
 * <pre>{@code
 * {
 *   "format" : 1,
 *   "name" : "vm1",
 *   "id" : "6f1c...",
 *   "memoryBytes" : 536870912,
 *   "processors" : 2,
 *   "integrationComponents" : true,
 *   "attachments" : [
 *     { "slot" : "ide:0:0", "kind" : "disk", "path" : "/vms/boot.vhd", "readOnly" : false },
 *     { "slot" : "ide:1:0", "kind" : "dvd", "path" : null, "readOnly" : true },
 *     { "slot" : "scsi:0:3", "kind" : "passthrough", "path" : "/dev/loop0", "readOnly" : false }
 *   ],
 *   "bootOrder" : [ "ide:0:0" ],
 *   "engine" : { "kind" : "qemu", "accel" : "auto", "kernel" : "/vms/vmlinuz", "initrd" : null,
 *                "append" : "console=ttyS0" }
 * }
 * }</pre>
 *
 * <p>{@code engine} is the one optional field: a file without it (every file written before real
 * guests existed) is run by the in-JVM guest programs, and such a configuration is written without
 * it, so those files stay as they were. With it, all of its fields are present.
 *
 * <p>The snapshot tree keeps each snapshot's configuration in this same form ({@link #toJson},
 * {@link #fromJson}), so a snapshot holds everything the configuration does, its engine included.
 *
 * <p>Thread-safety: stateless; the shared mapper is thread-safe.
 */
public final class ConfigurationFile {
    static final String NAME = "config.json";
    static final int FORMAT = 1;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();
    private static final Set<String> TOP_FIELDS = Set.of("format", "name", "id", "memoryBytes", "processors",
            "integrationComponents", "attachments", "bootOrder", "engine");
    private static final Set<String> ENGINE_FIELDS = Set.of("kind", "accel", "kernel", "initrd", "append");
    private static final Set<String> ATTACHMENT_FIELDS = Set.of("slot", "kind", "path", "readOnly");
    private static final int MAX_BYTES = 1 << 20;

    private ConfigurationFile() {
    }

    /** Writes {@code config} (already validated) to {@code file} atomically. */
    static void write(Path file, VmConfiguration config, AtomicFile.BeforeRename hook) throws IOException {
        byte[] bytes = encode(config);
        AtomicFile.write(file, channel -> AtomicFile.writeFully(channel, ByteBuffer.wrap(bytes)), hook);
    }

    static byte[] encode(VmConfiguration c) {
        try {
            byte[] json = JSON.writeValueAsBytes(toJson(c));
            byte[] out = new byte[json.length + 1];
            System.arraycopy(json, 0, out, 0, json.length);
            out[json.length] = '\n';
            return out;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode a VM configuration", e);
        }
    }

    /** The JSON form of {@code c}, as {@code config.json} holds it. Thread-safe. */
    public static ObjectNode toJson(VmConfiguration c) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("name", c.name());
        root.put("id", c.id().toString());
        root.put("memoryBytes", c.memoryBytes());
        root.put("processors", c.processors());
        root.put("integrationComponents", c.integrationComponents());
        ArrayNode attachments = root.putArray("attachments");
        for (Attachment a : c.attachments()) {
            ObjectNode n = attachments.addObject();
            n.put("slot", a.slot().toString());
            n.put("kind", a.kind().label());
            if (a.path() == null) {
                n.putNull("path");
            } else {
                n.put("path", a.path().toString());
            }
            n.put("readOnly", a.readOnly());
        }
        ArrayNode boot = root.putArray("bootOrder");
        for (Slot s : c.bootOrder()) {
            boot.add(s.toString());
        }
        GuestEngine engine = c.engine();
        if (!engine.equals(GuestEngine.PROGRAMS)) {
            ObjectNode n = root.putObject("engine");
            n.put("kind", engine.kind().label());
            n.put("accel", engine.accel().label());
            putPath(n, "kernel", engine.kernel());
            putPath(n, "initrd", engine.initrd());
            n.put("append", engine.append());
        }
        return root;
    }

    /**
     * The configuration {@code json} holds in the form {@link #toJson} writes, read as strictly as
     * {@code config.json} but not validated (the caller validates it before using it). Refusals name
     * the field. Thread-safe.
     */
    public static VmConfiguration fromJson(JsonNode json) throws VmConfigurationException {
        return decode(json);
    }

    /** Reads, parses and validates the configuration in {@code file}. */
    static VmConfiguration read(Path file) throws VmException {
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_BYTES) {
                throw new VmConfigurationException(file, "", "is larger than a VM configuration can be", null);
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new VmException(file + ": no such file");
        } catch (VmConfigurationException e) {
            throw e;
        } catch (IOException e) {
            throw new VmException(file + ": cannot read: " + e.getMessage(), e);
        }
        return decode(file, bytes);
    }

    static VmConfiguration decode(Path file, byte[] bytes) throws VmConfigurationException {
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw new VmConfigurationException(file, "", "not valid JSON" + where + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new VmConfigurationException(file, "", "cannot be parsed: " + e.getMessage(), e);
        }
        try {
            return decode(root).validate();
        } catch (VmConfigurationException e) {
            throw e.in(file);
        }
    }

    private static VmConfiguration decode(JsonNode root) throws VmConfigurationException {
        if (root == null || !root.isObject()) {
            throw new VmConfigurationException("", "a VM configuration is a JSON object");
        }
        checkFields(root, TOP_FIELDS, "");
        long format = integer(root, "format", "format");
        if (format != FORMAT) {
            throw new VmConfigurationException("format", "format " + format + " is not one this version reads (" + FORMAT + ")");
        }
        String name = text(root, "name", "name");
        String idText = text(root, "id", "id");
        UUID id;
        try {
            id = UUID.fromString(idText);
            if (!id.toString().equalsIgnoreCase(idText)) {
                throw new IllegalArgumentException();
            }
        } catch (IllegalArgumentException e) {
            throw new VmConfigurationException("id", "'" + idText + "' is not a UUID");
        }
        long memory = integer(root, "memoryBytes", "memoryBytes");
        long processors = integer(root, "processors", "processors");
        if (processors != (int) processors) {
            throw new VmConfigurationException("processors", processors + " is out of range");
        }
        boolean ic = bool(root, "integrationComponents", "integrationComponents");
        List<Attachment> attachments = new ArrayList<>();
        JsonNode list = array(root, "attachments", "attachments");
        for (int i = 0; i < list.size(); i++) {
            attachments.add(attachment(list.get(i), "attachments[" + i + "]"));
        }
        List<Slot> boot = new ArrayList<>();
        JsonNode bootList = array(root, "bootOrder", "bootOrder");
        for (int i = 0; i < bootList.size(); i++) {
            JsonNode n = bootList.get(i);
            String field = "bootOrder[" + i + "]";
            if (!n.isTextual()) {
                throw new VmConfigurationException(field, "expected a slot such as \"ide:0:0\", found " + kindOf(n));
            }
            boot.add(Slot.parse(n.textValue(), field));
        }
        GuestEngine engine = root.has("engine") ? engine(root.get("engine"), "engine") : GuestEngine.PROGRAMS;
        return new VmConfiguration(name, id, memory, (int) processors, ic, attachments, boot, engine);
    }

    private static void putPath(ObjectNode n, String name, Path p) {
        if (p == null) {
            n.putNull(name);
        } else {
            n.put(name, p.toString());
        }
    }

    private static GuestEngine engine(JsonNode n, String field) throws VmConfigurationException {
        if (!n.isObject()) {
            throw new VmConfigurationException(field, "expected an object, found " + kindOf(n));
        }
        checkFields(n, ENGINE_FIELDS, field + ".");
        String kindText = text(n, "kind", field + ".kind");
        GuestEngine.Kind kind = GuestEngine.Kind.ofLabel(kindText);
        if (kind == null) {
            throw new VmConfigurationException(field + ".kind", "'" + kindText + "' is not one of programs, qemu");
        }
        String accelText = text(n, "accel", field + ".accel");
        GuestEngine.Accelerator accel = GuestEngine.Accelerator.ofLabel(accelText);
        if (accel == null) {
            throw new VmConfigurationException(field + ".accel", "'" + accelText + "' is not one of auto, kvm, tcg");
        }
        Path kernel = optionalPath(n, "kernel", field + ".kernel");
        Path initrd = optionalPath(n, "initrd", field + ".initrd");
        JsonNode append = present(n, "append", field + ".append");
        if (!append.isNull() && !append.isTextual()) {
            throw new VmConfigurationException(field + ".append", "expected a string or null, found " + kindOf(append));
        }
        return new GuestEngine(kind, accel, kernel, initrd, append.isNull() ? null : append.textValue());
    }

    private static Path optionalPath(JsonNode n, String name, String field) throws VmConfigurationException {
        JsonNode v = present(n, name, field);
        if (v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new VmConfigurationException(field, "expected a path or null, found " + kindOf(v));
        }
        try {
            return Path.of(v.textValue());
        } catch (InvalidPathException e) {
            throw new VmConfigurationException(field, "'" + v.textValue() + "' is not a path: " + e.getReason());
        }
    }

    private static Attachment attachment(JsonNode n, String field) throws VmConfigurationException {
        if (!n.isObject()) {
            throw new VmConfigurationException(field, "expected an object, found " + kindOf(n));
        }
        checkFields(n, ATTACHMENT_FIELDS, field + ".");
        Slot slot = Slot.parse(text(n, "slot", field + ".slot"), field + ".slot");
        String kindText = text(n, "kind", field + ".kind");
        Attachment.Kind kind = Attachment.Kind.ofLabel(kindText);
        if (kind == null) {
            throw new VmConfigurationException(field + ".kind", "'" + kindText + "' is not one of disk, dvd, passthrough");
        }
        JsonNode pathNode = n.get("path");
        Path path = null;
        if (pathNode == null) {
            throw new VmConfigurationException(field + ".path", "missing (null for an empty DVD drive)");
        } else if (pathNode.isTextual()) {
            try {
                path = Path.of(pathNode.textValue());
            } catch (InvalidPathException e) {
                throw new VmConfigurationException(field + ".path", "'" + pathNode.textValue() + "' is not a path: "
                        + e.getReason());
            }
        } else if (!pathNode.isNull()) {
            throw new VmConfigurationException(field + ".path", "expected a path or null, found " + kindOf(pathNode));
        }
        boolean readOnly = bool(n, "readOnly", field + ".readOnly");
        return new Attachment(slot, kind, path, readOnly);
    }

    private static void checkFields(JsonNode n, Set<String> known, String prefix) throws VmConfigurationException {
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!known.contains(f)) {
                throw new VmConfigurationException(prefix + f, "unknown field");
            }
        }
    }

    private static JsonNode present(JsonNode n, String name, String field) throws VmConfigurationException {
        JsonNode v = n.get(name);
        if (v == null) {
            throw new VmConfigurationException(field, "missing");
        }
        return v;
    }

    private static String text(JsonNode n, String name, String field) throws VmConfigurationException {
        JsonNode v = present(n, name, field);
        if (!v.isTextual()) {
            throw new VmConfigurationException(field, "expected a string, found " + kindOf(v));
        }
        return v.textValue();
    }

    private static long integer(JsonNode n, String name, String field) throws VmConfigurationException {
        JsonNode v = present(n, name, field);
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw new VmConfigurationException(field, "expected a whole number, found " + kindOf(v));
        }
        return v.longValue();
    }

    private static boolean bool(JsonNode n, String name, String field) throws VmConfigurationException {
        JsonNode v = present(n, name, field);
        if (!v.isBoolean()) {
            throw new VmConfigurationException(field, "expected true or false, found " + kindOf(v));
        }
        return v.booleanValue();
    }

    private static JsonNode array(JsonNode n, String name, String field) throws VmConfigurationException {
        JsonNode v = present(n, name, field);
        if (!v.isArray()) {
            throw new VmConfigurationException(field, "expected a list, found " + kindOf(v));
        }
        return v;
    }

    private static String kindOf(JsonNode v) {
        String shown = v.toString();
        if (shown.length() > 40) {
            shown = shown.substring(0, 37) + "...";
        }
        return switch (v.getNodeType()) {
            case NULL -> "null";
            case OBJECT -> "an object";
            case ARRAY -> "a list";
            default -> shown;
        };
    }
}
