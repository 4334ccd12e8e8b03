package org.vhdkit.vhd.edit;

import java.nio.file.Path;
import org.vhdkit.vhd.ProgressListener;

/**
 * A resize that stops dead right after a named step, as a kill landing exactly there would: {@code
 * <file> <new size in bytes> <step>}. Prints {@code "halting after STEP"} and halts the JVM (no
 * shutdown hooks, nothing more written) with exit code {@value #HALTED}; exits 1 when the resize
 * never reaches the step. For the kill tests of other modules (vhd-cli's KilledCommandsIT), where a
 * kill by timing cannot hit a window of microseconds.
 *
 * <p>Thread-safety: a program, run on its own.
 */
public final class ResizeHalt {
    /** The exit code of a halted run. */
    public static final int HALTED = 3;

    private ResizeHalt() {
    }

    public static void main(String[] args) throws Exception {
        String haltAfter = args[2];
        Resize.run(Path.of(args[0]), Long.parseLong(args[1]), false, ProgressListener.NONE, step -> {
            if (step.equals(haltAfter)) {
                System.out.println("halting after " + step);
                System.out.flush();
                Runtime.getRuntime().halt(HALTED);
            }
        });
        System.out.println("never reached: " + haltAfter);
        System.exit(1);
    }
}
