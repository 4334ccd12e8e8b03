package org.vhdkit.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalInt;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.format.BlockAllocationTable;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.format.VhdFormatException;

/**
 * What one layer of a disk (a VHD file) holds, taken while it is open so that it can be shown after
 * it is closed.
 *
 * @param path            the file
 * @param footer          the footer in force
 * @param header          the dynamic header of a dynamic or differencing disk
 * @param allocatedBlocks how many blocks the table maps, for a dynamic or differencing disk
 * @param fileSize        the size of the file
 * @param parent          the file the parent was found in, for a differencing disk whose parent was
 *                        found
 */
record LayerFacts(Path path, Footer footer, Optional<DynamicHeader> header, OptionalInt allocatedBlocks,
                  long fileSize, Optional<Path> parent) {

    /** The facts of an open disk (not of its parents). */
    static LayerFacts of(VhdDisk disk) {
        return new LayerFacts(disk.path(), disk.footer(), disk.dynamicHeader(),
                disk.blockAllocationTable().map(t -> OptionalInt.of(t.allocatedCount())).orElse(OptionalInt.empty()),
                disk.fileSize(), disk.parent().map(VhdDisk::path));
    }

    /**
     * The facts of a differencing disk whose parent cannot be found, which the library therefore
     * will not open: its trailing footer (or the copy at offset 0), dynamic header and table, read
     * here. The library has already checked them; anything unexpected gives empty.
     */
    static Optional<LayerFacts> readWithoutParent(Path path) {
        try (SeekableByteChannel channel = Files.newByteChannel(path)) {
            String name = path.toString();
            long fileSize = channel.size();
            Footer footer;
            try {
                footer = Footer.decode(name, read(channel, fileSize - Footer.SIZE, Footer.SIZE), 0, fileSize - Footer.SIZE);
            } catch (VhdFormatException e) {
                footer = Footer.decode(name, read(channel, 0, Footer.SIZE), 0, 0);
            }
            if (footer.diskType() == DiskType.FIXED) {
                return Optional.empty();
            }
            DynamicHeader header = DynamicHeader.decode(name, read(channel, footer.dataOffset(), DynamicHeader.SIZE), 0,
                    footer.dataOffset());
            int entries = header.maxTableEntries();
            BlockAllocationTable table = BlockAllocationTable.decode(
                    read(channel, header.tableOffset(), Math.multiplyExact(entries, 4)), entries);
            return Optional.of(new LayerFacts(path, footer, Optional.of(header), OptionalInt.of(table.allocatedCount()),
                    fileSize, Optional.empty()));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** {@code length} bytes at {@code offset}; fewer only at the end of the file. */
    static byte[] read(SeekableByteChannel channel, long offset, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        channel.position(offset);
        while (buffer.hasRemaining() && channel.read(buffer) >= 0) {
            // keep reading
        }
        if (buffer.hasRemaining()) {
            throw new java.io.EOFException(length + " bytes at offset " + offset + " run past the end of the file");
        }
        return buffer.array();
    }
}
