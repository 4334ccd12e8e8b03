package org.vhdkit.cli.vm;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import org.vhdkit.stack.vm.Hypervisor;

/**
 * The storage stack's log as {@code vhd vm} shows it: warnings and errors on stderr as one line
 * each, {@code "vhd: warning: ..."}; its information lines (a VM powered off, turned off) only with
 * {@code --debug}, which also adds the stack trace of a logged exception. Without this, the JDK's
 * default would print every information line in two lines of its own format.
 *
 * <p>Thread-safety: {@link #install} may be called from any thread; the JDK's loggers are
 * thread-safe.
 */
final class VmLog {
    /** Held here: the JDK keeps loggers only weakly, and would forget the configuration. */
    private static final Logger STACK = Logger.getLogger("org.vhdkit.stack");
    /**
     * The hypervisor logs the VM folders it cannot read as warnings; the commands report them
     * themselves (from {@code Hypervisor.problems()}, on the command's own stderr or in its JSON),
     * so they are not said twice.
     */
    private static final Logger HYPERVISOR = Logger.getLogger(Hypervisor.class.getName());
    private static final Handler STDERR = new Handler() {
        private final Formatter words = new SimpleFormatter();

        @Override
        public void publish(LogRecord record) {
            if (!isLoggable(record)) {
                return;
            }
            String kind = record.getLevel().intValue() >= Level.SEVERE.intValue() ? "error"
                    : record.getLevel().intValue() >= Level.WARNING.intValue() ? "warning" : "note";
            StringBuilder line = new StringBuilder("vhd: ").append(kind).append(": ")
                    .append(words.formatMessage(record).strip().replaceAll("\\s*\\R\\s*", " "));
            if (record.getThrown() != null && !STACK.isLoggable(Level.FINE)) {
                line.append(" (").append(record.getThrown()).append(')');
            }
            StringWriter text = new StringWriter();
            PrintWriter out = new PrintWriter(text);
            out.println(line);
            if (record.getThrown() != null && STACK.isLoggable(Level.FINE)) {
                record.getThrown().printStackTrace(out);
            }
            out.flush();
            System.err.print(text);
            System.err.flush();
        }

        @Override
        public void flush() {
            System.err.flush();
        }

        @Override
        public void close() {
        }
    };

    private VmLog() {
    }

    /** Routes the stack's log to stderr: warnings and errors, or everything with {@code debug}. */
    static synchronized void install(boolean debug) {
        STACK.setUseParentHandlers(false);
        STACK.removeHandler(STDERR);
        STACK.addHandler(STDERR);
        STACK.setLevel(debug ? Level.ALL : Level.WARNING);
        HYPERVISOR.setLevel(debug ? Level.ALL : Level.SEVERE);
        STDERR.setLevel(Level.ALL);
    }
}
