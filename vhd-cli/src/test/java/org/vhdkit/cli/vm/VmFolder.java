package org.vhdkit.cli.vm;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.vhdkit.cli.CliRun;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.VhdDisk;

/**
 * A folder of VMs for the {@code vhd vm} tests: runs {@code vhd vm --vm-root ROOT ...} in process
 * (each run opens the folder afresh, as separate processes would), and runs a hosting
 * {@code vhd vm start} on a thread of its own, as another terminal would.
 */
final class VmFolder {
    static final Duration WAIT = Duration.ofSeconds(20);

    private final Path root;

    VmFolder(Path root) {
        this.root = root;
    }

    Path root() {
        return root;
    }

    /** {@code vhd vm --vm-root ROOT args...}. */
    CliRun vm(String... args) {
        List<String> all = new ArrayList<>(List.of("vm", "--vm-root", root.toString()));
        all.addAll(List.of(args));
        return CliRun.vhd(FileSystems.getDefault(), all.toArray(String[]::new));
    }

    /**
     * Starts {@code vhd vm --vm-root ROOT args...} (a start or run that hosts the folder) on its own
     * thread and returns once it listens on the folder's socket with a VM running.
     */
    CompletableFuture<CliRun> host(String... args) throws InterruptedException {
        CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> vm(args),
                r -> Thread.ofPlatform().name("test-host").daemon(true).start(r));
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!Files.exists(root.resolve(VmHost.SOCKET)) || !vm("list").out().contains("Running")) {
            if (run.isDone()) {
                fail("the host ended before it served: " + run.join());
            }
            assertTrue(System.nanoTime() < deadline, "the host does not listen on " + root.resolve(VmHost.SOCKET));
            TimeUnit.MILLISECONDS.sleep(20);
        }
        return run;
    }

    /** What a host run returned once it ended. */
    static CliRun ended(CompletableFuture<CliRun> host) throws Exception {
        return host.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    /** A new dynamic VHD of {@code size} bytes in {@code dir}. */
    static Path dynamicVhd(Path dir, String name, long size) throws IOException {
        Path file = dir.resolve(name);
        try (VhdDisk disk = org.vhdkit.vhd.Vhd.create(file, CreateOptions.dynamic(size))) {
            return disk.path();
        }
    }
}
