package org.vhdkit.vhd.transform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.vhdkit.vhd.transform.TestDisks.MIB;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.VirtualDisk;

/** Measurements against the files the library then writes: they must be equal, byte for byte. */
class MeasurementTest {
    @TempDir
    Path tmp;

    @Test
    void anEmptyDynamicDiskOf10MibIs4096Bytes() {
        Measurement m = Measurement.ofNew(ImageType.DYNAMIC, 10 * MIB, 0);
        // Footer copy, header, a table of five entries in one sector ending at 3584, the footer there.
        assertEquals(4096, m.requiredBytes());
        assertEquals(2 * MIB, m.blockSize());
        assertEquals(0, m.blocks());
        // Five blocks, each 4 KiB-aligned data after its bitmap, 2 MiB + 4 KiB apart.
        assertEquals(3584 + 4 * (2 * MIB + 4096) + 512 + 2 * MIB + 512, m.fullyAllocatedBytes());
    }

    @Test
    void fixedAndRawAreTheSizeAndTheSizePlusTheFooter() {
        assertEquals(new Measurement(ImageType.FIXED, 10 * MIB, 0, 0, 10 * MIB + 512, 10 * MIB + 512),
                Measurement.ofNew(ImageType.FIXED, 10 * MIB, 0));
        assertEquals(new Measurement(ImageType.RAW, 10 * MIB, 0, 0, 10 * MIB, 10 * MIB),
                Measurement.ofNew(ImageType.RAW, 10 * MIB, 0));
    }

    /** Sizes and block sizes that put the table's end, the last block and the padding in every place. */
    @ParameterizedTest
    @CsvSource({
        "10485760, 2097152",
        "10486272, 2097152",   // one sector more: a partial last block
        "1048576, 512",        // the smallest block: bitmap, data and padding in one 4 KiB
        "3145728, 4096",
        "5242880, 65536",
        "4194304, 1048576",
        "8388608, 4194304",    // a bitmap of two sectors
        "33554432, 33554432",
        "1536, 2097152",       // a disk smaller than one block
        "536870912, 2097152",  // a table of 256 entries, exactly 1 KiB
        "537919488, 2097152",  // 257 entries: the table crosses into another 4 KiB
    })
    void newAndFullyAllocatedDynamicSizesAreTheFilesTheLibraryWrites(long size, int blockSize) throws IOException {
        Measurement m = Measurement.ofNew(ImageType.DYNAMIC, size, blockSize);
        Path path = tmp.resolve("d.vhd");
        try (VhdDisk disk = Vhd.create(path, CreateOptions.dynamic(size).withBlockSize(blockSize))) {
            assertEquals(m.requiredBytes(), disk.fileSize(), "empty");
            byte[] one = {1};
            for (long at = 0; at < size; at += blockSize) {
                disk.write(at, one);
            }
        }
        assertEquals(m.fullyAllocatedBytes(), Files.size(path), "fully allocated");
    }

    @Test
    void newFixedSizeIsTheFileTheLibraryWrites() throws IOException {
        Path path = tmp.resolve("f.vhd");
        Vhd.create(path, CreateOptions.fixed(3 * MIB + 512)).close();
        assertEquals(Measurement.ofNew(ImageType.FIXED, 3 * MIB + 512, 0).requiredBytes(), Files.size(path));
    }

    @ParameterizedTest
    @CsvSource({"DYNAMIC, 0", "DYNAMIC, 65536", "DYNAMIC, 512", "DYNAMIC, 4194304", "FIXED, 0", "RAW, 0"})
    void aConversionsMeasurementIsTheSizeOfTheFileItWrites(ImageType type, int blockSize) throws IOException {
        for (long seed : List.of(1L, 2L, 3L)) {
            int size = (7 + (int) seed) * MIB + 512 * (int) seed;
            Path source = tmp.resolve("source-" + seed + ".vhd");
            byte[] model = new byte[size];
            try (VhdDisk disk = Vhd.create(source, CreateOptions.dynamic(size))) {
                TestDisks.fill(disk, model, seed);
                TestDisks.scribble(disk, model, seed, 3);
            }
            Path target = tmp.resolve("target-" + seed);
            Measurement m;
            try (VirtualDisk disk = Conversion.openSource(source)) {
                m = Measurement.ofConversion(disk, type, blockSize, ProgressListener.NONE);
                ConvertOptions options = ConvertOptions.to(type);
                Conversion.convert(disk, target, blockSize == 0 ? options : options.withBlockSize(blockSize),
                        ProgressListener.NONE);
            }
            assertEquals(m.requiredBytes(), Files.size(target), "seed " + seed);
            if (type == ImageType.DYNAMIC) {
                int chosen = blockSize == 0 ? 2 * MIB : blockSize;
                assertEquals(TestDisks.nonZeroBlocks(model, chosen), m.blocks(), "seed " + seed);
                try (VhdDisk disk = Vhd.openReadOnly(target)) {
                    assertEquals(m.blocks(), disk.blockAllocationTable().orElseThrow().allocatedCount());
                }
                assertEquals(Measurement.ofNew(type, size, blockSize).fullyAllocatedBytes(), m.fullyAllocatedBytes());
            }
        }
    }

    @Test
    void aDiskFullOfDataMeasuresAsFullyAllocated() throws IOException {
        byte[] data = new byte[6 * MIB + 1024];
        new Random(5).nextBytes(data);
        Path raw = tmp.resolve("full.img");
        Files.write(raw, data);
        try (VirtualDisk disk = Conversion.openSource(raw)) {
            Measurement m = Measurement.ofConversion(disk, ImageType.DYNAMIC, 0, ProgressListener.NONE);
            assertEquals(4, m.blocks());
            assertEquals(m.fullyAllocatedBytes(), m.requiredBytes());
        }
    }

    @Test
    void badSizesAndBlockSizesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Measurement.ofNew(ImageType.DYNAMIC, 1000, 0));
        assertThrows(IllegalArgumentException.class, () -> Measurement.ofNew(ImageType.RAW, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> Measurement.ofNew(ImageType.FIXED, Vhd.MAX_SIZE + 512, 0));
        assertEquals(Vhd.MAX_SIZE + 512, Measurement.ofNew(ImageType.RAW, Vhd.MAX_SIZE + 512, 0).requiredBytes());
        assertThrows(IllegalArgumentException.class, () -> Measurement.ofNew(ImageType.DYNAMIC, MIB, 1000));
        assertThrows(IllegalArgumentException.class, () -> Measurement.ofNew(ImageType.FIXED, MIB, 4096));
    }

    @Test
    void theLargestDynamicDiskIsMeasuredWithoutWritingIt() {
        Measurement m = Measurement.ofNew(ImageType.DYNAMIC, Vhd.MAX_SIZE, 0);
        long entries = Vhd.MAX_SIZE / (2 * MIB);
        long tableEnd = 1536 + 4 * entries; // a whole number of sectors already
        long firstBitmap = (tableEnd + 512 + 4095) / 4096 * 4096 - 512; // data 4 KiB-aligned
        assertEquals(firstBitmap + 512, m.requiredBytes());
        assertEquals(firstBitmap + (entries - 1) * (2 * MIB + 4096) + 512 + 2 * MIB + 512, m.fullyAllocatedBytes());
    }
}
