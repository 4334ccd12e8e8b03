package org.vhdkit.stack.snapshot;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.testing.CrashState;
import org.vhdkit.vhd.testing.CrashStates;
import org.vhdkit.vhd.testing.RecordingLog;

/**
 * Snapshot take, apply and delete (with the merge of the deleted snapshot's layer) cut by a power
 * loss at every point that matters, as vhd-core's {@code PowerLossTest} does for the VHD
 * operations, but of the whole VM folder: the VHD and AVHD files through their recorded stores,
 * and {@code snapshots.json} and the VM's configuration, which are replaced atomically (temporary
 * file written and forced, renamed, folder forced), through {@link org.vhdkit.vhd.io.FolderEvents}.
 * The states ({@link CrashStates}, names durable only once the folder is forced) keep, of the
 * creations, renames and deletions since the last folder force, all, none or those up to a random
 * one, beside unforced writes lost, reordered or torn.
 *
 * <p>For each state: the tree opens (recovering an operation cut short), {@code repair} leaves it
 * consistent, every VHD and AVHD file checks at most leaking, and the tree (the snapshots, Now's
 * node, and what each snapshot and Now show) is the tree before the operation or after it. The
 * seed is printed: {@code -Dvhdkit.powerloss.seed=N} replays; {@code -Dvhdkit.long=true} draws
 * more states.
 */
class SnapshotPowerLossTest {
    private static final boolean LONG = Boolean.getBoolean("vhdkit.long");

    @TempDir
    Path dir;

    /** What the tree shows: its snapshots in order, Now's node, and the digest of what each snapshot and Now show. */
    record TreeView(List<String> names, Optional<String> now, Map<String, String> shows) {
    }

    @ParameterizedTest
    @ValueSource(strings = {"take", "apply", "delete"})
    void anOperationCutByAPowerLossLeavesTheTreeBeforeOrAfterIt(String op) throws Exception {
        long seed = Long.getLong("vhdkit.powerloss.seed", new Random().nextLong());
        Random random = new Random(seed);
        Path root = dir.resolve("vms");
        Path folder;
        try (Hypervisor h = SnapshotVms.hypervisor(root)) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            folder = vm.folder();
            Snapshots tree = Snapshots.of(vm);
            byte[] model = new byte[(int) SnapshotVms.SIZE];
            char letter = 'A';
            for (String name : List.of("s1", "s2", "s3")) { // s2's layer has one dependent: s3's
                SnapshotVms.write(vm, model, letter++);
                tree.take(name);
            }
            SnapshotVms.write(vm, model, letter);
        }
        // The tree and the configuration name files by absolute path: every state is checked in place.
        Path pristine = dir.resolve("pristine");
        copy(root, pristine);
        TreeView before = view(root);
        restore(pristine, root);

        RecordingLog log = RecordingLog.of(folder);
        log.record(() -> {
            try (Hypervisor h = SnapshotVms.hypervisor(root)) {
                Snapshots tree = Snapshots.of(h.get("vm"));
                switch (op) {
                    case "take" -> tree.take("s4");
                    case "apply" -> tree.apply("s1", false);
                    default -> tree.delete("s2", false);
                }
            }
            return null;
        });
        log.reconcile();
        TreeView after = view(root);
        assertNotEquals(before, after, "the " + op + " changed the tree");

        List<CrashState> states = CrashStates.of(log, 0, log.position(), random, LONG ? 16 : 1,
                CrashStates.Names.DURABLE_AFTER_FOLDER_FORCE);
        int beforeSeen = 0;
        int afterSeen = 0;
        long namesLost = states.stream().filter(s -> s.namesLost() > 0).count();
        for (int i = 0; i < states.size(); i++) {
            CrashState state = states.get(i);
            String where = op + ", " + state + ", seed " + seed;
            restore(pristine, root);
            try (Stream<Path> files = Files.list(folder)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    Files.delete(f);
                }
            }
            state.materialise(folder);
            TreeView seen;
            try {
                seen = view(root);
            } catch (Exception | AssertionError e) {
                throw new AssertionError(where + ": " + e, e);
            }
            assertTrue(seen.equals(before) || seen.equals(after), () -> where + ": the tree is neither before nor after: "
                    + seen + "\nbefore " + before + "\nafter  " + after);
            beforeSeen += seen.equals(before) ? 1 : 0;
            afterSeen += seen.equals(after) ? 1 : 0;
        }
        System.out.println("SnapshotPowerLossTest " + op + ": " + states.size() + " crash states (" + beforeSeen
                + " before, " + afterSeen + " after; " + namesLost + " lost changes of names), " + log.position()
                + " events, seed " + seed
                + " (replay: -Dvhdkit.powerloss.seed=" + seed + ")");
        assertTrue(beforeSeen > 0 && afterSeen > 0, "states on both sides of the " + op + ", seed " + seed);
        assertTrue(namesLost > 0, "states that lost a rename or a creation, seed " + seed);
    }

    /** Opens the tree under {@code root} (recovering), repairs it, checks every image, and returns what it shows. */
    private static TreeView view(Path root) throws Exception {
        try (Hypervisor h = SnapshotVms.hypervisor(root)) {
            VirtualMachine vm = h.get("vm");
            Snapshots tree = Snapshots.of(vm);
            Snapshots.CheckResult repaired = tree.repair();
            assertTrue(repaired.consistent(), () -> repaired.problems() + " after " + repaired.repairs());
            assertTrue(tree.check().consistent(), () -> tree.check().problems().toString());
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(vm.folder(), "*.{vhd,avhd}")) {
                for (Path p : ds) {
                    CheckReport report = ImageCheck.check(p, ProgressListener.NONE);
                    assertNotEquals(CheckReport.Status.CORRUPT, report.status(), () -> p + ": " + report);
                }
            }
            Map<String, String> shows = new LinkedHashMap<>();
            List<String> names = new ArrayList<>();
            for (Snapshot s : tree.list()) {
                names.add(s.name());
                shows.put(s.name(), digest(s.layers().get(SnapshotVms.SLOT)));
            }
            shows.put("Now", digest(SnapshotVms.disk(vm)));
            return new TreeView(names, tree.now().map(Snapshot::name), shows);
        }
    }

    private static String digest(Path file) throws IOException, NoSuchAlgorithmException {
        byte[] bytes = new byte[(int) SnapshotVms.SIZE];
        try (VhdDisk d = Vhd.openReadOnly(file)) {
            d.read(0, bytes);
        }
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)).substring(0, 16);
    }

    /** Makes {@code root} what {@code pristine} holds. */
    private static void restore(Path pristine, Path root) throws IOException {
        delete(root);
        copy(pristine, root);
    }

    private static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else if (Files.isRegularFile(p)) {
                    Files.copy(p, target);
                }
            }
        }
    }

    private static void delete(Path root) throws IOException {
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
