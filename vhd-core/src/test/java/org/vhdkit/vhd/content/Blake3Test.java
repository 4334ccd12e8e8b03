package org.vhdkit.vhd.content;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Random;
import org.bouncycastle.crypto.digests.Blake3Digest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.disk.RawDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * {@link Blake3}, the parallel hasher: equal to the official vectors, to Bouncy Castle's serial
 * {@code Blake3Digest} and to {@code b3sum}, however the input is cut into updates.
 */
class Blake3Test {
    @TempDir
    Path tmp;

    private static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }

    /** Ours, with the input given in pieces of {@code piece} bytes (the last one shorter). */
    private static String ours(byte[] input, int piece) {
        Blake3 b = new Blake3();
        for (int at = 0; at < input.length; at += piece) {
            b.update(input, at, Math.min(piece, input.length - at));
        }
        return hex(b.finish());
    }

    private static String bouncyCastle(byte[] input) {
        Blake3Digest d = new Blake3Digest();
        d.update(input, 0, input.length);
        byte[] out = new byte[32];
        d.doFinal(out, 0);
        return hex(out);
    }

    private static byte[] random(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    /** The official test vectors (BLAKE3-team/BLAKE3, test_vectors/test_vectors.json): input bytes {@code i % 251}. */
    @ParameterizedTest
    @CsvSource({
        "0,      af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
        "1,      2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213",
        "1023,   10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11",
        "1024,   42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7",
        "1025,   d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444",
        "2048,   e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a",
        "2049,   5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030",
        "3072,   b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2",
        "3073,   7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3",
        "4096,   015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969",
        "4097,   9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995",
        "5120,   9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833",
        "5121,   628bd2cb2004694adaab7bbd778a25df25c47b9d4155a55f8fbd79f2fe154cff",
        "6144,   3e2e5b74e048f3add6d21faab3f83aa44d3b2278afb83b80b3c35164ebeca205",
        "6145,   f1323a8631446cc50536a9f705ee5cb619424d46887f3c376c695b70e0f0507f",
        "7168,   61da957ec2499a95d6b8023e2b0e604ec7f6b50e80a9678b89d2628e99ada77a",
        "7169,   a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e7817",
        "8192,   aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a63",
        "8193,   bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b",
        "16384,  f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4",
        "31744,  62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47",
        "102400, bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"})
    void officialVectors(int length, String expected) {
        byte[] input = new byte[length];
        for (int i = 0; i < length; i++) {
            input[i] = (byte) (i % 251);
        }
        assertEquals(expected, ours(input, Math.max(1, length)));
        assertEquals(expected, ours(input, 1));
        assertEquals(expected, ours(input, 1000));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 63, 64, 65, 1023, 1024, 1025, 2047, 2048, 2049, 4097, 65 * 1024 + 7, (1 << 20) + 1,
        (5 << 20) + 3,
        // Whole chunks hashed side by side (Blake3.laneChunkCvs: 128 at a time) once, twice, and once
        // with 15 after them that go one by one (the chunk after them is kept back); parents side by
        // side (Blake3.laneParentCvs) in one pass of 64 (128 chunks), of 128 (256 chunks), two passes
        // (a whole leaf of 512 chunks), and in two leaves joined on the pool (1024 chunks).
        129 * 1024 + 5, 257 * 1024 + 1, 144 * 1024 + 9, 513 * 1024 + 1, 1025 * 1024 + 1})
    void awkwardSizesEqualBouncyCastleHoweverCut(int length) {
        byte[] input = random(length, length);
        String expected = bouncyCastle(input);
        assertEquals(expected, ours(input, Math.max(1, length)), "one update");
        assertEquals(expected, ours(input, 4 << 20), "4 MiB windows, as DiskContents gives them");
        assertEquals(expected, ours(input, 1024), "whole chunks");
        assertEquals(expected, ours(input, 1536), "chunk and a half");
        assertEquals(expected, ours(input, 777), "odd pieces");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 1023, 1024, 1025, 2047, 4097, (1 << 20) + 1})
    void awkwardSizesEqualB3sum(int length) throws IOException {
        ExternalTools.assumeAvailable("b3sum"); // Debian package b3sum: the reference
        byte[] input = random(length, 31L * length);
        Path file = tmp.resolve("f" + length);
        Files.write(file, input);
        String b3sum = ContentFixtures.run("b3sum", "--no-names", file.toString()).trim();
        assertEquals(b3sum, ours(input, Math.max(1, length)));
        assertEquals(b3sum, ours(input, 1000));
    }

    /**
     * A 2 GiB + 1.5 KiB sparse file with random pieces, digested window by window like any disk: many
     * windows and subtrees, a last partial chunk, and b3sum's answer.
     */
    @Test
    void aMultiGibibyteSparseFileEqualsB3sum() throws IOException {
        ExternalTools.assumeAvailable("b3sum");
        Path file = tmp.resolve("big.img");
        long size = (2L << 30) + 1536;
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(size);
            Random random = new Random(7);
            for (long at : new long[] {0, 5_000_000, 1L << 30, (2L << 30) - 3000}) {
                byte[] piece = new byte[(int) Math.min(3 << 20, size - at)];
                random.nextBytes(piece);
                f.seek(at);
                f.write(piece);
            }
        }
        String b3sum = ContentFixtures.run("b3sum", "--no-names", file.toString()).trim();
        try (VirtualDisk disk = RawDisk.open(file, true)) {
            assertEquals(b3sum, DiskContents.digest(disk, DigestAlgorithm.BLAKE3, ProgressListener.NONE).hex());
        }
    }
}
