package org.vhdkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * The {@code ./vhd} launcher at the repository root, run as a user would. An integration test
 * (failsafe, after package) because the launcher runs target/vhd.jar, and would build it if it
 * were missing or older than the sources.
 */
class LauncherIT {
    /** Generous: the launcher builds the jar when it is stale. */
    private static final Duration TIMEOUT = Duration.ofMinutes(5);

    @TempDir
    Path tmp;

    /** The launcher: the module runs with vhd-cli/ as its working directory. */
    private static Path launcher() {
        Path root = Path.of("").toAbsolutePath().getParent();
        Path launcher = root.resolve("vhd");
        assertTrue(Files.isExecutable(launcher), () -> "no launcher at " + launcher);
        return launcher;
    }

    private ExternalTools.Result vhd(String... args) {
        List<String> argv = new java.util.ArrayList<>(List.of(launcher().toString()));
        argv.addAll(List.of(args));
        return ExternalTools.run(tmp, TIMEOUT, argv);
    }

    @Test
    void createThenInfo() throws IOException {
        ExternalTools.Result create = vhd("create", "--size", "64M", "x.vhd");
        assertEquals(0, create.exitCode(), create::toString);
        assertEquals("", create.stderr());
        assertEquals("Created dynamic x.vhd: 64 MiB (67108864 bytes), 2 MiB blocks\n", create.stdout());
        assertTrue(Files.isRegularFile(tmp.resolve("x.vhd")));

        ExternalTools.Result info = vhd("info", "--output", "json", "x.vhd");
        assertEquals(0, info.exitCode(), info::toString);
        assertEquals("", info.stderr());
        JsonNode json = new ObjectMapper().readTree(info.stdout());
        assertEquals(64L << 20, json.get("size").asLong());
        assertEquals("dynamic", json.get("type").asText());
    }

    /**
     * The first run builds, and says so on stderr even when stderr is not a terminal (here: a file),
     * so a script or CI log does not sit through a silent minute; the next run, with the jar up to
     * date, says nothing. The launcher is copied into a bare tree with a stand-in {@code mvn} (it
     * makes the jar) and a stand-in {@code java} (it prints its arguments), so no real build runs.
     */
    @Test
    void aBuildIsAnnouncedOnStderrWhenStderrIsNotATerminal() throws IOException {
        Path root = Files.createDirectories(tmp.resolve("tree"));
        Files.copy(launcher(), root.resolve("vhd"), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        Path lib = Files.createDirectories(root.resolve("scripts/lib"));
        Files.copy(launcher().resolveSibling("scripts/lib/java.sh"), lib.resolve("java.sh"));
        Files.writeString(root.resolve("pom.xml"), "<project/>\n");
        Files.createDirectories(root.resolve("vhd-cli/src/main"));
        Path realJava = Path.of(System.getProperty("java.home"), "bin");
        Path jdk = Files.createDirectories(tmp.resolve("jdk/bin"));
        script(jdk.resolve("java"), "if [ \"$1\" = -version ]; then exec " + realJava.resolve("java") + " -version; fi\n"
                + "echo \"ran $*\"\n");
        Files.createSymbolicLink(jdk.resolve("javac"), realJava.resolve("javac"));
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        script(bin.resolve("mvn"), "mkdir -p vhd-cli/target && touch vhd-cli/target/vhd.jar\n");
        List<String> argv = List.of("env", "JAVA_HOME=" + jdk.getParent(), "PATH=" + bin + ":/usr/bin:/bin",
                root.resolve("vhd").toString(), "--version");

        ExternalTools.Result first = ExternalTools.run(tmp, TIMEOUT, argv);
        assertEquals(0, first.exitCode(), first::toString);
        assertEquals("vhd: building vhd-cli (first use or sources changed)...\n", first.stderr());
        assertTrue(first.stdout().startsWith("ran ") && first.stdout().endsWith(" --version\n"), first.stdout());

        ExternalTools.Result second = ExternalTools.run(tmp, TIMEOUT, argv);
        assertEquals(0, second.exitCode(), second::toString);
        assertEquals("", second.stderr(), "no build, no word about one");

        // The launcher checks the list of inputs it wrote after the build, not the tree: a source file
        // added, edited or deleted since must still cause a build (each change is made newer than the jar).
        Path jar = root.resolve("vhd-cli/target/vhd.jar");
        Path source = root.resolve("vhd-cli/src/main/A.java");
        List<Runnable> changes = List.of(
                () -> write(source, "class A {}\n"),
                () -> write(source, "class A { }\n"),
                () -> delete(source));
        for (Runnable change : changes) {
            Files.setLastModifiedTime(jar, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(60)));
            change.run();
            ExternalTools.Result rebuilt = ExternalTools.run(tmp, TIMEOUT, argv);
            assertEquals("vhd: building vhd-cli (first use or sources changed)...\n", rebuilt.stderr(), rebuilt::toString);
            assertEquals("", ExternalTools.run(tmp, TIMEOUT, argv).stderr(), "built once only");
        }
    }

