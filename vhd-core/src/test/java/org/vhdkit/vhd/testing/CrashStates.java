package org.vhdkit.vhd.testing;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BiFunction;

/**
 * The states a power cut can leave the files of a {@link RecordingLog} in, as CrashMonkey builds
 * them from a dm-log-writes log. A power cut at position {@code cut} of the log keeps, of each file,
 * everything up to its last {@link RecordingLog.Force} before the cut (what a completed
 * {@code fsync} guarantees), and of the writes and size changes after it any subset, reaching the
 * disk in any order (the page cache writes pages back as it likes), a write possibly torn into the
 * 512-byte sectors or 4 KiB pages that reached the disk and those that did not. Size changes keep
 * their order among themselves. Renames and deletions in the log before the cut have happened.
 *
 * <p>{@link #of} makes, for each force in a range of the log: the state right after it with every
 * later write written back ({@link Kind#PREFIX}: what a killed process leaves) and with none
 * ({@link Kind#DURABLE}); and between each force and the next, random states of the three other
 * kinds. States that would hold the same bytes (the same choices) are made once.
 *
 * <p>Thread-safety: not thread-safe (one per test); the states it makes are immutable.
 */
public final class CrashStates {

    /** How a state treats the writes since each file's last force. */
    public enum Kind {
        /** All of them reached the disk, in order. */
        PREFIX,
        /** None did. */
        DURABLE,
        /** A random subset did, whole, in a random order. */
        REORDERED,
        /** A random subset did, each possibly torn into the 512-byte sectors that reached the disk. */
        TORN_512,
        /** A random subset did, each possibly torn into the 4 KiB pages that reached the disk. */
        TORN_4K
    }

    /** One write, or part of one, that reached the disk: the event's bytes {@code [from, to)}. */
    record Piece(int event, int from, int to) {
    }

    private CrashStates() {
    }

    /** How a state treats changes of names (creations, renames, deletions). */
    public enum Names {
        /** Each is durable once made (the model of the VHD operations' tests). */
        DURABLE_AT_ONCE,
        /**
         * Each is durable once the folder is forced ({@link RecordingLog.FolderForce}); of those since
         * the last force, a state keeps those up to a point (a journaling file system commits them
         * in order): all (a killed process), none, or up to a random one.
         */
        DURABLE_AFTER_FOLDER_FORCE
    }

    /**
     * The crash states of the log's positions {@code [from, to]}: the two fixed ones after each
     * force and at {@code to}, and {@code randomPerForce} random ones after each force (and before
     * the first), drawn from {@code random}. Names are durable at once.
     */
    public static List<CrashState> of(RecordingLog log, int from, int to, Random random, int randomPerForce) {
        return of(log, from, to, random, randomPerForce, Names.DURABLE_AT_ONCE);
    }

    /** As {@link #of(RecordingLog, int, int, Random, int)}, with names treated as {@code names} says. */
    public static List<CrashState> of(RecordingLog log, int from, int to, Random random, int randomPerForce,
                                      Names names) {
        List<RecordingLog.Event> events = log.events();
        List<Integer> cuts = new ArrayList<>();
        for (int i = from; i < to; i++) {
            if (events.get(i) instanceof RecordingLog.Force || events.get(i) instanceof RecordingLog.FolderForce) {
                cuts.add(i + 1);
            }
        }
        cuts.add(to);
        Set<String> seen = new HashSet<>();
        List<CrashState> states = new ArrayList<>();
        int previous = from;
        for (int cut : cuts) {
            for (Kind kind : List.of(Kind.PREFIX, Kind.DURABLE)) {
                add(states, seen, plan(log, events, cut, kind, random, names));
            }
            for (int r = 0; r < randomPerForce && cut > previous; r++) {
                int at = previous + 1 + random.nextInt(cut - previous);
                Kind kind = List.of(Kind.REORDERED, Kind.TORN_512, Kind.TORN_4K).get(random.nextInt(3));
                add(states, seen, plan(log, events, at, kind, random, names));
            }
            previous = cut;
        }
        return states;
    }

    private static void add(List<CrashState> states, Set<String> seen, CrashState state) {
        if (seen.add(state.signature())) {
            states.add(state);
        }
    }

