package org.vhdkit.cli.conventions;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * Human output as {@code key: value} lines whose values line up; an empty key makes a blank line,
 * to separate groups that still align together.
 *
 * <p>Thread-safety: not thread-safe; one object builds one output on one thread.
 */
public final class AlignedLines {
    private record Line(String key, String value) {
    }

    private final List<Line> lines = new ArrayList<>();

    /** Adds a line. */
    public AlignedLines add(String key, Object value) {
        lines.add(new Line(key, String.valueOf(value)));
        return this;
    }

    /** Adds a blank line. */
    public AlignedLines blank() {
        lines.add(new Line("", ""));
        return this;
    }

    /** Writes the lines. */
    public void print(PrintWriter out) {
        int width = lines.stream().mapToInt(l -> l.key().length()).max().orElse(0) + 1;
        for (Line line : lines) {
            if (line.key().isEmpty()) {
                out.println();
            } else {
                out.println(String.format("%-" + width + "s ", line.key() + ":") + line.value());
            }
        }
    }
}
