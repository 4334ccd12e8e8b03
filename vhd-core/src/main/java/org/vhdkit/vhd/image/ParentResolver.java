package org.vhdkit.vhd.image;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.vhdkit.vhd.ParentNotFoundException;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.ParentLocator;
import org.vhdkit.vhd.format.PlatformCode;
import org.vhdkit.vhd.format.VhdTime;
import org.vhdkit.vhd.io.ByteStore;

/**
 * Finds the parent of a differencing disk: where its relative locators point, then its absolute
 * ones, then a file of the parent's name beside the child; the first of those that holds a disk
 * whose UUID is the child's Parent UUID is the parent.
 *
 * <p>Windows paths are read with either separator. An absolute path with a drive letter cannot
 * be followed on other systems; the relative locator and the name beside the child still find a
 * chain that was moved whole.
 *
 * <p>Thread-safety: stateless; safe from any thread.
 */
final class ParentResolver {
    /** The longest locator data read: a Windows path of 32767 UTF-16 units. */
    private static final int MAX_LOCATOR_BYTES = 65536;

    private ParentResolver() {
    }

    /** A parent found, and what was odd about it. */
    record Found(VhdDisk parent, Optional<String> warning) {
    }

    /** Finds the parent of the differencing disk in {@code child} and takes it from {@code parents}. */
    static Found resolve(ByteStore child, DynamicHeader header, ByteStore.Backing backing, ParentPool parents,
                         int depth) throws IOException {
        String childName = child.path().toString();
        Map<Path, String> candidates = candidates(child, header);
        List<String> tried = new ArrayList<>();
        for (Map.Entry<Path, String> candidate : candidates.entrySet()) {
            Path path = candidate.getKey();
            String how = path + " (" + candidate.getValue() + ")";
            if (!Files.isRegularFile(path)) {
                tried.add(how + ": no such file");
                continue;
            }
            VhdDisk parent;
            try {
                parent = parents.acquire(path, backing, depth + 1);
            } catch (ParentNotFoundException e) {
                throw e; // the candidate is right but its own chain is broken: say that, not "not found"
            } catch (IOException e) {
                tried.add(how + ": " + e.getMessage());
                continue;
            }
            if (!parent.footer().uniqueId().equals(header.parentUuid())) {
                tried.add(how + ": its UUID is " + parent.footer().uniqueId() + ", not " + header.parentUuid());
                parents.release(parent);
                continue;
            }
            return new Found(parent, timestampWarning(childName, header, path));
        }
        throw new ParentNotFoundException(childName, header.parentName(), header.parentUuid().toString(), tried);
    }

    private static Optional<String> timestampWarning(String child, DynamicHeader header, Path parent) {
        try {
            long modified = VhdTime.fromInstant(Files.getLastModifiedTime(parent).toInstant());
            if (modified != header.parentTimestamp()) {
                return Optional.of(child + ": parent " + parent + " was modified at "
                        + VhdTime.toInstant(modified) + ", after the link was made at "
                        + VhdTime.toInstant(header.parentTimestamp()) + "; its data may no longer be what this disk was made on");
            }
        } catch (IOException e) {
            // The time is only for a warning.
        }
        return Optional.empty();
    }

    /** Where to look, in order of preference, each with how it was found. */
    static Map<Path, String> candidates(ByteStore child, DynamicHeader header) throws IOException {
        Map<Path, String> found = new LinkedHashMap<>();
        Path directory = child.path().toAbsolutePath().getParent();
        List<ParentLocator> locators = header.locators();
        for (boolean relativePass : new boolean[] {true, false}) {
            for (ParentLocator locator : locators) {
                Optional<PlatformCode> platform = locator.platform();
                if (locator.isEmpty() || platform.isEmpty() || platform.get().isRelative() != relativePass) {
                    continue;
                }
                Optional<String> text = readLocator(child, locator, platform.get());
                if (text.isEmpty() || text.get().isBlank()) {
                    continue;
                }
                Optional<Path> path = toPath(directory, text.get(), platform.get());
                String how = (relativePass ? "relative" : "absolute") + " locator " + platform.get().name();
                path.ifPresent(p -> found.putIfAbsent(p.normalize(), how));
            }
        }
        String name = header.parentName();
        if (!name.isBlank()) {
            String base = name.substring(Math.max(name.lastIndexOf('\\'), name.lastIndexOf('/')) + 1);
            if (!base.isEmpty()) {
                found.putIfAbsent(directory.resolve(base).normalize(), "parent name beside the child");
            }
        }
        return found;
    }

    static Optional<String> readLocator(ByteStore child, ParentLocator locator, PlatformCode platform)
            throws IOException {
        long end = locator.dataOffset() + locator.dataLength();
        if (locator.dataLength() <= 0 || locator.dataLength() > MAX_LOCATOR_BYTES || locator.dataOffset() < 0
                || end > child.size()) {
            return Optional.empty();
        }
        byte[] data = child.readBytes(locator.dataOffset(), locator.dataLength());
        return platform.decodePath(data, data.length);
    }

    private static Optional<Path> toPath(Path directory, String text, PlatformCode platform) {
        String path = text;
        if (platform == PlatformCode.MACX) {
            if (!path.startsWith("file://")) {
                return Optional.empty();
            }
            path = URLDecoder.decode(path.substring("file://".length()), StandardCharsets.UTF_8);
        } else {
            if (path.length() >= 2 && Character.isLetter(path.charAt(0)) && path.charAt(1) == ':'
                    && directory.getFileSystem().getSeparator().equals("/")) {
                return Optional.empty(); // a drive letter means nothing here
            }
            path = path.replace('\\', '/');
        }
        try {
            Path p = directory.getFileSystem().getPath(path);
            return Optional.of(p.isAbsolute() ? p : directory.resolve(p));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }
}
