package org.vhdkit.vhd.image;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Creator;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.BlockAllocationTable;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.format.ParentLocator;
import org.vhdkit.vhd.format.PlatformCode;
import org.vhdkit.vhd.format.VhdTime;
import org.vhdkit.vhd.io.ByteStore;
import org.vhdkit.vhd.io.FolderEvents;

/**
 * Writes new images, laid out as Hyper-V lays them out except where that trips qemu.
 *
 * <p>Dynamic and differencing: footer copy at 0, dynamic header at 512, parent locator data (a
 * differencing disk's relative and absolute Windows paths, each in whole sectors) from 1536, then
 * the table (padded with 0xFF to a whole sector) placed so that it ends where the first block's
 * bitmap will go, and there the trailing footer: the sector before a 4 KiB boundary, so that block
 * data is 4 KiB-aligned as Windows aligns it. (Hyper-V starts the table at 1536 and pads it with 0xFF
 * to 4 KiB; qemu then writes its first block over that padding without clearing it, and the 0xFF
 * bytes appear in the disk.) Fixed: the data, then the footer.
 *
 * <p>Public for {@link Vhd#create}, the entry point, which says what it does.
 *
 * <p>Thread-safety: stateless; safe from any thread.
 */
public final class VhdCreation {
    private static final int DATA_ALIGNMENT = 4096;
    private static final long ZERO_FILL_CHUNK = 1 << 20;

    private VhdCreation() {
    }

    /** Creates the image at {@code path} as {@link Vhd#create} describes. */
    public static VhdDisk create(Path path, CreateOptions options) throws IOException {
        UUID id = options.uniqueId().orElseGet(UUID::randomUUID);
        long timestamp = VhdTime.fromInstant(options.timestamp().orElseGet(Instant::now));
        Creator creator = options.creator();
        return switch (options.type()) {
            case FIXED -> {
                checkSize(options.size());
                Footer footer = Footer.create(DiskType.FIXED, options.size(), id, timestamp,
                        creator.application(), creator.version(), creator.hostOs());
                yield writeNew(path, store -> {
                    if (options.zeroFill()) {
                        zeroFill(store, options.size());
                    }
                    store.writeBytes(options.size(), footer.encode());
                });
            }
            case DYNAMIC -> {
                checkSize(options.size());
                int blockSize = checkBlockSize(options.blockSize());
                Footer footer = Footer.create(DiskType.DYNAMIC, options.size(), id, timestamp,
                        creator.application(), creator.version(), creator.hostOs());
                yield writeNew(path, store -> writeSparse(store, footer, blockSize, null));
            }
            case DIFFERENCING -> createDifferencing(path, options, id, timestamp);
        };
    }

    private static VhdDisk createDifferencing(Path path, CreateOptions options, UUID id, long timestamp)
            throws IOException {
        Path parentPath = options.parent().orElseThrow(
                () -> new IllegalArgumentException("a differencing disk needs a parent"));
        Footer footer;
        ParentLink link;
        int blockSize;
        try (VhdDisk parent = Vhd.openReadOnly(parentPath)) {
            long size = options.size() == 0 ? parent.size() : options.size();
            if (size < parent.size()) {
                throw new IllegalArgumentException("a differencing disk cannot be smaller than its parent ("
                        + parent.size() + " bytes); asked for " + size);
            }
            checkSize(size);
            blockSize = checkBlockSize(options.blockSize() != 0 ? options.blockSize()
                    : parent.dynamicHeader().map(DynamicHeader::blockSize).orElse(DynamicHeader.DEFAULT_BLOCK_SIZE));
            Creator creator = options.creator();
            footer = Footer.create(DiskType.DIFFERENCING, size, id, timestamp,
                    creator.application(), creator.version(), creator.hostOs());
            link = ParentLink.of(path, parentPath, parent.footer().uniqueId());
        }
        ParentLink finalLink = link;
        return writeNew(path, store -> writeSparse(store, footer, blockSize, finalLink));
    }

    /** What a differencing disk records of its parent. */
    private record ParentLink(UUID uuid, long timestamp, String name, String relative, String absolute) {
        static ParentLink of(Path child, Path parent, UUID uuid) throws IOException {
            Path parentAbsolute = parent.toAbsolutePath().normalize();
            Path childDirectory = child.toAbsolutePath().normalize().getParent();
            Path relative = childDirectory.relativize(parentAbsolute);
            String relativeText = relative.toString().replace('/', '\\');
            if (!relativeText.startsWith("..")) {
                relativeText = ".\\" + relativeText;
            }
            String absoluteText = parentAbsolute.toString().replace('/', '\\');
            long modified = VhdTime.fromInstant(Files.getLastModifiedTime(parent).toInstant());
            return new ParentLink(uuid, modified, parentAbsolute.getFileName().toString(), relativeText, absoluteText);
        }
    }

