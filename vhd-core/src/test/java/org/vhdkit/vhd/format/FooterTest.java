package org.vhdkit.vhd.format;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class FooterTest {
    private static final String FILE = "disk.vhd";
    /** Where the footer sits in the test array. */
    private static final int AT = 100;
    /** Where the footer is said to sit in the file. */
    private static final long FILE_OFFSET = 10_485_760;
    private static final UUID ID = UUID.fromString("40d56d36-9ab8-4fe4-a31a-121fe2bf15eb");
    private static final long TIME = 0x1922_15f0L;

    private static Footer created(DiskType type) {
        return Footer.create(type, 10 << 20, ID, TIME, "vhdk", 0x0001_0000, Footer.HOST_WINDOWS);
    }

    /** The footer's bytes at {@link #AT} in a larger array, changed, with the checksum mended. */
    private static byte[] placed(Footer footer, Consumer<byte[]> change) {
        byte[] bytes = new byte[AT + Footer.SIZE + 33];
        footer.encodeInto(bytes, AT);
        change.accept(bytes);
        BigEndian.writeInt(bytes, AT + 64, Checksum.compute(bytes, AT, Footer.SIZE, 64));
        return bytes;
    }

    private static VhdFormatException refused(byte[] bytes) {
        return assertThrows(VhdFormatException.class, () -> Footer.decode(FILE, bytes, AT, FILE_OFFSET));
    }

    private static void assertRefusal(VhdFormatException e, String field, int fieldOffset, String problemPart) {
        assertAll(
                () -> assertEquals(FILE, e.file()),
                () -> assertEquals("footer " + field, e.field()),
                () -> assertEquals(FILE_OFFSET + fieldOffset, e.offset()),
                () -> assertTrue(e.problem().contains(problemPart), e.problem()),
                () -> assertTrue(e.getMessage().startsWith(
                        FILE + ": footer " + field + " at offset " + (FILE_OFFSET + fieldOffset)), e.getMessage()));
    }

    @ParameterizedTest
    @EnumSource(DiskType.class)
    void createEncodeDecode(DiskType type) throws VhdFormatException {
        Footer footer = created(type);
        assertAll(
                () -> assertEquals(Footer.FEATURES_RESERVED, footer.features()),
                () -> assertEquals(Footer.FORMAT_VERSION, footer.formatVersion()),
                () -> assertEquals(type == DiskType.FIXED ? -1L : 512L, footer.dataOffset()),
                () -> assertEquals(TIME, footer.timestamp()),
                () -> assertEquals("vhdk", footer.creatorApplication()),
                () -> assertEquals(10 << 20, footer.originalSize()),
                () -> assertEquals(10 << 20, footer.currentSize()),
                () -> assertEquals(new DiskGeometry(301, 4, 17), footer.geometry()),
                () -> assertEquals(type, footer.diskType()),
                () -> assertEquals(footer.computeChecksum(), footer.checksum()),
                () -> assertEquals(ID, footer.uniqueId()),
                () -> assertFalse(footer.savedState()),
                () -> assertTrue(footer.reserved().isZero()));
        byte[] bytes = footer.encode();
        assertEquals(Footer.SIZE, bytes.length);
        assertEquals(footer, Footer.decode(FILE, bytes, 0, 0));
        assertEquals(footer.checksum(), Checksum.compute(bytes, 0, 512, 64));
    }

    @Test
    void fieldLayout() {
        byte[] bytes = created(DiskType.DYNAMIC).encode();
        HexFormat hex = HexFormat.of();
        assertEquals("636f6e6563746978" + "00000002" + "00010000" + "0000000000000200" + "192215f0" + "7668646b"
                        + "00010000" + "5769326b" + "0000000000a00000" + "0000000000a00000" + "012d0411" + "00000003",
                hex.formatHex(bytes, 0, 64));
        assertEquals("40d56d369ab84fe4a31a121fe2bf15eb" + "00", hex.formatHex(bytes, 68, 85),
                "UUID most significant byte first, then saved state");
    }

    @Test
    void uuidBytesAreStoredInOrder() throws VhdFormatException {
        byte[] bytes = placed(created(DiskType.FIXED),
                b -> System.arraycopy(HexFormat.of().parseHex("00112233445566778899aabbccddeeff"), 0, b, AT + 68, 16));
        assertEquals("00112233-4455-6677-8899-aabbccddeeff",
                Footer.decode(FILE, bytes, AT, FILE_OFFSET).uniqueId().toString());
    }

    @Test
    void encodeWritesTheCorrectChecksumWhateverTheRecordHolds() throws VhdFormatException {
        Footer good = created(DiskType.DYNAMIC);
        Footer wrong = new Footer(good.features(), good.formatVersion(), good.dataOffset(), good.timestamp(),
                good.creatorApplication(), good.creatorVersion(), good.creatorHostOs(), good.originalSize(),
                good.currentSize(), good.geometry(), good.diskType(), 12345, good.uniqueId(), good.savedState());
        assertEquals(good.checksum(), wrong.computeChecksum());
        assertArrayEquals(good.encode(), wrong.encode());
        assertEquals(good, Footer.decode(FILE, wrong.encode(), 0, 0));
    }

    @Test
    void withersChangeOneFieldAndKeepTheChecksumRight() throws VhdFormatException {
        Footer footer = created(DiskType.DYNAMIC);
        UUID other = UUID.randomUUID();
        Footer[] changed = {
                footer.withCurrentSize(20 << 20),
                footer.withUniqueId(other),
                footer.withDataOffset(1536),
                footer.withGeometry(DiskGeometry.MAX),
                footer.withTimestamp(7),
        };
        assertEquals(20 << 20, changed[0].currentSize());
        assertEquals(footer.geometry(), changed[0].geometry(), "geometry is not recomputed");
        assertEquals(10 << 20, changed[0].originalSize());
        assertEquals(other, changed[1].uniqueId());
        assertEquals(1536, changed[2].dataOffset());
        assertEquals(DiskGeometry.MAX, changed[3].geometry());
        assertEquals(7, changed[4].timestamp());
        for (Footer f : changed) {
            assertEquals(f.computeChecksum(), f.checksum());
            assertEquals(f, Footer.decode(FILE, f.encode(), 0, 0));
            assertNotEquals(footer, f);
        }
    }

    @Test
    void reservedBytesAreKept() throws VhdFormatException {
        byte[] bytes = placed(created(DiskType.FIXED), b -> {
            b[AT + 85] = 1;
            b[AT + 300] = 0x5A;
            b[AT + 511] = (byte) 0xFF;
        });
        Footer footer = Footer.decode(FILE, bytes, AT, FILE_OFFSET);
        assertFalse(footer.reserved().isZero());
        assertEquals("427 bytes, 3 non-zero, first at 0: 0x01", footer.reserved().toString());
        assertArrayEquals(Arrays.copyOfRange(bytes, AT, AT + 512), footer.encode());
        assertArrayEquals(Arrays.copyOfRange(bytes, AT, AT + 512), footer.withUniqueId(ID).encode());
        assertNotEquals(created(DiskType.FIXED), footer);
        assertEquals(footer, Footer.decode(FILE, bytes, AT, FILE_OFFSET));
        assertEquals(footer.hashCode(), Footer.decode(FILE, bytes, AT, FILE_OFFSET).hashCode());
    }

    @Test
    void savedStateOtherThanZeroOrOneReadsAsSavedAndIsWrittenAsOne() throws VhdFormatException {
        Footer one = Footer.decode(FILE, placed(created(DiskType.FIXED), b -> b[AT + 84] = 1), AT, 0);
        Footer two = Footer.decode(FILE, placed(created(DiskType.FIXED), b -> b[AT + 84] = 2), AT, 0);
        assertTrue(one.savedState());
        assertTrue(two.savedState());
        assertEquals(1, two.encode()[84]);
    }

    @Test
    void decodedBytesEncodeBackExactly() throws VhdFormatException {
        SplittableRandom random = new SplittableRandom(2024);
        DiskType[] types = DiskType.values();
        for (int i = 0; i < 3000; i++) {
            byte[] bytes = new byte[Footer.SIZE];
            random.nextBytes(bytes);
            DiskType type = types[random.nextInt(types.length)];
            System.arraycopy(Footer.COOKIE.getBytes(StandardCharsets.US_ASCII), 0, bytes, 0, 8);
            bytes[11] |= 2;
            bytes[12] = 0;
            bytes[13] = 1;
            BigEndian.writeLong(bytes, 16, type == DiskType.FIXED ? -1 : random.nextLong(1, 1L << 40) * 512);
            BigEndian.writeLong(bytes, 48, random.nextLong(0, (1L << 53) + 1) * 512);
            BigEndian.writeInt(bytes, 60, type.code());
            bytes[84] = (byte) random.nextInt(2);
            BigEndian.writeInt(bytes, 64, Checksum.compute(bytes, 0, 512, 64));
            Footer footer = Footer.decode(FILE, bytes, 0, 0);
            assertArrayEquals(bytes, footer.encode());
            assertEquals(footer, Footer.decode(FILE, footer.encode(), 0, 0));
        }
    }

    @Test
    void acceptsWhatTheSpecificationAllows() throws VhdFormatException {
        Footer base = created(DiskType.DIFFERENCING);
        Footer footer = Footer.decode(FILE, placed(base, b -> {
            BigEndian.writeInt(b, AT + 8, 3);                  // temporary disk
            BigEndian.writeInt(b, AT + 12, 0x0001_0005);       // a later minor version
            BigEndian.writeLong(b, AT + 16, 1L << 40);         // header far away
            BigEndian.writeLong(b, AT + 40, -1);               // original size is not checked
            BigEndian.writeLong(b, AT + 48, Footer.MAX_CURRENT_SIZE);
            BigEndian.writeInt(b, AT + 28, 0x74617000);        // "tap\0"
            BigEndian.writeInt(b, AT + 24, -1);                // 2136
        }), AT, FILE_OFFSET);
        assertEquals(Footer.FEATURES_TEMPORARY | Footer.FEATURES_RESERVED, footer.features());
        assertEquals(0x0001_0005, footer.formatVersion());
        assertEquals(1L << 40, footer.dataOffset());
        assertEquals(-1, footer.originalSize());
        assertEquals(1L << 62, footer.currentSize());
        assertEquals("tap\0", footer.creatorApplication());
        assertEquals(0xFFFF_FFFFL, footer.timestamp());
        Footer empty = Footer.decode(FILE, placed(base, b -> BigEndian.writeLong(b, AT + 48, 0)), AT, 0);
        assertEquals(0, empty.currentSize());
    }

    @Test
    void refusesAnotherCookie() {
        VhdFormatException e = refused(placed(created(DiskType.FIXED), b -> b[AT + 7] = 'y'));
        assertRefusal(e, "Cookie", 0, "\"conectiy\", expected \"conectix\"");
        VhdFormatException zero = refused(placed(created(DiskType.FIXED), b -> b[AT] = 0));
        assertRefusal(zero, "Cookie", 0, "\"\\x00onectix\"");
    }

    @Test
    void refusesAWrongChecksum() {
        byte[] bytes = placed(created(DiskType.DYNAMIC), b -> { });
        int stored = BigEndian.readInt(bytes, AT + 64);
        bytes[AT + 24] ^= 1; // content changed after the checksum was computed
        assertRefusal(refused(bytes), "Checksum", 64, String.format("stored 0x%08x, computed 0x%08x",
                stored, Checksum.compute(bytes, AT, 512, 64)));
        byte[] field = placed(created(DiskType.DYNAMIC), b -> { });
        field[AT + 67] ^= 1;
        assertRefusal(refused(field), "Checksum", 64, "stored 0x");
    }

    @ParameterizedTest
    @ValueSource(ints = {0x0000_0000, 0x0002_0000, 0xFFFF_0000, 0x0000_0001})
    void refusesAnotherMajorVersion(int version) {
        VhdFormatException e = refused(placed(created(DiskType.FIXED), b -> BigEndian.writeInt(b, AT + 12, version)));
        assertRefusal(e, "File Format Version", 12, String.format("0x%08x", version));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 0xFFFF_FFFD})
    void refusesFeaturesWithoutTheReservedBit(int features) {
        VhdFormatException e = refused(placed(created(DiskType.FIXED), b -> BigEndian.writeInt(b, AT + 8, features)));
        assertRefusal(e, "Features", 8, String.format("0x%08x", features));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 5, 6, 7, -1})
    void refusesOtherDiskTypesNamingTheValue(int code) {
        VhdFormatException e = refused(placed(created(DiskType.FIXED), b -> BigEndian.writeInt(b, AT + 60, code)));
        assertRefusal(e, "Disk Type", 60, Integer.toUnsignedString(code) + " (");
    }

    @ParameterizedTest
    @ValueSource(longs = {0, 512, 0x7FFF_FFFF_FFFF_FFFFL})
    void refusesAFixedDiskWithADataOffset(long offset) {
        VhdFormatException e = refused(placed(created(DiskType.FIXED), b -> BigEndian.writeLong(b, AT + 16, offset)));
        assertRefusal(e, "Data Offset", 16, String.format("0x%016x", offset));
    }

    @ParameterizedTest
    @ValueSource(longs = {-1, 0, 256, 511, 513, 1000, 0x8000_0000_0000_0000L, -512})
    void refusesASparseDiskWithoutAUsableDataOffset(long offset) {
        for (DiskType type : new DiskType[] {DiskType.DYNAMIC, DiskType.DIFFERENCING}) {
            VhdFormatException e = refused(placed(created(type), b -> BigEndian.writeLong(b, AT + 16, offset)));
            assertRefusal(e, "Data Offset", 16, offset == -1 ? "all ones" : "multiple of 512");
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 511, 1000, 10_485_761, -1, -512, (1L << 62) + 512, Long.MIN_VALUE})
    void refusesCurrentSizesThatAreNotWholeSectorsOrTooLarge(long size) {
        VhdFormatException e = refused(placed(created(DiskType.FIXED), b -> BigEndian.writeLong(b, AT + 48, size)));
        assertRefusal(e, "Current Size", 48, Long.toUnsignedString(size));
    }

    @Test
    void cookieIsCheckedBeforeTheChecksum() {
        byte[] bytes = new byte[AT + Footer.SIZE];
        assertRefusal(refused(bytes), "Cookie", 0, "expected");
    }

    @Test
    void decodeNeedsFiveHundredTwelveBytes() {
        assertThrows(IndexOutOfBoundsException.class, () -> Footer.decode(FILE, new byte[511], 0, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> Footer.decode(FILE, new byte[600], 89, 0));
    }

    @Test
    void createRefusesSizesThatAreNotWholeSectors() {
        assertThrows(IllegalArgumentException.class,
                () -> Footer.create(DiskType.FIXED, 1000, ID, 0, "vhdk", 0, Footer.HOST_WINDOWS));
        assertThrows(IllegalArgumentException.class,
                () -> Footer.create(DiskType.FIXED, -512, ID, 0, "vhdk", 0, Footer.HOST_WINDOWS));
        assertThrows(IllegalArgumentException.class,
                () -> Footer.create(DiskType.FIXED, (1L << 62) + 512, ID, 0, "vhdk", 0, Footer.HOST_WINDOWS));
    }

    @Test
    void constructorRefusesValuesThatDoNotFitTheirFields() {
        assertThrows(IllegalArgumentException.class,
                () -> Footer.create(DiskType.FIXED, 512, ID, 0, "vhd", 0, Footer.HOST_WINDOWS));
        assertThrows(IllegalArgumentException.class,
                () -> Footer.create(DiskType.FIXED, 512, ID, 0, "vhd\u20ac", 0, Footer.HOST_WINDOWS));
        assertThrows(IllegalArgumentException.class,
                () -> Footer.create(DiskType.FIXED, 512, ID, -1, "vhdk", 0, Footer.HOST_WINDOWS));
        assertThrows(IllegalArgumentException.class,
                () -> Footer.create(DiskType.FIXED, 512, ID, 1L << 32, "vhdk", 0, Footer.HOST_WINDOWS));
        assertThrows(NullPointerException.class,
                () -> Footer.create(DiskType.FIXED, 512, null, 0, "vhdk", 0, Footer.HOST_WINDOWS));
        Footer f = created(DiskType.FIXED);
        assertThrows(IllegalArgumentException.class, () -> new Footer(f.features(), f.formatVersion(),
                f.dataOffset(), f.timestamp(), f.creatorApplication(), f.creatorVersion(), f.creatorHostOs(),
                f.originalSize(), f.currentSize(), f.geometry(), f.diskType(), f.checksum(), f.uniqueId(),
                f.savedState(), ReservedBytes.zeros(426)));
    }

    @Test
    void creatorApplicationKeepsEveryByte() throws VhdFormatException {
        Footer footer = Footer.create(DiskType.FIXED, 512, ID, 0, "d2v\0", 1, Footer.HOST_WINDOWS);
        assertEquals("d2v\0", Footer.decode(FILE, footer.encode(), 0, 0).creatorApplication());
        Footer latin = Footer.create(DiskType.FIXED, 512, ID, 0, "\u00e9\u00ff\u0001 ", 1, Footer.HOST_WINDOWS);
        assertEquals("\u00e9\u00ff\u0001 ", Footer.decode(FILE, latin.encode(), 0, 0).creatorApplication());
    }
}
