package org.vhdkit.export.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The mounts this process sees, from {@code /proc/self/mountinfo} (see proc(5)): where each is, its
 * type and its source, as the kernel wrote them (with {@code \040}-style escapes undone).
 *
 * <p>Thread-safety: stateless.
 */
final class MountTable {
    static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    /** One line of mountinfo: the mount point, the file system type and the source. */
    record Entry(Path mountPoint, String type, String source) {
    }

    private MountTable() {
    }

    /** Every mount, in mountinfo's order (a later one on the same point is on top). */
    static List<Entry> read() throws IOException {
        List<Entry> entries = new ArrayList<>();
        for (String line : Files.readAllLines(MOUNTINFO)) {
            parse(line).ifPresent(entries::add);
        }
        return entries;
    }

    /** The topmost mount at {@code mountPoint} (absolute and normalized), if any. */
    static Optional<Entry> at(Path mountPoint) throws IOException {
        Entry found = null;
        for (Entry e : read()) {
            if (e.mountPoint().equals(mountPoint)) {
                found = e;
            }
        }
        return Optional.ofNullable(found);
    }

    /** A line: {@code ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER}. */
    static Optional<Entry> parse(String line) {
        String[] f = line.split(" ");
        int dash = -1;
        for (int i = 6; i < f.length; i++) {
            if (f[i].equals("-")) {
                dash = i;
                break;
            }
        }
        if (f.length < 7 || dash < 0 || dash + 2 >= f.length) {
            return Optional.empty();
        }
        return Optional.of(new Entry(Path.of(unescape(f[4])), unescape(f[dash + 1]), unescape(f[dash + 2])));
    }

    /** Undoes the kernel's octal escapes of space, tab, newline and backslash. */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && isOctal(s, i + 1)) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static boolean isOctal(String s, int from) {
        if (from + 3 > s.length()) {
            return false;
        }
        for (int i = from; i < from + 3; i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '7') {
                return false;
            }
        }
        return true;
    }
}
