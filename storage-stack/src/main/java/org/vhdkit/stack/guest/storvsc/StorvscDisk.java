package org.vhdkit.stack.guest.storvsc;

import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.READ_16;
import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.SYNCHRONIZE_CACHE_10;
import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.WRITE_16;

import org.vhdkit.stack.protocol.storage.StorageProtocol;

/**
 * One disk (LUN) of a synthetic SCSI controller, as a guest program sees it: a block device with
 * requests in flight. Each call submits one request and returns its tag at once; the controller's
 * {@link StorvscController#awaitCompletion()} says when it finished and how.
 *
 * <p>Buffers are the program's own guest memory, named by guest physical address: the parent moves
 * the data straight between them and the disk. A buffer may span pages; it must lie inside guest
 * memory (the parent closes the channel otherwise).
 *
 * <p>Thread-safety: as its controller: confined to the virtual processor that opened it.
 */
public final class StorvscDisk {
    private final StorvscController controller;
    private final int lun;
    private long blocks;
    private int blockSize = 512;
    private boolean readOnly;
    private boolean present;

    StorvscDisk(StorvscController controller, int lun) {
        this.controller = controller;
        this.lun = lun;
    }

    void found(long newBlocks, int newBlockSize, boolean newReadOnly) {
        blocks = newBlocks;
        blockSize = newBlockSize;
        readOnly = newReadOnly;
        present = true;
    }

    void gone() {
        present = false;
    }

    /** The controller the disk is on. */
    public StorvscController controller() {
        return controller;
    }

    /** The disk's LUN on its controller. */
    public int lun() {
        return lun;
    }

    /** The number of logical blocks, from the last READ CAPACITY. */
    public long blocks() {
        return blocks;
    }

    /** The logical block size in bytes (512). */
    public int blockSize() {
        return blockSize;
    }

    /** The disk's size in bytes. */
    public long sizeBytes() {
        return blocks * blockSize;
    }

    /** Whether the disk refuses writes (MODE SENSE's write-protect bit). */
    public boolean readOnly() {
        return readOnly;
    }

    /** Whether the last scan found the disk (false once it was hot removed). */
    public boolean present() {
        return present;
    }

    /**
     * Submits a READ(16) of {@code count} blocks from {@code lba} into guest memory at
     * {@code bufferGpa}; returns the tag.
     *
     * @throws IllegalArgumentException when the transfer is longer than the controller's maximum
     * @throws IllegalStateException when every tag is in use
     */
    public int read(long lba, int count, long bufferGpa) throws StorvscException {
        return controller.submit(this, READ_16, lba, count, bufferGpa, bytes(count), StorageProtocol.DATA_IN);
    }

    /** Submits a WRITE(16) of {@code count} blocks to {@code lba} from guest memory at {@code bufferGpa}. */
    public int write(long lba, int count, long bufferGpa) throws StorvscException {
        return controller.submit(this, WRITE_16, lba, count, bufferGpa, bytes(count), StorageProtocol.DATA_OUT);
    }

    /**
     * Submits a SYNCHRONIZE CACHE(10) of the whole disk: when it completes OK, every write that
     * completed before it was submitted is durable.
     */
    public int flush() throws StorvscException {
        return controller.submit(this, SYNCHRONIZE_CACHE_10, 0, 0, 0, 0, StorageProtocol.DATA_UNKNOWN);
    }

    private int bytes(int count) {
        long n = (long) count * blockSize;
        if (count < 0 || n > controller.maxTransferBytes()) {
            throw new IllegalArgumentException(count + " blocks of " + blockSize + " bytes; a request moves at most "
                    + controller.maxTransferBytes() + " bytes");
        }
        return (int) n;
    }

    @Override
    public String toString() {
        return "StorvscDisk[channel " + controller.offer().channelId() + " LUN " + lun + ", " + blocks + " blocks"
                + (readOnly ? ", read-only" : "") + (present ? "" : ", gone") + "]";
    }
}
