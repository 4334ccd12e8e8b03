package org.vhdkit.stack.vhostuser;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import org.vhdkit.stack.protocol.vhostuser.LogBase;

/**
 * The front-end's dirty-page log (SET_LOG_BASE, with VHOST_F_LOG_ALL negotiated): every page of
 * guest memory the backend writes (responses, data-in, used rings) gets its bit set, atomically
 * (the log is shared with qemu, which clears bits as it copies pages), so that qemu can save or
 * migrate a running VM. Pages beyond the log are not logged (the front-end sized it for its
 * memory).
 *
 * <p>Thread-safety: {@link #mark} from any number of workers at once (atomic OR on 64-bit words);
 * {@link #close} once no worker uses it.
 */
final class DirtyLog implements AutoCloseable {
    private static final VarHandle WORD = ValueLayout.JAVA_LONG.varHandle();

    private final long mapping;
    private final long mappingLength;
    private final MemorySegment bitmap;

    private DirtyLog(long mapping, long mappingLength, MemorySegment bitmap) {
        this.mapping = mapping;
        this.mappingLength = mappingLength;
        this.bitmap = bitmap;
    }

    /**
     * Maps the log {@code base} describes from {@code fd} (the caller closes fd).
     *
     * @throws IOException when the log runs past the end of the file, or it cannot be mapped
     */
    @SuppressWarnings("restricted") // the bitmap is given the size the front-end mapped
    static DirtyLog map(LogBase base, int fd) throws IOException {
        if (base.offset() % 8 != 0) {
            throw new IOException("the log's mmap_offset 0x" + Long.toHexString(base.offset())
                    + " is not a multiple of 8");
        }
        long file = LinuxCalls.fileSize(fd);
        if (base.offset() + base.size() > file) {
            // Marking a page of the log beyond the end of its file would fault (SIGBUS, which the JVM
            // turns into an InternalError that ends the queue's worker).
            throw new IOException("the log (0x" + Long.toHexString(base.size()) + " bytes at offset 0x"
                    + Long.toHexString(base.offset()) + ") runs past the end of its file (0x" + Long.toHexString(file)
                    + " bytes)");
        }
        long length = Math.addExact(base.offset() + base.size(), LinuxCalls.PAGE - 1) & -LinuxCalls.PAGE;
        long at = LinuxCalls.reserve(length);
        try {
            LinuxCalls.mapFixed(at, length, fd, 0);
        } catch (IOException e) {
            LinuxCalls.unmap(at, length);
            throw e;
        }
        return new DirtyLog(at, length, MemorySegment.ofAddress(at + base.offset()).reinterpret(base.size() & ~7L));
    }

    /** Sets the bits of every page of guest physical {@code [address, address + length)}. */
    void mark(long address, long length) {
        if (length <= 0) {
            return;
        }
        long first = address / LogBase.PAGE;
        long last = (address + length - 1) / LogBase.PAGE;
        for (long page = first; page <= last; page++) {
            long word = (page >>> 6) << 3;
            if (word + 8 > bitmap.byteSize()) {
                return;
            }
            long unused = (long) WORD.getAndBitwiseOr(bitmap, word, 1L << (page & 63));
        }
    }

    @Override
    public void close() {
        LinuxCalls.unmap(mapping, mappingLength);
    }
}