    private static void write(Path path, String text) {
        try {
            Files.writeString(path, text);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void delete(Path path) {
        try {
            Files.delete(path);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void script(Path path, String body) throws IOException {
        Files.writeString(path, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(path, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    /**
     * The JVM leaves a class file older than Java 6 (no stack maps) out of the start-up cache, and
     * every class that links against it: picocli's are rewritten by the build (ClassFileUpgrade), so
     * none may be left in the jar the launcher runs.
     */
    @Test
    void everyClassInTheJarCanGoIntoTheStartUpCache() throws IOException {
        Path jar = launcher().resolveSibling("vhd-cli").resolve("target").resolve("vhd.jar");
        List<String> old = new java.util.ArrayList<>();
        int classes = 0;
        try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(jar.toFile())) {
            for (java.util.zip.ZipEntry entry : java.util.Collections.list(zip.entries())) {
                if (entry.getName().endsWith(".class") && !entry.getName().endsWith("module-info.class")) {
                    byte[] head;
                    try (java.io.InputStream in = zip.getInputStream(entry)) {
                        head = in.readNBytes(8);
                    }
                    classes++;
                    if (((head[6] & 0xff) << 8 | head[7] & 0xff) < 50) {
                        old.add(entry.getName());
                    }
                }
            }
        }
        assertTrue(classes > 1000, "classes in " + jar + ": " + classes);
        assertEquals(List.of(), old);
        // picocli, the library that had them, still parses and prints.
        ExternalTools.Result help = vhd("--help");
        assertEquals(0, help.exitCode(), help::toString);
        assertTrue(help.stdout().startsWith("Usage: vhd "), help::toString);
    }

    @Test
    void missingFile() {
        ExternalTools.Result info = vhd("info", "missing.vhd");
        assertEquals(74, info.exitCode(), info::toString);
        assertEquals("", info.stdout());
        assertEquals("vhd: missing.vhd: no such file\n", info.stderr());
    }

    /** The launcher with its start-up caches in {@code caches} instead of in target/aot. */
    private ExternalTools.Result vhdWithCaches(Path caches, String... args) {
        List<String> argv = new java.util.ArrayList<>(List.of("env", "VHDKIT_AOT_DIR=" + caches, launcher().toString()));
        argv.addAll(List.of(args));
        return ExternalTools.run(tmp, TIMEOUT, argv);
    }

    @Test
    void aMissingStartUpCacheIsMadeAndADamagedOrForeignOneOnlySlowsTheCommand() throws IOException {
        vhd("create", "--size", "64M", "x.vhd");
        Path caches = tmp.resolve("cache");
        Path cache = caches.resolve("quick.aot");
        ExternalTools.Result first = vhdWithCaches(caches, "info", "--output", "json", "x.vhd");
        assertEquals(0, first.exitCode(), first::toString);
        assertEquals("", first.stderr());
        assertEquals(64L << 20, new ObjectMapper().readTree(first.stdout()).get("size").asLong());
        assertTrue(Files.size(cache) > 0, "the launcher made the missing cache");
        assertFalse(Files.exists(caches.resolve("full.aot")), "a quick command trained the long commands' cache too");

        // Damaged: garbage newer than the jar, so the launcher trusts it and the JVM must refuse it quietly.
        byte[] garbage = new byte[100_000];
        new java.util.Random(1).nextBytes(garbage);
        Files.write(cache, garbage);
        ExternalTools.Result damaged = vhdWithCaches(caches, "info", "--output", "json", "x.vhd");
        assertEquals(0, damaged.exitCode(), damaged::toString);
        assertEquals("", damaged.stderr());
        assertEquals(first.stdout(), damaged.stdout());

        // Foreign: a cache made for another class path (a copy of the jar elsewhere).
        Path otherJar = tmp.resolve("other.jar");
        Files.copy(launcher().resolveSibling("vhd-cli").resolve("target").resolve("vhd.jar"), otherJar);
        String java = ProcessHandle.current().info().command().orElse("java");
        ExternalTools.Result train = ExternalTools.run(tmp, TIMEOUT, List.of(java, "-XX:AOTCacheOutput=" + cache,
                "-Xlog:disable", "--enable-native-access=ALL-UNNAMED", "-cp", otherJar.toString(),
                "org.vhdkit.cli.VhdCommand", "--version"));
        assertEquals(0, train.exitCode(), train::toString);
        ExternalTools.Result foreign = vhdWithCaches(caches, "check", "x.vhd");
        assertEquals(0, foreign.exitCode(), foreign::toString);
        assertEquals("", foreign.stderr());
        assertEquals(vhd("check", "x.vhd").stdout(), foreign.stdout());

        // A long-running command makes and uses the other cache.
        ExternalTools.Result compared = vhdWithCaches(caches, "compare", "x.vhd", "x.vhd");
        assertEquals(0, compared.exitCode(), compared::toString);
        assertEquals("", compared.stderr());
        assertTrue(Files.size(caches.resolve("full.aot")) > 0, "the launcher made the long commands' cache");
    }
}
