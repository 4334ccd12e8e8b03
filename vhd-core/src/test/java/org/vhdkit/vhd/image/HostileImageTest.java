package org.vhdkit.vhd.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.format.VhdFormatException;

/**
 * Images made to hurt the reader through a size field: each is refused with a clear error before
 * the field makes us allocate or read what it says. (Too large for a fuzz input: the file must be
 * as large as the table it claims, which a sparse file makes cheap.)
 */
class HostileImageTest {
    @TempDir
    Path tmp;

    /**
     * A dynamic header claiming 2^29 entries in blocks of 512 bytes (a 256 GiB disk, a 2 GiB table in a
     * sparse file of that size): the reader multiplied the count by 4 in an int and failed with an
     * ArithmeticException; a count just below that would have read the whole table into memory.
     */
    @Test
    void aTableOfMoreEntriesThanAnyImageNeedsIsRefusedBeforeItIsRead() throws IOException {
        Path image = tmp.resolve("huge-table.vhd");
        int entries = 1 << 29;
        long size = (long) entries * 512;
        try (VhdDisk disk = Vhd.create(image, CreateOptions.dynamic(64 << 10))) {
            disk.flush();
        }
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            byte[] footerBytes = new byte[Footer.SIZE];
            file.seek(file.length() - Footer.SIZE);
            file.readFully(footerBytes);
            Footer footer = Footer.decode(image.toString(), footerBytes, 0, file.length() - Footer.SIZE);
            byte[] headerBytes = new byte[DynamicHeader.SIZE];
            file.seek(footer.dataOffset());
            file.readFully(headerBytes);
            DynamicHeader header = DynamicHeader.decode(image.toString(), headerBytes, 0, footer.dataOffset());
            DynamicHeader hostile = new DynamicHeader(header.dataOffset(), header.tableOffset(), header.headerVersion(),
                    entries, 512, 0, header.parentUuid(), header.parentTimestamp(), header.parentName(),
                    header.locators());
            Footer grown = footer.withCurrentSize(size);
            long end = header.tableOffset() + 4L * entries + 4096;
            file.setLength(end + Footer.SIZE);
            file.seek(0);
            file.write(grown.encode());
            file.seek(footer.dataOffset());
            file.write(hostile.encode());
            file.seek(end);
            file.write(grown.encode());
        }
        VhdFormatException refused = assertThrows(VhdFormatException.class, () -> Vhd.openReadOnly(image).close());
        assertEquals("dynamic header Max Table Entries", refused.field());
        assertTrue(refused.getMessage().contains("536870912 entries (a table of 2147483648 bytes), more than the 16777216"),
                refused.getMessage());
        CheckReport report = ImageCheck.check(image, ProgressListener.NONE);
        assertEquals(CheckReport.Status.CORRUPT, report.status());
        assertTrue(report.findings().stream().anyMatch(f -> f.code().equals("TABLE_TOO_LARGE")), report.toString());
    }
}
