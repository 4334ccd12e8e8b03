package org.vhdkit.vhd.format;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.vhdkit.vhd.testing.Corpus;

/** The format records against the real-world images of {@code shared/vhd-corpus}. */
class CorpusTest {
    private static final String LIBVHDI_FOOTER = "libvhdi-tests-data-file_footer.1.bin";
    private static final String LIBVHDI_HEADER = "libvhdi-tests-data-dynamic_disk_header.1.bin";
    private static final String AFL5 = "qemu-afl5.img.bz2";
    private static final String COMPACT_VD = "compactVD-3hfs.vhd.bz2";

    /**
     * What the corpus README (and the bytes) say about each complete image.
     *
     * @param tableOffset -1 for a fixed disk
     */
    record Expected(String file, DiskType type, long fileSize, long currentSize, String creator, int creatorVersion,
                    DiskGeometry geometry, long tableOffset, int entries, int blockSize) {
        @Override
        public String toString() {
            return file;
        }
    }

    static Stream<Expected> images() {
        return Stream.of(
                new Expected("qemu-virtualpc-dynamic.vhd.bz2", DiskType.DYNAMIC, 262656, 136365211648L, "vpc ",
                        0x00010000, new DiskGeometry(65278, 16, 255), 1536, 65024, 2 << 20),
                new Expected("qemu-hyperv2012r2-dynamic.vhd.bz2", DiskType.DYNAMIC, 266240, 136365211648L, "win ",
                        0x00060003, new DiskGeometry(65278, 16, 255), 1536, 65024, 2 << 20),
                new Expected("qemu-d2v-zerofilled.vhd.bz2", DiskType.DYNAMIC, 264308224, 263454720, "d2v\0",
                        0x00010000, DiskGeometry.MAX, 1536, 126, 2 << 20),
                new Expected("dissect-hypervisor-fixed.vhd.gz", DiskType.FIXED, 10486272, 10485760, "win ",
                        0x000a0000, new DiskGeometry(301, 4, 17), -1, 0, 0),
                new Expected("dissect-hypervisor-dynamic.vhd.gz", DiskType.DYNAMIC, 6311936, 10485760, "win ",
                        0x000a0000, new DiskGeometry(301, 4, 17), 1536, 5, 2 << 20));
    }

    static Stream<Expected> sparseImages() {
        return images().filter(expected -> expected.type() != DiskType.FIXED);
    }

    @ParameterizedTest
    @MethodSource("images")
    void trailingFooterHasTheReadmeValuesAndEncodesBackExactly(Expected expected) throws IOException {
        Corpus.Excerpt image = Corpus.excerpt(expected.file());
        assertEquals(expected.fileSize(), image.size(), "file size");
        Footer footer = Footer.decode(expected.file(), image.tail(), 0, image.tailOffset());
        assertAll(
                () -> assertEquals(expected.type(), footer.diskType(), "disk type"),
                () -> assertEquals(expected.currentSize(), footer.currentSize(), "current size"),
                () -> assertEquals(expected.currentSize(), footer.originalSize(), "original size"),
                () -> assertEquals(expected.creator(), footer.creatorApplication(), "creator application"),
                () -> assertEquals(expected.creatorVersion(), footer.creatorVersion(), "creator version"),
                () -> assertEquals(Footer.HOST_WINDOWS, footer.creatorHostOs(), "creator host OS"),
                () -> assertEquals(expected.geometry(), footer.geometry(), "geometry"),
                () -> assertEquals(Footer.FEATURES_RESERVED, footer.features(), "features"),
                () -> assertEquals(Footer.FORMAT_VERSION, footer.formatVersion(), "format version"),
                () -> assertEquals(expected.type() == DiskType.FIXED ? Footer.NO_DATA_OFFSET : 512,
                        footer.dataOffset(), "data offset"),
                () -> assertFalse(footer.savedState(), "saved state"),
                () -> assertTrue(footer.reserved().isZero(), "reserved bytes"),
                () -> assertEquals(Checksum.compute(image.tail(), 0, 512, 64), footer.checksum(), "checksum"),
                () -> assertEquals(footer.checksum(), footer.computeChecksum(), "computed checksum"),
                () -> assertArrayEquals(image.tail(), footer.encode(), "decode -> encode"));
    }

