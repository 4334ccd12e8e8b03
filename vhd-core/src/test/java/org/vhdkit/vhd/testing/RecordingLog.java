package org.vhdkit.vhd.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.vhdkit.vhd.io.ByteStore;
import org.vhdkit.vhd.io.FolderEvents;
import org.vhdkit.vhd.io.StoreInterception;

/**
 * What dm-log-writes records of a block device, recorded of the files in one folder: every write
 * (offset and bytes), size change and force of every {@link ByteStore} that code run through
 * {@link #record} opens, in the order they happened, across files. A file's bytes are taken when it
 * is first opened, so a file that existed before starts from what it held; a new one starts empty.
 *
 * <p>Code that reports its names through {@link FolderEvents} (the atomic replacement of a small
 * file: its temporary written whole and forced, the rename, the folder forced; deletions; the
 * folder forced after a VHD is created) is recorded as it happens: {@link Open}, {@link Write} and
 * {@link Force} of the temporary, {@link Rename}, {@link Delete} and {@link FolderForce}, in order
 * with the stores' events. {@link CrashStates} can then treat names as a file system does: changed
 * for good only by a folder force.
 *
 * <p>Other renames and deletions do not go through a store: {@link #reconcile} infers them afterwards by
 * comparing the folder with what the log replays to, and places them at that point of the log.
 * Conversion and compaction rename their finished {@code .partial} file over the target, and a
 * merge deletes the disks it merged, each as its last step, so the point is right for them. The
 * same comparison checks the recording itself: a file the folder holds that the log does not
 * explain (written through something other than a recorded store, or by a thread outside the
 * recorded scope) fails it.
 *
 * <p>The folder must be flat (files only, no subfolders); files outside it are not recorded.
 *
 * <p>Thread-safety: the log is safe for the threads a recorded operation runs on (every method is
 * synchronized); the event records are immutable apart from the write's bytes, which nobody
 * changes.
 */
public final class RecordingLog {

    /** One recorded event; {@code file} indexes {@link #files()}. */
    public sealed interface Event {
        int file();
    }

    /** Bytes written at {@code offset}. */
    public record Write(int file, long offset, byte[] bytes) implements Event {
    }

    /** The file's size set (grown or truncated). */
    public record SetSize(int file, long size) implements Event {
    }

    /** Everything written to the file before is durable, and its size. */
    public record Force(int file) implements Event {
    }

    /** The file took another name in the folder (a rename over {@code to} replaces what was there). */
    public record Rename(int file, String to) implements Event {
    }

    /** The file was opened for the first time (or anew after its name was given to new bytes): it holds its name from here. */
    public record Open(int file) implements Event {
    }

    /** The file's name was removed from the folder. */
    public record Delete(int file) implements Event {
    }

    /** The folder was forced: every change of names before it is durable. Not of one file ({@code file} is -1). */
    public record FolderForce(int file) implements Event {
    }

    /** A file of the log: its name when first opened and its bytes then. */
    public record RecordedFile(int id, String name, byte[] start) {
    }

    private final Path folder;
    /** The folder's files when the recording began, by name. */
    private final Map<String, byte[]> before;
    private final List<Event> events = new ArrayList<>();
    private final List<RecordedFile> files = new ArrayList<>();
    /** The file each name stands for now, as the log knows it. */
    private final Map<String, Integer> names = new HashMap<>();

    private RecordingLog(Path folder, Map<String, byte[]> before) {
        this.folder = folder;
        this.before = before;
    }

    /** Starts a log of the files in {@code folder}, taking the bytes of those there now. */
    public static RecordingLog of(Path folder) throws IOException {
        return new RecordingLog(folder.toAbsolutePath().normalize(), read(folder));
    }

