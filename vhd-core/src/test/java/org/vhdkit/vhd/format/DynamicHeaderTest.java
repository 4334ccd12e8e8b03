package org.vhdkit.vhd.format;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DynamicHeaderTest {
    private static final String FILE = "child.vhd";
    /** Where the header sits in the test array. */
    private static final int AT = 40;
    /** Where the header is said to sit in the file. */
    private static final long FILE_OFFSET = 512;
    private static final UUID PARENT = UUID.fromString("d49c5c80-350a-4a89-898a-5ad6d10f6578");
    private static final int MIB = 1 << 20;

    /** A 10 MiB disk: 5 blocks of 2 MiB, BAT at 1536. */
    private static DynamicHeader created() {
        return DynamicHeader.create(1536, 5, DynamicHeader.DEFAULT_BLOCK_SIZE);
    }

    private static List<ParentLocator> locators(ParentLocator... used) {
        List<ParentLocator> list = new ArrayList<>(Collections.nCopies(8, ParentLocator.EMPTY));
        for (int i = 0; i < used.length; i++) {
            list.set(i, used[i]);
        }
        return list;
    }

    private static byte[] placed(DynamicHeader header, Consumer<byte[]> change) {
        byte[] bytes = new byte[AT + DynamicHeader.SIZE + 17];
        header.encodeInto(bytes, AT);
        change.accept(bytes);
        BigEndian.writeInt(bytes, AT + 36, Checksum.compute(bytes, AT, DynamicHeader.SIZE, 36));
        return bytes;
    }

    private static VhdFormatException refused(byte[] bytes) {
        return assertThrows(VhdFormatException.class, () -> DynamicHeader.decode(FILE, bytes, AT, FILE_OFFSET));
    }

    private static void assertRefusal(VhdFormatException e, String field, long fieldOffset, String problemPart) {
        assertAll(
                () -> assertEquals(FILE, e.file()),
                () -> assertEquals("dynamic header " + field, e.field()),
                () -> assertEquals(FILE_OFFSET + fieldOffset, e.offset()),
                () -> assertTrue(e.problem().contains(problemPart), e.problem()),
                () -> assertTrue(e.getMessage().startsWith(FILE + ": dynamic header " + field + " at offset "
                        + (FILE_OFFSET + fieldOffset)), e.getMessage()));
    }

    @Test
    void createEncodeDecode() throws VhdFormatException {
        DynamicHeader header = created();
        assertAll(
                () -> assertEquals(-1L, header.dataOffset()),
                () -> assertEquals(1536, header.tableOffset()),
                () -> assertEquals(DynamicHeader.HEADER_VERSION, header.headerVersion()),
                () -> assertEquals(5, header.maxTableEntries()),
                () -> assertEquals(2 * MIB, header.blockSize()),
                () -> assertEquals(header.computeChecksum(), header.checksum()),
                () -> assertEquals(new UUID(0, 0), header.parentUuid()),
                () -> assertEquals(0, header.parentTimestamp()),
                () -> assertEquals("", header.parentName()),
                () -> assertEquals(Collections.nCopies(8, ParentLocator.EMPTY), header.locators()),
                () -> assertTrue(header.reserved().isZero()));
        byte[] bytes = header.encode();
        assertEquals(DynamicHeader.SIZE, bytes.length);
        assertEquals("6378737061727365" + "ffffffffffffffff" + "0000000000000600" + "00010000" + "00000005"
                        + "00200000",
                HexFormat.of().formatHex(bytes, 0, 36));
        assertEquals(header, DynamicHeader.decode(FILE, bytes, 0, 512));
        assertEquals(header.checksum(), Checksum.compute(bytes, 0, 1024, 36));
    }

    @Test
    void withParentStoresTheParentFields() throws VhdFormatException {
        ParentLocator w2ru = new ParentLocator(PlatformCode.W2RU.code(), 512, 26, 0, 0x1000);
        ParentLocator w2ku = new ParentLocator(PlatformCode.W2KU.code(), 1, 42, 0, 0x1200);
        DynamicHeader header = created().withParent(PARENT, 0x1922077c, "dynamic.vhd", locators(w2ru, w2ku));
        assertEquals(PARENT, header.parentUuid());
        assertEquals(0x1922077c, header.parentTimestamp());
        assertEquals("dynamic.vhd", header.parentName());
        assertEquals(List.of(w2ru, w2ku), header.locators().subList(0, 2));
        assertEquals(header.computeChecksum(), header.checksum());
        byte[] bytes = header.encode();
        assertEquals("d49c5c80350a4a89898a5ad6d10f6578" + "1922077c" + "00000000",
                HexFormat.of().formatHex(bytes, 40, 64));
        assertEquals("dynamic.vhd", new String(bytes, 64, 22, StandardCharsets.UTF_16BE));
        assertEquals(0, bytes[64 + 22] | bytes[64 + 23]);
        assertEquals(header, DynamicHeader.decode(FILE, bytes, 0, 512));
        assertThrows(UnsupportedOperationException.class, () -> header.locators().set(0, ParentLocator.EMPTY));
    }

    @Test
    void parentNameUsesTheWholeAreaAndKeepsCodeUnits() throws VhdFormatException {
        String longest = "n".repeat(255) + "\u20ac";
        DynamicHeader full = created().withParent(PARENT, 0, longest, locators());
        assertEquals(longest, DynamicHeader.decode(FILE, full.encode(), 0, 512).parentName(), "no terminator");

        String odd = "a\ud800b\udfff\ud83d\ude00.vhd"; // unpaired surrogates, then a pair
        DynamicHeader header = created().withParent(PARENT, 0, odd, locators());
        byte[] bytes = header.encode();
        DynamicHeader decoded = DynamicHeader.decode(FILE, bytes, 0, 512);
        assertEquals(odd, decoded.parentName());
        assertArrayEquals(bytes, decoded.encode());

        assertThrows(IllegalArgumentException.class, () -> created().withParent(PARENT, 0, longest + "x", locators()));
        assertThrows(IllegalArgumentException.class, () -> created().withParent(PARENT, 0, "a\0b", locators()));
        assertThrows(IllegalArgumentException.class, () -> created().withParent(PARENT, -1, "a", locators()));
        assertThrows(IllegalArgumentException.class,
                () -> created().withParent(PARENT, 0, "a", List.of(ParentLocator.EMPTY)));
    }

    @Test
    void bytesAfterTheParentNameAndInReservedAreasAreKept() throws VhdFormatException {
        DynamicHeader base = created().withParent(PARENT, 1, "new.vhd", locators());
        byte[] bytes = placed(base, b -> {
            b[AT + 61] = 7;                                    // reserved after the parent time stamp
            b[AT + 64 + 16] = 0x41;                            // after "new.vhd" and its NUL: an old name's tail
            Arrays.fill(b, AT + 128, AT + 192, (byte) 0xFF);   // garbage, like the fuzzed qemu-afl5 image
            b[AT + 1023] = 9;                                  // the last reserved byte
        });
        DynamicHeader header = DynamicHeader.decode(FILE, bytes, AT, FILE_OFFSET);
        assertEquals("new.vhd", header.parentName());
        assertFalse(header.reserved().isZero());
        byte[] original = Arrays.copyOfRange(bytes, AT, AT + 1024);
        assertArrayEquals(original, header.encode());
        assertEquals(header, DynamicHeader.decode(FILE, bytes, AT, FILE_OFFSET));
        assertNotEquals(base, header);

        byte[] moved = header.withTableOffset(4096).encode();
        assertEquals(0x41, moved[64 + 16], "withers other than withParent keep the bytes");
        assertEquals(7, moved[61]);

        byte[] relinked = header.withParent(PARENT, 1, "new.vhd", locators()).encode();
        assertEquals(0, relinked[64 + 16], "withParent rewrites the name area");
        assertEquals(7, relinked[61]);
        assertEquals(9, relinked[1023]);

        byte[] renamed = header.withParent(PARENT, 1, "a-much-longer-name.vhd", locators()).encode();
        assertEquals("a-much-longer-name.vhd", new String(renamed, 64, 44, StandardCharsets.UTF_16BE));
    }

    @Test
    void decodedBytesEncodeBackExactly() throws VhdFormatException {
        SplittableRandom random = new SplittableRandom(99);
        for (int i = 0; i < 2000; i++) {
            byte[] bytes = new byte[DynamicHeader.SIZE];
            random.nextBytes(bytes);
            System.arraycopy(DynamicHeader.COOKIE.getBytes(StandardCharsets.US_ASCII), 0, bytes, 0, 8);
            BigEndian.writeLong(bytes, 8, -1);
            BigEndian.writeLong(bytes, 16, random.nextLong(0, 1L << 40) * 512);
            BigEndian.writeShort(bytes, 24, 1);
            BigEndian.writeInt(bytes, 28, random.nextInt(1, Integer.MAX_VALUE));
            BigEndian.writeInt(bytes, 32, 512 << random.nextInt(0, 20));
            if (random.nextBoolean()) {
                bytes[64 + 2 * random.nextInt(256)] = 0; // a NUL somewhere in the name
                bytes[64 + 2 * random.nextInt(256) + 1] = 0;
            }
            BigEndian.writeInt(bytes, 36, Checksum.compute(bytes, 0, 1024, 36));
            DynamicHeader header = DynamicHeader.decode(FILE, bytes, 0, 512);
            assertArrayEquals(bytes, header.encode());
            assertEquals(header, DynamicHeader.decode(FILE, header.encode(), 0, 512));
        }
    }

    @ParameterizedTest(name = "block size {0}: {1} sectors, bitmap {2} bytes")
    @CsvSource({"512, 1, 512", "4096, 8, 512", "2097152, 4096, 512", "4194304, 8192, 1024",
            "268435456, 524288, 65536"})
    void blockGeometry(int blockSize, int sectors, int bitmapBytes) {
        DynamicHeader header = DynamicHeader.create(1536, 1, blockSize);
        assertEquals(sectors, header.sectorsPerBlock());
        assertEquals(bitmapBytes, header.bitmapBytes());
    }

    @ParameterizedTest(name = "{0} entries take {1} bytes")
    @CsvSource({"1, 512", "5, 512", "128, 512", "129, 1024", "65024, 260096", "2147483647, 8589934592"})
    void tableBytes(int entries, long bytes) {
        assertEquals(bytes, created().withMaxTableEntries(entries).tableBytes());
    }

    @Test
    void createRefusesImpossibleValues() {
        assertThrows(IllegalArgumentException.class, () -> DynamicHeader.create(1000, 5, 2 * MIB));
        assertThrows(IllegalArgumentException.class, () -> DynamicHeader.create(-512, 5, 2 * MIB));
        assertThrows(IllegalArgumentException.class, () -> DynamicHeader.create(1536, 0, 2 * MIB));
        assertThrows(IllegalArgumentException.class, () -> DynamicHeader.create(1536, 5, 3 * MIB));
        assertThrows(IllegalArgumentException.class, () -> DynamicHeader.create(1536, 5, 256));
        assertThrows(IllegalArgumentException.class, () -> DynamicHeader.create(1536, 5, 512 * MIB));
    }

    @Test
    void withersKeepTheChecksumRight() throws VhdFormatException {
        for (DynamicHeader header : List.of(created().withTableOffset(4096), created().withMaxTableEntries(6))) {
            assertEquals(header.computeChecksum(), header.checksum());
            assertEquals(header, DynamicHeader.decode(FILE, header.encode(), 0, 512));
        }
        assertEquals(4096, created().withTableOffset(4096).tableOffset());
        assertEquals(6, created().withMaxTableEntries(6).maxTableEntries());
    }

    // Refusals by decode, one field at a time.

    @Test
    void refusesAnotherCookie() {
        assertRefusal(refused(placed(created(), b -> b[AT] = 'C')), "Cookie", 0, "\"Cxsparse\"");
    }

    @Test
    void refusesAWrongChecksum() {
        byte[] bytes = placed(created(), b -> { });
        bytes[AT + 1000] = 1;
        assertRefusal(refused(bytes), "Checksum", 36, "stored 0x");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 0x0002_0000, 0x0000_0001})
    void refusesAnotherHeaderVersion(int version) {
        assertRefusal(refused(placed(created(), b -> BigEndian.writeInt(b, AT + 24, version))),
                "Header Version", 24, String.format("0x%08x", version));
    }

    @ParameterizedTest
    @ValueSource(longs = {0, 512, 0x7FFF_FFFF_FFFF_FFFFL})
    void refusesADataOffsetOtherThanAllOnes(long offset) {
        assertRefusal(refused(placed(created(), b -> BigEndian.writeLong(b, AT + 8, offset))),
                "Data Offset", 8, String.format("0x%016x", offset));
    }

    @ParameterizedTest
    @ValueSource(longs = {-1, 1000, 511, -512})
    void refusesATableOffsetThatIsAllOnesOrNotASector(long offset) {
        assertRefusal(refused(placed(created(), b -> BigEndian.writeLong(b, AT + 16, offset))),
                "Table Offset", 16, offset == -1 ? "all ones" : "multiple of 512");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 0x8000_0000, -1})
    void refusesMaxTableEntriesOfZeroOrAbove2To31(int entries) {
        assertRefusal(refused(placed(created(), b -> BigEndian.writeInt(b, AT + 28, entries))),
                "Max Table Entries", 28, Integer.toUnsignedString(entries) + " entries");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 256, 3 * MIB, 2 * MIB + 512, 512 * MIB, 0x8000_0000, 1000})
    void refusesABlockSizeThatIsNotAPowerOfTwoFrom512To256MiB(int blockSize) {
        assertRefusal(refused(placed(created(), b -> BigEndian.writeInt(b, AT + 32, blockSize))),
                "Block Size", 32, Integer.toUnsignedString(blockSize) + " bytes");
    }

    @Test
    void acceptsTheBlockSizeBounds() {
        assertDoesNotThrow(() -> DynamicHeader.decode(FILE,
                placed(created(), b -> BigEndian.writeInt(b, AT + 32, 512)), AT, 0));
        assertDoesNotThrow(() -> DynamicHeader.decode(FILE,
                placed(created(), b -> BigEndian.writeInt(b, AT + 32, 256 * MIB)), AT, 0));
    }

    @Test
    void decodeNeedsOneKibibyte() {
        assertThrows(IndexOutOfBoundsException.class, () -> DynamicHeader.decode(FILE, new byte[1023], 0, 0));
    }

    // validateAgainst: the header against the disk size and the file.

    /** A 10 MiB disk's file as Windows writes it: footer copy, header at 512, BAT at 1536, one block. */
    private static final long SIZE = 10 * MIB;
    private static final long FILE_SIZE = 6311936;

    private static VhdFormatException invalid(DynamicHeader header, long currentSize, long fileSize) {
        return assertThrows(VhdFormatException.class,
                () -> header.validateAgainst(FILE, FILE_OFFSET, currentSize, fileSize));
    }

    @Test
    void fitsItsFile() throws VhdFormatException {
        created().validateAgainst(FILE, FILE_OFFSET, SIZE, FILE_SIZE);
        created().withMaxTableEntries(6).validateAgainst(FILE, FILE_OFFSET, SIZE, FILE_SIZE); // one spare block
        created().validateAgainst(FILE, FILE_OFFSET, SIZE - 512, FILE_SIZE); // a partial last block
        created().validateAgainst(FILE, FILE_OFFSET, SIZE, 1536 + 20 + 512); // BAT ends at the trailer
        DynamicHeader.create(1536, 1, 2 * MIB).validateAgainst(FILE, FILE_OFFSET, 0, FILE_SIZE); // empty disk
    }

    @ParameterizedTest(name = "{0} entries for 10 MiB")
    @ValueSource(ints = {4, 7, 1073741825})
    void refusesMaxTableEntriesTheSizeDoesNotNeed(int entries) {
        VhdFormatException e = invalid(created().withMaxTableEntries(entries), SIZE, FILE_SIZE);
        assertRefusal(e, "Max Table Entries", 28,
                entries + " entries, but a disk of 10485760 bytes needs 5 (blocks of 2097152 bytes)");
    }

    @Test
    void refusesATableOutsideTheFileOrOverTheHeader() {
        assertRefusal(invalid(created(), SIZE, 1536 + 20 + 511), "Table Offset", 16, "is not inside [512, ");
        assertRefusal(invalid(created().withTableOffset(0), SIZE, FILE_SIZE), "Table Offset", 16,
                "[0, 20)");
        assertRefusal(invalid(created().withTableOffset(1024), SIZE, FILE_SIZE), "Table Offset", 16,
                "overlaps this header at [512, 1536)");
        assertRefusal(invalid(created().withTableOffset(0x7FFF_FFFF_FFFF_FE00L), SIZE, FILE_SIZE),
                "Table Offset", 16, "is not inside");
    }

    @Test
    void refusesALocatorPastTheEndOfTheFile() {
        ParentLocator pastEnd = new ParentLocator(PlatformCode.W2KU.code(), 512, 42, 0, FILE_SIZE - 41);
        DynamicHeader header = created().withParent(PARENT, 0, "p.vhd",
                locators(ParentLocator.EMPTY, ParentLocator.EMPTY, pastEnd));
        assertRefusal(invalid(header, SIZE, FILE_SIZE), "Parent Locator 3 Platform Data Offset",
                576 + 2 * 24 + 16, "W2KU data of 42 bytes at " + (FILE_SIZE - 41) + " lies outside the file");

        ParentLocator negative = new ParentLocator(PlatformCode.W2RU.code(), 512, 1, 0, -512);
        assertRefusal(invalid(created().withParent(PARENT, 0, "p.vhd", locators(negative)), SIZE, FILE_SIZE),
                "Parent Locator 1 Platform Data Offset", 576 + 16, "outside the file");

        ParentLocator huge = new ParentLocator(0x12345678, 512, -1, 0, 4096);
        assertRefusal(invalid(created().withParent(PARENT, 0, "p.vhd", locators(huge)), SIZE, FILE_SIZE),
                "Parent Locator 1 Platform Data Offset", 576 + 16, "platform 0x12345678 data of 4294967295 bytes");
    }

    @Test
    void refusesALocatorLongerThanItsSpace() throws VhdFormatException {
        ParentLocator tooLong = new ParentLocator(PlatformCode.W2KU.code(), 512, 513, 0, 4096);
        DynamicHeader header = created().withParent(PARENT, 0, "p.vhd", locators(tooLong));
        assertRefusal(invalid(header, SIZE, FILE_SIZE), "Parent Locator 1 Platform Data Length", 576 + 8,
                "513 bytes exceeds its data space of 512 bytes");

        ParentLocator inSectors = new ParentLocator(PlatformCode.W2KU.code(), 2, 1024, 0, 4096);
        created().withParent(PARENT, 0, "p.vhd", locators(inSectors))
                .validateAgainst(FILE, FILE_OFFSET, SIZE, FILE_SIZE);
    }

    @Test
    void unusedLocatorsAreNotChecked() throws VhdFormatException {
        ParentLocator unused = new ParentLocator(0, 0, 1 << 30, 0, Long.MAX_VALUE);
        created().withParent(PARENT, 0, "p.vhd", locators(unused)).validateAgainst(FILE, FILE_OFFSET, SIZE, FILE_SIZE);
    }
}
