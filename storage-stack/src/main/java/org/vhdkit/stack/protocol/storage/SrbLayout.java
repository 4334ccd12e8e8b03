package org.vhdkit.stack.protocol.storage;

/**
 * The two layouts of the SCSI request block: {@link #V1} before protocol version 5.1 (0x24 bytes,
 * 0x12 bytes of sense), {@link #V2} from 5.1 (Windows 8) on (0x34 bytes, 0x14 bytes of sense, and
 * the extension fields queue tag, queue action, SRB flags, time-out and queue sort key).
 *
 * <p>Immutable; safe to share between threads.
 */
public enum SrbLayout {
    V1(StorageProtocol.SRB_LENGTH_V1, StorageProtocol.SENSE_LENGTH_V1),
    V2(StorageProtocol.SRB_LENGTH_V2, StorageProtocol.SENSE_LENGTH_V2);

    private final int length;
    private final int senseLength;

    SrbLayout(int length, int senseLength) {
        this.length = length;
        this.senseLength = senseLength;
    }

    /** The layout protocol version {@code version} (major << 8 | minor) uses. Thread-safe. */
    public static SrbLayout of(int version) {
        return version >= StorageProtocol.VERSION_WIN8 ? V2 : V1;
    }

    /** The SRB's length in bytes. Thread-safe. */
    public int length() {
        return length;
    }

    /** The sense area's length in bytes. Thread-safe. */
    public int senseLength() {
        return senseLength;
    }

    /** Whether the layout has the extension fields (SRB flags, time-out, ...). Thread-safe. */
    public boolean extended() {
        return this == V2;
    }
}
