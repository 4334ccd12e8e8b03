package org.vhdkit.cli.disk;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.OutputOption;
import org.vhdkit.cli.conventions.Size;
import org.vhdkit.export.nbd.CredentialsException;
import org.vhdkit.export.nbd.NbdServer;
import org.vhdkit.export.nbd.TlsCredentials;
import org.vhdkit.vhd.disk.VirtualDisk;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vhd serve}: an NBD server ({@link NbdServer}) over any disks vhdkit opens, until Ctrl-C or
 * SIGTERM, which finish the requests in flight, flush and close every image.
 *
 * <p>Stdout gets one "ready" report once the server listens (with {@code --output json}, one line:
 * {@code {"socket", "address", "exports": [{name, size, readOnly}]}}, the field that does not apply
 * {@code null}); stderr gets the connection log.
 */
@Command(name = "serve",
        description = {
            "Serves disks over NBD (the Network Block Device protocol) to qemu, nbdinfo, nbdcopy, nbd-client and"
                    + " other NBD clients, until Ctrl-C or SIGTERM; then requests in flight finish and every image"
                    + " is flushed and closed cleanly.",
            "Each DISK is a VHD (fixed, dynamic, or differencing with its parents) or a raw image, exported under"
                    + " its file name, or under NAME when given as NAME=PATH; an empty export name means the first."
                    + " Disks are served read-write unless --read-only (a differencing disk's parents are only read)."
                    + " With --vm NAME a VM's disk is served too, as NAME (see --controller), or its layer in a"
                    + " snapshot, read-only, as NAME@S (--snapshot S)."
                    + " Several clients may use an export at once, readers and writers: they share one open image,"
                    + " so NBD multi-conn is advertised.",
            "TRIM is a hint that releases nothing in a VHD today: trimmed ranges keep their data. WRITE_ZEROES"
                    + " leaves ranges no layer holds (holes: unallocated in a dynamic disk, and in a differencing"
                    + " disk's parents too) as they are, and writes zeros over the rest, which allocates blocks in a"
                    + " dynamic or differencing disk (in a differencing disk it hides the parent's data there);"
                    + " with NO_HOLE it writes the holes too. Reads and block status report holes, so"
                    + " qemu-img map, nbdinfo --map, qemu-img convert and nbdcopy skip them.",
            "Listens on a Unix socket (--socket) or on TCP (--port, 127.0.0.1 unless --bind). Binding an address"
                    + " other than loopback needs TLS required of every client (--tls-psk or --tls-creds), or"
                    + " --insecure-no-tls.",
            "TLS (NBD_OPT_STARTTLS): --tls-psk FILE takes pre-shared keys, one 'identity:hexkey' per line as psktool"
                    + " writes them (qemu's tls-creds-psk and nbdkit's --tls-psk read the same file); --tls-creds DIR"
                    + " takes X.509 certificates as qemu's tls-creds-x509 lays them out (server-cert.pem,"
                    + " server-key.pem, and ca-cert.pem for --tls-verify-peer). With either, --tls require (the"
                    + " default) refuses every option but STARTTLS until TLS runs; --tls allow serves plaintext"
                    + " clients too.",
            "With --vhost-user-scsi SOCKET the disks are instead the LUNs of one virtio-scsi controller served to"
                    + " qemu's vhost-user-scsi-pci device (guest memory must be shared: memory-backend-memfd with"
                    + " share=on). Each DISK is then PATH (read-write unless --read-only), ro:PATH (read-only) or"
                    + " dvd:PATH (an ISO image in a DVD drive), at LUNs 0, 1, 2... in the order given; at most 64."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd serve --socket /tmp/nbd.sock disk.vhd",
            "  qemu-img info 'nbd+unix:///disk.vhd?socket=/tmp/nbd.sock'",
            "  nbdinfo --map 'nbd+unix:///disk.vhd?socket=/tmp/nbd.sock'",
            "  vhd serve --port 10809 --read-only base=base.vhd child=child.vhd",
            "  nbdcopy nbd://127.0.0.1:10809/child out.raw",
            "  vhd serve --socket s.sock --output json d.vhd &   # waits for the \"ready\" line on stdout",
            "  psktool -u alice -p keys.psk; vhd serve --socket s.sock --tls-psk keys.psk d.vhd",
            "  nbdinfo 'nbds+unix://alice@/d.vhd?socket=s.sock&tls-psk-file=keys.psk'",
            "  vhd serve --vhost-user-scsi /tmp/vus.sock disk.vhd ro:base.vhd dvd:install.iso",
            "  qemu-system-x86_64 -object memory-backend-memfd,id=mem,size=1G,share=on -machine q35,memory-backend=mem"
                    + " -m 1G -chardev socket,id=vus,path=/tmp/vus.sock -device vhost-user-scsi-pci,chardev=vus ..."})
