package org.vhdkit.vhd.image;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The disks of a chain being opened, from the one the caller opened down to the one whose parent
 * is looked for now, each by its real path: a parent already among them would close a loop.
 *
 * <p>Immutable; safe to share between threads.
 */
record Lineage(List<Path> disks) {
    /** Above the disk the caller opens: nothing. */
    static final Lineage TOP = new Lineage(List.of());

    Lineage {
        disks = List.copyOf(disks);
    }

    /** How many disks are above the one opened with this lineage. */
    int depth() {
        return disks.size();
    }

    /** This lineage with {@code disk} (a real path) below the last. */
    Lineage then(Path disk) {
        List<Path> longer = new ArrayList<>(disks);
        longer.add(disk);
        return new Lineage(longer);
    }

    /** Whether {@code disk} (a real path) is among the disks. */
    boolean contains(Path disk) {
        return disks.contains(disk);
    }

    /** The chain from the first time {@code disk} appears, closed by {@code disk} again: {@code a -> b -> a}. */
    String loopThrough(Path disk) {
        int from = Math.max(0, disks.indexOf(disk));
        return disks.subList(from, disks.size()).stream().map(Path::toString).collect(Collectors.joining(" -> "))
                + " -> " + disk;
    }
}
