package org.vhdkit.vhd.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One state a power cut can leave a recorded folder in (see {@link CrashStates}): the position of
 * the cut in the log, the kind of state, and for each file how far it is durable and which pieces
 * of its later writes reached the disk, in the order they did. The bytes are made only when the
 * state is {@linkplain #materialise written out}, so that hundreds of states take no memory.
 *
 * <p>Thread-safety: immutable.
 */
public final class CrashState {
    private final RecordingLog log;
    private final int cut;
    private final CrashStates.Kind kind;
    private final Map<Integer, Integer> durable;
    private final Map<Integer, List<CrashStates.Piece>> pieces;
    private final String signature;
    /** The events of names (creations, renames, deletions) the cut lost: after the last folder force, not kept. */
    private final Set<Integer> namesLost;

    CrashState(RecordingLog log, int cut, CrashStates.Kind kind, Map<Integer, Integer> durable,
               Map<Integer, List<CrashStates.Piece>> pieces, String signature, Set<Integer> namesLost) {
        this.namesLost = Set.copyOf(namesLost);
        this.log = log;
        this.cut = cut;
        this.kind = kind;
        this.durable = Map.copyOf(durable);
        this.pieces = Map.copyOf(pieces);
        this.signature = signature;
    }

    /** The position of the log the power was cut at: events before it happened. */
    public int cut() {
        return cut;
    }

    /** How the writes since each file's last force were treated. */
    public CrashStates.Kind kind() {
        return kind;
    }

    /** How many changes of names (creations, renames, deletions) the cut lost. */
    public int namesLost() {
        return namesLost.size();
    }

    /** What identifies the state's choices: equal signatures hold equal bytes. */
    String signature() {
        return signature;
    }

    /** The state's files, name to bytes. */
    public Map<String, byte[]> files() {
        return CrashStates.folderAt(log, cut, namesLost, (id, upTo) -> CrashStates.content(log, id, durable.get(id), pieces.get(id)));
    }

    /** Writes the state's files into {@code folder} (which should be empty), under their names. */
    public void materialise(Path folder) throws IOException {
        for (Map.Entry<String, byte[]> file : files().entrySet()) {
            Files.write(folder.resolve(file.getKey()), file.getValue());
        }
    }

    @Override
    public String toString() {
        int pending = pieces.values().stream().mapToInt(List::size).sum();
        return kind + " state at log position " + cut + " (" + pending + " pieces of unforced writes applied"
                + (namesLost.isEmpty() ? "" : ", " + namesLost.size() + " changes of names lost") + ")";
    }
}
