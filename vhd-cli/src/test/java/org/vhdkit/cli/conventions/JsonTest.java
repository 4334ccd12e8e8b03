package org.vhdkit.cli.conventions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The reports' JSON is written on Jackson's streaming generator, no longer by databind (for start-up
 * time); scripts and users parse it, so it must stay byte for byte what databind wrote.
 */
class JsonTest {
    enum Kind {
        DYNAMIC, FIXED;

        @Override
        public String toString() {
            return "not what is written";
        }
    }

    record Inner(String file, long size, Kind kind) {
    }

    record Everything(@JsonUnwrapped Inner inner, @JsonUnwrapped Inner absent, Integer none, boolean flag, int small,
                      double ratio, BigInteger huge, UUID uuid, Path path, List<Inner> list, long[] numbers,
                      Map<Kind, List<String>> byKind, String text) {
    }

    private static final ObjectMapper DATABIND = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Test
    void writesWhatDatabindWroteForEveryKindOfValueTheReportsHold() throws Exception {
        Map<Kind, List<String>> byKind = new LinkedHashMap<>();
        byKind.put(Kind.FIXED, List.of("a", "b"));
        byKind.put(Kind.DYNAMIC, List.of());
        Everything value = new Everything(new Inner("/tmp/x.vhd", 1L << 40, Kind.DYNAMIC), null, null, true, -7, 0.125,
                BigInteger.TWO.pow(70), new UUID(0x1234L, 0xabcdL), Path.of("/tmp/a b.vhd"),
                List.of(new Inner("p", 0, Kind.FIXED)), new long[] {1, -2}, byKind,
                "quote \" backslash \\ tab \t newline \n bell \u0007 snowman \u2603");

        String ours = Json.text(value);

        assertEquals(DATABIND.writeValueAsString(value), ours);
        assertTrue(ours.startsWith("{\n  \"file\" : \"/tmp/x.vhd\",\n  \"size\" : 1099511627776,\n  \"kind\" : \"DYNAMIC\""), ours);
    }

    /** The servers' ready lines: one document on one line, as databind wrote it without indenting. */
    @Test
    void aReadyLineIsWhatDatabindWroteOnOneLine() throws Exception {
        Everything value = new Everything(new Inner("/tmp/x.vhd", 7, Kind.FIXED), null, 3, false, 0, 1.5, BigInteger.ONE,
                new UUID(1, 2), Path.of("/tmp/y"), List.of(), new long[0], Map.of(), "a\nb");
        java.io.StringWriter line = new java.io.StringWriter();
        Json.printLine(new java.io.PrintWriter(line), value);
        assertEquals(new ObjectMapper().writeValueAsString(value) + System.lineSeparator(), line.toString());
        assertEquals(1, line.toString().lines().count());
    }

    @Test
    void anEmptyReportAndNullAreWrittenAsDatabindWroteThem() throws Exception {
        assertEquals(DATABIND.writeValueAsString(List.of()), Json.text(List.of()));
        assertEquals(DATABIND.writeValueAsString(null), Json.text(null));
    }

    /** Anything but a record, collection, map or simple value would be written wrongly: refused, named. */
    @Test
    void aValueOfAnotherTypeIsRefusedNamingIt() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Json.text(List.of(new Object())));
        assertEquals("cannot write a java.lang.Object as JSON", e.getMessage());
        assertThrows(IllegalStateException.class, () -> Json.text(new byte[] {1}));
    }
}
