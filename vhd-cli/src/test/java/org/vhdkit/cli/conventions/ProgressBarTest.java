package org.vhdkit.cli.conventions;

import static org.junit.jupiter.api.Assertions.assertFalse;

import org.junit.jupiter.api.Test;

class ProgressBarTest {
    @Test
    void nothingIsDrawnWhenQuietOrWhenStandardErrorIsNotATerminal() {
        try (ProgressBar quiet = ProgressBar.start("Working", true)) {
            assertFalse(quiet.isShown());
            quiet.progress(5, 10);
        }
        // Under Maven, fd 2 is a pipe.
        try (ProgressBar piped = ProgressBar.start("Working", false)) {
            assertFalse(piped.isShown(), "stderr of a test JVM is not a terminal");
            piped.progress(10, 10);
        }
    }
}
