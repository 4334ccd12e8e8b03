package org.vhdkit.stack.memory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/**
 * What the host gives guest memory, read from {@code /proc/self/smaps}: whether a memory is in a
 * memfd (so its pages are given on first touch), how much of it is resident, whether it is still
 * mapped. For tests; Linux only.
 */
public final class HostPages {
    private HostPages() {
    }

    /** Whether {@code memory} is a memfd mapping (false where the JDK allocated it). */
    public static boolean memfdBacked(GuestMemory memory) {
        return memory.fd() >= 0;
    }

    /** The resident bytes of the mapping that starts where {@code memory} does, if it is mapped. */
    public static OptionalLong residentBytes(GuestMemory memory) throws GuestMemoryException {
        return residentBytes(memory.slice(0, 0).address());
    }

    static OptionalLong residentBytes(long start) {
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String prefix = Long.toHexString(start) + "-";
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith(prefix)) {
                for (int j = i + 1; j < lines.size() && !lines.get(j).matches("^[0-9a-f]+-[0-9a-f]+ .*"); j++) {
                    if (lines.get(j).startsWith("Rss:")) {
                        return OptionalLong.of(Long.parseLong(lines.get(j).replaceAll("[^0-9]", "")) * 1024);
                    }
                }
            }
        }
        return OptionalLong.empty();
    }
}