    /** Runs {@code operation} with every store it opens (on this thread) recorded in this log. */
    public <T, X extends Throwable> T record(java.util.concurrent.Callable<T> operation) throws IOException {
        try {
            return FolderEvents.call(new Names(),
                    () -> StoreInterception.call(store -> new RecordingStore(store, this), operation::call));
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    /** The folder recorded. */
    public Path folder() {
        return folder;
    }

    /** The number of events so far: a position in the log, as {@link CrashState#cut()} is one. */
    public synchronized int position() {
        return events.size();
    }

    /** The events so far. */
    public synchronized List<Event> events() {
        return List.copyOf(events);
    }

    /** The files recorded, by id. */
    public synchronized List<RecordedFile> files() {
        return List.copyOf(files);
    }

    /** The folder's files when the recording began, by name. */
    public Map<String, byte[]> before() {
        return before;
    }

    /** The id of the store just opened, taking its bytes when the log has not seen the file yet. */
    synchronized int register(ByteStore store) throws IOException {
        Path path = store.path().toAbsolutePath().normalize();
        if (!folder.equals(path.getParent())) {
            return -1; // a file outside the folder: not recorded
        }
        String name = path.getFileName().toString();
        byte[] now = new byte[Math.toIntExact(store.size())];
        store.read(0, MemorySegment.ofArray(now));
        Integer known = names.get(name);
        if (known != null && Arrays.equals(now, replay(known, events.size()))) {
            return known;
        }
        // A file the log has not seen, or one replaced under its name since (a new generation).
        int id = files.size();
        files.add(new RecordedFile(id, name, now));
        names.put(name, id);
        events.add(new Open(id));
        return id;
    }

    synchronized void add(Event event) {
        events.add(event);
    }

    /** What {@link FolderEvents} reports of the folder's names, as events in the log. */
    private final class Names implements FolderEvents.Listener {
        @Override
        public void written(Path file) {
            String name = nameIn(file);
            if (name == null) {
                return;
            }
            try {
                byte[] bytes = Files.readAllBytes(file);
                synchronized (RecordingLog.this) {
                    int id = files.size();
                    files.add(new RecordedFile(id, name, new byte[0]));
                    names.put(name, id);
                    events.add(new Open(id));
                    events.add(new Write(id, 0, bytes));
                    events.add(new Force(id));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void renamed(Path from, Path to) {
            String source = nameIn(from);
            String target = nameIn(to);
            if (source == null || target == null) {
                return;
            }
            synchronized (RecordingLog.this) {
                int id = known(source, to);
                names.remove(source);
                names.put(target, id);
                events.add(new Rename(id, target));
            }
        }

        @Override
        public void deleting(Path file) {
            String name = nameIn(file);
            if (name == null || !Files.exists(file)) {
                return;
            }
            synchronized (RecordingLog.this) {
                int id = known(name, file);
                names.remove(name);
                events.add(new Delete(id));
            }
        }

        @Override
        public void forced(Path forced) {
            if (folder.equals(forced.toAbsolutePath().normalize())) {
                add(new FolderForce(-1));
            }
        }

        /** The id of the file {@code name} stands for, registered from {@code bytesAt} when the log has not seen it. */
        private int known(String name, Path bytesAt) {
            Integer id = names.get(name);
            if (id != null) {
                return id;
            }
            try {
                int n = files.size();
                files.add(new RecordedFile(n, name, Files.readAllBytes(bytesAt)));
                names.put(name, n);
                events.add(new Open(n));
                return n;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private String nameIn(Path file) {
            Path p = file.toAbsolutePath().normalize();
            return folder.equals(p.getParent()) ? p.getFileName().toString() : null;
        }
    }

    /** The bytes of {@code file} with every event before {@code cut} applied, as a file system without crashes keeps it. */
    public synchronized byte[] replay(int file, int cut) {
        Bytes bytes = new Bytes(files.get(file).start());
        for (int i = 0; i < cut; i++) {
            Event e = events.get(i);
            if (e.file() == file) {
                bytes.apply(e);
            }
        }
        return bytes.toArray();
    }

    /**
     * Compares the folder with what the log replays to, adding a {@link Rename} for each recorded
     * file that is gone from its name while another name now holds its bytes, and a {@link Delete}
     * for each that is simply gone; fails when a file's bytes differ from the log's (I/O the log
     * missed). Call it after each operation whose renames or deletions should be seen.
     */
    public synchronized void reconcile() throws IOException {
        Map<String, byte[]> now = read(folder);
        Map<String, byte[]> model = namesAt(events.size());
        for (Map.Entry<String, Integer> entry : List.copyOf(names.entrySet())) {
            String name = entry.getKey();
            int id = entry.getValue();
            if (now.containsKey(name)) {
                continue;
            }
            byte[] last = replay(id, events.size());
            String to = now.entrySet().stream()
                    .filter(e -> !Arrays.equals(e.getValue(), model.get(e.getKey())) && Arrays.equals(e.getValue(), last))
                    .map(Map.Entry::getKey).findFirst().orElse(null);
            names.remove(name);
            if (to == null) {
                events.add(new Delete(id));
            } else {
                events.add(new Rename(id, to));
                names.put(to, id);
            }
        }
        Map<String, byte[]> after = namesAt(events.size());
        for (String name : now.keySet()) {
            if (!Arrays.equals(now.get(name), after.get(name))) {
                throw new AssertionError(folder.resolve(name) + ": the folder holds bytes the recording does not"
                        + " explain (written off the recorded thread, or not through a ByteStore)");
            }
        }
        for (String name : after.keySet()) {
            if (!now.containsKey(name)) {
                throw new AssertionError(folder.resolve(name) + ": the recording has a file the folder lacks");
            }
        }
    }

    /** The folder as the log replays it at {@code cut}, with every write applied: name to bytes. */
    synchronized Map<String, byte[]> namesAt(int cut) {
        return CrashStates.folderAt(this, cut, java.util.Set.of(), (id, upTo) -> replay(id, upTo));
    }

    private static Map<String, byte[]> read(Path folder) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> list = Files.list(folder)) {
            for (Path p : list.toList()) {
                if (Files.isDirectory(p)) {
                    throw new IOException(p + ": a recorded folder must hold files only");
                }
                files.put(p.getFileName().toString(), Files.readAllBytes(p));
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        return files;
    }

    /** A file's bytes as events change them: grows on a write past the end, as a file does. */
    static final class Bytes {
        private byte[] data;
        private int size;

        Bytes(byte[] start) {
            data = start.clone();
            size = start.length;
        }

        void apply(Event e) {
            switch (e) {
                case Write w -> write(w.offset(), w.bytes(), 0, w.bytes().length);
                case SetSize s -> setSize(Math.toIntExact(s.size()));
                default -> {
                }
            }
        }

        void write(long offset, byte[] bytes, int from, int length) {
            int end = Math.toIntExact(offset + length);
            if (end > size) {
                setSize(end);
            }
            System.arraycopy(bytes, from, data, (int) offset, length);
        }

        void setSize(int newSize) {
            if (newSize > data.length) {
                data = Arrays.copyOf(data, Math.max(newSize, data.length + data.length / 2));
            } else if (newSize < size) {
                Arrays.fill(data, newSize, size, (byte) 0);
            }
            size = newSize;
        }

        byte[] toArray() {
            return Arrays.copyOf(data, size);
        }
    }
}
