package org.vhdkit.stack.snapshot;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.snapshot.SnapshotVms.assertShows;
import static org.vhdkit.stack.snapshot.SnapshotVms.disk;
import static org.vhdkit.stack.snapshot.SnapshotVms.write;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.content.DigestAlgorithm;
import org.vhdkit.vhd.content.DiskContents;

/**
 * A take, an apply or a delete cut short between two of its steps, two ways: a test hook throws
 * where the crash would be and the hypervisor is closed ({@link Cut#THROWN}), or a child JVM runs the
 * operation and halts there ({@link Cut#KILLED}: {@link Runtime#halt}, so no finally block, no close,
 * no shutdown hook, what {@code kill -9} leaves). A delete whose merge moves 24 MiB is also killed
 * with SIGKILL at random moments. Reopened, the tree is consistent (after {@code repair} at most
 * deleted files nothing names), every image is clean and no snapshot's content is lost.
 */
@Timeout(120)
class SnapshotCrashTest {
    /** The disk of the random-kill test: large enough that its merge takes a while. */
    /** Three of the merge's 64 MiB copy windows, so that its progress shows steps inside the copy. */
    private static final long LARGE = 192L << 20;
    /** The exit status of a child that halted itself at its step, as a shell reports a SIGKILL. */
    private static final int HALTED = 137;

    @TempDir
    Path dir;

    /** The VM root the next hypervisor opens; the random test takes a fresh one per round. */
    private String rootName = "vms";

    enum Cut { THROWN, KILLED }

    static final class Crash extends RuntimeException {
        Crash(String step) {
            super("crashed at " + step);
        }
    }

    private static Snapshots.Checkpoint crashAt(String prefix) {
        return step -> {
            if (step.startsWith(prefix)) {
                throw new Crash(step);
            }
        };
    }

    private Path root() {
        return dir.resolve(rootName);
    }

    /** What a scenario does before its operation is cut: builds the VM "vm" and its tree, fills models. */
    @FunctionalInterface
    private interface Setup {
        Snapshots run(Hypervisor h, Map<String, byte[]> models) throws Exception;
    }

    /**
     * Sets the scenario up, then runs {@code op} on {@code snapshot} and cuts it at the first step whose
     * name starts with {@code step}, {@code how} the test says.
     */
    private Map<String, byte[]> cut(Cut how, Setup setup, String op, String snapshot, String step) throws Exception {
        Map<String, byte[]> models = new LinkedHashMap<>();
        try (Hypervisor h = SnapshotVms.hypervisor(root())) {
            Snapshots tree = setup.run(h, models);
            if (how == Cut.THROWN) {
                tree.checkpoint(crashAt(step));
                assertThrows(Crash.class, () -> operate(tree, op, snapshot));
            }
        }
        if (how == Cut.KILLED) {
            StringBuilder out = new StringBuilder();
            int status = finish(child(op, snapshot, step), out);
            assertTrue(out.toString().contains("halting at " + step), "the child never reached '" + step + "': " + out);
            assertEquals(HALTED, status, out::toString);
        }
        return models;
    }

    /**
     * The VM "vm" with pattern A written, snapshot {@code names[0]} taken, pattern B written, and so
     * on, then one pattern more for "Now"; {@code models} gets what each snapshot and Now show.
     */
    private static Snapshots history(Hypervisor h, Map<String, byte[]> models, String... names) throws IOException {
        VirtualMachine vm = SnapshotVms.vm(h, "vm");
        Snapshots tree = Snapshots.of(vm);
        byte[] model = new byte[(int) SnapshotVms.SIZE];
        char letter = 'A';
        for (String name : names) {
            write(vm, model, letter++);
            models.put(name, model.clone());
            tree.take(name);
        }
        write(vm, model, letter);
        models.put("Now", model);
        return tree;
    }

    private static void operate(Snapshots tree, String op, String snapshot) throws Exception {
        switch (op) {
            case "take" -> tree.take(snapshot);
            case "apply" -> tree.apply(snapshot, false);
            case "delete" -> tree.delete(snapshot, false);
            default -> throw new IllegalArgumentException(op);
        }
    }

