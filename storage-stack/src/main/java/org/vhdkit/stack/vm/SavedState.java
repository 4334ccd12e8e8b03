package org.vhdkit.stack.vm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;

/**
 * A saved VM's state in its folder: {@code memory.bin} (guest memory, byte for byte),
 * {@code devices.vsv} (each device's saved bytes, by name) and {@code saved-state.json}, the
 * manifest, written last. Each file is written atomically; the manifest's presence is what makes a
 * VM Saved, so a crash while saving leaves the VM Off with stray files that the next save replaces
 * or {@link #delete} removes. The manifest carries each file's size and CRC-32C, checked on load.
 *
 * <p>{@code devices.vsv}: the ASCII magic {@code VHDKVSV1}, a big-endian int count, then per device
 * its name (modified UTF-8, as {@link DataOutputStream#writeUTF}), an int length and that many bytes.
 *
 * <p>A real guest's worker process saves its own state (memory and devices, in qemu's migration
 * stream) into {@code machine-state.bin}; its manifest then says {@code "kind" : "process"} with
 * the file's size and CRC-32C in {@code stateBytes} and {@code stateCrc32c} (and the VM's
 * {@code memoryBytes}). Such a state loads only into a worker process, and guest programs' states
 * only into the in-JVM partition. Copies and deletion handle both kinds.
 *
 * <p>Thread-safety: stateless; the VM serializes saving and loading its own folder.
 */
final class SavedState {
    static final String MEMORY = "memory.bin";
    static final String DEVICES = "devices.vsv";
    static final String MANIFEST = "saved-state.json";
    static final String PROCESS_STATE = "machine-state.bin";
    private static final String PROCESS_KIND = "process";
    private static final int FORMAT = 1;
    private static final byte[] MAGIC = {'V', 'H', 'D', 'K', 'V', 'S', 'V', '1'};
    private static final int CHUNK = 1 << 20;
    private static final byte[] ZERO_BYTES = new byte[CHUNK];
    private static final MemorySegment ZEROS = MemorySegment.ofArray(ZERO_BYTES);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the manifest says. */
    record Manifest(long memoryBytes, long memoryCrc, long devicesBytes, long devicesCrc) {
    }

    private SavedState() {
    }

    static boolean exists(Path folder) {
        return Files.exists(folder.resolve(MANIFEST));
    }

    /** Writes a worker process's saved state into {@code file}, a new file. */
    @FunctionalInterface
    interface ProcessSave {
        void writeTo(Path file) throws IOException;
    }

    /**
     * Has the worker process write its state into the folder (through a temporary file, forced and
     * renamed), then writes the manifest, last.
     */
    static void writeProcessState(Path folder, long memoryBytes, ProcessSave save, AtomicFile.BeforeRename hook)
            throws IOException {
        Files.deleteIfExists(folder.resolve(MANIFEST)); // no stale manifest may vouch for new files
        Path target = folder.resolve(PROCESS_STATE);
        Path temp = folder.resolve("." + PROCESS_STATE + AtomicFile.TEMP_SUFFIX);
        Files.deleteIfExists(temp);
        long size;
        long crc;
        try {
            save.writeTo(temp);
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                channel.force(true);
                size = channel.size();
            }
            crc = crcOf(temp);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        hook.reached(temp, target);
        Files.move(temp, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        AtomicFile.forceFolder(folder);
        ObjectNode manifest = JSON.createObjectNode();
        manifest.put("format", FORMAT);
        manifest.put("kind", PROCESS_KIND);
        manifest.put("memoryBytes", memoryBytes);
        manifest.put("stateBytes", size);
        manifest.put("stateCrc32c", crc);
        byte[] manifestBytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest);
        AtomicFile.write(folder.resolve(MANIFEST), channel -> AtomicFile.writeFully(channel, ByteBuffer.wrap(manifestBytes)),
                hook);
    }

    /**
     * The file of a worker process's saved state in {@code folder}, checked against its manifest
     * (kind, the VM's memory size, the file's size and checksum).
     */
    static Path processState(Path folder, long memoryBytes) throws IOException {
        Path file = folder.resolve(MANIFEST);
        JsonNode n = manifestNode(file);
        if (!PROCESS_KIND.equals(n.path("kind").asText(null))) {
            throw new VmException(file + ": holds the saved state of guest programs, which a real guest cannot load;"
                    + " delete the saved state to start it");
        }
        long saved = number(n, "memoryBytes", file);
        if (saved != memoryBytes) {
            throw new VmException(file + ": memoryBytes: the saved state holds " + saved
                    + " bytes of memory but the VM has " + memoryBytes);
        }
        checkProcessFile(folder, n, file);
        return folder.resolve(PROCESS_STATE);
    }

