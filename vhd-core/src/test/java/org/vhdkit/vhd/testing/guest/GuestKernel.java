package org.vhdkit.vhd.testing.guest;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * The machine's installed Linux kernel, as qemu boots it fastest: Debian ships a bzImage
 * ({@code /boot/vmlinuz-VERSION}), which qemu boots through the BIOS and the real-mode setup code
 * (12 to 19 s under TCG here), while the ELF {@code vmlinux} inside it boots through the PVH entry
 * (the {@code XEN_ELFNOTE_PHYS32_ENTRY} note) in about 3 s. So the payload is unpacked, as the
 * kernel's {@code scripts/extract-vmlinux} does, but found through the boot protocol's header
 * ({@code payload_offset} and {@code payload_length}, protocol 2.08 and later) instead of by
 * searching for magic numbers, and the result is checked to be an ELF with that note.
 *
 * <p>Immutable; thread-safe. Unpacking writes one file (see {@link #unpack}).
 */
record GuestKernel(String version, Path bzImage, Path modulesDir) {

    /** Boot protocol header fields (Documentation/arch/x86/boot.rst). */
    private static final int SETUP_SECTS = 0x1f1;
    private static final int HEADER_MAGIC = 0x202;
    private static final int PROTOCOL_VERSION = 0x206;
    private static final int PAYLOAD_OFFSET = 0x248;
    private static final int PAYLOAD_LENGTH = 0x24c;

    /** ELF note type of the 32-bit PVH entry point, under the note name "Xen". */
    static final int XEN_ELFNOTE_PHYS32_ENTRY = 18;

    /**
     * The newest kernel in {@code /boot} that has its modules in {@code /lib/modules}, if any (by
     * file time: Debian keeps the old ones until removed).
     */
    static Optional<GuestKernel> installed() throws IOException {
        return installed(Path.of("/boot"), Path.of("/lib/modules"));
    }

    static Optional<GuestKernel> installed(Path boot, Path modules) throws IOException {
        if (!Files.isDirectory(boot)) {
            return Optional.empty();
        }
        List<GuestKernel> found = new ArrayList<>();
        try (Stream<Path> files = Files.list(boot)) {
            for (Path p : files.toList()) {
                String file = p.getFileName().toString();
                if (file.startsWith("vmlinuz-") && Files.isReadable(p)) {
                    String version = file.substring("vmlinuz-".length());
                    Path dir = modules.resolve(version);
                    if (Files.isRegularFile(dir.resolve("modules.dep"))) {
                        found.add(new GuestKernel(version, p, dir));
                    }
                }
            }
        }
        return found.stream().max(Comparator.comparing(k -> {
            try {
                return Files.getLastModifiedTime(k.bzImage());
            } catch (IOException e) {
                return java.nio.file.attribute.FileTime.fromMillis(0);
            }
        }));
    }

    /**
     * Unpacks the ELF vmlinux from the bzImage into {@code target} (written beside it, then moved
     * in place). Throws IOException naming the file and field when the bzImage is not one this can
     * unpack (too old a boot protocol, an unknown compression) or the result is not an ELF.
     */
    void unpack(Path target) throws IOException {
        byte[] image = Files.readAllBytes(bzImage);
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        if (image.length < 0x250 || b.getInt(HEADER_MAGIC) != 0x53726448) { // "HdrS"
            throw new IOException(bzImage + ": no x86 boot protocol header (\"HdrS\" at offset 0x202)");
        }
        int protocol = Short.toUnsignedInt(b.getShort(PROTOCOL_VERSION));
        if (protocol < 0x208) {
            throw new IOException(bzImage + ": boot protocol " + Integer.toHexString(protocol)
                    + " at offset 0x206 is older than 2.08, which first names the payload");
        }
        int setupSects = Byte.toUnsignedInt(image[SETUP_SECTS]);
        long start = (long) ((setupSects == 0 ? 4 : setupSects) + 1) * 512 + Integer.toUnsignedLong(b.getInt(PAYLOAD_OFFSET));
        long length = Integer.toUnsignedLong(b.getInt(PAYLOAD_LENGTH));
        if (start + length > image.length || length < 16) {
            throw new IOException(bzImage + ": payload_offset/payload_length (offsets 0x248, 0x24c) give "
                    + start + "+" + length + ", outside the file of " + image.length + " bytes");
        }
        byte[] payload = java.util.Arrays.copyOfRange(image, (int) start, (int) (start + length));
        Path partial = target.resolveSibling(target.getFileName() + ".partial-" + ProcessHandle.current().pid());
        try {
            try (OutputStream out = Files.newOutputStream(partial)) {
                decompress(payload, start, out);
            }
            requirePvhEntry(partial, bzImage + " (unpacked)");
            Files.move(partial, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(partial);
        }
    }

    private void decompress(byte[] payload, long offset, OutputStream out) throws IOException {
        // The build appends the uncompressed size (4 bytes) after xz, zstd and lz4 data; xz is told
        // to stop after one stream, zstd gets the payload without those bytes.
        if (startsWith(payload, 0xfd, '7', 'z', 'X', 'Z', 0)) {
            pipe(payload, out, "xz", "--decompress", "--stdout", "--single-stream");
        } else if (startsWith(payload, 0x28, 0xb5, 0x2f, 0xfd)) {
            pipe(java.util.Arrays.copyOf(payload, payload.length - 4), out, "zstd", "--decompress", "--stdout", "-q");
        } else if (startsWith(payload, 0x1f, 0x8b)) {
            try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(payload))) {
                in.transferTo(out);
            }
        } else {
            throw new IOException(bzImage + ": the payload at offset " + offset + " is compressed in a way this"
                    + " tooling does not unpack (not xz, zstd or gzip; first bytes "
                    + String.format("%02x %02x %02x %02x", payload[0], payload[1], payload[2], payload[3]) + ")");
        }
    }

    private void pipe(byte[] input, OutputStream out, String tool, String... args) throws IOException {
        ExternalTools.assumeAvailable(tool);
        List<String> command = new ArrayList<>();
        command.add(ExternalTools.find(tool).orElseThrow().toString());
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        Thread feeder = Thread.ofVirtual().start(() -> {
            try (OutputStream stdin = p.getOutputStream()) {
                stdin.write(input);
            } catch (IOException ignored) {
                // The tool stopped reading (it refused the data): its exit code says so.
            }
        });
        try (InputStream stdout = p.getInputStream()) {
            stdout.transferTo(out);
        }
        try {
            feeder.join();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(tool + " did not finish unpacking " + bzImage + " in 60 s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while unpacking " + bzImage, e);
        }
        if (p.exitValue() != 0) {
            throw new IOException(tool + " exited with code " + p.exitValue() + " unpacking the payload of " + bzImage);
        }
    }

    /**
     * Throws IOException unless {@code elf} is a 64-bit little-endian ELF with a PT_NOTE segment
     * holding the "Xen" note {@link #XEN_ELFNOTE_PHYS32_ENTRY}, which qemu needs to boot it
     * directly (through the PVH entry).
     */
    static void requirePvhEntry(Path elf, String what) throws IOException {
        try (var channel = Files.newByteChannel(elf)) {
            ByteBuffer header = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, header, 0);
            if (header.getInt(0) != 0x464c457f || header.get(4) != 2 || header.get(5) != 1) {
                throw new IOException(what + ": not a 64-bit little-endian ELF file (offset 0)");
            }
            long phoff = header.getLong(0x20);
            int phentsize = Short.toUnsignedInt(header.getShort(0x36));
            int phnum = Short.toUnsignedInt(header.getShort(0x38));
            for (int i = 0; i < phnum; i++) {
                ByteBuffer ph = ByteBuffer.allocate(56).order(ByteOrder.LITTLE_ENDIAN);
                readFully(channel, ph, phoff + (long) i * phentsize);
                if (ph.getInt(0) != 4) { // PT_NOTE
                    continue;
                }
                long offset = ph.getLong(8);
                long size = ph.getLong(32);
                if (size > 1 << 20) {
                    throw new IOException(what + ": PT_NOTE segment " + i + " claims " + size + " bytes");
                }
                ByteBuffer notes = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
                readFully(channel, notes, offset);
                if (hasNote(notes, "Xen", XEN_ELFNOTE_PHYS32_ENTRY)) {
                    return;
                }
            }
        }
        throw new IOException(what + ": no XEN_ELFNOTE_PHYS32_ENTRY note (the PVH entry; kernel built without CONFIG_PVH)");
    }

    private static boolean hasNote(ByteBuffer notes, String name, int type) {
        int pos = 0;
        while (pos + 12 <= notes.limit()) {
            int namesz = notes.getInt(pos);
            int descsz = notes.getInt(pos + 4);
            int noteType = notes.getInt(pos + 8);
            if (namesz < 0 || descsz < 0 || namesz > notes.limit() || descsz > notes.limit()) {
                return false;
            }
            int nameStart = pos + 12;
            if (nameStart + namesz > notes.limit()) {
                return false;
            }
            byte[] n = new byte[Math.max(0, namesz - 1)];
            notes.get(nameStart, n);
            if (noteType == type && new String(n, java.nio.charset.StandardCharsets.US_ASCII).equals(name)) {
                return true;
            }
            pos = nameStart + align4(namesz) + align4(descsz);
        }
        return false;
    }

    private static int align4(int n) {
        return (n + 3) & ~3;
    }

    private static void readFully(java.nio.channels.SeekableByteChannel channel, ByteBuffer into, long at) throws IOException {
        channel.position(at);
        while (into.hasRemaining()) {
            if (channel.read(into) < 0) {
                throw new IOException("ELF file ends before offset " + (at + into.limit()));
            }
        }
    }

    private static boolean startsWith(byte[] data, int... magic) {
        if (data.length < magic.length) {
            return false;
        }
        for (int i = 0; i < magic.length; i++) {
            if ((data[i] & 0xff) != magic[i]) {
                return false;
            }
        }
        return true;
    }
}
