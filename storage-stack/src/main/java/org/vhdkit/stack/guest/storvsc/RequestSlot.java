package org.vhdkit.stack.guest.storvsc;

import java.util.Arrays;
import org.vhdkit.stack.protocol.storage.StorageProtocol;

/**
 * One request slot of a {@link StorvscController}: the request its tag names (disk, CDB, buffer,
 * direction), where it stands, and how it ended. A controller makes one per tag, and one more for
 * its own scans, when it opens, and reuses them: nothing is allocated per request.
 *
 * <p>Thread-safety: not thread-safe; confined, as its controller, to the virtual processor that
 * opened it.
 */
final class RequestSlot {
    enum State {
        FREE, IN_FLIGHT, DONE, RETRY
    }

    /** The slot's tag: 0 to queue depth - 1, or the queue depth for the internal (scan) slot. */
    final int tag;
    final byte[] cdb = new byte[StorageProtocol.MAX_CDB_LENGTH];
    State state = State.FREE;
    /** The transaction id of the last send: sequence << 16 | tag + 1. */
    long txid;
    int sequence;
    StorvscDisk disk;
    int cdbLength;
    long gpa;
    int length;
    int direction;
    int retries;
    IoStatus result;
    int transferred;
    /** The sense of a CHECK CONDITION, key << 16 | asc << 8 | ascq, or -1. */
    int sense;

    RequestSlot(int tag) {
        this.tag = tag;
    }

    /** Puts {@code count} bytes of {@code src} in the CDB, the rest zero. */
    void cdb(byte[] src, int count) {
        System.arraycopy(src, 0, cdb, 0, count);
        Arrays.fill(cdb, count, cdb.length, (byte) 0);
        cdbLength = count;
    }

    /** Sets up the request for its first send. */
    void prepare(StorvscDisk target, long bufferGpa, int bytes, int dir) {
        disk = target;
        gpa = bufferGpa;
        length = bytes;
        direction = dir;
        retries = 0;
        result = IoStatus.PENDING;
        transferred = 0;
        sense = -1;
    }

    /** The transaction id of the next send. */
    long nextTransaction() {
        sequence++;
        txid = ((long) sequence << 16) | (tag + 1);
        return txid;
    }

    /** Whether the request ended with a unit attention. */
    boolean unitAttention() {
        return result == IoStatus.CHECK_CONDITION && sense >>> 16 == 0x6;
    }
}
