package org.vhdkit.vhd.testing;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import org.vhdkit.vhd.io.ByteStore;
import org.vhdkit.vhd.io.ForwardingByteStore;

/**
 * A store that adds each write, size change and force it passes on to a {@link RecordingLog}, after
 * the call returned (a call that failed changed nothing the log can rely on). A store of a file
 * outside the log's folder is passed through unrecorded. A request to start writeback passes
 * through unrecorded: it makes nothing durable, so a simulated power cut may lose what it covered.
 *
 * <p>Thread-safety: as the store it wraps; the log serializes its additions.
 */
final class RecordingStore extends ForwardingByteStore {
    private final RecordingLog log;
    private final int file;

    RecordingStore(ByteStore delegate, RecordingLog log) {
        super(delegate);
        this.log = log;
        try {
            this.file = log.register(delegate);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    public void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
        super.write(offset, src, srcOffset, length);
        if (file >= 0) {
            byte[] bytes = new byte[Math.toIntExact(length)];
            MemorySegment.copy(src, srcOffset, MemorySegment.ofArray(bytes), 0, length);
            log.add(new RecordingLog.Write(file, offset, bytes));
        }
    }

    @Override
    public void setSize(long newSize) throws IOException {
        super.setSize(newSize);
        if (file >= 0) {
            log.add(new RecordingLog.SetSize(file, newSize));
        }
    }

    @Override
    public void force() throws IOException {
        super.force();
        if (file >= 0) {
            log.add(new RecordingLog.Force(file));
        }
    }
}