public final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    OutputOption output;

    @Option(names = "--socket", paramLabel = "PATH", description = "Listen on this Unix domain socket (a new file).")
    Path socket;

    @Option(names = {"-p", "--port"}, paramLabel = "N",
            description = "Listen on this TCP port (0: any free one, shown in the ready line). The default, without"
                    + " --socket, is 10809 on 127.0.0.1.")
    Integer port;

    @Option(names = {"-b", "--bind"}, paramLabel = "ADDR", description = "The address to listen on with --port (default 127.0.0.1).")
    String bind;

    @Option(names = "--insecure-no-tls", description = "Allow --bind on an address other than loopback, without TLS:"
            + " anyone who reaches it can read and write the disks.")
    boolean insecureNoTls;

    @Option(names = "--tls-psk", paramLabel = "FILE", description = "TLS with pre-shared keys from FILE ('identity:hexkey'"
            + " lines, as psktool writes them), or from DIR/keys.psk when FILE is a directory (qemu's tls-creds-psk).")
    Path tlsPsk;

    @Option(names = "--tls-creds", paramLabel = "DIR", description = "TLS with X.509 certificates from DIR:"
            + " server-cert.pem, server-key.pem (unencrypted), and ca-cert.pem with --tls-verify-peer.")
    Path tlsCreds;

    @Option(names = "--tls-verify-peer", description = "With --tls-creds: clients must show a certificate signed by"
            + " DIR/ca-cert.pem.")
    boolean tlsVerifyPeer;

    @Option(names = "--tls", paramLabel = "require|allow", description = "With --tls-psk or --tls-creds: 'require'"
            + " (the default) serves only clients that start TLS; 'allow' serves plaintext clients too.")
    String tlsMode;

    @Option(names = {"-r", "--read-only"}, description = "Serve every disk read-only.")
    boolean readOnly;

    @Option(names = "--vhost-user-scsi", paramLabel = "SOCKET",
            description = "Serve the disks as a vhost-user-scsi backend on this Unix socket (a new file) instead of NBD;"
                    + " DISK is then PATH, ro:PATH or dvd:PATH.")
    Path vhostUserScsi;

    @Parameters(paramLabel = "DISK", arity = "0..*", description = "PATH or NAME=PATH: a VHD or a raw image.")
    List<String> disks = List.of();

    @Mixin
    DiskSource source;

    /** An export in the ready line. */
    record ReadyExport(String name, long size, boolean readOnly) {
    }

    /** The ready line. */
    record Ready(String socket, String address, List<ReadyExport> exports) {
    }

    /** One DISK argument. */
    private record Named(String name, Path path) {
    }

    @Override
    public Integer call() throws Exception {
        if (vhostUserScsi != null) {
            if (socket != null || port != null || bind != null || source.isVm()) {
                throw new ParameterException(spec.commandLine(), "--vhost-user-scsi does not go with --socket, --port,"
                        + " --bind or --vm");
            }
            if (disks.isEmpty()) {
                throw new ParameterException(spec.commandLine(), "--vhost-user-scsi needs at least one DISK");
            }
            return VhostUserScsiServe.run(spec, output.json(), vhostUserScsi.toAbsolutePath(), disks, readOnly);
        }
        NbdServer.Tls tls = tls();
        SocketAddress address = address(tls);
        List<Named> named = named();
        List<VirtualDisk> opened = new ArrayList<>();
        PrintWriter err = spec.commandLine().getErr();
        NbdServer server;
        try {
            List<NbdServer.Export> exports = new ArrayList<>();
            for (Named n : named) {
                VirtualDisk disk = DiskSource.openFile(n.path(), readOnly);
                opened.add(disk);
                exports.add(new NbdServer.Export(n.name(), disk, readOnly,
                        DiskArguments.type(disk) + " disk " + n.path() + ", " + Size.describe(disk.size())));
            }
            if (source.isVm()) {
                DiskSource.Opened vm = source.openVm(spec, readOnly);
                opened.add(vm.disk());
                exports.add(new NbdServer.Export(vm.name(), vm.disk(), vm.disk().isReadOnly(),
                        vm.description() + ", " + Size.describe(vm.disk().size())));
            }
            if (socket != null && Files.exists(socket)) {
                throw new FileAlreadyExistsException(socket.toString(), null, "already exists; remove it or choose another");
            }
            server = NbdServer.start(address, exports, tls, line -> log(err, line));
            if (tls != null) {
                log(err, "TLS " + (tls.required() ? "required" : "allowed") + ": " + tls.credentials().describe());
            }
        } catch (IOException | RuntimeException e) {
            closeAll(opened, err);
            throw e;
        }
        Thread stop = Thread.ofPlatform().name("vhd-serve-stop").unstarted(() -> {
            log(err, "stopping: finishing requests in flight, flushing and closing the images");
            try {
                server.close();
            } catch (IOException e) {
                log(err, "stopping: " + e.getMessage());
            }
            closeAll(opened, err);
            log(err, "stopped");
        });
        Runtime.getRuntime().addShutdownHook(stop);
        ready(server, tls != null && tls.required() ? "nbds" : "nbd");
        server.awaitTermination();
        return ExitCodes.OK;
    }

    private void ready(NbdServer server, String scheme) {
        PrintWriter out = spec.commandLine().getOut();
        String unix = server.address() instanceof UnixDomainSocketAddress u ? u.getPath().toString() : null;
        String tcp = server.address() instanceof InetSocketAddress i
                ? (i.getAddress().getHostAddress().contains(":") ? "[" + i.getAddress().getHostAddress() + "]"
                        : i.getAddress().getHostAddress()) + ":" + i.getPort()
                : null;
        List<ReadyExport> exports = server.exports().stream()
                .map(e -> new ReadyExport(e.name(), e.disk().size(), e.readOnly())).toList();
        if (output.json()) {
            Json.printLine(out, new Ready(unix, tcp, exports));
        } else {
            out.println("Serving NBD on " + (unix != null ? "unix socket " + unix : "tcp " + tcp) + "; Ctrl-C stops");
            for (ReadyExport e : exports) {
                String url = unix != null ? scheme + "+unix:///" + e.name() + "?socket=" + unix
                        : scheme + "://" + tcp + "/" + e.name();
                out.println("  " + e.name() + "  " + Size.describe(e.size()) + (e.readOnly() ? "  read-only" : "  read-write")
                        + "  " + url);
            }
        }
        out.flush();
    }

    /** The TLS options as the server takes them, or null without TLS. */
    private NbdServer.Tls tls() throws CommandFailure {
        if (tlsPsk != null && tlsCreds != null) {
            throw new ParameterException(spec.commandLine(), "--tls-psk and --tls-creds do not go together; choose one");
        }
        if (tlsPsk == null && tlsCreds == null) {
            if (tlsMode != null || tlsVerifyPeer) {
                throw new ParameterException(spec.commandLine(), (tlsMode != null ? "--tls" : "--tls-verify-peer")
                        + " needs --tls-psk FILE or --tls-creds DIR");
            }
            return null;
        }
        if (tlsVerifyPeer && tlsCreds == null) {
            throw new ParameterException(spec.commandLine(), "--tls-verify-peer goes with --tls-creds (X.509), not --tls-psk");
        }
        boolean required = switch (tlsMode == null ? "require" : tlsMode) {
            case "require" -> true;
            case "allow" -> false;
            default -> throw new ParameterException(spec.commandLine(), "--tls " + tlsMode + ": say 'require' or 'allow'");
        };
        try {
            TlsCredentials credentials = tlsPsk != null ? TlsCredentials.psk(tlsPsk) : TlsCredentials.x509(tlsCreds, tlsVerifyPeer);
            return new NbdServer.Tls(credentials, required);
        } catch (CredentialsException e) {
            throw CommandFailure.refused(e.getMessage());
        }
    }

    private SocketAddress address(NbdServer.Tls tls) throws CommandFailure {
        if (socket != null && (port != null || bind != null)) {
            throw new ParameterException(spec.commandLine(), "--socket does not go with --port or --bind");
        }
        if (socket != null) {
            return UnixDomainSocketAddress.of(socket.toAbsolutePath());
        }
        int p = port == null ? 10809 : port;
        if (p < 0 || p > 65535) {
            throw new ParameterException(spec.commandLine(), "--port " + p + " is not a TCP port (0 to 65535)");
        }
        InetAddress host;
        try {
            host = InetAddress.getByName(bind == null ? "127.0.0.1" : bind);
        } catch (UnknownHostException e) {
            throw CommandFailure.refused("--bind " + bind + ": no such address");
        }
        if (!host.isLoopbackAddress() && !insecureNoTls && (tls == null || !tls.required())) {
            throw CommandFailure.refused("--bind " + bind + " is not a loopback address, and "
                    + (tls == null ? "no TLS was asked for" : "--tls allow lets clients go without TLS")
                    + ": anyone who can reach it could read and write the disks. Require TLS (--tls-psk FILE or"
                    + " --tls-creds DIR, without --tls allow), bind 127.0.0.1 or ::1, or use --socket; or say"
                    + " --insecure-no-tls if that is what you want");
        }
        return new InetSocketAddress(host, p);
    }

    private List<Named> named() {
        source.check(spec);
        if (disks.isEmpty() && !source.isVm()) {
            throw new ParameterException(spec.commandLine(), "give a DISK to serve, or --vm NAME");
        }
        List<Named> named = new ArrayList<>();
        Set<String> names = new HashSet<>();
        if (source.isVm()) {
            names.add(source.name());
        }
        for (String arg : disks) {
            int eq = arg.indexOf('=');
            Named n;
            if (eq > 0 && !Files.exists(Path.of(arg))) {
                n = new Named(arg.substring(0, eq), Path.of(arg.substring(eq + 1)));
            } else {
                Path p = Path.of(arg);
                n = new Named(p.getFileName() == null ? arg : p.getFileName().toString(), p);
            }
            if (!names.add(n.name())) {
                throw new ParameterException(spec.commandLine(), "two disks are exported as '" + n.name()
                        + "'; name them with NAME=PATH");
            }
            named.add(n);
        }
        return named;
    }

    static void closeAll(List<VirtualDisk> disks, PrintWriter err) {
        for (VirtualDisk d : disks) {
            try {
                d.close();
            } catch (IOException e) {
                log(err, "closing " + d.name() + ": " + e.getMessage());
            }
        }
    }

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss");

    static void log(PrintWriter err, String line) {
        synchronized (err) {
            err.println("vhd serve " + LocalTime.now().format(TIME) + ": " + line);
            err.flush();
        }
    }
}
