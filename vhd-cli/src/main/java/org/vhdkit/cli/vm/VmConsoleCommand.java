package org.vhdkit.cli.vm;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.stack.qemu.QemuEngine;
import org.vhdkit.stack.vm.VirtualMachine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParameterException;

/**
 * {@code vhd vm console}: connects this terminal to the serial console (COM1, the guest's ttyS0) of
 * a running VM with a real guest. The bytes go both ways unchanged; the terminal is put in raw mode
 * when standard input is one (and restored after); Ctrl-] detaches and leaves the VM running. The
 * console is logged, appended, to {@code console.log} in the VM's folder whether or not anyone is
 * connected. It ends when the VM stops (exit 0). No {@code --output json}: the output is the
 * guest's.
 *
 * <p>Where it runs: the host process (which has the VM) answers with the console's socket, and this
 * process connects to it, so the terminal is this one.
 */
@Command(name = "console",
        description = {
            "Connects this terminal to the serial console of a running VM with a real guest (engine qemu): what"
                    + " the guest writes to its first serial port (ttyS0, COM1) appears here and what you type goes"
                    + " to it. Ctrl-] detaches; the VM runs on.",
            "The console is also logged to console.log in the VM's folder."},
        footerHeading = "%nExamples:%n",
        footer = {"  vhd vm console debian          # Ctrl-] to detach"})
final class VmConsoleCommand extends OneVmCommand {
    /** Ctrl-]: detach, as telnet and virsh console do. */
    static final int DETACH = 0x1d;

    @Override
    public Integer call() throws Exception {
        if (output.json()) {
            throw new ParameterException(spec.commandLine(), "--output json is not for a console: its output is the"
                    + " guest's");
        }
        // The host (or this process, over the folder it opens) says where the console is.
        PrintWriter realOut = spec.commandLine().getOut();
        StringWriter where = new StringWriter();
        spec.commandLine().setOut(new PrintWriter(where));
        int code;
        try {
            code = vm.execute(spec, session -> {
                VirtualMachine machine = session.vm(name);
                if (!machine.configuration().engine().realGuest()) {
                    throw CommandFailure.refused("'" + machine.name() + "' has no serial console: its guest is one of"
                            + " vhdkit's guest programs, not a real guest ('vhd vm set --engine qemu')");
                }
                if (machine.process().isEmpty()) {
                    throw CommandFailure.refused("'" + machine.name() + "' has no console now: it is " + machine.state()
                            + " ('vhd vm start " + machine.name() + "')");
                }
                try {
                    spec.commandLine().getOut().print(QemuEngine.consoleSocket(machine.folder()));
                } catch (IOException e) {
                    throw CommandFailure.refused("'" + machine.name() + "': " + e.getMessage());
                }
                spec.commandLine().getOut().flush();
                return ExitCodes.OK;
            });
        } finally {
            spec.commandLine().setOut(realOut);
        }
        if (code != ExitCodes.OK || vm.insideHost()) {
            realOut.print(where);
            realOut.flush();
            return code;
        }
        Path socket = Path.of(where.toString().strip());
        try (SocketChannel channel = QemuEngine.connectConsoleSocket(socket)) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("Connected to the console of '" + name + "'; Ctrl-] detaches.");
            err.flush();
            return attach(channel);
        }
    }

    /** Copies the socket to stdout and stdin to the socket until Ctrl-] or the end of either. */
    private int attach(SocketChannel channel) throws IOException, InterruptedException {
        String saved = terminal() ? stty("-g").strip() : null;
        if (saved != null) {
            stty("raw", "-echo");
        }
        try {
            OutputStream out = System.out;
            Thread fromGuest = Thread.ofPlatform().daemon(true).name("vhd-vm-console").start(() -> {
                ByteBuffer buffer = ByteBuffer.allocate(4096);
                try {
                    while (channel.read(buffer.clear()) >= 0) {
                        out.write(buffer.array(), 0, buffer.position());
                        out.flush();
                    }
                } catch (IOException e) {
                    // Detached, or the VM stopped.
                }
            });
            InputStream in = System.in;
            byte[] buffer = new byte[1024];
            int n;
            outer:
            while (fromGuest.isAlive() && (n = in.read(buffer)) >= 0) {
                for (int i = 0; i < n; i++) {
                    if (buffer[i] == DETACH) {
                        write(channel, buffer, i);
                        break outer;
                    }
                }
                write(channel, buffer, n);
            }
            channel.close();
            fromGuest.join(1000);
            return ExitCodes.OK;
        } finally {
            if (saved != null) {
                stty(saved);
            }
        }
    }

    private static void write(SocketChannel channel, byte[] bytes, int length) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes, 0, length);
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    private static boolean terminal() {
        java.io.Console c = System.console();
        return c != null && c.isTerminal();
    }

    /** Runs stty on the terminal that is standard input; returns its output. */
    private static String stty(String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of("stty"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.INHERIT)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }
}
