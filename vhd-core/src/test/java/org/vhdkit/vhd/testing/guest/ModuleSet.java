package org.vhdkit.vhd.testing.guest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Kernel modules and their dependencies, from a kernel's {@code modules.dep} (and
 * {@code modules.builtin}, so that a module built into the kernel is simply not loaded), in an
 * order that {@code insmod} can load them one by one: every module after all it depends on.
 *
 * <p>Names are compared as the kernel does, with {@code -} and {@code _} the same. A module the
 * kernel has neither as a file nor built in is an error naming it and {@code modules.dep}.
 *
 * <p>Immutable after {@link #read}; thread-safe.
 */
final class ModuleSet {
    private final Path modulesDir;
    /** Module name (normalised) to its path relative to {@link #modulesDir}. */
    private final Map<String, String> paths;
    /** Relative path to the relative paths it needs, as modules.dep lists them. */
    private final Map<String, List<String>> needs;
    private final Set<String> builtin;

    private ModuleSet(Path modulesDir, Map<String, String> paths, Map<String, List<String>> needs, Set<String> builtin) {
        this.modulesDir = modulesDir;
        this.paths = paths;
        this.needs = needs;
        this.builtin = builtin;
    }

    /** Reads {@code modules.dep} and {@code modules.builtin} (if present) of {@code /lib/modules/VERSION}. */
    static ModuleSet read(Path modulesDir) throws IOException {
        Map<String, String> paths = new HashMap<>();
        Map<String, List<String>> needs = new HashMap<>();
        Path dep = modulesDir.resolve("modules.dep");
        int lineNumber = 0;
        for (String line : Files.readAllLines(dep)) {
            lineNumber++;
            if (line.isBlank()) {
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new IOException(dep + ": line " + lineNumber + " has no 'module: dependencies' form: " + line);
            }
            String module = line.substring(0, colon).strip();
            String rest = line.substring(colon + 1).strip();
            paths.put(name(module), module);
            needs.put(module, rest.isEmpty() ? List.of() : List.of(rest.split("\\s+")));
        }
        Set<String> builtin = new HashSet<>();
        Path builtinList = modulesDir.resolve("modules.builtin");
        if (Files.exists(builtinList)) {
            for (String line : Files.readAllLines(builtinList)) {
                if (!line.isBlank()) {
                    builtin.add(name(line.strip()));
                }
            }
        }
        return new ModuleSet(modulesDir, paths, needs, builtin);
    }

    /**
     * The module files to load for {@code wanted}, dependencies first, each once, as paths relative
     * to the modules folder ({@code kernel/drivers/...}). Modules built into the kernel are left out.
     */
    List<String> loadOrder(List<String> wanted) throws IOException {
        Set<String> order = new LinkedHashSet<>();
        for (String want : wanted) {
            String key = name(want);
            String path = paths.get(key);
            if (path == null) {
                if (builtin.contains(key)) {
                    continue;
                }
                throw new IOException("kernel module " + want + " is neither in "
                        + modulesDir.resolve("modules.dep") + " nor built in (modules.builtin)");
            }
            visit(path, order, new HashSet<>());
        }
        return new ArrayList<>(order);
    }

    private void visit(String path, Set<String> order, Set<String> onStack) throws IOException {
        if (order.contains(path)) {
            return;
        }
        if (!onStack.add(path)) {
            throw new IOException(modulesDir.resolve("modules.dep") + ": dependency cycle through " + path);
        }
        for (String need : needs.getOrDefault(path, List.of())) {
            if (!needs.containsKey(need)) {
                throw new IOException(modulesDir.resolve("modules.dep") + ": " + path + " needs " + need
                        + ", which has no line of its own");
            }
            visit(need, order, onStack);
        }
        onStack.remove(path);
        order.add(path);
    }

    /** {@code kernel/fs/ext4/ext4.ko(.xz)} or {@code crc32c-generic} to {@code crc32c_generic}. */
    static String name(String module) {
        String base = module.substring(module.lastIndexOf('/') + 1);
        int ko = base.indexOf(".ko");
        if (ko >= 0) {
            base = base.substring(0, ko);
        }
        return base.replace('-', '_');
    }
}
