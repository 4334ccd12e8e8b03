package org.vhdkit.stack.snapshot;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.snapshot.SnapshotVms.assertShows;
import static org.vhdkit.stack.snapshot.SnapshotVms.disk;
import static org.vhdkit.stack.snapshot.SnapshotVms.write;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/**
 * The cuts of {@link SnapshotCrashTest}, made by killing a real process rather than by throwing: a
 * child JVM opens the VM folder and runs a take, an apply or a delete, and dies at a step by
 * {@link Runtime#halt} (no finally block, no close, no shutdown hook: what {@code kill -9} leaves) or
 * by SIGKILL from this process at a random moment while a delete's merge copies a large layer. This
 * process then opens the folder as the next {@code vhd} would: the tree is consistent after repair and
 * every snapshot shows what it showed before.
 */
@Timeout(120)
class SnapshotKillTest {
    /** The exit status of a child that halted itself at its step, as a shell reports a SIGKILL. */
    private static final int HALTED = 137;

    @TempDir
    Path dir;

    /** The VM root the next child and hypervisor open; the random test takes a fresh one per round. */
    private String rootName = "vms";

    private Path root() {
        return dir.resolve(rootName);
    }

    /**
     * The child process: {@code <vm root> <take|apply|delete> <snapshot> [<step prefix>]}. Prints
     * "ready" just before the operation; halts at the first step whose name starts with the prefix.
     */
    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        String op = args[1];
        String name = args[2];
        String haltAt = args.length > 3 ? args[3] : null;
        try (Hypervisor h = SnapshotVms.hypervisor(root)) {
            Snapshots tree = Snapshots.of(h.get("vm"));
            if (haltAt != null) {
                tree.checkpoint(step -> {
                    if (step.startsWith(haltAt)) {
                        System.out.println("halting at " + step);
                        System.out.flush();
                        Runtime.getRuntime().halt(HALTED);
                    }
                });
            }
            System.out.println("ready");
            System.out.flush();
            switch (op) {
                case "take" -> tree.take(name);
                case "apply" -> tree.apply(name, false);
                case "delete" -> tree.delete(name, false);
                default -> throw new IllegalArgumentException(op);
            }
        }
        System.out.println("done");
    }

    private Process child(String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "-Djava.util.logging.config.file=" + logging(), SnapshotKillTest.class.getName(), root().toString()));
        argv.addAll(List.of(args));
        return new ProcessBuilder(argv).redirectErrorStream(true).start();
    }

    private static String logging() {
        return Path.of("src", "test", "resources", "logging.properties").toAbsolutePath().toString();
    }

    /** Runs the child to its end and returns its exit status, with its output for failure messages. */
    private static int finish(Process p, StringBuilder out) throws Exception {
        p.getOutputStream().close();
        out.append(new String(p.getInputStream().readAllBytes(), UTF_8));
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child did not end: " + out);
        return p.exitValue();
    }

    private int runHaltingAt(String op, String name, String step) throws Exception {
        StringBuilder out = new StringBuilder();
        int status = finish(child(op, name, step), out);
        assertTrue(out.toString().contains("halting at " + step), "the child never reached '" + step + "': " + out);
        return status;
    }

    private static void assertConsistentAfterRepair(Snapshots tree, VirtualMachine vm) throws Exception {
        Snapshots.CheckResult repaired = tree.repair();
        assertTrue(repaired.consistent(), repaired.problems() + " after " + repaired.repairs());
        assertTrue(tree.check().consistent(), tree.check().problems().toString());
        SnapshotVms.assertAllClean(vm);
    }

    @ParameterizedTest
    @ValueSource(strings = {"take: recorded", "take: created", "take: disks switched"})
    void aTakeKilled(String step) throws Exception {
        byte[] model = new byte[(int) SnapshotVms.SIZE];
        byte[] a;
        try (Hypervisor h = SnapshotVms.hypervisor(root())) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Snapshots tree = Snapshots.of(vm);
            write(vm, model, 'A');
            a = model.clone();
            tree.take("s1");
            write(vm, model, 'B');
        }
        assertEquals(HALTED, runHaltingAt("take", "s2", step));
        try (Hypervisor h = SnapshotVms.hypervisor(root())) {
            VirtualMachine vm = h.get("vm");
            Snapshots tree = Snapshots.of(vm);
            boolean committed = step.equals("take: disks switched");
            assertEquals(committed ? List.of("s1", "s2") : List.of("s1"), tree.list().stream().map(Snapshot::name).toList());
            assertShows(tree.find("s1").layers().get(SnapshotVms.SLOT), a, "s1");
            if (committed) {
                assertShows(tree.find("s2").layers().get(SnapshotVms.SLOT), model, "s2");
            }
            assertShows(disk(vm), model, "Now");
            assertConsistentAfterRepair(tree, vm);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"apply: recorded", "apply: created", "apply: state restored", "merge: recorded"})
    void anApplyKilled(String step) throws Exception {
        byte[] model = new byte[(int) SnapshotVms.SIZE];
        byte[] a;
        byte[] b;
        try (Hypervisor h = SnapshotVms.hypervisor(root())) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Snapshots tree = Snapshots.of(vm);
            write(vm, model, 'A');
            a = model.clone();
            tree.take("s1");
            write(vm, model, 'B');
            b = model.clone();
            tree.take("s2");
            write(vm, model, 'C');
        }
        assertEquals(HALTED, runHaltingAt("apply", "s1", step));
        try (Hypervisor h = SnapshotVms.hypervisor(root())) {
            VirtualMachine vm = h.get("vm");
            Snapshots tree = Snapshots.of(vm);
            assertShows(tree.find("s1").layers().get(SnapshotVms.SLOT), a, "s1");
            assertShows(tree.find("s2").layers().get(SnapshotVms.SLOT), b, "s2");
            boolean committed = !step.equals("apply: recorded") && !step.equals("apply: created");
            assertShows(disk(vm), committed ? a : model, "Now");
            assertEquals(Optional.of(committed ? "s1" : "s2"), tree.now().map(Snapshot::name));
            assertConsistentAfterRepair(tree, vm);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"delete: recorded", "merge: rebased", "merge: recorded"})
    void aDeleteKilled(String step) throws Exception {
        byte[] model = new byte[(int) SnapshotVms.SIZE];
        byte[] a;
        byte[] c;
        try (Hypervisor h = SnapshotVms.hypervisor(root())) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Snapshots tree = Snapshots.of(vm);
            write(vm, model, 'A');
            a = model.clone();
            tree.take("s1");
            write(vm, model, 'B');
            tree.take("s2");
            write(vm, model, 'C');
            c = model.clone();
            tree.take("s3"); // s2's layer has one dependent, s3's, which the merge rebases
            write(vm, model, 'D');
        }
        assertEquals(HALTED, runHaltingAt("delete", "s2", step));
        try (Hypervisor h = SnapshotVms.hypervisor(root())) {
            VirtualMachine vm = h.get("vm");
            Snapshots tree = Snapshots.of(vm); // the merge is redone on open
            assertEquals(List.of("s1", "s3"), tree.list().stream().map(Snapshot::name).toList());
            assertShows(tree.find("s1").layers().get(SnapshotVms.SLOT), a, "s1");
            assertShows(tree.find("s3").layers().get(SnapshotVms.SLOT), c, "s3");
            assertShows(disk(vm), model, "Now");
            assertConsistentAfterRepair(tree, vm);
        }
    }

    /**
     * A delete whose merge copies 24 MiB, killed with SIGKILL at moments spread over its run (seeded,
     * printed): wherever the kill lands (before, inside or after the copy), nothing is lost.
     */
    @Test
    void aDeleteKilledAtRandomMomentsInsideItsMerge() throws Exception {
        long seed = new Random().nextLong();
        System.out.println("SnapshotKillTest seed " + seed);
        Random random = new Random(seed);
        int killed = 0;
        int deleted = 0;
        for (int round = 0; round < 4; round++) {
            rootName = "round" + round;
            Map<String, String> before = new LinkedHashMap<>();
            try (Hypervisor h = SnapshotVms.hypervisor(root())) {
                VirtualMachine vm = SnapshotVms.vm(h, "vm", LARGE);
                Snapshots tree = Snapshots.of(vm);
                fill(vm, random, 0, 16 << 20);
                tree.take("s1");
                fill(vm, random, 8 << 20, 24 << 20); // s2's layer: 24 MiB the merge moves into s3's
                tree.take("s2");
                fill(vm, random, 20 << 20, 1 << 20);
                tree.take("s3");
                fill(vm, random, 40 << 20, 1 << 20);
                before.put("s1", sha256(tree.find("s1").layers().get(SnapshotVms.SLOT)));
                before.put("s2", sha256(tree.find("s2").layers().get(SnapshotVms.SLOT)));
                before.put("s3", sha256(tree.find("s3").layers().get(SnapshotVms.SLOT)));
                before.put("Now", sha256(disk(vm)));
            }
            Process p = child("delete", "s2");
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8));
            assertEquals("ready", out.readLine());
            Thread.sleep(random.nextInt(400));
            p.destroyForcibly();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            killed += p.exitValue() == 0 ? 0 : 1;
            try (Hypervisor h = SnapshotVms.hypervisor(root())) {
                VirtualMachine vm = h.get("vm");
                Snapshots tree = Snapshots.of(vm);
                List<String> names = tree.list().stream().map(Snapshot::name).toList();
                if (names.contains("s2")) { // killed before the delete was recorded: it did not happen
                    assertEquals(List.of("s1", "s2", "s3"), names, "seed " + seed);
                    assertEquals(before.get("s2"), sha256(tree.find("s2").layers().get(SnapshotVms.SLOT)), "s2, seed " + seed);
                } else {
                    assertEquals(List.of("s1", "s3"), names, "seed " + seed);
                    deleted++;
                }
                assertEquals(before.get("s1"), sha256(tree.find("s1").layers().get(SnapshotVms.SLOT)), "s1, seed " + seed);
                assertEquals(before.get("s3"), sha256(tree.find("s3").layers().get(SnapshotVms.SLOT)), "s3, seed " + seed);
                assertEquals(before.get("Now"), sha256(disk(vm)), "Now, seed " + seed);
                assertConsistentAfterRepair(tree, vm);
            }
        }
        System.out.printf("SnapshotKillTest: of 4 deletes, %d killed before they finished, %d recorded as done%n",
                killed, deleted);
    }

    private static final long LARGE = 48L << 20;

    /** Writes {@code length} random bytes at {@code offset} of the Off VM's disk. */
    private static void fill(VirtualMachine vm, Random random, long offset, int length) throws IOException {
        byte[] data = new byte[length];
        random.nextBytes(data);
        try (VhdDisk d = Vhd.open(disk(vm), OpenOptions.READ_WRITE)) {
            d.write(offset, data);
            d.flush();
        }
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buffer = new byte[1 << 20]; // the sizes here are whole MiB
        try (VhdDisk d = Vhd.openReadOnly(file)) {
            for (long at = 0; at < d.size(); at += buffer.length) {
                d.read(at, buffer);
                md.update(buffer);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
