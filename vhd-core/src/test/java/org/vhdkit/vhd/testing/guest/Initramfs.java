package org.vhdkit.vhd.testing.guest;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * The guest's root file system, an uncompressed newc cpio the kernel unpacks: busybox (its applets
 * linked at boot), the kernel modules wanted with their dependencies in load order
 * ({@code /etc/modules.order}), host programs such as {@code mke2fs} with the shared libraries
 * {@code ldd} names (so a dynamic busybox works too), programs built from C source beside this
 * class ({@link GuestProgram}: {@code qdbench}), the {@code /init} and {@code /bin/lsdisks}
 * scripts (resources beside this class). Module files compressed by the distribution
 * ({@code .ko.xz}, {@code .ko.zst}, {@code .ko.gz}) are unpacked on the host, so the guest's
 * busybox {@code insmod} needs no decompressor.
 *
 * <p>Immutable; thread-safe ({@link #build} writes only its own new file).
 */
record Initramfs(GuestKernel kernel, List<String> modules, List<String> programs) {

    /** Bump when the layout changes, so that cached archives from older tooling are not used. */
    private static final String LAYOUT = "initramfs-layout-1";
    private static final Pattern LDD_PATH = Pattern.compile("(?:=>\\s*)?(/\\S+)\\s+\\(0x");

    Initramfs {
        modules = List.copyOf(modules);
        programs = List.copyOf(programs);
    }

    /** The archive for these inputs, built into the cache unless already there. */
    Path build(GuestCache cache) throws IOException {
        ModuleSet set = ModuleSet.read(kernel.modulesDir());
        List<String> order = set.loadOrder(modules);
        Map<String, Path> files = new LinkedHashMap<>(); // guest path -> host file
        Path busybox = ExternalTools.find("busybox").orElseThrow(() -> new IOException("busybox not found"));
        files.put("bin/busybox", busybox);
        addLibraries(busybox, files);
        Map<String, String> links = new LinkedHashMap<>();
        for (String program : programs) {
            Optional<GuestProgram> built = GuestProgram.find(program);
            if (built.isPresent()) {
                files.put("usr/sbin/" + program, built.get().build(cache)); // static: no libraries
                continue;
            }
            Path host = ExternalTools.find(program).orElseThrow(() -> new IOException(program + " not found"));
            files.put("usr/sbin/" + program, host.toRealPath());
            addLibraries(host, files);
        }
        if (programs.contains("mke2fs")) {
            links.put("usr/sbin/mkfs.ext4", "mke2fs");
            links.put("usr/sbin/mkfs.ext2", "mke2fs");
            Path conf = Path.of("/etc/mke2fs.conf");
            if (Files.isRegularFile(conf)) {
                files.put("etc/mke2fs.conf", conf);
            }
        }
        if (programs.contains("e2fsck")) {
            links.put("usr/sbin/fsck.ext4", "e2fsck");
        }
        List<String> guestModules = new ArrayList<>();
        for (String module : order) {
            guestModules.add(plainName(module));
        }
        String init = resource("init");
        String lsdisks = resource("lsdisks");

        StringBuilder recipe = new StringBuilder(LAYOUT).append('\n').append(init).append(lsdisks);
        recipe.append(kernel.version()).append('\n').append(String.join(" ", order)).append('\n');
        for (String module : order) {
            recipe.append(GuestCache.stamp(kernel.modulesDir().resolve(module))).append('\n');
        }
        for (Map.Entry<String, Path> f : files.entrySet()) {
            recipe.append(f.getKey()).append(' ').append(GuestCache.stamp(f.getValue())).append('\n');
        }
        recipe.append(links);
        Path target = cache.file("initramfs-" + kernel.version(), recipe.toString(), ".cpio");
        if (Files.isRegularFile(target)) {
            return target;
        }
        Path partial = target.resolveSibling(target.getFileName() + ".partial-" + ProcessHandle.current().pid());
        try {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(partial), 1 << 16);
                    Cpio cpio = new Cpio(out)) {
                Set<String> dirs = new LinkedHashSet<>();
                for (String d : List.of("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev",
                        "tmp", "root", "mnt", "lib", "lib/modules")) {
                    dirs.add(d);
                    cpio.directory(d);
                }
                cpio.characterDevice("dev/console", 0600, 5, 1);
                cpio.characterDevice("dev/null", 0666, 1, 3);
                cpio.file("init", 0755, init.getBytes(UTF_8));
                cpio.file("bin/lsdisks", 0755, lsdisks.getBytes(UTF_8));
                for (int i = 0; i < order.size(); i++) {
                    cpio.file("lib/modules/" + guestModules.get(i), 0644,
                            moduleBytes(kernel.modulesDir().resolve(order.get(i))));
                }
                cpio.file("etc/modules.order", 0644, (String.join("\n", guestModules) + "\n").getBytes(UTF_8));
                for (Map.Entry<String, Path> f : files.entrySet()) {
                    parents(f.getKey(), dirs, cpio);
                    cpio.file(f.getKey(), Files.isExecutable(f.getValue()) ? 0755 : 0644, Files.readAllBytes(f.getValue()));
                }
                for (Map.Entry<String, String> l : links.entrySet()) {
                    cpio.symlink(l.getKey(), l.getValue());
                }
            }
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(partial);
        }
        return target;
    }

    /** The module's file name in the guest: always an uncompressed {@code NAME.ko}. */
    private static String plainName(String module) {
        String base = module.substring(module.lastIndexOf('/') + 1);
        return base.substring(0, base.indexOf(".ko")) + ".ko";
    }

    private static byte[] moduleBytes(Path module) throws IOException {
        String name = module.getFileName().toString();
        if (name.endsWith(".ko")) {
            return Files.readAllBytes(module);
        }
        String tool = name.endsWith(".xz") ? "xz" : name.endsWith(".zst") ? "zstd" : name.endsWith(".gz") ? "gzip" : null;
        if (tool == null) {
            throw new IOException(module + ": a module file of a kind this tooling does not unpack");
        }
        ExternalTools.assumeAvailable(tool);
        // To a file, not through a captured string: the module is binary.
        Path out = Files.createTempFile("vhdkit-module-", ".ko");
        try {
            Process p = new ProcessBuilder(ExternalTools.find(tool).orElseThrow().toString(), "-dc", module.toString())
                    .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            if (p.waitFor() != 0) {
                throw new IOException(tool + " could not unpack " + module);
            }
            return Files.readAllBytes(out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while unpacking " + module, e);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** Adds the shared libraries {@code ldd} lists for {@code program}, at the same paths in the guest. */
    private static void addLibraries(Path program, Map<String, Path> files) throws IOException {
        ExternalTools.Result r = ExternalTools.run(Duration.ofSeconds(30), "ldd", program.toString());
        if (r.exitCode() != 0) {
            return; // "not a dynamic executable": static, nothing to add
        }
        for (String line : r.stdout().split("\n")) {
            Matcher m = LDD_PATH.matcher(line);
            if (m.find()) {
                Path lib = Path.of(m.group(1));
                files.putIfAbsent(lib.toString().substring(1), lib.toRealPath());
            }
        }
    }

    private static void parents(String guestPath, Set<String> dirs, Cpio cpio) throws IOException {
        int slash = -1;
        while ((slash = guestPath.indexOf('/', slash + 1)) > 0) {
            String dir = guestPath.substring(0, slash);
            if (dirs.add(dir)) {
                cpio.directory(dir);
            }
        }
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = Initramfs.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("resource " + name + " missing beside " + Initramfs.class.getName());
            }
            return new String(in.readAllBytes(), UTF_8);
        }
    }
}
