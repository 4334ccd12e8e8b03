package org.vhdkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.FileSystem;
import java.util.Arrays;

/** One in-process run of {@code vhd}: its exit code, stdout and stderr. */
public record CliRun(int exitCode, String out, String err, String command) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Runs {@code vhd args} with file arguments in {@code fileSystem}. */
    public static CliRun vhd(FileSystem fileSystem, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = VhdCommand.run(fileSystem, new PrintWriter(out), new PrintWriter(err), args);
        return new CliRun(code, out.toString(), err.toString(), "vhd " + String.join(" ", args));
    }

    /** Asserts success with nothing on stderr. */
    public CliRun assertSuccess() {
        assertEquals(0, exitCode, () -> command + " failed: " + err);
        assertEquals("", err, () -> command + " wrote to stderr");
        return this;
    }

    /**
     * Asserts a failure with {@code code}, nothing on stdout and exactly one line on stderr, and
     * returns that line.
     */
    public String assertFailure(int code) {
        assertEquals(code, exitCode, () -> command + ": stdout " + out + " stderr " + err);
        assertEquals("", out, () -> command + " wrote to stdout");
        return assertOneErrorLine();
    }

    /** Asserts that stderr is one line starting "vhd: " and returns it, without its newline. */
    public String assertOneErrorLine() {
        assertTrue(err.endsWith("\n"), () -> "no newline at the end of stderr: " + err);
        String line = err.substring(0, err.length() - 1);
        assertTrue(!line.contains("\n") && line.startsWith("vhd: "),
                () -> command + ": not one line starting 'vhd: ': " + Arrays.toString(err.split("\n")));
        return line;
    }

    /** stdout as JSON. */
    public JsonNode json() {
        try {
            return JSON.readTree(out);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UncheckedIOException(command + ": stdout is not JSON: " + out, e);
        }
    }
}