    /**
     * The child process: {@code <vm root> <take|apply|delete> <snapshot> [<step prefix> | --stepwise]}.
     * Prints "ready" just before the operation; halts at the first step whose name starts with the
     * prefix. With {@code --stepwise} it waits for a line on standard input before the operation and
     * after each step, which it prints ("step NAME"): the parent kills it where it chooses.
     */
    public static void main(String[] args) throws Exception {
        String haltAt = args.length > 3 ? args[3] : null;
        try (Hypervisor h = SnapshotVms.hypervisor(Path.of(args[0]))) {
            Snapshots tree = Snapshots.of(h.get("vm"));
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, UTF_8));
            if (STEPWISE.equals(haltAt)) {
                tree.checkpoint(step -> {
                    System.out.println("step " + step);
                    System.out.flush();
                    in.readLine();
                });
                System.out.println("ready");
                System.out.flush();
                in.readLine();
                operate(tree, args[1], args[2]);
                System.out.println("done");
                return;
            }
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
            operate(tree, args[1], args[2]);
        }
        System.out.println("done");
    }

    private Process child(String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "-Djava.util.logging.config.file=" + Path.of("src", "test", "resources", "logging.properties")
                        .toAbsolutePath(), SnapshotCrashTest.class.getName(), root().toString()));
        argv.addAll(List.of(args));
        // Standard output carries only the protocol ("ready", "halting at ...", "done"); errors go to a file.
        return new ProcessBuilder(argv).redirectError(dir.resolve(rootName + ".child.err").toFile()).start();
    }

    private String childErrors() {
        try {
            Path err = dir.resolve(rootName + ".child.err");
            return Files.exists(err) ? Files.readString(err) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** Runs the child to its end and returns its exit status, with its output for failure messages. */
    private int finish(Process p, StringBuilder out) throws Exception {
        p.getOutputStream().close();
        out.append(new String(p.getInputStream().readAllBytes(), UTF_8));
        p.waitFor(60, TimeUnit.SECONDS);
        out.append(childErrors());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child did not end: " + out);
        return p.exitValue();
    }

    private static void assertConsistentAfterRepair(Snapshots tree, VirtualMachine vm) throws Exception {
        Snapshots.CheckResult repaired = tree.repair();
        assertTrue(repaired.consistent(), repaired.problems() + " after " + repaired.repairs());
        assertTrue(tree.check().consistent(), tree.check().problems().toString());
        SnapshotVms.assertAllClean(vm);
    }

    private static Stream<Arguments> both(String... steps) {
        return Stream.of(Cut.values()).flatMap(how -> Stream.of(steps).map(step -> Arguments.of(how, step)));
    }

    static Stream<Arguments> takeSteps() {
        return both("take: recorded", "take: created", "take: disks switched", "take: done");
    }

    @ParameterizedTest
    @MethodSource("takeSteps")
    void aTakeCutShort(Cut how, String step) throws Exception {
        Map<String, byte[]> m = cut(how, (h, models) -> history(h, models, "s1"), "take", "s2", step);
        byte[] model = m.get("Now");
        try (Hypervisor h = SnapshotVms.hypervisor(root())) {
            VirtualMachine vm = h.get("vm");
            Snapshots tree = Snapshots.of(vm);
            boolean committed = !step.equals("take: recorded") && !step.equals("take: created");
            assertEquals(committed ? List.of("s1", "s2") : List.of("s1"), tree.list().stream().map(Snapshot::name).toList());
            assertShows(tree.find("s1").layers().get(SnapshotVms.SLOT), m.get("s1"), "s1");
            if (committed) {
                assertShows(tree.find("s2").layers().get(SnapshotVms.SLOT), model, "s2");
                assertEquals(Optional.of("s2"), tree.now().map(Snapshot::name));
            }
            assertShows(disk(vm), model, "Now");
            assertConsistentAfterRepair(tree, vm);
            write(vm, model, 'C');
            tree.take("after");
            assertShows(disk(vm), model, "Now goes on");
        }
    }

    static Stream<Arguments> applySteps() {
        return both("apply: recorded", "apply: created", "apply: state restored", "apply: done", "merge: recorded");
    }

    @ParameterizedTest
    @MethodSource("applySteps")
    void anApplyCutShort(Cut how, String step) throws Exception {
        Map<String, byte[]> m = cut(how, (h, models) -> history(h, models, "s1", "s2"), "apply", "s1", step);
        try (Hypervisor h = SnapshotVms.hypervisor(root())) {
            VirtualMachine vm = h.get("vm");
            Snapshots tree = Snapshots.of(vm);
            assertShows(tree.find("s1").layers().get(SnapshotVms.SLOT), m.get("s1"), "s1");
            assertShows(tree.find("s2").layers().get(SnapshotVms.SLOT), m.get("s2"), "s2");
            boolean committed = !step.equals("apply: recorded") && !step.equals("apply: created");
            assertShows(disk(vm), committed ? m.get("s1") : m.get("Now"), "Now");
            assertEquals(Optional.of(committed ? "s1" : "s2"), tree.now().map(Snapshot::name));
            assertConsistentAfterRepair(tree, vm);
        }
    }

    static Stream<Arguments> deleteSteps() {
        return both("delete: recorded", "merge: rebased", "merge: recorded");
    }

    @ParameterizedTest
    @MethodSource("deleteSteps")
    void aDeleteCutShortInItsMerge(Cut how, String step) throws Exception {
        Path[] s2Layer = new Path[1];
        Map<String, byte[]> m = cut(how, (h, models) -> {
            Snapshots tree = history(h, models, "s1", "s2", "s3"); // s2's layer has one dependent, s3's
            s2Layer[0] = tree.find("s2").layers().get(SnapshotVms.SLOT);
            return tree;
        }, "delete", "s2", step);
        try (Hypervisor h = SnapshotVms.hypervisor(root())) {
            VirtualMachine vm = h.get("vm");
            Snapshots tree = Snapshots.of(vm); // the merge is redone on open
            assertEquals(List.of("s1", "s3"), tree.list().stream().map(Snapshot::name).toList());
            assertEquals(Optional.of(tree.find("s1").id()), tree.find("s3").parent());
            assertShows(tree.find("s1").layers().get(SnapshotVms.SLOT), m.get("s1"), "s1");
            assertShows(tree.find("s3").layers().get(SnapshotVms.SLOT), m.get("s3"), "s3");
            assertShows(disk(vm), m.get("Now"), "Now");
            assertTrue(!Files.exists(s2Layer[0]) || tree.check().problems().stream()
                    .anyMatch(p -> p.contains(s2Layer[0].getFileName().toString())), "s2's layer is merged, or reported");
            assertConsistentAfterRepair(tree, vm);
            assertTrue(!Files.exists(s2Layer[0]), "s2's layer is gone");
            tree.apply("s3", false);
            assertShows(disk(vm), m.get("s3"), "s3 still shows C over B over A");
        }
    }

    /** Thrown only: the running VM's guest program lives in this process, which a child cannot take over. */
    @ParameterizedTest
    @ValueSource(strings = {"take: saved state copied", "take: disks switched"})
    void aRunningTakeCutShort(String step) throws Exception {
        try (Hypervisor h = SnapshotVms.hypervisor(root())) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Snapshots tree = Snapshots.of(vm);
            vm.start(g -> {
                while (true) {
                    g.safePoint();
                    Thread.sleep(1);
                }
            });
            tree.checkpoint(crashAt(step));
            assertThrows(Crash.class, () -> tree.take("running"));
        }
        try (Hypervisor h = SnapshotVms.hypervisor(root())) {
            VirtualMachine vm = h.get("vm");
            Snapshots tree = Snapshots.of(vm);
            assertEquals(org.vhdkit.stack.vm.VmState.SAVED, vm.state(), "saved before the crash, and still");
            boolean committed = step.equals("take: disks switched");
            assertEquals(committed ? List.of("running") : List.of(), tree.list().stream().map(Snapshot::name).toList());
            assertConsistentAfterRepair(tree, vm);
            if (committed) {
                assertTrue(tree.find("running").savedState());
                vm.deleteSavedState();
                tree.apply("running", false);
                assertEquals(org.vhdkit.stack.vm.VmState.SAVED, vm.state(), "the snapshot's saved state came back");
            } else {
                assertTrue(Files.notExists(vm.folder().resolve("snapshots")) || java.nio.file.Files
                        .list(vm.folder().resolve("snapshots")).findAny().isEmpty(), "no saved state left behind");
            }
        }
    }

    /** The child's mode in which it waits at each step for the parent to go on or kill it. */
    static final String STEPWISE = "--stepwise";

    /** Where a round's kill lands: before the delete, or at a step of it (the copy's at a fraction). */
    private enum KillAt {
        BEFORE_THE_DELETE, DELETE_RECORDED, INSIDE_THE_COPY, COPY_DONE, MERGE_RECORDED;

        /** Whether the child, stopped at {@code line} of its protocol, is killed there. */
        boolean killsAt(String line, double fraction) {
            return switch (this) {
                case BEFORE_THE_DELETE -> line.equals("ready");
                case DELETE_RECORDED -> line.equals("step delete: recorded");
                case INSIDE_THE_COPY -> {
                    if (!line.startsWith("step merge: rebasing ")) {
                        yield false;
                    }
                    String[] doneOfTotal = line.substring("step merge: rebasing ".length()).split(" of ");
                    long done = Long.parseLong(doneOfTotal[0]);
                    long total = Long.parseLong(doneOfTotal[1]);
                    yield done > 0 && done < total && done >= fraction * total;
                }
                case COPY_DONE -> line.startsWith("step merge: rebased ");
                case MERGE_RECORDED -> line.startsWith("step merge: recorded ");
            };
        }
    }

    /**
     * A delete whose merge copies 24 MiB, killed with SIGKILL at a different place each round: before
     * it, once it is recorded, inside the copy (at a seeded fraction of it), after the copy and after
     * the merge is recorded. The child stops at each step until told to go on, so each kill lands
     * where the round says; wherever it lands, nothing is lost. The seed is printed and replayable:
     * {@code -Dvhdkit.killSeed=N}.
     */
    @Test
    void aDeleteKilledAtEachPlaceOfItsRunLosesNothing() throws Exception {
        long seed = Long.getLong("vhdkit.killSeed", new Random().nextLong());
        System.out.println("SnapshotCrashTest delete kills: seed " + seed + " (replay: -Dvhdkit.killSeed=" + seed + ")");
        Random random = new Random(seed);
        int midOperation = 0;
        int kept = 0;
        int deleted = 0;
        for (KillAt at : KillAt.values()) {
            rootName = "round-" + at;
            String where = at + ", seed " + seed;
            double fraction = 0.1 + 0.5 * random.nextDouble(); // the copy reports at 1/3 and 2/3

            Map<String, String> before = new LinkedHashMap<>();
            try (Hypervisor h = SnapshotVms.hypervisor(root())) {
                VirtualMachine vm = SnapshotVms.vm(h, "vm", LARGE);
                Snapshots tree = Snapshots.of(vm);
                fill(vm, random, 0, 16 << 20);
                tree.take("s1");
                for (long offset : new long[] {8L << 20, 72L << 20, 136L << 20}) { // s2's layer: 24 MiB the merge
                    fill(vm, random, offset, 8 << 20);                        // moves into s3's, in 3 windows
                }
                tree.take("s2");
                fill(vm, random, 20 << 20, 1 << 20);
                tree.take("s3");
                fill(vm, random, 40 << 20, 1 << 20);
                before.put("s1", sha256(tree.find("s1").layers().get(SnapshotVms.SLOT)));
                before.put("s2", sha256(tree.find("s2").layers().get(SnapshotVms.SLOT)));
                before.put("s3", sha256(tree.find("s3").layers().get(SnapshotVms.SLOT)));
                before.put("Now", sha256(disk(vm)));
            }
            Process p = child("delete", "s2", STEPWISE);
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8));
            java.io.Writer go = new java.io.OutputStreamWriter(p.getOutputStream(), UTF_8);
            boolean started = false;
            List<String> seen = new ArrayList<>();
            String line;
            while ((line = out.readLine()) != null && !line.equals("done")) {
                seen.add(line);
                if (at.killsAt(line, fraction)) {
                    break;
                }
                started |= line.startsWith("step ");
                go.write("go\n");
                go.flush();
            }
            assertTrue(line != null && !line.equals("done"), () -> "the child ended before the kill at " + where
                    + ": " + seen + " " + childErrors());
            started |= line.startsWith("step ");
            p.destroyForcibly();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            midOperation += started ? 1 : 0;
            try (Hypervisor h = SnapshotVms.hypervisor(root())) {
                VirtualMachine vm = h.get("vm");
                Snapshots tree = Snapshots.of(vm);
                List<String> names = tree.list().stream().map(Snapshot::name).toList();
                if (names.contains("s2")) { // killed before the delete was recorded: it did not happen
                    assertEquals(List.of("s1", "s2", "s3"), names, where);
                    assertEquals(before.get("s2"), sha256(tree.find("s2").layers().get(SnapshotVms.SLOT)), "s2, " + where);
                    kept++;
                } else {
                    assertEquals(List.of("s1", "s3"), names, where);
                    deleted++;
                }
                assertEquals(before.get("s1"), sha256(tree.find("s1").layers().get(SnapshotVms.SLOT)), "s1, " + where);
                assertEquals(before.get("s3"), sha256(tree.find("s3").layers().get(SnapshotVms.SLOT)), "s3, " + where);
                assertEquals(before.get("Now"), sha256(disk(vm)), "Now, " + where);
                assertConsistentAfterRepair(tree, vm);
            }
        }
        assertEquals(4, midOperation, "kills that landed inside the delete, seed " + seed);
        assertEquals(1, kept, "rounds killed before the delete was recorded, seed " + seed);
        assertEquals(4, deleted, "rounds killed after the delete was recorded, seed " + seed);
    }

    /** Writes {@code length} random bytes at {@code offset} of the Off VM's disk. */
    private static void fill(VirtualMachine vm, Random random, long offset, int length) throws IOException {
        byte[] data = new byte[length];
        random.nextBytes(data);
        try (VhdDisk d = Vhd.open(disk(vm), OpenOptions.READ_WRITE)) {
            d.write(offset, data);
            d.flush();
        }
    }

    /** The SHA-256 of what the disk (with its chain) shows, as {@code vhd digest} computes it. */
    private static String sha256(Path file) throws IOException {
        try (VhdDisk d = Vhd.openReadOnly(file)) {
            return DiskContents.digest(d, DigestAlgorithm.SHA256, ProgressListener.NONE).hex();
        }
    }
}