    @ParameterizedTest
    @MethodSource("images")
    void geometryIsTheSpecificationsExceptForDisk2vhd(Expected expected) throws IOException {
        Corpus.Excerpt image = Corpus.excerpt(expected.file());
        Footer footer = Footer.decode(expected.file(), image.tail(), 0, image.tailOffset());
        if (footer.creatorApplication().equals("d2v\0")) {
            assertEquals(DiskGeometry.MAX, footer.geometry());
            assertEquals(new DiskGeometry(510, 16, 63), DiskGeometry.forSize(footer.currentSize()));
        } else {
            assertEquals(DiskGeometry.forSize(footer.currentSize()), footer.geometry());
            assertTrue(footer.geometry().capacity() <= footer.currentSize());
        }
    }

    @ParameterizedTest
    @MethodSource("images")
    void footerCopyOfSparseDisksIsTheTrailerAndFixedDisksHaveNone(Expected expected) throws IOException {
        Corpus.Excerpt image = Corpus.excerpt(expected.file());
        byte[] first = image.headBytes(0, Footer.SIZE);
        if (expected.type() == DiskType.FIXED) {
            VhdFormatException e = assertThrows(VhdFormatException.class,
                    () -> Footer.decode(expected.file(), first, 0, 0));
            assertEquals("footer Cookie", e.field());
            assertEquals(0, e.offset());
            assertTrue(e.getMessage().startsWith(expected.file() + ": footer Cookie at offset 0"), e.getMessage());
        } else {
            Footer copy = Footer.decode(expected.file(), first, 0, 0);
            assertArrayEquals(image.tail(), first, "copy at 0 is the trailer byte for byte");
            assertArrayEquals(first, copy.encode());
        }
    }

    @ParameterizedTest
    @MethodSource("sparseImages")
    void dynamicHeaderHasTheReadmeValuesEncodesBackAndFitsItsFile(Expected expected) throws IOException {
        Corpus.Excerpt image = Corpus.excerpt(expected.file());
        Footer footer = Footer.decode(expected.file(), image.tail(), 0, image.tailOffset());
        byte[] bytes = image.headBytes((int) footer.dataOffset(), DynamicHeader.SIZE);
        DynamicHeader header = DynamicHeader.decode(expected.file(), bytes, 0, footer.dataOffset());
        assertAll(
                () -> assertEquals(expected.tableOffset(), header.tableOffset(), "table offset"),
                () -> assertEquals(expected.entries(), header.maxTableEntries(), "max table entries"),
                () -> assertEquals(expected.blockSize(), header.blockSize(), "block size"),
                () -> assertEquals(DynamicHeader.HEADER_VERSION, header.headerVersion(), "header version"),
                () -> assertEquals(-1L, header.dataOffset(), "data offset"),
                () -> assertEquals(new UUID(0, 0), header.parentUuid(), "parent UUID"),
                () -> assertEquals("", header.parentName(), "parent name"),
                () -> assertTrue(header.locators().stream().allMatch(ParentLocator::isEmpty), "locators"),
                () -> assertTrue(header.reserved().isZero(), "reserved bytes"),
                () -> assertEquals(header.checksum(), header.computeChecksum(), "checksum"),
                () -> assertArrayEquals(bytes, header.encode(), "decode -> encode"));
        header.validateAgainst(expected.file(), footer.dataOffset(), footer.currentSize(), image.size());
    }

    @Test
    void virtualPcAndHyperVGiveTheSameSizeTheSameGeometry() throws IOException {
        Footer vpc = trailer("qemu-virtualpc-dynamic.vhd.bz2");
        Footer hyperV = trailer("qemu-hyperv2012r2-dynamic.vhd.bz2");
        assertEquals(new DiskGeometry(65278, 16, 255).capacity(), 136363130880L, "the CHS figure qemu-img reports");
        assertEquals(vpc.currentSize(), hyperV.currentSize());
        assertEquals(vpc.geometry(), hyperV.geometry());
        assertEquals(Instant.parse("2016-02-19T08:29:43Z"), VhdTime.toInstant(hyperV.timestamp()));
    }

    @Test
    void libvhdiFooterChecksumAndValues() throws Exception {
        byte[] bytes = Corpus.bytes(LIBVHDI_FOOTER);
        assertEquals(0xfffff023, Checksum.compute(bytes, 0, 512, 64));
        Footer footer = Footer.decode(LIBVHDI_FOOTER, bytes, 0, 0);
        assertAll(
                () -> assertEquals(0xfffff023, footer.checksum()),
                () -> assertEquals(DiskType.DIFFERENCING, footer.diskType()),
                () -> assertEquals(536870912, footer.currentSize()),
                () -> assertEquals(0x200, footer.dataOffset()),
                () -> assertEquals("vpc ", footer.creatorApplication()),
                () -> assertEquals(new DiskGeometry(1040, 16, 63), footer.geometry()),
                () -> assertEquals(DiskGeometry.forSize(536870912), footer.geometry()),
                () -> assertArrayEquals(bytes, footer.encode()));
    }

