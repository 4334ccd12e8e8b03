package org.vhdkit.vhd.format;

import java.util.Objects;
import java.util.Optional;

/**
 * One of the eight parent locator entries of a dynamic header (24 bytes): where in the file the data
 * naming a differencing disk's parent lies, and in which form.
 *
 * <p>The fields are kept as stored, so that any entry encodes back to its bytes; read
 * {@code dataSpace}, {@code dataLength} and {@code reserved} as unsigned.
 *
 * <p>Records are immutable and safe to share between threads.
 *
 * @param platformCode the Platform Code (see {@link PlatformCode}); 0 for an unused entry
 * @param dataSpace    the Platform Data Space: the room reserved for the data, which real images give
 *                     in 512-byte sectors (as the specification says) or in bytes (as Virtual PC
 *                     writes); see {@link #dataSpaceBytes()}
 * @param dataLength   the Platform Data Length: the bytes the data occupies
 * @param reserved     the reserved field, normally 0
 * @param dataOffset   the Platform Data Offset: the absolute file offset of the data
 */
public record ParentLocator(int platformCode, int dataSpace, int dataLength, int reserved, long dataOffset) {
    /** The size of an entry. */
    public static final int SIZE = 24;

    /** An unused entry: all zero. */
    public static final ParentLocator EMPTY = new ParentLocator(0, 0, 0, 0, 0);

    // Where each field lies, from the start of the entry (the specification's offsets).
    public static final int PLATFORM_CODE_OFFSET = 0;
    public static final int DATA_SPACE_OFFSET = 4;
    public static final int DATA_LENGTH_OFFSET = 8;
    public static final int RESERVED_OFFSET = 12;
    public static final int DATA_OFFSET_OFFSET = 16;

    /**
     * A locator written the way this toolkit writes them: the data space in bytes, rounded up to whole
     * sectors and never below 512, so that a reader taking the value as sectors (the specification)
     * and one taking it as bytes (Virtual PC) both find room for the data.
     *
     * @throws IllegalArgumentException for {@link PlatformCode#NONE}, a negative offset or length, or a
     *                                  length above 2^31 - 512
     */
    public static ParentLocator create(PlatformCode platform, long dataOffset, int dataLength) {
        Objects.requireNonNull(platform, "platform");
        if (platform == PlatformCode.NONE) {
            throw new IllegalArgumentException("a locator needs a platform");
        }
        if (dataOffset < 0 || dataLength < 0 || dataLength > Integer.MAX_VALUE - 511) {
            throw new IllegalArgumentException("data offset " + dataOffset + ", length " + dataLength);
        }
        int space = Math.max(512, (dataLength + 511) / 512 * 512);
        return new ParentLocator(platform.code(), space, dataLength, 0, dataOffset);
    }

    /** Whether this entry is unused (its platform code is 0). */
    public boolean isEmpty() {
        return platformCode == 0;
    }

    /**
     * The data space in bytes. Real images store it both in sectors and in bytes: a value below 512 is
     * taken as sectors (times 512), anything else as bytes.
     */
    public long dataSpaceBytes() {
        long space = Integer.toUnsignedLong(dataSpace);
        return space < 512 ? space * 512 : space;
    }

    /** The platform of this entry, or empty when the code is not one the specification defines. */
    public Optional<PlatformCode> platform() {
        return PlatformCode.fromCode(platformCode);
    }

    /**
     * The entry stored in {@code bytes[at .. at + 24)}. Any bytes make an entry; whether it fits the
     * file is checked by {@link DynamicHeader#validateAgainst}.
     */
    public static ParentLocator decode(byte[] bytes, int at) {
        Objects.checkFromIndexSize(at, SIZE, bytes.length);
        return new ParentLocator(
                BigEndian.readInt(bytes, at + PLATFORM_CODE_OFFSET),
                BigEndian.readInt(bytes, at + DATA_SPACE_OFFSET),
                BigEndian.readInt(bytes, at + DATA_LENGTH_OFFSET),
                BigEndian.readInt(bytes, at + RESERVED_OFFSET),
                BigEndian.readLong(bytes, at + DATA_OFFSET_OFFSET));
    }

    /** Writes the 24 bytes of this entry into {@code bytes} at {@code at}. */
    public void encodeInto(byte[] bytes, int at) {
        Objects.checkFromIndexSize(at, SIZE, bytes.length);
        BigEndian.writeInt(bytes, at + PLATFORM_CODE_OFFSET, platformCode);
        BigEndian.writeInt(bytes, at + DATA_SPACE_OFFSET, dataSpace);
        BigEndian.writeInt(bytes, at + DATA_LENGTH_OFFSET, dataLength);
        BigEndian.writeInt(bytes, at + RESERVED_OFFSET, reserved);
        BigEndian.writeLong(bytes, at + DATA_OFFSET_OFFSET, dataOffset);
    }
}