    private static void writeSparse(ByteStore store, Footer footer, int blockSize, ParentLink link)
            throws IOException {
        long entries = (footer.currentSize() + blockSize - 1) / blockSize;
        long headerOffset = footer.dataOffset();
        long next = headerOffset + DynamicHeader.SIZE;
        List<ParentLocator> locators = new ArrayList<>(java.util.Collections.nCopies(8, ParentLocator.EMPTY));
        List<byte[]> locatorData = new ArrayList<>();
        if (link != null) {
            // Slot order as Windows writes it: absolute first, relative second.
            byte[] absolute = PlatformCode.W2KU.encodePath(link.absolute());
            byte[] relative = PlatformCode.W2RU.encodePath(link.relative());
            long relativeAt = next;
            int relativeSpace = roundUp(relative.length, VirtualDisk.SECTOR_SIZE);
            long absoluteAt = relativeAt + relativeSpace;
            int absoluteSpace = roundUp(absolute.length, VirtualDisk.SECTOR_SIZE);
            locators.set(0, new ParentLocator(PlatformCode.W2KU.code(), absoluteSpace, absolute.length, 0, absoluteAt));
            locators.set(1, new ParentLocator(PlatformCode.W2RU.code(), relativeSpace, relative.length, 0, relativeAt));
            locatorData.add(relative);
            locatorData.add(absolute);
            next = absoluteAt + absoluteSpace;
        }
        // The table ends exactly where the first block's bitmap will go (the trailing footer's place
        // until then), that block's data 4 KiB-aligned. qemu puts its first new block right after the
        // table's last sector and does not clear it: any padding there would show through.
        int tableLength = roundUp(entries * 4, VirtualDisk.SECTOR_SIZE);
        long bitmapBytes = roundUp(Math.max(1, blockSize / (VirtualDisk.SECTOR_SIZE * 8)), VirtualDisk.SECTOR_SIZE);
        long trailer = roundUp(next + tableLength + bitmapBytes, DATA_ALIGNMENT) - bitmapBytes;
        long tableOffset = trailer - tableLength;
        DynamicHeader header = DynamicHeader.create(tableOffset, (int) entries, blockSize);
        if (link != null) {
            header = header.withParent(link.uuid(), link.timestamp(), link.name(), locators);
        }
        byte[] footerBytes = footer.encode();
        store.writeBytes(0, footerBytes);
        store.writeBytes(headerOffset, header.encode());
        long at = headerOffset + DynamicHeader.SIZE;
        for (byte[] data : locatorData) {
            store.writeBytes(at, Arrays.copyOf(data, roundUp(data.length, VirtualDisk.SECTOR_SIZE)));
            at += roundUp(data.length, VirtualDisk.SECTOR_SIZE);
        }
        store.writeBytes(tableOffset, new BlockAllocationTable((int) entries).encode(tableLength));
        store.writeBytes(trailer, footerBytes);
    }

    /** Something written into a new file. */
    private interface Writing {
        void writeInto(ByteStore store) throws IOException;
    }

    /** Writes a new file and opens it, or leaves nothing behind. */
    private static VhdDisk writeNew(Path path, Writing writing) throws IOException {
        ByteStore store = ByteStore.open(path, ByteStore.Mode.CREATE_NEW);
        try {
            writing.writeInto(store);
            store.force();
            // The file's name is durable only once its folder is: without this a power cut soon
            // after the creation returned could leave no file at all.
            FolderEvents.force(path.toAbsolutePath().getParent());
            return VhdReader.open(store, ByteStore.Backing.AUTO, true, null, Lineage.TOP);
        } catch (IOException | RuntimeException e) {
            try {
                store.close();
            } finally {
                Files.deleteIfExists(path);
            }
            throw e;
        }
    }

    private static void zeroFill(ByteStore store, long size) throws IOException {
        MemorySegment zeros = MemorySegment.ofArray(new byte[(int) ZERO_FILL_CHUNK]);
        for (long at = 0; at < size; at += ZERO_FILL_CHUNK) {
            store.write(at, zeros, 0, Math.min(ZERO_FILL_CHUNK, size - at));
        }
    }

    private static void checkSize(long size) {
        if (size <= 0 || size % VirtualDisk.SECTOR_SIZE != 0) {
            throw new IllegalArgumentException("the size must be a positive multiple of 512 bytes; " + size + " is not");
        }
        if (size > Vhd.MAX_SIZE) {
            throw new IllegalArgumentException("the size " + size + " is larger than a VHD can be (2040 GiB, "
                    + Vhd.MAX_SIZE + " bytes)");
        }
    }

    private static int checkBlockSize(int blockSize) {
        if (blockSize < VirtualDisk.SECTOR_SIZE || blockSize > (256 << 20) || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("the block size must be a power of two from 512 bytes to 256 MiB; "
                    + blockSize + " is not");
        }
        return blockSize;
    }

    private static int roundUp(long value, int multiple) {
        return (int) ((value + multiple - 1) / multiple * multiple);
    }
}
