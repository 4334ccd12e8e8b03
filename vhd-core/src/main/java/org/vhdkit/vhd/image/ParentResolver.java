package org.vhdkit.vhd.image;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.vhdkit.vhd.ParentNotFoundException;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.format.ParentLocator;
import org.vhdkit.vhd.format.PlatformCode;
import org.vhdkit.vhd.format.VhdFormatException;
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
 * <p>A locator is untrusted input: what it names is looked at before it is opened ({@link #refusal}),
 * and a chain that comes back to one of its own disks is refused ({@link Lineage}).
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

    /**
     * Finds the parent of the differencing disk in {@code child}, the disk below {@code lineage}, and
     * takes it from {@code parents}. A candidate that is not a regular file (a device, a FIFO, a
     * socket), lies under /proc, /sys or /dev, is larger than any parent of this disk can be, or holds
     * no VHD footer is passed over without being opened: {@link #refusal} says why.
     *
     * @throws VhdFormatException with field {@value #LOOP_FIELD} when no candidate is the parent and one
     *                            is a disk of the chain being opened: the chain loops
     */
    static Found resolve(ByteStore child, Footer footer, DynamicHeader header, ByteStore.Backing backing,
                         ParentPool parents, Lineage lineage) throws IOException {
        String childName = child.path().toString();
        Lineage below = lineage.then(realPath(child.path()));
        Map<Path, String> candidates = candidates(child, header);
        List<String> tried = new ArrayList<>();
        Optional<String> loop = Optional.empty();
        for (Map.Entry<Path, String> candidate : candidates.entrySet()) {
            Path path = candidate.getKey();
            String how = path + " (" + candidate.getValue() + ")";
            Optional<String> refused = refusal(path, footer.currentSize());
            if (refused.isPresent()) {
                tried.add(how + ": " + refused.get());
                continue;
            }
            Path real = realPath(path);
            if (below.contains(real)) {
                tried.add(how + ": it is a disk of this chain");
                loop = loop.or(() -> Optional.of(below.loopThrough(real)));
                continue;
            }
            VhdDisk parent;
            try {
                parent = parents.acquire(path, backing, below);
            } catch (ParentNotFoundException e) {
                throw e; // the candidate is right but its own chain is broken: say that, not "not found"
            } catch (VhdFormatException e) {
                if (e.field().equals(LOOP_FIELD)) {
                    throw e;
                }
                tried.add(how + ": " + e.getMessage());
                continue;
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
        if (loop.isPresent()) {
            throw new VhdFormatException(childName, LOOP_FIELD, -1, "the chain loops (" + loop.get()
                    + "): a disk cannot be its own ancestor; refused");
        }
        throw new ParentNotFoundException(childName, header.parentName(), header.parentUuid().toString(), tried);
    }

    /** The field of the refusal of a chain that loops. */
    static final String LOOP_FIELD = "parent chain";

    /** Where no disk image lives, however a locator names it. */
    private static final List<String> SYSTEM_TREES = List.of("/proc", "/sys", "/dev");
    /** Under /dev but a file system like any other (tmpfs), where images and tests' scratch files may live. */
    private static final Path SHARED_MEMORY = Path.of("/dev/shm");

    /**
     * Why the file at {@code path} is not opened as the parent of a disk of {@code childSize} bytes,
     * or empty when it may be. Reads nothing but the file's type and size and, for a regular file of
     * a plausible size, the 8 bytes where a VHD footer's cookie would be: so a locator that names a
     * device, a FIFO (whose opening would block), a socket, a file under /proc or /sys, or a huge
     * file of another kind costs nothing and blocks on nothing.
     */
    static Optional<String> refusal(Path path, long childSize) {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            return Optional.of("no such file");
        } catch (IOException e) {
            return Optional.of("cannot be read (" + e.getMessage() + ")");
        }
        if (path.getFileSystem() == FileSystems.getDefault()) {
            Path real;
            try {
                real = path.toRealPath();
            } catch (IOException e) {
                return Optional.of("cannot be resolved (" + e.getMessage() + ")");
            }
            for (String tree : SYSTEM_TREES) {
                if (real.startsWith(tree) && !real.startsWith(SHARED_MEMORY)) {
                    return Optional.of("it is " + real + ", under " + tree + ", where no disk image lives; not opened");
                }
            }
        }
        if (!attributes.isRegularFile()) {
            return Optional.of("it is " + kind(path, attributes) + ", not a VHD file; not opened");
        }
        long size = attributes.size();
        long largest = largestParent(childSize);
        if (size > largest) {
            return Optional.of("it is " + size + " bytes, more than a VHD parent of this " + childSize
                    + "-byte disk can be (" + largest + "); not opened");
        }
        if (!hasFooterCookie(path, size)) {
            return Optional.of("it has no VHD footer (no \"" + Footer.COOKIE + "\" at its end or start); not opened");
        }
        return Optional.empty();
    }

    /**
     * The largest file a VHD parent of a disk of {@code childSize} bytes can be: a dynamic disk of that
     * size in the smallest blocks (each with a sector of bitmap), its table, locators and footers, and
     * room to spare for a parent larger than the child.
     */
    private static long largestParent(long childSize) {
        long size = Math.max(childSize, 0);
        return size > Long.MAX_VALUE / 4 ? Long.MAX_VALUE : 3 * size + (64L << 20);
    }

    private static boolean hasFooterCookie(Path path, long size) {
        byte[] cookie = Footer.COOKIE.getBytes(StandardCharsets.US_ASCII);
        try (SeekableByteChannel channel = Files.newByteChannel(path, StandardOpenOption.READ)) {
            for (long at : new long[] {size - Footer.SIZE, size - (Footer.SIZE - 1), 0}) {
                if (at < 0 || at > size - cookie.length) {
                    continue;
                }
                ByteBuffer read = ByteBuffer.allocate(cookie.length);
                channel.position(at);
                while (read.hasRemaining() && channel.read(read) >= 0) {
                    // until the cookie's bytes are in
                }
                if (!read.hasRemaining() && Arrays.equals(read.array(), cookie)) {
                    return true;
                }
            }
        } catch (IOException e) {
            return true; // let the opening say what is wrong with it
        }
        return false;
    }

    /** What kind of file other than a regular one {@code path} is, in words. */
    private static String kind(Path path, BasicFileAttributes attributes) {
        if (attributes.isDirectory()) {
            return "a directory";
        }
        try {
            return ByteStore.specialKind(path).orElse("a special file");
        } catch (IOException e) {
            return "a special file";
        }
    }

    private static Path realPath(Path path) {
        try {
            return path.toRealPath();
        } catch (IOException e) {
            return path.toAbsolutePath().normalize();
        }
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
