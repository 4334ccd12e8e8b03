package org.vhdkit.vhd.format;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * The dynamic disk header (1024 bytes, big-endian) of dynamic and differencing disks, at the
 * footer's Data Offset: where the Block Allocation Table is, how large a block is, and for a
 * differencing disk, which disk is its parent and where to look for it.
 *
 * <p>{@link #decode} refuses what the header alone shows to be wrong, {@link #validateAgainst}
 * what does not fit the disk size or the file, and {@link #encode} writes the bytes back exactly:
 * bytes that no field describes are kept in {@link #reserved()}.
 *
 * <p>Records are immutable and safe to share between threads; every method is safe to call from any
 * thread.
 *
 * @param dataOffset      the Data Offset, all ones (the specification's text says otherwise, its
 *                        tools do not)
 * @param tableOffset     the Table Offset: the absolute file offset of the Block Allocation Table
 * @param headerVersion   the Header Version, {@link #HEADER_VERSION}
 * @param maxTableEntries the Max Table Entries: the number of blocks (unsigned, at most 0x7FFFFFFF
 *                        once decoded)
 * @param blockSize       the Block Size in bytes (data only, not the sector bitmap)
 * @param checksum        the Checksum as stored (or as computed, for a header made here);
 *                        {@link #encode} always writes the correct one
 * @param parentUuid      the Parent Unique ID (the parent footer's Unique Id); zero for a dynamic disk
 * @param parentTimestamp the Parent Time Stamp: seconds since 2000, the parent's modification time
 *                        when linked; unsigned 32-bit
 * @param parentName      the Parent Unicode Name: up to 256 UTF-16 code units (stored big-endian), up to
 *                        the first NUL; kept code unit for code unit, so that even unpaired surrogates
 *                        encode back as they were
 * @param locators        the eight Parent Locator Entries, unused ones {@link ParentLocator#EMPTY}
 * @param reserved        {@value #RESERVED_SIZE} bytes that no field describes, in this order: the 4
 *                        reserved bytes at offset 60; the 512-byte parent name area at offset 64, zero
 *                        where the name and its terminating NUL are, with whatever the file holds after
 *                        them; the 256 reserved bytes at offset 768
 */
public record DynamicHeader(long dataOffset, long tableOffset, int headerVersion, int maxTableEntries, int blockSize,
                            int checksum, UUID parentUuid, long parentTimestamp, String parentName,
                            List<ParentLocator> locators, ReservedBytes reserved) {
    /** The size of the header. */
    public static final int SIZE = 1024;
    /** The cookie the header starts with. */
    public static final String COOKIE = "cxsparse";
    /** The Header Version, 1.0. */
    public static final int HEADER_VERSION = 0x00010000;
    /** The block size every tool uses by default: 2 MiB. */
    public static final int DEFAULT_BLOCK_SIZE = 2 << 20;
    /** The smallest block size accepted: one sector. */
    public static final int MIN_BLOCK_SIZE = 512;
    /** The largest block size accepted: 256 MiB. */
    public static final int MAX_BLOCK_SIZE = 256 << 20;
    /** The number of parent locator entries. */
    public static final int LOCATOR_COUNT = 8;
    /**
     * The most table entries an image may have: 2^24, a 64 MiB table, enough for the largest VHD
     * (2040 GiB) in blocks of 128 KiB and for every image real tools make (2 MiB blocks need 1044480).
     * More is refused before the table is read: the field alone would otherwise make a reader allocate
     * up to 16 GiB.
     */
    public static final int MAX_TABLE_ENTRIES = 1 << 24;
    /** The largest number of UTF-16 code units in the parent name. */
    public static final int MAX_PARENT_NAME_LENGTH = 256;
    /** The length of {@link #reserved()}. */
    public static final int RESERVED_SIZE = 4 + 512 + 256;

    // Where each field lies, from the start of the header (the specification's offsets).
    public static final int COOKIE_OFFSET = 0;
    public static final int DATA_OFFSET_OFFSET = 8;
    public static final int TABLE_OFFSET_OFFSET = 16;
    public static final int HEADER_VERSION_OFFSET = 24;
    public static final int MAX_TABLE_ENTRIES_OFFSET = 28;
    public static final int BLOCK_SIZE_OFFSET = 32;
    public static final int CHECKSUM_OFFSET = 36;
    public static final int PARENT_UUID_OFFSET = 40;
    public static final int PARENT_TIMESTAMP_OFFSET = 56;
    public static final int RESERVED1_OFFSET = 60;
    public static final int PARENT_NAME_OFFSET = 64;
    public static final int PARENT_NAME_SIZE = 512;
    public static final int LOCATORS_OFFSET = 576;
    public static final int RESERVED2_OFFSET = 768;

    /** Where the parts of the header go in {@link #reserved()}. */
    private static final int RESERVED1_AT = 0;
    private static final int RESERVED1_SIZE = 4;
    private static final int NAME_AREA_AT = RESERVED1_SIZE;
    private static final int RESERVED2_AT = NAME_AREA_AT + PARENT_NAME_SIZE;
    private static final int RESERVED2_SIZE = 256;

    private static final byte[] COOKIE_BYTES = COOKIE.getBytes(StandardCharsets.US_ASCII);
    private static final UUID NO_PARENT = new UUID(0, 0);

    /**
     * The name area of {@code reserved} is cleared where the parent name and its terminator go.
     *
     * @throws NullPointerException     when an object component or a locator is null
     * @throws IllegalArgumentException when the parent time stamp is not unsigned 32-bit, the parent
     *                                  name is longer than 256 code units or holds a NUL, there are not
     *                                  eight locators, or {@code reserved} is not {@value #RESERVED_SIZE}
     *                                  bytes
     */
    public DynamicHeader {
        Objects.requireNonNull(parentUuid, "parentUuid");
        Objects.requireNonNull(parentName, "parentName");
        Objects.requireNonNull(reserved, "reserved");
        VhdTime.checkRange(parentTimestamp, "parent time stamp");
        if (parentName.length() > MAX_PARENT_NAME_LENGTH) {
            throw new IllegalArgumentException("a parent name of " + parentName.length() + " UTF-16 code units, more than "
                    + MAX_PARENT_NAME_LENGTH);
        }
        if (parentName.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("a parent name holding a NUL at code unit " + parentName.indexOf('\0'));
        }
        locators = List.copyOf(locators);
        if (locators.size() != LOCATOR_COUNT) {
            throw new IllegalArgumentException(locators.size() + " parent locators, not " + LOCATOR_COUNT);
        }
        if (reserved.length() != RESERVED_SIZE) {
            throw new IllegalArgumentException("dynamic header reserved bytes of " + reserved.length()
                    + " bytes, not " + RESERVED_SIZE);
        }
        reserved = reserved.withZeros(NAME_AREA_AT, Math.min(PARENT_NAME_SIZE, 2 * (parentName.length() + 1)));
    }

    /** A header whose reserved areas (and parent name area after the name) are zero. */
    public DynamicHeader(long dataOffset, long tableOffset, int headerVersion, int maxTableEntries, int blockSize,
                         int checksum, UUID parentUuid, long parentTimestamp, String parentName,
                         List<ParentLocator> locators) {
        this(dataOffset, tableOffset, headerVersion, maxTableEntries, blockSize, checksum, parentUuid,
                parentTimestamp, parentName, locators, ReservedBytes.zeros(RESERVED_SIZE));
    }

    /**
     * Decodes and validates the header in {@code bytes[at .. at + 1024)}.
     *
     * <p>Refused: a cookie other than {@code cxsparse}; a stored checksum that is not the computed one;
     * a header version whose major part is not 1; a data offset that is not all ones; a table offset
     * that is all ones, negative or not a multiple of 512; a max table entries of 0 or above 0x7FFFFFFF;
     * a block size that is not a power of two from 512 bytes to 256 MiB.
     *
     * @param source     the file the bytes came from, for messages
     * @param fileOffset where {@code bytes[at]} sits in that file; messages give the field's offset
     *                   from it
     * @throws VhdFormatException        when a field is refused; its field is
     *                                   {@code "dynamic header <Field Name>"}
     * @throws IndexOutOfBoundsException when {@code bytes} does not hold 1024 bytes at {@code at}
     */
    public static DynamicHeader decode(String source, byte[] bytes, int at, long fileOffset)
            throws VhdFormatException {
        return decode(source, bytes, at, fileOffset, true);
    }

    /**
     * Decodes the header as {@link #decode} does, except that a stored checksum other than the computed
     * one is kept in {@link #checksum()} rather than refused; every other field is validated. For a
     * checker, which reports a wrong checksum on its own and must know whether the fields it covers
     * are otherwise sound before it rewrites it.
     *
     * @throws VhdFormatException        when a field other than the checksum is refused
     * @throws IndexOutOfBoundsException when {@code bytes} does not hold 1024 bytes at {@code at}
     */
    public static DynamicHeader decodeIgnoringChecksum(String source, byte[] bytes, int at, long fileOffset)
            throws VhdFormatException {
        return decode(source, bytes, at, fileOffset, false);
    }

    private static DynamicHeader decode(String source, byte[] bytes, int at, long fileOffset, boolean verifyChecksum)
            throws VhdFormatException {
        Objects.requireNonNull(source, "source");
        Objects.checkFromIndexSize(at, SIZE, bytes.length);
        int storedChecksum = Envelope.check(source, "dynamic header", bytes, at, fileOffset, COOKIE_BYTES,
                COOKIE, SIZE, CHECKSUM_OFFSET, verifyChecksum);
        int headerVersion = BigEndian.readInt(bytes, at + HEADER_VERSION_OFFSET);
        if (headerVersion >>> 16 != HEADER_VERSION >>> 16) {
            throw refuse(source, fileOffset, HEADER_VERSION_OFFSET, "Header Version",
                    String.format("0x%08x, expected major version 1 (0x%08x)", headerVersion, HEADER_VERSION));
        }
        long dataOffset = BigEndian.readLong(bytes, at + DATA_OFFSET_OFFSET);
        if (dataOffset != -1L) {
            throw refuse(source, fileOffset, DATA_OFFSET_OFFSET, "Data Offset",
                    String.format("0x%016x, expected all ones (0xffffffffffffffff)", dataOffset));
        }
        long tableOffset = BigEndian.readLong(bytes, at + TABLE_OFFSET_OFFSET);
        if (tableOffset == -1L) {
            throw refuse(source, fileOffset, TABLE_OFFSET_OFFSET, "Table Offset",
                    "all ones, but a sparse disk needs a Block Allocation Table");
        }
        if (tableOffset < 0 || tableOffset % 512 != 0) {
            throw refuse(source, fileOffset, TABLE_OFFSET_OFFSET, "Table Offset",
                    String.format("0x%x is not a multiple of 512", tableOffset));
        }
        int maxTableEntries = BigEndian.readInt(bytes, at + MAX_TABLE_ENTRIES_OFFSET);
        if (maxTableEntries <= 0) {
            throw refuse(source, fileOffset, MAX_TABLE_ENTRIES_OFFSET, "Max Table Entries",
                    Integer.toUnsignedString(maxTableEntries) + " entries, expected 1 to 2147483647");
        }
        int blockSize = BigEndian.readInt(bytes, at + BLOCK_SIZE_OFFSET);
        if (Integer.bitCount(blockSize) != 1 || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE) {
            throw refuse(source, fileOffset, BLOCK_SIZE_OFFSET, "Block Size",
                    Integer.toUnsignedString(blockSize) + " bytes, expected a power of two from 512 to 268435456");
        }
        List<ParentLocator> locators = new ArrayList<>(LOCATOR_COUNT);
        for (int i = 0; i < LOCATOR_COUNT; i++) {
            locators.add(ParentLocator.decode(bytes, at + LOCATORS_OFFSET + i * ParentLocator.SIZE));
        }
        byte[] reserved = new byte[RESERVED_SIZE];
        System.arraycopy(bytes, at + RESERVED1_OFFSET, reserved, RESERVED1_AT, RESERVED1_SIZE);
        System.arraycopy(bytes, at + PARENT_NAME_OFFSET, reserved, NAME_AREA_AT, PARENT_NAME_SIZE);
        System.arraycopy(bytes, at + RESERVED2_OFFSET, reserved, RESERVED2_AT, RESERVED2_SIZE);
        return new DynamicHeader(
                dataOffset,
                tableOffset,
                headerVersion,
                maxTableEntries,
                blockSize,
                storedChecksum,
                BigEndian.readUuid(bytes, at + PARENT_UUID_OFFSET),
                BigEndian.readUnsignedInt(bytes, at + PARENT_TIMESTAMP_OFFSET),
                decodeParentName(bytes, at + PARENT_NAME_OFFSET),
                locators,
                ReservedBytes.of(reserved));
    }

    /** UTF-16BE code units up to the first NUL, taken as they are (no replacement of bad sequences). */
    private static String decodeParentName(byte[] bytes, int at) {
        StringBuilder name = new StringBuilder();
        for (int i = 0; i < PARENT_NAME_SIZE; i += 2) {
            char unit = (char) BigEndian.readUnsignedShort(bytes, at + i);
            if (unit == 0) {
                break;
            }
            name.append(unit);
        }
        return name.toString();
    }

    private static VhdFormatException refuse(String source, long fileOffset, int fieldOffset, String field,
                                             String problem) {
        return new VhdFormatException(source, "dynamic header " + field, fileOffset + fieldOffset, problem);
    }

    /**
     * Checks the header against the disk and the file it is in: the max table entries must be what the
     * disk size needs ({@code ceil(currentSize / blockSize)}, or one more, as some tools write); the
     * Block Allocation Table ({@code maxTableEntries * 4} bytes at the table offset) must lie in
     * {@code [512, fileSize - 512)}, between the footer copy and the trailing footer, without overlapping
     * this header; and each used locator's data must lie inside the file and within its data space.
     *
     * @param source      the file, for messages
     * @param fileOffset  where this header sits in the file
     * @param currentSize the footer's Current Size
     * @param fileSize    the size of the file
     * @throws VhdFormatException with field {@code "dynamic header Max Table Entries"},
     *                            {@code "dynamic header Table Offset"}, or
     *                            {@code "dynamic header Parent Locator <n> Platform Data Offset"} /
     *                            {@code "... Platform Data Length"}, locators numbered 1 to 8
     */
    public void validateAgainst(String source, long fileOffset, long currentSize, long fileSize)
            throws VhdFormatException {
        Objects.requireNonNull(source, "source");
        if (currentSize < 0) {
            throw new IllegalArgumentException("negative disk size " + currentSize);
        }
        long entries = Integer.toUnsignedLong(maxTableEntries);
        long needed = Math.ceilDiv(currentSize, Integer.toUnsignedLong(blockSize));
        if (entries < needed || entries > needed + 1) {
            throw refuse(source, fileOffset, MAX_TABLE_ENTRIES_OFFSET, "Max Table Entries",
                    String.format("%d entries, but a disk of %d bytes needs %d (blocks of %d bytes)%s",
                            entries, currentSize, needed, blockSize, entries > needed
                                    ? "; a resize stopped between its steps leaves this: run it again, or"
                                            + " 'vhd check --repair' to keep the footer's size" : ""));
        }
        if (entries > MAX_TABLE_ENTRIES) {
            throw refuse(source, fileOffset, MAX_TABLE_ENTRIES_OFFSET, "Max Table Entries",
                    String.format("%d entries (a table of %d bytes), more than the %d any image needs that vhdkit"
                            + " reads (the largest VHD in blocks of 128 KiB); refused before reading it",
                            entries, entries * 4, MAX_TABLE_ENTRIES));
        }
        long tableBytes = entries * 4;
        long tableEnd = tableOffset > Long.MAX_VALUE - tableBytes ? Long.MAX_VALUE : tableOffset + tableBytes;
        long dataEnd = fileSize - Footer.SIZE;
        if (tableOffset < Footer.SIZE || tableEnd > dataEnd) {
            throw refuse(source, fileOffset, TABLE_OFFSET_OFFSET, "Table Offset",
                    String.format("the table of %d entries at [%d, %d) is not inside [512, %d) of a file of %d bytes",
                            entries, tableOffset, tableEnd, dataEnd, fileSize));
        }
        if (tableOffset < fileOffset + SIZE && fileOffset < tableEnd) {
            throw refuse(source, fileOffset, TABLE_OFFSET_OFFSET, "Table Offset",
                    String.format("the table of %d entries at [%d, %d) overlaps this header at [%d, %d)",
                            entries, tableOffset, tableEnd, fileOffset, fileOffset + SIZE));
        }
        for (int i = 0; i < LOCATOR_COUNT; i++) {
            ParentLocator locator = locators.get(i);
            if (locator.isEmpty()) {
                continue;
            }
            int entryOffset = LOCATORS_OFFSET + i * ParentLocator.SIZE;
            String name = "Parent Locator " + (i + 1);
            long length = Integer.toUnsignedLong(locator.dataLength());
            long start = locator.dataOffset();
            if (start < 0 || start > fileSize - length) {
                throw refuse(source, fileOffset, entryOffset + ParentLocator.DATA_OFFSET_OFFSET,
                        name + " Platform Data Offset",
                        String.format("%s data of %d bytes at %s lies outside the file of %d bytes",
                                platformName(locator), length, Long.toUnsignedString(start), fileSize));
            }
            if (length > locator.dataSpaceBytes()) {
                throw refuse(source, fileOffset, entryOffset + ParentLocator.DATA_LENGTH_OFFSET,
                        name + " Platform Data Length",
                        String.format("%s data of %d bytes exceeds its data space of %d bytes",
                                platformName(locator), length, locator.dataSpaceBytes()));
            }
        }
    }

    private static String platformName(ParentLocator locator) {
        return locator.platform().map(PlatformCode::name)
                .orElse(String.format("platform 0x%08x", locator.platformCode()));
    }

    /** The 1024 bytes of this header, with the correct checksum (whatever {@link #checksum()} holds). */
    public byte[] encode() {
        byte[] bytes = new byte[SIZE];
        encodeInto(bytes, 0);
        return bytes;
    }

    /** Writes the 1024 bytes of {@link #encode()} into {@code bytes} at {@code at}. */
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
        BigEndian.writeLong(bytes, at + DATA_OFFSET_OFFSET, dataOffset);
        BigEndian.writeLong(bytes, at + TABLE_OFFSET_OFFSET, tableOffset);
        BigEndian.writeInt(bytes, at + HEADER_VERSION_OFFSET, headerVersion);
        BigEndian.writeInt(bytes, at + MAX_TABLE_ENTRIES_OFFSET, maxTableEntries);
        BigEndian.writeInt(bytes, at + BLOCK_SIZE_OFFSET, blockSize);
        BigEndian.writeInt(bytes, at + CHECKSUM_OFFSET, 0);
        BigEndian.writeUuid(bytes, at + PARENT_UUID_OFFSET, parentUuid);
        BigEndian.writeInt(bytes, at + PARENT_TIMESTAMP_OFFSET, (int) parentTimestamp);
        reserved.copyTo(RESERVED1_AT, bytes, at + RESERVED1_OFFSET, RESERVED1_SIZE);
        reserved.copyTo(NAME_AREA_AT, bytes, at + PARENT_NAME_OFFSET, PARENT_NAME_SIZE);
        for (int i = 0; i < parentName.length(); i++) {
            BigEndian.writeShort(bytes, at + PARENT_NAME_OFFSET + 2 * i, parentName.charAt(i));
        }
        for (int i = 0; i < LOCATOR_COUNT; i++) {
            locators.get(i).encodeInto(bytes, at + LOCATORS_OFFSET + i * ParentLocator.SIZE);
        }
        reserved.copyTo(RESERVED2_AT, bytes, at + RESERVED2_OFFSET, RESERVED2_SIZE);
    }

    /** The sectors in a block: {@code blockSize / 512}. */
    public int sectorsPerBlock() {
        return blockSize / 512;
    }

    /** The size of a block's sector bitmap, one bit a sector, padded to whole sectors. */
    public int bitmapBytes() {
        int bytes = (sectorsPerBlock() + 7) / 8;
        return (bytes + 511) / 512 * 512;
    }

    /** The size of the Block Allocation Table on disk: four bytes an entry, rounded up to whole sectors. */
    public long tableBytes() {
        return (Integer.toUnsignedLong(maxTableEntries) * 4 + 511) / 512 * 512;
    }

    /**
     * A new header without a parent: data offset all ones, version 1.0, parent UUID zero, parent time
     * stamp 0, parent name empty, eight empty locators, reserved bytes zero, the correct checksum.
     *
     * @throws IllegalArgumentException when the table offset is negative or not a multiple of 512, the
     *                                  entries are not positive, or the block size is not a power of
     *                                  two from 512 bytes to 256 MiB
     */
    public static DynamicHeader create(long tableOffset, int maxTableEntries, int blockSize) {
        if (tableOffset < 0 || tableOffset % 512 != 0) {
            throw new IllegalArgumentException("table offset " + tableOffset + " is not a multiple of 512");
        }
        if (maxTableEntries <= 0) {
            throw new IllegalArgumentException("max table entries " + maxTableEntries + " is not positive");
        }
        if (Integer.bitCount(blockSize) != 1 || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE) {
            throw new IllegalArgumentException("block size " + blockSize
                    + " is not a power of two from 512 to 268435456");
        }
        return new DynamicHeader(-1L, tableOffset, HEADER_VERSION, maxTableEntries, blockSize, 0, NO_PARENT, 0, "",
                Collections.nCopies(LOCATOR_COUNT, ParentLocator.EMPTY)).withCorrectChecksum();
    }

    /**
     * This header linked to a parent, with the checksum updated. The parent name area is rewritten
     * (whatever followed the old name is cleared).
     *
     * @param locators eight entries; unused ones {@link ParentLocator#EMPTY}
     */
    public DynamicHeader withParent(UUID parentUuid, long parentTimestamp, String parentName,
                                    List<ParentLocator> locators) {
        return new DynamicHeader(dataOffset, tableOffset, headerVersion, maxTableEntries, blockSize, checksum,
                parentUuid, parentTimestamp, parentName, locators,
                reserved.withZeros(NAME_AREA_AT, PARENT_NAME_SIZE)).withCorrectChecksum();
    }

    /** This header with its Table Offset changed and the checksum updated. */
    public DynamicHeader withTableOffset(long off) {
        return new DynamicHeader(dataOffset, off, headerVersion, maxTableEntries, blockSize, checksum, parentUuid,
                parentTimestamp, parentName, locators, reserved).withCorrectChecksum();
    }

    /** This header with its Max Table Entries changed and the checksum updated. */
    public DynamicHeader withMaxTableEntries(int n) {
        return new DynamicHeader(dataOffset, tableOffset, headerVersion, n, blockSize, checksum, parentUuid,
                parentTimestamp, parentName, locators, reserved).withCorrectChecksum();
    }

    private DynamicHeader withCorrectChecksum() {
        int correct = computeChecksum();
        return correct == checksum ? this : new DynamicHeader(dataOffset, tableOffset, headerVersion,
                maxTableEntries, blockSize, correct, parentUuid, parentTimestamp, parentName, locators, reserved);
    }
}
