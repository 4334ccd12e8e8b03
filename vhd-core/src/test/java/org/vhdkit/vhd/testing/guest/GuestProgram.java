package org.vhdkit.vhd.testing.guest;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Optional;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * A guest program built from C source kept beside this class ({@code NAME.c} among the test
 * resources), compiled on the host with {@code gcc -static -O2} so that it runs in the guest's
 * initramfs without libraries, and cached like the rest ({@link GuestCache}: the name carries a
 * hash of the source and of gcc's version line). {@code qdbench} (random O_DIRECT reads or writes
 * at a queue depth, through Linux native AIO) is the one there is.
 *
 * <p>Immutable; thread-safe ({@link #build} writes only its own new file).
 */
record GuestProgram(String name, String source) {

    /** The program named {@code name} when its source is among the resources beside this class. */
    static Optional<GuestProgram> find(String name) throws IOException {
        if (!name.matches("[a-z0-9_-]+")) {
            return Optional.empty();
        }
        try (InputStream in = GuestProgram.class.getResourceAsStream(name + ".c")) {
            return in == null ? Optional.empty() : Optional.of(new GuestProgram(name, new String(in.readAllBytes(), UTF_8)));
        }
    }

    /**
     * The static executable, compiled into the cache unless already there. Skips the test (fails
     * it when {@code CI=true}) when gcc is missing; an IOException carries gcc's messages when it
     * fails (no static C library: Debian's libc6-dev).
     */
    Path build(GuestCache cache) throws IOException {
        ExternalTools.assumeAvailable("gcc");
        String gcc = ExternalTools.run(Duration.ofSeconds(30), "gcc", "--version").requireSuccess().stdout()
                .lines().findFirst().orElse("");
        Path target = cache.file(name, "gcc -static -O2\n" + gcc + "\n" + source, "");
        if (Files.isRegularFile(target)) {
            return target;
        }
        String partial = target.getFileName() + ".partial-" + ProcessHandle.current().pid();
        Path src = Files.createTempFile("vhdkit-" + name + "-", ".c");
        try {
            Files.writeString(src, source);
            ExternalTools.Result r = ExternalTools.run(Duration.ofMinutes(2), "gcc", "-static", "-O2", "-Wall",
                    "-o", target.resolveSibling(partial).toString(), src.toString());
            if (r.exitCode() != 0) {
                throw new IOException("gcc could not build the guest program " + name + " (a static build needs"
                        + " Debian's libc6-dev):\n" + r.stderr());
            }
            Files.move(target.resolveSibling(partial), target, StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(src);
            Files.deleteIfExists(target.resolveSibling(partial));
        }
        return target;
    }
}
