package org.vhdkit.stack.protocol.qmp;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * One QMP message: what qemu sends ({@link Greeting}, {@link Return}, {@link Error}, {@link Event})
 * and the encoding of a command. Ids are the decimal numbers the sender chose; an answer without
 * one (to a command sent without an id) has id -1.
 *
 * <p>Immutable; thread-safe.
 */
public sealed interface QmpMessage {
    /** The longest line accepted from qemu: answers and events are small (a query-* at most some KiB). */
    int MAX_LINE = 1 << 20;

    /** The greeting qemu sends first: its version. */
    record Greeting(String version) implements QmpMessage {
    }

    /** A command's success and its value (an empty object for most). */
    record Return(long id, JsonNode value) implements QmpMessage {
    }

    /** A command's failure: qemu's error class and description. */
    record Error(long id, String errorClass, String description) implements QmpMessage {
    }

    /** An asynchronous event ({@code SHUTDOWN}, {@code STOP}, {@code RESUME}, {@code MIGRATION}, ...) and its data. */
    record Event(String name, JsonNode data) implements QmpMessage {
    }

    /** The protocol's name in refusals. */
    String PROTOCOL = "QMP";

    /**
     * The line for command {@code execute} with {@code arguments} (null for none) and {@code id}: UTF-8
     * JSON and a newline. Thread-safe.
     */
    static byte[] command(String execute, ObjectNode arguments, long id) {
        Objects.requireNonNull(execute, "execute");
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("execute", execute);
        if (arguments != null) {
            n.set("arguments", arguments);
        }
        n.put("id", id);
        return (n.toString() + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** A new arguments object, to fill with {@code put}. Thread-safe. */
    static ObjectNode arguments() {
        return JsonNodeFactory.instance.objectNode();
    }

    /**
     * Decodes one line qemu sent (without its newline). Thread-safe.
     *
     * @throws ProtocolException when it is not JSON, too long, or none of the four messages
     */
    static QmpMessage decode(String line) throws ProtocolException {
        if (line.length() > MAX_LINE) {
            throw new ProtocolException(PROTOCOL, "message", -1, "a line of " + line.length() + " characters; at most "
                    + MAX_LINE);
        }
        JsonNode n;
        try {
            n = Json.MAPPER.readTree(line);
        } catch (JsonProcessingException e) {
            throw new ProtocolException(PROTOCOL, "message", -1, "not JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) {
            throw new ProtocolException(PROTOCOL, "message", -1, "not a JSON object");
        }
        if (n.has("QMP")) {
            return new Greeting(n.path("QMP").path("version").path("qemu").toString());
        }
        if (n.has("event")) {
            JsonNode name = n.get("event");
            if (!name.isTextual()) {
                throw new ProtocolException(PROTOCOL, "event", -1, "the event's name is not a string");
            }
            return new Event(name.textValue(), n.path("data"));
        }
        long id = id(n);
        if (n.has("return")) {
            return new Return(id, n.get("return"));
        }
        if (n.has("error")) {
            JsonNode e = n.get("error");
            return new Error(id, e.path("class").asText("?"), e.path("desc").asText("(no description)"));
        }
        throw new ProtocolException(PROTOCOL, "message", -1, "neither greeting, return, error nor event");
    }

    private static long id(JsonNode n) throws ProtocolException {
        JsonNode id = n.get("id");
        if (id == null) {
            return -1;
        }
        if (!id.isIntegralNumber() || !id.canConvertToLong() || id.longValue() < 0) {
            throw new ProtocolException(PROTOCOL, "id", -1, "'" + id + "' is not an id this host sent");
        }
        return id.longValue();
    }

    /** The shared mapper (thread-safe once configured). */
    final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();

        private Json() {
        }
    }
}
