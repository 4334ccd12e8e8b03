package org.vhdkit.vhd.content;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.vhd.content.ContentFixtures.MIB;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.bouncycastle.crypto.digests.Blake3Digest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.content.ContentFixtures.Layout;
import org.vhdkit.vhd.content.ContentFixtures.RecordingDisk;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.Corpus;
import org.vhdkit.vhd.testing.ExternalTools;

/** {@link DiskContents#digest}: the same for the same bytes however stored, and equal to the usual tools. */
class DigestTest {
    @TempDir
    Path tmp;

    private static String sha256(byte[] bytes) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    /** Bouncy Castle's BLAKE3 over all the bytes in one call: the reference the windowed digest must match. */
    private static String blake3(byte[] bytes) {
        Blake3Digest d = new Blake3Digest();
        d.update(bytes, 0, bytes.length);
        byte[] out = new byte[32];
        d.doFinal(out, 0);
        return HexFormat.of().formatHex(out);
    }

    private static void zeros(MessageDigest digest, long count) {
        byte[] zeros = new byte[MIB];
        for (long left = count; left > 0; left -= zeros.length) {
            digest.update(zeros, 0, (int) Math.min(zeros.length, left));
        }
    }

    private Map<Layout, Path> allLayouts(byte[] model) throws IOException {
        Map<Layout, Path> files = new EnumMap<>(Layout.class);
        for (Layout layout : Layout.values()) {
            files.put(layout, ContentFixtures.write(layout, model, tmp.resolve(layout.name())));
        }
        return files;
    }

    @Test
    void rawFixedDynamicAndDifferencingCopiesHaveTheDigestsOfSha256sumAndOfTheBytes() throws Exception {
        byte[] model = ContentFixtures.sparseRandomModel(1);
        Map<Layout, Path> files = allLayouts(model);
        String sha256sum = ContentFixtures.sha256sum(files.get(Layout.RAW));
        assertEquals(sha256(model), sha256sum, "sha256sum of the raw file");
        for (Layout layout : Layout.values()) {
            try (VirtualDisk disk = ContentFixtures.open(layout, files.get(layout))) {
                DiskDigest sha = DiskContents.digest(disk, DigestAlgorithm.SHA256, ProgressListener.NONE);
                assertEquals(sha256sum, sha.hex(), layout + ": SHA-256");
                assertEquals(model.length, sha.size());
                DiskDigest b3 = DiskContents.digest(disk, DigestAlgorithm.BLAKE3, ProgressListener.NONE);
                assertEquals(blake3(model), b3.hex(), layout + ": BLAKE3");
            }
        }
    }

    @Test
    void blake3EqualsB3sumWhereItIsInstalled() throws Exception {
        ExternalTools.assumeAvailable("b3sum"); // Debian package b3sum; not installed by the test scripts
        byte[] model = ContentFixtures.sparseRandomModel(2);
        Map<Layout, Path> files = allLayouts(model);
        String b3sum = ContentFixtures.run("b3sum", files.get(Layout.RAW).toString()).split("\\s+")[0];
        for (Layout layout : Layout.values()) {
            try (VirtualDisk disk = ContentFixtures.open(layout, files.get(layout))) {
                assertEquals(b3sum, DiskContents.digest(disk, DigestAlgorithm.BLAKE3, ProgressListener.NONE).hex(),
                        layout.name());
            }
        }
    }

    /**
     * The official BLAKE3 test vectors (BLAKE3-team/BLAKE3, test_vectors/test_vectors.json) whose
     * input, bytes {@code i % 251}, is a whole number of sectors; b3sum need not be installed.
     */
    @ParameterizedTest
    @CsvSource({
        "1024,   42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7",
        "2048,   e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a",
        "8192,   aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a63",
        "31744,  62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47",
        "102400, bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"})
    void blake3MatchesTheOfficialTestVectors(int length, String expected) throws IOException {
        try (MemoryDisk disk = MemoryDisk.create("vector", length)) {
            byte[] input = new byte[length];
            for (int i = 0; i < length; i++) {
                input[i] = (byte) (i % 251);
            }
            disk.write(0, input);
            assertEquals(expected, DiskContents.digest(disk, DigestAlgorithm.BLAKE3, ProgressListener.NONE).hex());
        }
    }

    @Test
    void sha256OfAnEmptyDynamicDiskIsThatOfItsZeros() throws IOException {
        // sha256sum of 1 MiB of zeros (head -c 1048576 /dev/zero | sha256sum).
        try (VhdDisk disk = Vhd.create(tmp.resolve("empty.vhd"), CreateOptions.dynamic(MIB))) {
            assertEquals("30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58",
                    DiskContents.digest(disk, DigestAlgorithm.SHA256, ProgressListener.NONE).hex());
        }
    }