    private static void checkProcessFile(Path folder, JsonNode manifest, Path manifestFile) throws IOException {
        Path state = folder.resolve(PROCESS_STATE);
        long bytes = number(manifest, "stateBytes", manifestFile);
        long crc = number(manifest, "stateCrc32c", manifestFile);
        long size;
        try {
            size = Files.size(state);
        } catch (NoSuchFileException e) {
            throw new VmException(state + ": no such file; the saved state is incomplete");
        }
        if (size != bytes || crcOf(state) != crc) {
            throw new VmException(state + ": its size or checksum does not match the manifest; the saved state is"
                    + " damaged");
        }
    }

    private static long crcOf(Path file) throws IOException {
        CRC32C crc = new CRC32C();
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK);
            while (in.read(chunk.clear()) >= 0) {
                crc.update(chunk.flip());
            }
        }
        return crc.getValue();
    }

    private static JsonNode manifestNode(Path file) throws VmException {
        JsonNode n;
        try {
            n = JSON.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw new VmException(file + ": no such file");
        } catch (JsonProcessingException e) {
            throw new VmException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new VmException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (n == null || !n.isObject() || n.path("format").asInt(-1) != FORMAT) {
            throw new VmException(file + ": not a saved-state manifest of format " + FORMAT);
        }
        return n;
    }

    /** Writes memory, device state and, last, the manifest. */
    static void write(Path folder, GuestMemory memory, Map<String, byte[]> devices, AtomicFile.BeforeRename hook)
            throws IOException {
        Files.deleteIfExists(folder.resolve(MANIFEST)); // no stale manifest may vouch for new files
        CRC32C memoryCrc = new CRC32C();
        AtomicFile.write(folder.resolve(MEMORY), channel -> {
            // Each chunk is read out of guest memory once, into this buffer, and the checksum, the
            // zero test and the write all see that one copy: read three times, a byte that changed
            // between the reads (a device still finishing a request) left a file whose checksum did
            // not match it, and the VM could not start from its own save.
            ByteBuffer copy = ByteBuffer.allocateDirect(CHUNK);
            MemorySegment copySegment = MemorySegment.ofBuffer(copy);
            for (long gpa = 0; gpa < memory.size(); gpa += CHUNK) {
                int length = (int) Math.min(CHUNK, memory.size() - gpa);
                if (untouched(memory, gpa, length)) {
                    // Zeros, and reading them would make the host give every page of an idle VM.
                    memoryCrc.update(ZERO_BYTES, 0, length);
                    continue; // a hole in the file
                }
                MemorySegment.copy(slice(memory, gpa, length), 0, copySegment, 0, length);
                ByteBuffer chunk = copy.clear().limit(length);
                memoryCrc.update(chunk.duplicate());
                writeSparsely(channel, chunk, gpa);
            }
            endAt(channel, memory.size());
        }, hook);
        byte[] deviceBytes = encodeDevices(devices);
        CRC32C devicesCrc = new CRC32C();
        devicesCrc.update(deviceBytes);
        AtomicFile.write(folder.resolve(DEVICES), channel -> AtomicFile.writeFully(channel, ByteBuffer.wrap(deviceBytes)),
                hook);
        ObjectNode manifest = JSON.createObjectNode();
        manifest.put("format", FORMAT);
        manifest.put("memoryBytes", memory.size());
        manifest.put("memoryCrc32c", memoryCrc.getValue());
        manifest.put("devicesBytes", deviceBytes.length);
        manifest.put("devicesCrc32c", devicesCrc.getValue());
        byte[] manifestBytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest);
        AtomicFile.write(folder.resolve(MANIFEST), channel -> AtomicFile.writeFully(channel, ByteBuffer.wrap(manifestBytes)),
                hook);
    }

    /** Reads and checks the manifest against the VM's memory size. */
    static Manifest readManifest(Path folder, long memoryBytes) throws VmException {
        Path file = folder.resolve(MANIFEST);
        JsonNode n = manifestNode(file);
        if (PROCESS_KIND.equals(n.path("kind").asText(null))) {
            throw new VmException(file + ": holds the saved state of a real guest's worker process, which guest"
                    + " programs cannot load; delete the saved state to start it");
        }
        Manifest m = new Manifest(number(n, "memoryBytes", file), number(n, "memoryCrc32c", file),
                number(n, "devicesBytes", file), number(n, "devicesCrc32c", file));
        if (m.memoryBytes() != memoryBytes) {
            throw new VmException(file + ": memoryBytes: the saved state holds " + m.memoryBytes()
                    + " bytes of memory but the VM has " + memoryBytes);
        }
        return m;
    }

    private static long number(JsonNode n, String field, Path file) throws VmException {
        JsonNode v = n.get(field);
        if (v == null || !v.isIntegralNumber() || v.longValue() < 0) {
            throw new VmException(file + ": " + field + ": missing or not a whole number");
        }
        return v.longValue();
    }

    /**
     * Loads {@code memory.bin} into {@code memory}, fresh memory that is all zeros, checking the
     * file's size and its checksum over every byte. A chunk that is all zeros in the file (a hole,
     * as {@link #write} leaves them) is not copied: the memory is zero there already, and copying
     * would touch, and so make the host give, every page of an idle VM's memory. A hole in the
     * file (see {@link FileHoles}) is not even read; it counts into the checksum as the zeros it is.
     */
    static void loadMemory(Path folder, Manifest manifest, GuestMemory memory) throws IOException {
        Path file = folder.resolve(MEMORY);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
                FileHoles holes = FileHoles.of(file)) {
            if (channel.size() != manifest.memoryBytes() || memory.size() != manifest.memoryBytes()) {
                throw new VmException(file + ": holds " + channel.size() + " bytes, not the " + manifest.memoryBytes()
                        + " bytes of the saved memory");
            }
            CRC32C crc = new CRC32C();
            ByteBuffer copy = ByteBuffer.allocateDirect(CHUNK);
            MemorySegment copySegment = MemorySegment.ofBuffer(copy);
            for (long gpa = 0; gpa < memory.size(); gpa += CHUNK) {
                int length = (int) Math.min(CHUNK, memory.size() - gpa);
                if (holes.hole(gpa, length)) { // zeros, as the memory is already: not read, not copied
                    crc.update(ZERO_BYTES, 0, length);
                    continue;
                }
                ByteBuffer chunk = copy.clear().limit(length);
                while (chunk.hasRemaining()) {
                    if (channel.read(chunk, gpa + chunk.position()) < 0) {
                        throw new VmException(file + ": ends early, at byte " + (gpa + chunk.position()));
                    }
                }
                crc.update(chunk.flip());
                if (!isZero(copySegment.asSlice(0, length))) {
                    MemorySegment.copy(copySegment, 0, slice(memory, gpa, length), 0, length);
                }
            }
            if (crc.getValue() != manifest.memoryCrc()) {
                throw new VmException(file + ": its checksum does not match the manifest; the saved memory is damaged");
            }
        } catch (NoSuchFileException e) {
            throw new VmException(file + ": no such file; the saved state is incomplete");
        }
    }

    /** Reads {@code devices.vsv}, checking its size and checksum. */
    static Map<String, byte[]> readDevices(Path folder, Manifest manifest) throws IOException {
        Path file = folder.resolve(DEVICES);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new VmException(file + ": no such file; the saved state is incomplete");
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        if (bytes.length != manifest.devicesBytes() || crc.getValue() != manifest.devicesCrc()) {
            throw new VmException(file + ": its size or checksum does not match the manifest; the saved device"
                    + " state is damaged");
        }
        return decodeDevices(file, bytes);
    }

    static byte[] encodeDevices(Map<String, byte[]> devices) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.write(MAGIC);
            out.writeInt(devices.size());
            for (Map.Entry<String, byte[]> e : devices.entrySet()) {
                out.writeUTF(e.getKey());
                out.writeInt(e.getValue().length);
                out.write(e.getValue());
            }
        }
        return bytes.toByteArray();
    }

    static Map<String, byte[]> decodeDevices(Path file, byte[] bytes) throws VmException {
        Map<String, byte[]> devices = new LinkedHashMap<>();
        try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(bytes))) {
            byte[] magic = new byte[MAGIC.length];
            in.readFully(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new VmException(file + ": not a device state file (bad magic)");
            }
            int count = in.readInt();
            if (count < 0 || count > 4096) {
                throw new VmException(file + ": device count " + count + " is out of range");
            }
            for (int i = 0; i < count; i++) {
                String name = in.readUTF();
                int length = in.readInt();
                if (length < 0 || length > in.available()) {
                    throw new VmException(file + ": device '" + name + "' claims " + length + " bytes; the file has "
                            + in.available() + " left");
                }
                byte[] state = new byte[length];
                in.readFully(state);
                if (devices.put(name, state) != null) {
                    throw new VmException(file + ": device '" + name + "' appears twice");
                }
            }
            if (in.available() != 0) {
                throw new VmException(file + ": " + in.available() + " bytes follow the last device");
            }
        } catch (EOFException e) {
            throw new VmException(file + ": ends in the middle of a device's state");
        } catch (VmException e) {
            throw e;
        } catch (IOException e) {
            throw new VmException(file + ": cannot be decoded: " + e.getMessage(), e);
        }
        return devices;
    }

    /** Removes the saved state: the manifest first (the VM is no longer Saved), then the files. */
    static void delete(Path folder) throws IOException {
        Files.deleteIfExists(folder.resolve(MANIFEST));
        AtomicFile.forceFolder(folder);
        Files.deleteIfExists(folder.resolve(MEMORY));
        Files.deleteIfExists(folder.resolve(DEVICES));
        Files.deleteIfExists(folder.resolve(PROCESS_STATE));
        AtomicFile.forceFolder(folder);
    }

    /**
     * Copies the saved state in {@code from} (as {@link #write} left it) to {@code to}: memory and
     * device state first, each atomically, the manifest last, so that {@code to} holds a saved state
     * only once it is whole. The copy is checked against the manifest (sizes and checksums) first.
     */
    static void copy(Path from, Path to, long memoryBytes, AtomicFile.BeforeRename hook) throws IOException {
        String[] files;
        if (PROCESS_KIND.equals(manifestNode(from.resolve(MANIFEST)).path("kind").asText(null))) {
            processState(from, memoryBytes); // checks kind, size and checksum
            files = new String[] {PROCESS_STATE};
        } else {
            Manifest manifest = readManifest(from, memoryBytes);
            readDevices(from, manifest); // checks size and checksum
            Path memoryFile = from.resolve(MEMORY);
            long memorySize;
            try {
                memorySize = Files.size(memoryFile);
            } catch (NoSuchFileException e) {
                throw new VmException(memoryFile + ": no such file; the saved state is incomplete");
            }
            if (memorySize != manifest.memoryBytes()) {
                throw new VmException(memoryFile + ": holds " + memorySize + " bytes, not the " + manifest.memoryBytes()
                        + " bytes of the saved memory"); // its checksum is checked when it is loaded
            }
            files = new String[] {MEMORY, DEVICES};
        }
        Files.deleteIfExists(to.resolve(MANIFEST));
        AtomicFile.forceFolder(to);
        for (String name : files) {
            Path source = from.resolve(name);
            AtomicFile.write(to.resolve(name), channel -> {
                try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ);
                        FileHoles holes = FileHoles.of(source)) {
                    long size = in.size();
                    ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK);
                    for (long at = 0; at < size; at += chunk.limit()) {
                        chunk.clear().limit((int) Math.min(CHUNK, size - at));
                        if (holes.hole(at, chunk.limit())) {
                            continue; // a hole stays a hole, and is not read: reading fills the page cache
                        }
                        while (chunk.hasRemaining()) {
                            if (in.read(chunk, at + chunk.position()) < 0) {
                                throw new EOFException(source + ": ends early, at byte " + (at + chunk.position()));
                            }
                        }
                        writeSparsely(channel, chunk.flip(), at);
                    }
                    endAt(channel, size);
                }
            }, hook);
        }
        byte[] manifestBytes = Files.readAllBytes(from.resolve(MANIFEST));
        AtomicFile.write(to.resolve(MANIFEST), channel -> AtomicFile.writeFully(channel, ByteBuffer.wrap(manifestBytes)),
                hook);
    }

    /**
     * Writes {@code chunk} at {@code at}, or, when it is all zeros, skips it and leaves a hole: an idle
     * VM's memory is mostly zeros, and writing and forcing them to disk made a save (and a snapshot of
     * a running VM) take seconds per 512 MiB. A hole reads as zeros.
     */
    private static void writeSparsely(FileChannel channel, ByteBuffer chunk, long at) throws IOException {
        if (isZero(MemorySegment.ofBuffer(chunk))) {
            return;
        }
        channel.position(at);
        AtomicFile.writeFully(channel, chunk);
    }

    /** Whether {@code bytes} (at most a chunk) are all zeros. */
    private static boolean isZero(MemorySegment bytes) {
        return bytes.mismatch(ZEROS.asSlice(0, bytes.byteSize())) < 0;
    }

    /** Makes the file {@code size} bytes long when its last chunks were holes (never written). */
    private static void endAt(FileChannel channel, long size) throws IOException {
        if (channel.size() < size) {
            channel.position(size - 1);
            AtomicFile.writeFully(channel, ByteBuffer.allocate(1));
        }
    }

    private static boolean untouched(GuestMemory memory, long gpa, long length) {
        try {
            return memory.untouched(gpa, length);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e); // gpa and length lie inside by construction
        }
    }

    private static MemorySegment slice(GuestMemory memory, long gpa, long length) {
        try {
            return memory.slice(gpa, length);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e); // gpa and length lie inside by construction
        }
    }
}
