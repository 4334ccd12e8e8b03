package org.vhdkit.vhd.testing.guest;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The command loop of a guest booted with {@link LinuxGuest#bootFiles} by someone else (vhdkit's own
 * qemu engine, in its tests), reached through its serial console: the guest's {@code /init} serves
 * commands on the port its kernel command line names ({@link #KERNEL_ARGUMENTS}), and this class
 * connects to the socket qemu listens on for that port. The protocol is {@link GuestChannel}'s.
 * Since the guest's ready line may have gone out before anyone listened, {@link #connect} probes
 * with a command until one is answered.
 *
 * <p>Thread-safety: commands run one at a time (the channel's monitor); {@link #close} from any thread.
 */
public final class GuestConsole implements AutoCloseable {
    /**
     * The kernel command line for a guest whose only serial port is its console (ttyS0) and carries
     * the command loop: kernel messages kept off it (loglevel 1) so they cannot split an answer.
     */
    public static final String KERNEL_ARGUMENTS = "console=ttyS0 loglevel=1 panic=-1 scsi_mod.scan=sync vhdkit.port=ttyS0";

    private static final Duration PROBE = Duration.ofSeconds(2);
    private static final Duration MAX_PROBE = Duration.ofSeconds(30);

    private final GuestChannel channel;

    private GuestConsole(GuestChannel channel) {
        this.channel = channel;
    }

    /**
     * Connects to the console socket {@code socket} and waits up to {@code timeout} for the guest's
     * command loop to answer; AssertionError when it does not. Thread-safe.
     */
    public static GuestConsole connect(Path socket, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        GuestChannel channel;
        try {
            channel = GuestChannel.connect(socket);
        } catch (IOException e) {
            throw new AssertionError("cannot connect to the guest's console " + socket + ": " + e.getMessage(), e);
        }
        Duration probe = PROBE;
        while (true) {
            try {
                GuestChannel.Answer a = channel.run("echo ready", probe);
                if (a.exitCode() == 0) {
                    return new GuestConsole(channel);
                }
            } catch (GuestChannel.GuestTimeoutException e) {
                // Each probe waits longer: a loaded host's guest may take more than a probe's time to
                // answer, and an answer to an earlier probe does not count for the next one.
                probe = probe.multipliedBy(2).compareTo(MAX_PROBE) > 0 ? MAX_PROBE : probe.multipliedBy(2);
                if (System.nanoTime() > deadline) {
                    closeQuietly(channel);
                    throw new AssertionError("the guest's command loop did not answer on " + socket + " within "
                            + timeout, e);
                }
            } catch (IOException e) {
                closeQuietly(channel);
                throw new AssertionError("the guest's console " + socket + ": " + e.getMessage(), e);
            }
        }
    }

    /** Runs {@code script} with the guest's {@code sh}; its output and exit status. Thread-safe. */
    public LinuxGuest.Result run(String script, Duration timeout) {
        try {
            GuestChannel.Answer a = channel.run(script, timeout);
            return new LinuxGuest.Result(a.exitCode(), a.output());
        } catch (IOException e) {
            throw new AssertionError("guest command failed: " + e.getMessage() + "\n" + script, e);
        }
    }

    /** Runs {@code script} and returns its output; AssertionError unless it exits 0. Thread-safe. */
    public String runChecked(String script, Duration timeout) {
        LinuxGuest.Result r = run(script, timeout);
        if (r.exitCode() != 0) {
            throw new AssertionError("exit status " + r.exitCode() + " from:\n" + script + "\n--- output ---\n"
                    + r.output());
        }
        return r.output();
    }

    /** Closes the connection (the guest runs on). Idempotent; thread-safe. */
    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(GuestChannel c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // Best effort.
        }
    }
}