    private static CrashState plan(RecordingLog log, List<RecordingLog.Event> events, int cut, Kind kind, Random random,
                                   Names names) {
        Map<Integer, List<Piece>> pieces = new HashMap<>();
        Map<Integer, Integer> durable = new HashMap<>();
        int files = log.files().size();
        StringBuilder signature = new StringBuilder().append(cut).append(':');
        for (int file = 0; file < files; file++) {
            int lastForce = -1;
            List<Integer> pending = new ArrayList<>();
            for (int i = 0; i < cut; i++) {
                RecordingLog.Event e = events.get(i);
                if (e.file() != file) {
                    continue;
                }
                if (e instanceof RecordingLog.Force) {
                    lastForce = i;
                    pending.clear();
                } else if (e instanceof RecordingLog.Write || e instanceof RecordingLog.SetSize) {
                    pending.add(i);
                }
            }
            durable.put(file, lastForce + 1);
            List<Piece> chosen = choose(events, pending, kind, random);
            pieces.put(file, chosen);
            signature.append(file).append('@').append(lastForce).append(chosen).append(';');
        }
        Set<Integer> lost = new HashSet<>();
        if (names == Names.DURABLE_AFTER_FOLDER_FORCE) {
            List<Integer> pendingNames = new ArrayList<>();
            for (int i = 0; i < cut; i++) {
                switch (events.get(i)) {
                    case RecordingLog.FolderForce f -> pendingNames.clear();
                    case RecordingLog.Open o -> pendingNames.add(i);
                    case RecordingLog.Rename r -> pendingNames.add(i);
                    case RecordingLog.Delete d -> pendingNames.add(i);
                    default -> {
                    }
                }
            }
            int kept = switch (kind) {
                case PREFIX -> pendingNames.size();
                case DURABLE -> 0;
                default -> random.nextInt(pendingNames.size() + 1);
            };
            lost.addAll(pendingNames.subList(kept, pendingNames.size()));
            signature.append("names kept ").append(kept);
        }
        String sig = signature.toString();
        // Unchanged pending lists under different kinds are the same state.
        return new CrashState(log, cut, kind, durable, pieces, sig, lost);
    }

    private static List<Piece> choose(List<RecordingLog.Event> events, List<Integer> pending, Kind kind, Random random) {
        List<Piece> chosen = new ArrayList<>();
        if (kind == Kind.DURABLE) {
            return chosen;
        }
        for (int i : pending) {
            RecordingLog.Event e = events.get(i);
            int length = e instanceof RecordingLog.Write w ? w.bytes().length : 0;
            if (kind == Kind.PREFIX) {
                chosen.add(new Piece(i, 0, length));
                continue;
            }
            if (!random.nextBoolean()) {
                continue;
            }
            int grain = kind == Kind.TORN_512 ? 512 : kind == Kind.TORN_4K ? 4096 : 0;
            if (grain == 0 || length == 0 || random.nextInt(3) == 0) {
                chosen.add(new Piece(i, 0, length)); // whole
                continue;
            }
            long offset = ((RecordingLog.Write) e).offset();
            int at = 0;
            while (at < length) {
                int next = (int) Math.min(length, ((offset + at) / grain + 1) * grain - offset);
                if (random.nextBoolean()) {
                    chosen.add(new Piece(i, at, next));
                }
                at = next;
            }
        }
        if (kind == Kind.PREFIX) {
            return chosen;
        }
        Collections.shuffle(chosen, random);
        // Size changes keep their order among themselves: the slots they took, in log order.
        List<Integer> slots = new ArrayList<>();
        List<Piece> sizes = new ArrayList<>();
        for (int s = 0; s < chosen.size(); s++) {
            if (events.get(chosen.get(s).event()) instanceof RecordingLog.SetSize) {
                slots.add(s);
                sizes.add(chosen.get(s));
            }
        }
        sizes.sort((a, b) -> Integer.compare(a.event(), b.event()));
        for (int s = 0; s < slots.size(); s++) {
            chosen.set(slots.get(s), sizes.get(s));
        }
        return chosen;
    }

    /** The bytes of {@code file} in a state: its durable events, then the pieces chosen. */
    static byte[] content(RecordingLog log, int file, int durableUpTo, List<Piece> pieces) {
        RecordingLog.Bytes bytes = new RecordingLog.Bytes(log.replay(file, durableUpTo));
        List<RecordingLog.Event> events = log.events();
        for (Piece p : pieces) {
            switch (events.get(p.event())) {
                case RecordingLog.Write w -> bytes.write(w.offset() + p.from(), w.bytes(), p.from(), p.to() - p.from());
                case RecordingLog.SetSize s -> bytes.setSize(Math.toIntExact(s.size()));
                default -> throw new IllegalStateException("not a write: " + events.get(p.event()));
            }
        }
        return bytes.toArray();
    }

    /**
     * The folder at {@code cut}: the files there when the log began, then each recorded file under
     * its name from its first opening, renamed and deleted as the log says (but for the changes of
     * names in {@code lost}), with the bytes
     * {@code content} gives for (file, cut). Name to bytes.
     */
    static Map<String, byte[]> folderAt(RecordingLog log, int cut, Set<Integer> lost,
                                        BiFunction<Integer, Integer, byte[]> content) {
        List<RecordingLog.Event> events = log.events();
        List<RecordingLog.RecordedFile> files = log.files();
        Map<String, Integer> holder = new LinkedHashMap<>();
        for (String name : log.before().keySet()) {
            holder.put(name, -1);
        }
        for (int i = 0; i < cut; i++) {
            if (lost.contains(i)) {
                continue;
            }
            switch (events.get(i)) {
                case RecordingLog.Open o -> holder.put(files.get(o.file()).name(), o.file());
                case RecordingLog.Rename r -> {
                    holder.values().remove(r.file());
                    holder.put(r.to(), r.file());
                }
                case RecordingLog.Delete d -> holder.values().remove(d.file());
                default -> {
                }
            }
        }
        Map<String, byte[]> folder = new TreeMap<>();
        holder.forEach((name, id) -> folder.put(name, id < 0 ? log.before().get(name) : content.apply(id, cut)));
        return folder;
    }
}
