package org.vhdkit.vhd.testing.guest;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The host's end of the command loop of a guest booted from a {@link BootDisk}, whose one serial
 * port is both its console and its command port: for VMs that a test starts itself (plain qemu, or
 * {@code vhd vm}'s qemu engine) rather than through {@link LinuxGuest}. qemu serves that port on a
 * Unix socket and logs it ({@code -chardev socket,id=console,path=SOCKET,server=on,wait=off,
 * logfile=console.log -serial chardev:console}); {@link #connect} connects to it as a client and
 * waits until the guest answers. Commands run as in {@link LinuxGuest#run}: any shell text, its
 * output and exit status back. A guest booted directly with {@link #KERNEL_ARGUMENTS} (vhdkit's qemu
 * engine in its own tests) is reached the same way.
 *
 * <p>Thread-safety: every method may be called from any thread; commands run one at a time.
 */
public final class GuestConsole implements AutoCloseable {
    /**
     * The kernel command line for a guest whose only serial port is its console (ttyS0) and carries
     * the command loop: kernel messages kept off it (loglevel 1) so they cannot split an answer. The
     * {@link BootDisk}'s SYSLINUX configuration boots with it; give it to a direct kernel boot
     * ({@code --append}) of {@link LinuxGuest#bootFiles} to reach that guest the same way.
     */
    public static final String KERNEL_ARGUMENTS =
            "console=ttyS0 loglevel=1 panic=-1 scsi_mod.scan=sync vhdkit.channel=ttyS0";

    private final Path socket;
    private final GuestChannel channel;
    private final double uptimeAtReady;

    private GuestConsole(Path socket, GuestChannel channel, double uptimeAtReady) {
        this.socket = socket;
        this.channel = channel;
        this.uptimeAtReady = uptimeAtReady;
    }

    /**
     * Connects to the serial port qemu serves on {@code socket} (trying again until qemu has made the
     * socket) and waits until the guest's command loop answers, both within {@code timeout}; an
     * AssertionError when it does not. Thread-safe.
     */
    public static GuestConsole connect(Path socket, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        GuestChannel channel = null;
        try {
            channel = GuestChannel.connect(socket, timeout);
            double uptime = channel.awaitReady(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            GuestConsole console = new GuestConsole(socket, channel, uptime);
            channel = null;
            return console;
        } catch (IOException e) {
            throw new AssertionError("no answer from the guest's command loop on " + socket + " within " + timeout
                    + ": " + e.getMessage(), e);
        } finally {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // Failing anyway.
                }
            }
        }
    }

    /** The guest kernel's uptime (seconds) when its command loop first answered. Thread-safe (immutable). */
    public double uptimeAtReady() {
        return uptimeAtReady;
    }

    /**
     * Runs {@code script} with the guest's busybox {@code sh} in {@code /root} and returns its output
     * (stdout and stderr together) and exit status; AssertionError when it has not finished within
     * {@code timeout} or the port closed. Thread-safe (commands run one at a time).
     */
    public LinuxGuest.Result run(String script, Duration timeout) {
        try {
            GuestChannel.Answer a = channel.run(script, timeout);
            return new LinuxGuest.Result(a.exitCode(), a.output());
        } catch (IOException e) {
            throw new AssertionError("guest on " + socket + ": " + e.getMessage() + "\n" + script, e);
        }
    }

    /** Runs {@code script} and returns its output, or throws AssertionError when it exits non-zero. Thread-safe. */
    public String runChecked(String script, Duration timeout) {
        LinuxGuest.Result r = run(script, timeout);
        if (r.exitCode() != 0) {
            throw new AssertionError("guest on " + socket + ": exit status " + r.exitCode() + " from:\n" + script
                    + "\n--- output ---\n" + r.output());
        }
        return r.output();
    }

    /** Disconnects (the guest goes on running). Idempotent; thread-safe. */
    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Disconnecting anyway.
        }
    }
}
