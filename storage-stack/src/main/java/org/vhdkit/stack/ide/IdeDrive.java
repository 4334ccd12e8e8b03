package org.vhdkit.stack.ide;

/**
 * One device on an IDE channel (master or slave): its own copy of the task-file registers (the host
 * writes both devices' copies at once, as on a real cable; reads come from the selected one), its
 * status and error registers, and the command set it answers.
 *
 * <p>Thread-safety: confined to the VM worker's thread, as its {@link IdeChannel}.
 */
abstract sealed class IdeDrive permits AtaDisk, AtapiDrive {
    static final int BSY = 0x80;
    static final int DRDY = 0x40;
    static final int DF = 0x20;
    static final int DSC = 0x10;
    static final int DRQ = 0x08;
    static final int ERR = 0x01;
    /** Error register: command aborted. */
    static final int ABRT = 0x04;
    /** Error register: uncorrectable data error (a failed host read). */
    static final int UNC = 0x40;
    /** The LBA bit of the device register. */
    static final int LBA = 0x40;

    final IdeChannel channel;
    int status;
    int error;
    int features;
    int count;
    int lbaLow;
    int lbaMid;
    int lbaHigh;
    int device;
    int hobFeatures;
    int hobCount;
    int hobLow;
    int hobMid;
    int hobHigh;

    IdeDrive(IdeChannel channel) {
        this.channel = channel;
    }

    /** Whether the drive holds BSY or DRQ: then only a reset is accepted. */
    final boolean busy() {
        return (status & (BSY | DRQ)) != 0;
    }

    /** A reset (power on, SRST, DEVICE RESET): the signature in the task file, no transfer. */
    abstract void reset();

    /** Executes command {@code command} written to the command register. */
    abstract void command(int command);

    /** The channel's PIO buffer was drained (data-in) or filled (data-out). */
    abstract void blockDone();

    /** The bus master was started while this drive waits for it with a DMA command. */
    void dmaStarted() {
    }

    /** Forgets any command under way (a reset of the channel). */
    abstract void cancel();

    /** Flushes and closes what the drive holds; on release of the VM. */
    abstract void release();

    /** Ends the current command with ABRT, ERR and an interrupt. */
    final void abort() {
        channel.endTransfer();
        error = ABRT;
        status = DRDY | DSC | ERR;
        channel.interrupt();
    }

    /** Writes {@code value} to register {@code reg} (1 to 6) of this drive's task file. */
    final void latch(int reg, int value) {
        switch (reg) {
            case 1 -> {
                hobFeatures = features;
                features = value;
            }
            case 2 -> {
                hobCount = count;
                count = value;
            }
            case 3 -> {
                hobLow = lbaLow;
                lbaLow = value;
            }
            case 4 -> {
                hobMid = lbaMid;
                lbaMid = value;
            }
            case 5 -> {
                hobHigh = lbaHigh;
                lbaHigh = value;
            }
            case 6 -> device = value;
            default -> throw new IllegalArgumentException("register " + reg);
        }
    }

    /** Reads register {@code reg} (1 to 6) of this drive's task file; {@code hob} for the previous values. */
    final int register(int reg, boolean hob) {
        return switch (reg) {
            case 1 -> error;
            case 2 -> hob ? hobCount : count;
            case 3 -> hob ? hobLow : lbaLow;
            case 4 -> hob ? hobMid : lbaMid;
            case 5 -> hob ? hobHigh : lbaHigh;
            case 6 -> device | 0xA0;
            default -> throw new IllegalArgumentException("register " + reg);
        };
    }

    /** Sets the task file to a signature (ATA 0/0, ATAPI 0x14/0xEB), as after a reset. */
    final void signature(int mid, int high) {
        count = 1;
        lbaLow = 1;
        lbaMid = mid;
        lbaHigh = high;
        device = 0;
        hobCount = hobLow = hobMid = hobHigh = hobFeatures = 0;
        features = 0;
        error = 1; // diagnostic code: no error
    }

    /** Puts {@code text} as an ATA string into {@code words[first, first + n)}: two characters a word, the first in the high byte. */
    static void putString(byte[] identify, int firstWord, int words, String text) {
        for (int i = 0; i < 2 * words; i++) {
            char ch = i < text.length() ? text.charAt(i) : ' ';
            // Word w holds characters 2k (high byte) and 2k+1 (low byte); words are little-endian.
            int at = 2 * firstWord + (i ^ 1);
            identify[at] = (byte) (ch < 0x20 || ch > 0x7E ? '?' : ch);
        }
    }

    static void putWord(byte[] identify, int word, int value) {
        identify[2 * word] = (byte) value;
        identify[2 * word + 1] = (byte) (value >>> 8);
    }
}
