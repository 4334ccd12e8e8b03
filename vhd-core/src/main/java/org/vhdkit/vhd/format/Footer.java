package org.vhdkit.vhd.format;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Objects;
import java.util.UUID;

/**
 * The hard disk footer (512 bytes, big-endian): the last sector of every VHD file, with a copy at
 * offset 0 of dynamic and differencing disks.
 *
 * <p>{@link #decode} refuses what the specification (and the agreement of real tools) does not allow
 * and {@link #encode} writes the bytes back exactly: bytes that no field describes are kept in
 * {@link #reserved()}. The one exception is a Saved State byte other than 0 or 1, which decodes as
 * saved and encodes as 1.
 *
 * <p>Records are immutable and safe to share between threads; every method is safe to call from any
 * thread.
 *
 * @param features           the Features field: 0x2 is always set, 0x1 marks a temporary disk
 * @param formatVersion      the File Format Version, {@link #FORMAT_VERSION}
 * @param dataOffset         the Data Offset: the absolute offset of the dynamic header, or
 *                           {@link #NO_DATA_OFFSET} for a fixed disk
 * @param timestamp          the Time Stamp, seconds since 2000 (see {@link VhdTime}); unsigned 32-bit
 * @param creatorApplication the Creator Application: four characters read as ISO-8859-1 with any NUL
 *                           kept, e.g. {@code "win "}, {@code "vpc "}, {@code "d2v\u0000"}
 * @param creatorVersion     the Creator Version (major in the high 16 bits, minor in the low)
 * @param creatorHostOs      the Creator Host OS, e.g. {@link #HOST_WINDOWS}
 * @param originalSize       the Original Size: the size when the disk was created (unsigned; as stored)
 * @param currentSize        the Current Size: the disk's size in bytes
 * @param geometry           the Disk Geometry
 * @param diskType           the Disk Type
 * @param checksum           the Checksum as stored (or as computed, for a footer made here);
 *                           {@link #encode} always writes the correct one
 * @param uniqueId           the Unique Id; its 16 bytes are stored most significant first
 * @param savedState         the Saved State flag
 * @param reserved           the 427 reserved bytes at offset 85, normally zero
 */
