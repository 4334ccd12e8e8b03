package org.vhdkit.cli.conventions;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.lang.reflect.Array;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;

/**
 * The JSON every command writes with {@code --output json}: one pretty-printed document, from a
 * record whose components are the fields, in their order.
 *
 * <p>Conventions shared by every command: field names in lowerCamelCase; sizes and offsets as
 * numbers of bytes; timestamps as ISO-8601 strings in UTC ({@code 2024-05-01T12:00:00Z}); UUIDs as
 * lower-case strings; a field that does not apply is present with the value {@code null}.
 *
 * <p>What it writes: records as objects (a component marked {@link JsonUnwrapped} has its own
 * fields written in its place), collections and arrays as arrays, maps as objects keyed by their
 * keys' text, enums by name, strings, numbers, booleans, UUIDs and paths as text, null as null. The
 * output is what Jackson's databind wrote for the same values with {@code INDENT_OUTPUT} (the
 * commands' JSON was written with it before); it is written here on Jackson's streaming generator
 * instead, because databind put about 600 classes and 7 MB into every command's start (its own
 * start-up cache included; BENCHMARKS.md, Start-up), where the reports need only this much. A value
 * of any other type is a programming error, refused with an {@link IllegalStateException} naming it.
 *
 * <p>Thread-safety: {@link #print} may be called from any thread.
 */
public final class Json {
    private static final JsonFactory FACTORY = new JsonFactory();

    private Json() {
    }

    /** Writes {@code value} to {@code out} as one JSON document. */
    public static void print(PrintWriter out, Object value) {
        out.println(text(value));
    }

    /**
     * Writes {@code value} to {@code out} as one JSON document on one line: the "ready" line of a
     * server, which its starter reads line by line.
     */
    public static void printLine(PrintWriter out, Object value) {
        out.println(text(value, false));
    }

    /** {@code value} as one pretty-printed JSON document, without a line end after it. */
    static String text(Object value) {
        return text(value, true);
    }

    /** {@code value} as one JSON document, pretty-printed or on one line, without a line end after it. */
    static String text(Object value, boolean pretty) {
        StringWriter text = new StringWriter();
        try (JsonGenerator json = FACTORY.createGenerator(text)) {
            if (pretty) {
                json.useDefaultPrettyPrinter();
            }
            write(json, value);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter does not fail
        }
        return text.toString();
    }

    private static void write(JsonGenerator json, Object value) throws IOException {
        switch (value) {
            case null -> json.writeNull();
            case CharSequence s -> json.writeString(s.toString());
            case Character c -> json.writeString(c.toString());
            case Boolean b -> json.writeBoolean(b);
            case Integer i -> json.writeNumber(i);
            case Long l -> json.writeNumber(l);
            case Short s -> json.writeNumber(s);
            case Byte b -> json.writeNumber(b);
            case Double d -> json.writeNumber(d);
            case Float f -> json.writeNumber(f);
            case BigInteger b -> json.writeNumber(b);
            case BigDecimal b -> json.writeNumber(b);
            case Enum<?> e -> json.writeString(e.name());
            case UUID u -> json.writeString(u.toString());
            case Path p -> json.writeString(p.toUri().toString()); // as databind wrote a Path
            case Record r -> {
                json.writeStartObject();
                fields(json, r);
                json.writeEndObject();
            }
            case Iterable<?> items -> {
                json.writeStartArray();
                for (Object item : items) {
                    write(json, item);
                }
                json.writeEndArray();
            }
            case Map<?, ?> map -> {
                json.writeStartObject();
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    json.writeFieldName(entry.getKey() instanceof Enum<?> e ? e.name() : String.valueOf(entry.getKey()));
                    write(json, entry.getValue());
                }
                json.writeEndObject();
            }
            default -> {
                if (!value.getClass().isArray() || value instanceof byte[]) {
                    throw new IllegalStateException("cannot write a " + value.getClass().getName() + " as JSON");
                }
                json.writeStartArray();
                for (int i = 0, n = Array.getLength(value); i < n; i++) {
                    write(json, Array.get(value, i));
                }
                json.writeEndArray();
            }
        }
    }

    /** The record's components as fields, in their order; an unwrapped one's fields in its place. */
    private static void fields(JsonGenerator json, Record record) throws IOException {
        for (RecordComponent component : record.getClass().getRecordComponents()) {
            Object value = valueOf(record, component.getAccessor());
            if (component.getAccessor().isAnnotationPresent(JsonUnwrapped.class)) { // the annotation cannot be on a component itself
                if (value != null) {
                    fields(json, (Record) value); // as databind, nothing for a null one
                }
            } else {
                json.writeFieldName(component.getName());
                write(json, value);
            }
        }
    }

    private static Object valueOf(Record record, Method accessor) {
        try {
            accessor.setAccessible(true); // the reports are package-private records
            return accessor.invoke(record);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot read " + accessor + " for JSON", e);
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof RuntimeException r ? r
                    : new IllegalStateException("reading " + accessor + " for JSON failed", e.getCause());
        }
    }
}
