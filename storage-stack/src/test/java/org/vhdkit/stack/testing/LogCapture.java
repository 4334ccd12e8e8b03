package org.vhdkit.stack.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Takes what a class logs (through {@code System.Logger}, which java.util.logging backs here) for
 * the length of a test, instead of printing it: a test that injects a fault on purpose asserts the
 * record it expects, and the build log shows only real trouble.
 *
 * <pre>{@code
 * try (LogCapture log = LogCapture.of(VmWorker.class)) {
 *     ...
 *     log.assertOne(Level.SEVERE, "bad: device kbc failed");
 * }
 * }</pre>
 *
 * <p>Thread-safety: records may arrive from any thread; the list is guarded by {@code records}.
 */
public final class LogCapture implements AutoCloseable {
    private final List<Logger> loggers = new ArrayList<>(); // strong references: JUL holds them weakly
    private final List<Boolean> usedParents = new ArrayList<>();
    private final List<LogRecord> records = new ArrayList<>();
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord record) {
            synchronized (records) {
                records.add(record);
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    private LogCapture(Class<?>... classes) {
        handler.setLevel(Level.ALL);
        for (Class<?> c : classes) {
            Logger logger = Logger.getLogger(c.getName());
            loggers.add(logger);
            usedParents.add(logger.getUseParentHandlers());
            logger.addHandler(handler);
            logger.setUseParentHandlers(false);
        }
    }

    /** Captures, until closed, what the loggers named after {@code classes} log. */
    public static LogCapture of(Class<?>... classes) {
        return new LogCapture(classes);
    }

    /** The records so far, in order. */
    public List<LogRecord> records() {
        synchronized (records) {
            return List.copyOf(records);
        }
    }

    /**
     * The one record at {@code level} whose message (parameters filled in) contains {@code text};
     * an AssertionError listing what was logged when there is not exactly one.
     */
    public LogRecord assertOne(Level level, String text) {
        List<LogRecord> all = records();
        List<LogRecord> found = all.stream()
                .filter(r -> r.getLevel().equals(level) && message(r).contains(text)).toList();
        if (found.size() != 1) {
            throw new AssertionError("expected one " + level + " record containing \"" + text + "\", found "
                    + found.size() + " in " + all.stream().map(r -> r.getLevel() + ": " + message(r)).toList());
        }
        return found.getFirst();
    }

    /** A record's message with its {0}-style parameters filled in. */
    public static String message(LogRecord record) {
        Object[] parameters = record.getParameters();
        return parameters == null || parameters.length == 0 ? record.getMessage()
                : java.text.MessageFormat.format(record.getMessage(), parameters);
    }

    @Override
    public void close() {
        for (int i = 0; i < loggers.size(); i++) {
            loggers.get(i).removeHandler(handler);
            loggers.get(i).setUseParentHandlers(usedParents.get(i));
        }
    }
}