    @Test
    void unallocatedRangesAreNotReadAndDataIsReadInBigPieces() throws Exception {
        Path path = tmp.resolve("big.vhd");
        byte[] block = new byte[2 * MIB];
        new java.util.Random(5).nextBytes(block);
        try (VhdDisk disk = Vhd.create(path, CreateOptions.dynamic(1L << 30))) {
            disk.write(100L * MIB, block);                      // one whole block
            disk.write(501L * MIB + 512, MemorySegment.ofArray(block), 0, 1000); // part of a sector: one bit
        }
        try (RecordingDisk disk = new RecordingDisk(Vhd.openReadOnly(path))) {
            DiskDigest digest = DiskContents.digest(disk, DigestAlgorithm.SHA256, ProgressListener.NONE);
            disk.assertNoZeroRangeRead();
            // A dynamic disk's new block holds all its sectors (the unwritten ones as zeros): two blocks.
            assertEquals(4 * MIB, disk.bytesRead(), "only the allocated blocks are read");
            assertEquals(2, disk.reads.size(), "in one read each");
            MessageDigest expected = MessageDigest.getInstance("SHA-256");
            zeros(expected, 100L * MIB);
            expected.update(block);
            zeros(expected, 501L * MIB + 512 - 102L * MIB);
            expected.update(block, 0, 1000);
            zeros(expected, (1L << 30) - (501L * MIB + 512 + 1000));
            assertEquals(HexFormat.of().formatHex(expected.digest()), digest.hex());
        }
    }

    @Test
    void progressClimbsToTheSize() throws IOException {
        long size = 10L * MIB + 512;
        List<long[]> calls = new ArrayList<>();
        try (MemoryDisk disk = MemoryDisk.create("m", size)) {
            DiskContents.digest(disk, DigestAlgorithm.BLAKE3, (done, total) -> calls.add(new long[] {done, total}));
        }
        assertEquals(3, calls.size(), "one call per 4 MiB window");
        for (int i = 0; i < calls.size(); i++) {
            assertEquals(size, calls.get(i)[1]);
            assertTrue(i == 0 || calls.get(i)[0] > calls.get(i - 1)[0]);
        }
        assertEquals(size, calls.getLast()[0]);
    }

    @Test
    void aDifferencingDiskWithoutItsParentCannotBeDigested() throws IOException {
        byte[] model = ContentFixtures.sparseRandomModel(3);
        Path top = ContentFixtures.write(Layout.CHAIN, model, tmp);
        try (VhdDisk disk = Vhd.open(top, OpenOptions.READ_ONLY.withoutParent())) {
            IOException e = assertThrows(IOException.class,
                    () -> DiskContents.digest(disk, DigestAlgorithm.SHA256, ProgressListener.NONE));
            assertTrue(e.getMessage().contains(top.toString()), e.getMessage());
        }
    }

    @Test
    void aQemuMadeDynamicDiskHasTheDigestOfQemusRawConversion() throws Exception {
        ExternalTools.assumeAvailable("qemu-img", "qemu-io");
        byte[] model = ContentFixtures.sparseRandomModel(4);
        Path image = ContentFixtures.qemuDynamic(model, tmp);
        Path raw = tmp.resolve("converted.img");
        ContentFixtures.run("qemu-img", "convert", "-f", "vpc", "-O", "raw", image.toString(), raw.toString());
        try (VhdDisk disk = Vhd.openReadOnly(image)) {
            assertEquals(ContentFixtures.sha256sum(raw),
                    DiskContents.digest(disk, DigestAlgorithm.SHA256, ProgressListener.NONE).hex());
        }
    }

    @Test
    void windowsMadeDynamicDiskHasTheDigestOfQemusRawConversion() throws Exception {
        ExternalTools.assumeAvailable("qemu-img");
        Path image = Corpus.cached("dissect-hypervisor-dynamic.vhd.gz");
        Path raw = tmp.resolve("dissect.img");
        ContentFixtures.run("qemu-img", "convert", "-f", "vpc", "-O", "raw", image.toString(), raw.toString());
        assertEquals(10485760, Files.size(raw), "qemu takes a 'win ' image's size from the footer");
        try (VhdDisk disk = Vhd.openReadOnly(image)) {
            assertEquals(ContentFixtures.sha256sum(raw),
                    DiskContents.digest(disk, DigestAlgorithm.SHA256, ProgressListener.NONE).hex());
        }
    }

    @Test
    void algorithmsAreFoundByTheirNames() {
        assertEquals(DigestAlgorithm.SHA256, DigestAlgorithm.byName("SHA-256"));
        assertEquals(DigestAlgorithm.SHA256, DigestAlgorithm.byName("sha256"));
        assertEquals(DigestAlgorithm.BLAKE3, DigestAlgorithm.byName("Blake3"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DigestAlgorithm.byName("md5"));
        assertEquals("'md5' is not a digest algorithm; use sha256 or blake3", e.getMessage());
    }

    @Test
    void aDigestIsThirtyTwoBytesOfLowerCaseHex() {
        assertThrows(IllegalArgumentException.class, () -> new DiskDigest(DigestAlgorithm.SHA256, "ABCD", 0));
        DiskDigest d = new DiskDigest(DigestAlgorithm.SHA256, "00".repeat(31) + "ff", 512);
        assertEquals(32, d.bytes().length);
        assertEquals((byte) 0xff, d.bytes()[31]);
    }
}
