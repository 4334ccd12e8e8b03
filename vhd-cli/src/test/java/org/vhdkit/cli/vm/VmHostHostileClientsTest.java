package org.vhdkit.cli.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmState;

/**
 * The VM host's socket against clients that do not play by its protocol: malformed requests, a
 * client of another user, and a flood of connections that stall. After each, real commands through
 * the socket ({@code vhd vm list}, {@code show}) still answer with the right content and the VM
 * still runs. The host runs in process with a small cap on connections and a short request timeout
 * ({@link #LIMITS}), so that the flood reaches both quickly; the request size is the real one.
 */
@Timeout(60)
class VmHostHostileClientsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final VmHost.Limits LIMITS = new VmHost.Limits(16, Duration.ofSeconds(2), VmHost.MAX_REQUEST);
    private static final String LIST = "{\"args\":[\"vm\",\"list\"],\"cwd\":\"/\"}";

    @TempDir
    Path tmp;

    private VmFolder vms;
    private Hypervisor hypervisor;
    private VirtualMachine vm;
    private VmHost host;
    private Path socket;
    private String refusedFromMe;

    @BeforeEach
    void hostARunningVm() throws Exception {
        vms = new VmFolder(tmp.resolve("vms"));
        vms.vm("create", "--memory", "16M", "web").assertSuccess();
        hypervisor = Hypervisor.open(vms.root(), VmCommand.OPTIONS);
        vm = hypervisor.find("web").orElseThrow();
        vm.start(VmStartCommand.idleGuest());
        host = VmHost.open(hypervisor, new PrintWriter(new StringWriter()), LIMITS);
        host.ran(vm);
        socket = vms.root().resolve(VmHost.SOCKET);
        refusedFromMe = "vhd: " + socket + ": refused a request from user '" + Files.getOwner(socket).getName() + "': ";
    }

    @AfterEach
    void stop() {
        if (host != null) {
            host.close();
        }
        if (hypervisor != null) {
            hypervisor.close();
        }
    }

    @Test
    void malformedRequestsAreAnsweredWithAnErrorAndTheHostServesOn() throws Exception {
        Path atFile = Files.writeString(tmp.resolve("words"), "list\n");
        String[][] cases = {
            {"", "not a vhd request (0 bytes): No content to map due to end-of-input"},
            {"garbage\u0000\u00ff\n", "not a vhd request (11 bytes): Unrecognized token 'garbage"},
            {"{\"args\":[\"vm\",\"list\"],\"cwd\":\"/", "not a vhd request (30 bytes): Unexpected end-of-input"},
            {"[1,2,3]", "not a vhd request (7 bytes): Cannot deserialize value of type"},
            {"\"vm list\"", "not a vhd request (9 bytes): Cannot construct instance of"},
            {"null", "not a vhd request: no command line (\"args\", a list of words)"},
            {"{\"args\":null,\"cwd\":null}", "not a vhd request: no command line (\"args\", a list of words)"},
            {"{\"args\":[],\"cwd\":\"/\"}", "not a vhd request: no command line (\"args\", a list of words)"},
            {"{\"args\":[\"vm\",null],\"cwd\":\"/\"}", "not a vhd request: no command line (\"args\", a list of words)"},
            {"{\"args\":[\"vm\",\"list\"]}", "not a vhd request: no absolute working directory (\"cwd\")"},
            {"{\"args\":[\"vm\",\"list\"],\"cwd\":\"here\"}", "not a vhd request: no absolute working directory (\"cwd\")"},
            {"{\"args\":[\"vm\",\"list\"],\"cwd\":\"/\\u0000\"}", "not a vhd request: the working directory is not a path"},
            {"{\"args\":[\"vm\",\"list\"],\"cwd\":\"/\",\"run\":1}", "not a vhd request (40 bytes): Unrecognized field \"run\""},
            {LIST + "{\"args\":[\"vm\",\"stop\",\"web\"],\"cwd\":\"/\"}", "not a vhd request (70 bytes): Trailing token"},
            {"[".repeat(100_000), "not a vhd request (100000 bytes): Cannot deserialize value of type"},
            {"{\"args\":[\"vm\",\"list\"],\"cwd\":\"/" + "x".repeat(VmHost.MAX_REQUEST) + "\"}",
                "the request is longer than " + VmHost.MAX_REQUEST + " bytes"},
        };
        for (String[] c : cases) {
            VmHost.Reply reply = reply(exchange(c[0].getBytes(StandardCharsets.UTF_8)), c[0]);
            assertEquals(ExitCodes.USAGE, reply.exitCode(), () -> abbreviate(c[0]) + ": " + reply);
            assertEquals("", reply.out());
            assertTrue(reply.err().startsWith(refusedFromMe + c[1]), () -> abbreviate(c[0]) + ": " + reply.err());
            assertTrue(reply.err().endsWith("\n") && reply.err().indexOf('\n') == reply.err().length() - 1,
                    () -> "one line: " + reply.err());
        }
        // The words are taken as sent: an @file is not read by the host (the client expanded its own).
        VmHost.Reply at = reply(exchange(("{\"args\":[\"vm\",\"@" + atFile + "\"],\"cwd\":\"/\"}")
                .getBytes(StandardCharsets.UTF_8)), "@file");
        assertEquals(ExitCodes.USAGE, at.exitCode(), at::toString);
        assertEquals("", at.out(), "the file's 'list' is not carried out");
        // A real request on a raw connection, for comparison.
        assertEquals(0, reply(exchange(LIST.getBytes(StandardCharsets.UTF_8)), LIST).exitCode());
        assertServing();
    }

    @Test
    void anotherUsersRequestIsRefusedByThePeerCheckNotOnlyByTheMode() throws Exception {
        Path setpriv = Path.of("/usr/bin/setpriv");
        Path python = Path.of("/usr/bin/python3");
        assumeTrue(Files.getOwner(socket).getName().equals("root") && Files.isExecutable(setpriv)
                && Files.isExecutable(python), "needs root, setpriv and python3 to run a client as 'nobody'");
        String stop = "{\"args\":[\"vm\",\"stop\",\"web\"],\"cwd\":\"/\"}";
        // First the mode: 'nobody' cannot even connect.
        for (Path p = tmp; !p.equals(socket); p = p.resolve(socket.getName(p.getNameCount()))) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx--x--x"));
        }
        Process denied = asNobody(setpriv, python, stop);
        assertEquals(13, denied.exitValue(), "EACCES from connect: " + new String(denied.getInputStream().readAllBytes()));
        // Then with the socket open to all, the peer check.
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
        Process refused = asNobody(setpriv, python, stop);
        byte[] answer = refused.getInputStream().readAllBytes();
        assertEquals(0, refused.exitValue());
        VmHost.Reply reply = reply(answer, "stop as nobody");
        assertEquals(new VmHost.Reply(ExitCodes.IO, "", "vhd: " + socket + ": refused a request from user 'nobody': the"
                + " vhd process hosting these VMs runs as another user ('root')\n"), reply);
        assertEquals(VmState.RUNNING, vm.state(), "the stop was not carried out");
        assertServing();
    }

    /** Runs a Python client as 'nobody' that sends {@code request} and prints the raw answer. */
    private Process asNobody(Path setpriv, Path python, String request) throws Exception {
        String client = """
                import socket, sys
                s = socket.socket(socket.AF_UNIX)
                try:
                    s.connect(sys.argv[1])
                except PermissionError:
                    sys.exit(13)
                try:
                    s.sendall(sys.argv[2].encode()); s.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    sys.stdout.buffer.write(b)
                """;
        Process p = new ProcessBuilder(setpriv.toString(), "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                python.toString(), "-c", client, socket.toString(), request)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "the client as nobody ends");
        return p;
    }

    @Test
    void aFloodOfStalledConnectionsIsCappedAndTimedOutAndRealCommandsGetThrough() throws Exception {
        // -Dvhdkit.long=true: a flood of thousands, for the figures in RELIABILITY-vmhost.md.
        boolean longMode = Boolean.getBoolean("vhdkit.long");
        int silent = longMode ? 4000 : 300;
        int half = longMode ? 1000 : 100;
        long began = System.nanoTime();
        String halfRequest = "{\"args\":[\"vm\",\"li";
        List<SocketChannel> stalled = new ArrayList<>();
        AtomicInteger mostOpen = new AtomicInteger();
        Thread sampler = Thread.ofPlatform().daemon(true).start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                mostOpen.accumulateAndGet(host.connectionsOpen(), Math::max);
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        try {
            // One that trickles a byte at a time: the timeout is for the whole request, not per read.
            SocketChannel trickle = SocketChannel.open(UnixDomainSocketAddress.of(socket));
            Thread trickler = Thread.ofVirtual().start(() -> {
                try {
                    for (byte b : LIST.getBytes(StandardCharsets.UTF_8)) {
                        trickle.write(ByteBuffer.wrap(new byte[] {b}));
                        Thread.sleep(150);
                    }
                } catch (IOException | InterruptedException e) {
                    // dropped by the host
                }
            });
            for (int i = 0; i < silent + half; i++) {
                SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket));
                if (i >= silent) {
                    try {
                        c.write(ByteBuffer.wrap(halfRequest.getBytes(StandardCharsets.UTF_8)));
                    } catch (IOException e) {
                        // closed at the cap already
                    }
                }
                stalled.add(c);
            }
            // Real commands, many at once, while the stalled connections hold every slot: each is
            // refused at the cap and tries again until the stalled ones time out.
            List<Thread> real = new ArrayList<>();
            List<CliRun> runs = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int i = 0; i < 20; i++) {
                real.add(Thread.ofVirtual().start(() -> runs.add(vms.vm("list"))));
            }
            for (Thread t : real) {
                t.join();
            }
            for (CliRun run : runs) {
                assertTrue(run.assertSuccess().out().contains("web   Running"), run::toString);
            }
            assertEquals(20, runs.size());

            int timedOut = 0;
            int closedAtCap = 0;
            for (int i = 0; i < stalled.size(); i++) {
                byte[] answer;
                try {
                    answer = readAll(stalled.get(i));
                } catch (IOException e) {
                    answer = new byte[0]; // reset: closed at the cap with the half request unread
                }
                if (answer.length == 0) {
                    closedAtCap++;
                    continue;
                }
                VmHost.Reply reply = reply(answer, "stalled " + i);
                assertEquals(ExitCodes.IO, reply.exitCode(), reply::toString);
                // A half request is in by the timeout (or, on a machine stalled for 2 s, not yet).
                String bytes = i < silent ? "0" : "(0|" + halfRequest.length() + ")";
                String err = reply.err();
                assertTrue(err.matches(java.util.regex.Pattern.quote(refusedFromMe + "the request was not complete"
                        + " within 2000 ms (") + bytes + " bytes received\\)\n"), err);
                timedOut++;
            }
            trickler.join();
            VmHost.Reply trickled = reply(readAll(trickle), "trickle");
            assertTrue(trickled.err().startsWith(refusedFromMe + "the request was not complete within 2000 ms"),
                    trickled::toString);
            assertEquals(silent + half, timedOut + closedAtCap);
            assertTrue(timedOut >= LIMITS.maxConnections() - 1, "the first to connect held the slots: " + timedOut);
            sampler.interrupt();
            sampler.join();
            assertTrue(mostOpen.get() <= LIMITS.maxConnections(), "at most the cap open at once: " + mostOpen);
            System.gc();
            Runtime rt = Runtime.getRuntime();
            System.out.printf("flood: %d silent + %d half requests + 1 trickle + 20 real commands (all answered"
                    + " right); %d timed out with a reply, %d closed at the cap; at most %d connections open at once;"
                    + " heap after GC %d MiB; %.1f s%n", silent, half, timedOut, closedAtCap, mostOpen.get(),
                    (rt.totalMemory() - rt.freeMemory()) >> 20, (System.nanoTime() - began) / 1e9);
        } finally {
            sampler.interrupt();
            for (SocketChannel c : stalled) {
                c.close();
            }
        }
        assertServing();
    }

    /** {@code list} and {@code show} through the socket answer with the right content; the VM runs. */
    private void assertServing() throws Exception {
        assertTrue(vms.vm("list").assertSuccess().out().contains("web   Running"));
        assertEquals("Running", vms.vm("show", "-o", "json", "web").assertSuccess().json().get("state").asText());
        assertEquals(VmState.RUNNING, vm.state());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (host.connectionsOpen() > 0) { // the last replies go out after the client has them
            assertTrue(System.nanoTime() < deadline, "connections left open: " + host.connectionsOpen());
            Thread.sleep(10);
        }
    }

    /** Sends {@code request} on a connection of its own, ends it, and returns all the host answered. */
    private byte[] exchange(byte[] request) throws Exception {
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            // Written on a thread of its own: a host that answers before it read all stops reading.
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    ByteBuffer all = ByteBuffer.wrap(request);
                    while (all.hasRemaining()) {
                        c.write(all); // a blocking write may write only what the socket buffer takes
                    }
                    c.shutdownOutput();
                } catch (IOException e) {
                    // the host answered and closed before it had read all
                }
            });
            byte[] answer = readAll(c);
            writer.join();
            return answer;
        }
    }

    private static byte[] readAll(SocketChannel c) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
        while (c.read(buffer) > 0) {
            all.write(buffer.array(), 0, buffer.position());
            buffer.clear();
        }
        return all.toByteArray();
    }

    /** The reply after the host's {@link VmHost#ACCEPTED}. */
    private static VmHost.Reply reply(byte[] answer, String what) throws IOException {
        assertTrue(answer.length > 1 && answer[0] == VmHost.ACCEPTED,
                () -> abbreviate(what) + ": no reply: " + Arrays.toString(Arrays.copyOf(answer, Math.min(answer.length, 20))));
        return JSON.readValue(answer, 1, answer.length - 1, VmHost.Reply.class);
    }

    private static String abbreviate(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "..." : s;
    }

    @Test
    void aCommandLineTooLongToSendIsRefusedByTheClient() {
        String name = "x".repeat(VmHost.MAX_REQUEST);
        String line = vms.vm("show", name).assertFailure(ExitCodes.IO);
        assertNotEquals(-1, line.indexOf("the command line is too long to send to the vhd process hosting the VMs"),
                line);
        assertEquals(VmState.RUNNING, vm.state());
    }
}