    @Test
    void libvhdiHeaderChecksumParentAndLocators() throws Exception {
        byte[] bytes = Corpus.bytes(LIBVHDI_HEADER);
        assertEquals(0xffffe1c1, Checksum.compute(bytes, 0, 1024, 36));
        DynamicHeader header = DynamicHeader.decode(LIBVHDI_HEADER, bytes, 0, 512);
        assertAll(
                () -> assertEquals(0xffffe1c1, header.checksum()),
                () -> assertEquals(0x600, header.tableOffset()),
                () -> assertEquals(256, header.maxTableEntries()),
                () -> assertEquals(2 << 20, header.blockSize()),
                () -> assertEquals("d49c5c80-350a-4a89-898a-5ad6d10f6578", header.parentUuid().toString()),
                () -> assertEquals(0x1922077c, header.parentTimestamp()),
                () -> assertEquals(Instant.parse("2013-05-12T07:55:40Z"), VhdTime.toInstant(header.parentTimestamp())),
                () -> assertEquals("dynamic.vhd", header.parentName()),
                () -> assertArrayEquals(bytes, header.encode()));

        List<ParentLocator> locators = header.locators();
        assertEquals(8, locators.size());
        for (int i = 0; i < 4; i++) {
            assertEquals(ParentLocator.EMPTY, locators.get(i), "entries 1-4 are unused; the four in use are 5-8");
        }
        assertLocator(locators.get(4), PlatformCode.W2KU, 0x2a, 0x1200);
        assertLocator(locators.get(5), PlatformCode.W2RU, 0x1a, 0x1000);
        assertLocator(locators.get(6), PlatformCode.WI2K, 0x15, 0xe00);
        assertLocator(locators.get(7), PlatformCode.WI2R, 0x0d, 0xc00);

        // The locator data is not in the corpus; the relative ones have the length of ".\dynamic.vhd".
        String relative = ".\\" + header.parentName();
        assertEquals(locators.get(5).dataLength(), PlatformCode.W2RU.encodePath(relative).length);
        assertEquals(locators.get(7).dataLength(), PlatformCode.WI2R.encodePath(relative).length);
        // Absolute ones: 21 characters in both encodings.
        assertEquals(locators.get(4).dataLength(), 2 * locators.get(6).dataLength());
    }

    private static void assertLocator(ParentLocator locator, PlatformCode platform, int length, long offset) {
        assertEquals(platform.code(), locator.platformCode());
        assertEquals(platform, locator.platform().orElseThrow());
        assertEquals(0x200, locator.dataSpace(), "data space as stored");
        assertEquals(512, locator.dataSpaceBytes(), "Virtual PC gives the data space in bytes");
        assertEquals(length, locator.dataLength());
        assertEquals(offset, locator.dataOffset());
        assertEquals(0, locator.reserved());
        assertEquals(platform.isRelative(), platform == PlatformCode.W2RU || platform == PlatformCode.WI2R);
    }

    @Test
    void libvhdiHeaderFitsAFileHoldingItsLocatorsAndNotOneEndingBeforeThem() throws Exception {
        DynamicHeader header = DynamicHeader.decode(LIBVHDI_HEADER, Corpus.bytes(LIBVHDI_HEADER), 0, 512);
        long size = 536870912;
        header.validateAgainst(LIBVHDI_HEADER, 512, size, 0x1400 + 512);
        VhdFormatException e = assertThrows(VhdFormatException.class,
                () -> header.validateAgainst(LIBVHDI_HEADER, 512, size, 0x1200));
        assertEquals("dynamic header Parent Locator 5 Platform Data Offset", e.field());
        assertEquals(512 + 576 + 4 * 24 + 16, e.offset());
        assertTrue(e.getMessage().contains(LIBVHDI_HEADER), e.getMessage());
    }

    @Test
    void afl5FooterCopyIsSound() throws IOException {
        Corpus.Excerpt image = Corpus.excerpt(AFL5);
        assertEquals(1028, image.size(), "truncated: no trailing footer, header cut after 516 bytes");
        byte[] bytes = image.headBytes(0, Footer.SIZE);
        Footer footer = Footer.decode(AFL5, bytes, 0, 0);
        assertEquals("qemu", footer.creatorApplication());
        assertEquals(34816, footer.currentSize());
        assertEquals(new DiskGeometry(1, 4, 17), footer.geometry());
        assertEquals(DiskType.DYNAMIC, footer.diskType());
        assertArrayEquals(bytes, footer.encode());
    }

