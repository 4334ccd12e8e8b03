package org.vhdkit.cli.conventions;

import java.io.PrintStream;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.vhdkit.vhd.ProgressListener;

/**
 * The progress bar of a long operation, drawn on standard error while it is a terminal and the
 * user did not ask for quiet ({@code -q}); otherwise nothing at all, so scripts and logs stay clean.
 *
 * <pre>{@code
 * try (ProgressBar bar = ProgressBar.start("Converting", quiet)) {
 *     conversion.run(bar);
 * }
 * }</pre>
 *
 * <p>Thread-safety: {@link #progress} may be called from any thread; {@link #close()} once, after
 * the work.
 */
public final class ProgressBar implements ProgressListener, AutoCloseable {
    private static final int MIB = 1 << 20;

    /** The bar, or null when none is shown. */
    private final me.tongfei.progressbar.ProgressBar bar;

    private ProgressBar(me.tongfei.progressbar.ProgressBar bar) {
        this.bar = bar;
    }

    /** A bar for {@code task}, counting bytes; none when {@code quiet} or stderr is not a terminal. */
    public static ProgressBar start(String task, boolean quiet) {
        if (quiet || !StandardError.isTerminal()) {
            return new ProgressBar(null);
        }
        PrintStream err = System.err;
        return new ProgressBar(new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(0)
                .setUnit(" MiB", MIB)
                .setStyle(ProgressBarStyle.ASCII)
                .setConsumer(new ConsoleProgressBarConsumer(err))
                .showSpeed()
                .build());
    }

    /** Whether a bar is being drawn. */
    boolean isShown() {
        return bar != null;
    }

    @Override
    public void progress(long done, long total) {
        if (bar != null) {
            bar.maxHint(total);
            bar.stepTo(done);
        }
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
        }
    }

    /** Whether file descriptor 2 is a terminal: libc's isatty, where the FFM API may call it. */
    static final class StandardError {
        private static final boolean TERMINAL = probe();

        private StandardError() {
        }

        static boolean isTerminal() {
            return TERMINAL;
        }

        @SuppressWarnings("restricted") // isatty(int): one int in, one int out
        private static boolean probe() {
            try {
                Linker linker = Linker.nativeLinker();
                MethodHandle isatty = linker.downcallHandle(linker.defaultLookup().find("isatty").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                return (int) isatty.invokeExact(2) == 1;
            } catch (Throwable e) {
                // No native access: fall back to the JDK's view of the console (stdin and stdout).
                return System.console() != null && System.console().isTerminal();
            }
        }
    }
}