public record Footer(int features, int formatVersion, long dataOffset, long timestamp, String creatorApplication,
                     int creatorVersion, int creatorHostOs, long originalSize, long currentSize,
                     DiskGeometry geometry, DiskType diskType, int checksum, UUID uniqueId, boolean savedState,
                     ReservedBytes reserved) {
    /** The size of the footer. */
    public static final int SIZE = 512;
    /** The Data Offset of a fixed disk: all 64 bits set. */
    public static final long NO_DATA_OFFSET = -1L;
    /** The cookie the footer starts with. */
    public static final String COOKIE = "conectix";
    /** The Features bit for a temporary disk (one that may be deleted on shutdown). */
    public static final int FEATURES_TEMPORARY = 0x1;
    /** The Features bit that must always be set. */
    public static final int FEATURES_RESERVED = 0x2;
    /** The File Format Version, 1.0. */
    public static final int FORMAT_VERSION = 0x00010000;
    /** The Creator Host OS of Windows, {@code "Wi2k"}. */
    public static final int HOST_WINDOWS = 0x5769326B;
    /** The Creator Host OS of Macintosh, {@code "Mac "}. */
    public static final int HOST_MACINTOSH = 0x4D616320;
    /** The number of reserved bytes at the end of the footer. */
    public static final int RESERVED_SIZE = 427;
    /** The largest Current Size accepted: 2^62 bytes (the field is unsigned 64-bit). */
    public static final long MAX_CURRENT_SIZE = 1L << 62;

    // Where each field lies, from the start of the footer (the specification's offsets).
    public static final int COOKIE_OFFSET = 0;
    public static final int FEATURES_OFFSET = 8;
    public static final int FORMAT_VERSION_OFFSET = 12;
    public static final int DATA_OFFSET_OFFSET = 16;
    public static final int TIMESTAMP_OFFSET = 24;
    public static final int CREATOR_APPLICATION_OFFSET = 28;
    public static final int CREATOR_VERSION_OFFSET = 32;
    public static final int CREATOR_HOST_OS_OFFSET = 36;
    public static final int ORIGINAL_SIZE_OFFSET = 40;
    public static final int CURRENT_SIZE_OFFSET = 48;
    public static final int GEOMETRY_OFFSET = 56;
    public static final int DISK_TYPE_OFFSET = 60;
    public static final int CHECKSUM_OFFSET = 64;
    public static final int UNIQUE_ID_OFFSET = 68;
    public static final int SAVED_STATE_OFFSET = 84;
    public static final int RESERVED_OFFSET = 85;

    private static final byte[] COOKIE_BYTES = COOKIE.getBytes(StandardCharsets.US_ASCII);

    /**
     * A footer as given: no field is checked against the specification here (see {@link #decode}).
     *
     * @throws NullPointerException     when an object component is null
     * @throws IllegalArgumentException when the creator application is not four one-byte characters,
     *                                  the time stamp is not unsigned 32-bit, or {@code reserved} is not
     *                                  {@value #RESERVED_SIZE} bytes
     */
    public Footer {
        Objects.requireNonNull(creatorApplication, "creatorApplication");
        Objects.requireNonNull(geometry, "geometry");
        Objects.requireNonNull(diskType, "diskType");
        Objects.requireNonNull(uniqueId, "uniqueId");
        Objects.requireNonNull(reserved, "reserved");
        BigEndian.fourCharacterCode(creatorApplication);
        VhdTime.checkRange(timestamp, "time stamp");
        if (reserved.length() != RESERVED_SIZE) {
            throw new IllegalArgumentException("footer reserved area of " + reserved.length() + " bytes, not "
                    + RESERVED_SIZE);
        }
    }

    /** A footer whose reserved area is zero. */
    public Footer(int features, int formatVersion, long dataOffset, long timestamp, String creatorApplication,
                  int creatorVersion, int creatorHostOs, long originalSize, long currentSize,
                  DiskGeometry geometry, DiskType diskType, int checksum, UUID uniqueId, boolean savedState) {
        this(features, formatVersion, dataOffset, timestamp, creatorApplication, creatorVersion, creatorHostOs,
                originalSize, currentSize, geometry, diskType, checksum, uniqueId, savedState,
                ReservedBytes.zeros(RESERVED_SIZE));
    }

    /**
     * Decodes and validates the footer in {@code bytes[at .. at + 512)}.
     *
     * <p>Refused: a cookie other than {@code conectix}; a stored checksum that is not the computed
     * one; a format version whose major part is not 1; Features without bit 0x2; a disk type other
     * than fixed, dynamic or differencing; a fixed disk whose data offset is not all ones, or a
     * dynamic or differencing disk whose data offset is all ones, below 512 or not a multiple of 512;
     * a current size that is not a multiple of 512 or above {@link #MAX_CURRENT_SIZE}.
     *
     * @param source     the file the bytes came from, for messages
     * @param fileOffset where {@code bytes[at]} sits in that file; messages give the field's offset
     *                   from it
     * @throws VhdFormatException        when a field is refused; its field is {@code "footer <Field Name>"}
     * @throws IndexOutOfBoundsException when {@code bytes} does not hold 512 bytes at {@code at}
     */
    public static Footer decode(String source, byte[] bytes, int at, long fileOffset) throws VhdFormatException {
        return decode(source, bytes, at, fileOffset, true);
    }

    /**
     * Decodes the footer as {@link #decode} does, except that a stored checksum other than the computed
     * one is kept in {@link #checksum()} rather than refused; every other field is validated. For a
     * checker, which reports a wrong checksum on its own and must know whether the fields it covers
     * are otherwise sound before it rewrites it.
     *
     * @throws VhdFormatException        when a field other than the checksum is refused
     * @throws IndexOutOfBoundsException when {@code bytes} does not hold 512 bytes at {@code at}
     */
    public static Footer decodeIgnoringChecksum(String source, byte[] bytes, int at, long fileOffset)
            throws VhdFormatException {
        return decode(source, bytes, at, fileOffset, false);
    }

    private static Footer decode(String source, byte[] bytes, int at, long fileOffset, boolean verifyChecksum)
            throws VhdFormatException {
        Objects.requireNonNull(source, "source");
        Objects.checkFromIndexSize(at, SIZE, bytes.length);
        int storedChecksum = Envelope.check(source, "footer", bytes, at, fileOffset, COOKIE_BYTES,
                COOKIE, SIZE, CHECKSUM_OFFSET, verifyChecksum);
        int formatVersion = BigEndian.readInt(bytes, at + FORMAT_VERSION_OFFSET);
        if (formatVersion >>> 16 != FORMAT_VERSION >>> 16) {
            throw refuse(source, fileOffset, FORMAT_VERSION_OFFSET, "File Format Version",
                    String.format("0x%08x, expected major version 1 (0x%08x)", formatVersion, FORMAT_VERSION));
        }
        int features = BigEndian.readInt(bytes, at + FEATURES_OFFSET);
        if ((features & FEATURES_RESERVED) == 0) {
            throw refuse(source, fileOffset, FEATURES_OFFSET, "Features",
                    String.format("0x%08x lacks bit 0x2, which must always be set", features));
        }
        int diskTypeCode = BigEndian.readInt(bytes, at + DISK_TYPE_OFFSET);
        DiskType diskType;
        try {
            diskType = DiskType.fromCode(diskTypeCode);
        } catch (IllegalArgumentException e) {
            throw refuse(source, fileOffset, DISK_TYPE_OFFSET, "Disk Type",
                    DiskType.describe(diskTypeCode) + " is not 2 (fixed), 3 (dynamic) or 4 (differencing)");
        }
        long dataOffset = BigEndian.readLong(bytes, at + DATA_OFFSET_OFFSET);
        if (diskType == DiskType.FIXED) {
            if (dataOffset != NO_DATA_OFFSET) {
                throw refuse(source, fileOffset, DATA_OFFSET_OFFSET, "Data Offset",
                        String.format("0x%016x, but a fixed disk has all ones (0xffffffffffffffff)", dataOffset));
            }
        } else if (dataOffset == NO_DATA_OFFSET) {
            throw refuse(source, fileOffset, DATA_OFFSET_OFFSET, "Data Offset",
                    "all ones, but a " + diskType.name().toLowerCase(Locale.ROOT)
                            + " disk needs the offset of its dynamic header");
        } else if (dataOffset < 512 || dataOffset % 512 != 0) {
            throw refuse(source, fileOffset, DATA_OFFSET_OFFSET, "Data Offset",
                    String.format("0x%x is not a multiple of 512 from 512 on", dataOffset));
        }
        long currentSize = BigEndian.readLong(bytes, at + CURRENT_SIZE_OFFSET);
        if (currentSize < 0 || currentSize > MAX_CURRENT_SIZE) {
            throw refuse(source, fileOffset, CURRENT_SIZE_OFFSET, "Current Size",
                    Long.toUnsignedString(currentSize) + " bytes is above the limit of 2^62");
        }
        if (currentSize % 512 != 0) {
            throw refuse(source, fileOffset, CURRENT_SIZE_OFFSET, "Current Size",
                    currentSize + " bytes is not a whole number of 512-byte sectors");
        }
        return new Footer(
                features,
                formatVersion,
                dataOffset,
                BigEndian.readUnsignedInt(bytes, at + TIMESTAMP_OFFSET),
                new String(bytes, at + CREATOR_APPLICATION_OFFSET, 4, StandardCharsets.ISO_8859_1),
                BigEndian.readInt(bytes, at + CREATOR_VERSION_OFFSET),
                BigEndian.readInt(bytes, at + CREATOR_HOST_OS_OFFSET),
                BigEndian.readLong(bytes, at + ORIGINAL_SIZE_OFFSET),
                currentSize,
                new DiskGeometry(
                        BigEndian.readUnsignedShort(bytes, at + GEOMETRY_OFFSET),
                        BigEndian.readUnsignedByte(bytes, at + GEOMETRY_OFFSET + 2),
                        BigEndian.readUnsignedByte(bytes, at + GEOMETRY_OFFSET + 3)),
                diskType,
                storedChecksum,
                BigEndian.readUuid(bytes, at + UNIQUE_ID_OFFSET),
                bytes[at + SAVED_STATE_OFFSET] != 0,
                ReservedBytes.copyOf(bytes, at + RESERVED_OFFSET, RESERVED_SIZE));
    }

    private static VhdFormatException refuse(String source, long fileOffset, int fieldOffset, String field,
                                             String problem) {
        return new VhdFormatException(source, "footer " + field, fileOffset + fieldOffset, problem);
    }

    /**
     * A new footer: geometry from {@link DiskGeometry#forSize}, original and current size {@code size},
     * Features 0x2, version 1.0, data offset {@link #NO_DATA_OFFSET} for a fixed disk and 512 otherwise,
     * not in saved state, reserved area zero, and the correct checksum.
     *
     * @param timestamp          seconds since 2000 (see {@link VhdTime#fromInstant})
     * @param creatorApplication four one-byte characters, e.g. {@code "vhdk"}
     * @throws IllegalArgumentException when the size is negative, not a multiple of 512 or above
     *                                  {@link #MAX_CURRENT_SIZE}, or another value does not fit its field
     */
    public static Footer create(DiskType type, long size, UUID id, long timestamp, String creatorApplication,
                                int creatorVersion, int creatorHostOs) {
        Objects.requireNonNull(type, "type");
        if (size < 0 || size > MAX_CURRENT_SIZE || size % 512 != 0) {
            throw new IllegalArgumentException("disk size " + size + " is not a multiple of 512 in [0, 2^62]");
        }
        return new Footer(FEATURES_RESERVED, FORMAT_VERSION, type == DiskType.FIXED ? NO_DATA_OFFSET : 512,
                timestamp, creatorApplication, creatorVersion, creatorHostOs, size, size,
                DiskGeometry.forSize(size), type, 0, id, false).withCorrectChecksum();
    }

    /** The 512 bytes of this footer, with the correct checksum (whatever {@link #checksum()} holds). */
    public byte[] encode() {
        byte[] bytes = new byte[SIZE];
        encodeInto(bytes, 0);
        return bytes;
    }

    /** Writes the 512 bytes of {@link #encode()} into {@code bytes} at {@code at}. */
    public void encodeInto(byte[] bytes, int at) {
        Objects.checkFromIndexSize(at, SIZE, bytes.length);
        writeContent(bytes, at);
        BigEndian.writeInt(bytes, at + CHECKSUM_OFFSET, Checksum.compute(bytes, at, SIZE, CHECKSUM_OFFSET));
    }

    /** The checksum {@link #encode()} stores: that of the content, whatever {@link #checksum()} holds. */
    public int computeChecksum() {
        byte[] bytes = new byte[SIZE];
        writeContent(bytes, 0);
        return Checksum.compute(bytes, 0, SIZE, CHECKSUM_OFFSET);
    }

    /** Every field but the checksum, whose bytes are left zero. */
    private void writeContent(byte[] bytes, int at) {
        System.arraycopy(COOKIE_BYTES, 0, bytes, at + COOKIE_OFFSET, COOKIE_BYTES.length);
        BigEndian.writeInt(bytes, at + FEATURES_OFFSET, features);
        BigEndian.writeInt(bytes, at + FORMAT_VERSION_OFFSET, formatVersion);
        BigEndian.writeLong(bytes, at + DATA_OFFSET_OFFSET, dataOffset);
        BigEndian.writeInt(bytes, at + TIMESTAMP_OFFSET, (int) timestamp);
        BigEndian.writeInt(bytes, at + CREATOR_APPLICATION_OFFSET, BigEndian.fourCharacterCode(creatorApplication));
        BigEndian.writeInt(bytes, at + CREATOR_VERSION_OFFSET, creatorVersion);
        BigEndian.writeInt(bytes, at + CREATOR_HOST_OS_OFFSET, creatorHostOs);
        BigEndian.writeLong(bytes, at + ORIGINAL_SIZE_OFFSET, originalSize);
        BigEndian.writeLong(bytes, at + CURRENT_SIZE_OFFSET, currentSize);
        BigEndian.writeShort(bytes, at + GEOMETRY_OFFSET, geometry.cylinders());
        BigEndian.writeByte(bytes, at + GEOMETRY_OFFSET + 2, geometry.heads());
        BigEndian.writeByte(bytes, at + GEOMETRY_OFFSET + 3, geometry.sectorsPerTrack());
        BigEndian.writeInt(bytes, at + DISK_TYPE_OFFSET, diskType.code());
        BigEndian.writeInt(bytes, at + CHECKSUM_OFFSET, 0);
        BigEndian.writeUuid(bytes, at + UNIQUE_ID_OFFSET, uniqueId);
        BigEndian.writeByte(bytes, at + SAVED_STATE_OFFSET, savedState ? 1 : 0);
        reserved.copyTo(0, bytes, at + RESERVED_OFFSET, RESERVED_SIZE);
    }

    /** This footer with its Current Size changed (geometry and original size unchanged) and the checksum updated. */
    public Footer withCurrentSize(long size) {
        return new Footer(features, formatVersion, dataOffset, timestamp, creatorApplication, creatorVersion,
                creatorHostOs, originalSize, size, geometry, diskType, checksum, uniqueId, savedState, reserved)
                .withCorrectChecksum();
    }

    /** This footer with its Unique Id changed and the checksum updated. */
    public Footer withUniqueId(UUID id) {
        return new Footer(features, formatVersion, dataOffset, timestamp, creatorApplication, creatorVersion,
                creatorHostOs, originalSize, currentSize, geometry, diskType, checksum, id, savedState, reserved)
                .withCorrectChecksum();
    }

    /** This footer with its Data Offset changed and the checksum updated. */
    public Footer withDataOffset(long off) {
        return new Footer(features, formatVersion, off, timestamp, creatorApplication, creatorVersion,
                creatorHostOs, originalSize, currentSize, geometry, diskType, checksum, uniqueId, savedState, reserved)
                .withCorrectChecksum();
    }

    /** This footer with its Disk Geometry changed and the checksum updated. */
    public Footer withGeometry(DiskGeometry newGeometry) {
        return new Footer(features, formatVersion, dataOffset, timestamp, creatorApplication, creatorVersion,
                creatorHostOs, originalSize, currentSize, newGeometry, diskType, checksum, uniqueId, savedState,
                reserved).withCorrectChecksum();
    }

    /** This footer with its Time Stamp changed and the checksum updated. */
    public Footer withTimestamp(long newTimestamp) {
        return new Footer(features, formatVersion, dataOffset, newTimestamp, creatorApplication, creatorVersion,
                creatorHostOs, originalSize, currentSize, geometry, diskType, checksum, uniqueId, savedState,
                reserved).withCorrectChecksum();
    }

    private Footer withCorrectChecksum() {
        int correct = computeChecksum();
        return correct == checksum ? this : new Footer(features, formatVersion, dataOffset, timestamp,
                creatorApplication, creatorVersion, creatorHostOs, originalSize, currentSize, geometry, diskType,
                correct, uniqueId, savedState, reserved);
    }
}