    @Test
    void afl5HeaderIsRefusedOnItsChecksum() throws IOException {
        Corpus.Excerpt image = Corpus.excerpt(AFL5);
        byte[] header = image.headBytes(512, DynamicHeader.SIZE); // zero past the end of the file
        VhdFormatException e = assertThrows(VhdFormatException.class,
                () -> DynamicHeader.decode(AFL5, header, 0, 512));
        assertEquals("dynamic header Checksum", e.field());
        assertEquals(512 + 36, e.offset());
        assertTrue(e.problem().contains("stored 0xfffff476"), e.problem());
        assertTrue(e.getMessage().startsWith(AFL5 + ": "), e.getMessage());
    }

    @Test
    void afl5HeaderWithItsChecksumMendedIsRefusedOnMaxTableEntries() throws IOException {
        Corpus.Excerpt image = Corpus.excerpt(AFL5);
        Footer footer = Footer.decode(AFL5, image.headBytes(0, Footer.SIZE), 0, 0);
        byte[] bytes = image.headBytes(512, DynamicHeader.SIZE);
        BigEndian.writeInt(bytes, 36, Checksum.compute(bytes, 0, DynamicHeader.SIZE, 36));

        DynamicHeader header = DynamicHeader.decode(AFL5, bytes, 0, 512);
        assertEquals(1073741825, header.maxTableEntries());
        assertEquals(512, header.blockSize());
        assertFalse(header.reserved().isZero(), "0xFF bytes after the empty parent name");
        assertArrayEquals(bytes, header.encode(), "kept byte for byte, 0xFF garbage included");

        VhdFormatException e = assertThrows(VhdFormatException.class,
                () -> header.validateAgainst(AFL5, 512, footer.currentSize(), image.size()));
        assertEquals("dynamic header Max Table Entries", e.field());
        assertEquals(540, e.offset());
        assertTrue(e.problem().startsWith("1073741825 entries, but a disk of 34816 bytes needs 68"), e.problem());
        assertTrue(e.getMessage().startsWith(AFL5 + ": dynamic header Max Table Entries at offset 540"),
                e.getMessage());
    }

    @Test
    void compactVdFooterCopyAndHeader() throws IOException {
        Corpus.Excerpt image = Corpus.excerpt(COMPACT_VD);
        assertEquals(7803328512L, image.size(), "size of the sparse file in the tar");
        byte[] first = image.headBytes(0, Footer.SIZE);
        Footer footer = Footer.decode(COMPACT_VD, first, 0, 0);
        assertAll(
                () -> assertEquals(DiskType.DYNAMIC, footer.diskType()),
                () -> assertEquals(8589934592L, footer.currentSize()),
                () -> assertEquals("vbox", footer.creatorApplication()),
                () -> assertEquals(0x00050001, footer.creatorVersion()),
                () -> assertEquals(new DiskGeometry(16644, 16, 63), footer.geometry()),
                () -> assertEquals(8589901824L, footer.geometry().capacity()),
                () -> assertEquals(DiskGeometry.forSize(8589934592L), footer.geometry()),
                () -> assertArrayEquals(first, footer.encode()));

        byte[] bytes = image.headBytes(512, DynamicHeader.SIZE);
        DynamicHeader header = DynamicHeader.decode(COMPACT_VD, bytes, 0, 512);
        assertEquals(1536, header.tableOffset());
        assertEquals(4096, header.maxTableEntries());
        assertEquals(2 << 20, header.blockSize());
        assertArrayEquals(bytes, header.encode());
        header.validateAgainst(COMPACT_VD, 512, footer.currentSize(), image.size());

        assertEquals(3720, allocatedEntries(image.headBytes(1536, 4096 * 4)), "allocated blocks");
    }

    /** The BAT entries that are not 0xFFFFFFFF. */
    private static int allocatedEntries(byte[] table) {
        int count = 0;
        for (int at = 0; at < table.length; at += 4) {
            if (BigEndian.readInt(table, at) != -1) {
                count++;
            }
        }
        return count;
    }

    private static Footer trailer(String name) throws IOException {
        Corpus.Excerpt image = Corpus.excerpt(name);
        return Footer.decode(name, image.tail(), 0, image.tailOffset());
    }
}
