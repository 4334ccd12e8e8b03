package org.vhdkit.cli.conventions;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintWriter;

/**
 * The JSON every command writes with {@code --output json}: one pretty-printed document, from a
 * record whose components are the fields, in their order.
 *
 * <p>Conventions shared by every command: field names in lowerCamelCase; sizes and offsets as
 * numbers of bytes; timestamps as ISO-8601 strings in UTC ({@code 2024-05-01T12:00:00Z}); UUIDs as
 * lower-case strings; a field that does not apply is present with the value {@code null}.
 *
 * <p>Thread-safety: {@link #print} may be called from any thread.
 */
public final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Json() {
    }

    /** Writes {@code value} to {@code out} as one JSON document. */
    public static void print(PrintWriter out, Object value) {
        try {
            out.println(MAPPER.writeValueAsString(value));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }
}
