package org.vhdkit.stack.ide;

import java.lang.System.Logger.Level;
import org.vhdkit.stack.protocol.scsi.ScsiOpcodes;
import org.vhdkit.stack.scsi.CdRom;
import org.vhdkit.stack.scsi.ScsiCommand;
import org.vhdkit.stack.scsi.ScsiStatus;
import org.vhdkit.stack.scsi.Sense;

/**
 * An ATAPI CD/DVD drive on an IDE channel: the PACKET protocol in front of a {@link CdRom}.
 *
 * <h2>Protocol</h2>
 * PACKET (0xA0) sets DRQ with interrupt reason CoD (sector count 0x01) and takes 12 bytes through
 * the data port; then the packet runs on the {@link CdRom}. Data-in goes back in DRQ blocks of at
 * most the byte count limit the guest put in the cylinder registers (0xFFFF counts as 0xFFFE, an
 * odd limit is rounded down; 0 aborts the command), each block's length in the cylinder
 * registers, interrupt reason IO (0x02) and an interrupt per block; the end is interrupt reason
 * IO|CoD (0x03) with an interrupt. READ(10)/(12) stream through the 64 KiB buffer 32 blocks at a
 * time. A CHECK CONDITION ends the command with ERR and the error register holding the sense key in
 * its high nibble (REQUEST SENSE then returns the sense). PACKET with the DMA bit is aborted (this
 * drive does PIO only; IDENTIFY PACKET DEVICE says so).
 *
 * <p>Also IDENTIFY PACKET DEVICE (0xA1), DEVICE RESET (0x08, accepted even while busy), SET
 * FEATURES (0xEF) and CHECK POWER MODE (0xE5); IDENTIFY DEVICE (0xEC) aborts with the ATAPI
 * signature 0x14/0xEB in the cylinder registers, as does everything else.
 *
 * <p>Thread-safety: confined to the VM worker's thread.
 */
final class AtapiDrive extends IdeDrive {
    private static final System.Logger LOG = System.getLogger(AtapiDrive.class.getName());
    static final int DEVICE_RESET = 0x08;
    static final int PACKET = 0xA0;
    static final int PACKET_LENGTH = 12;
    static final int CHUNK_BLOCKS = IdeChannel.BUFFER / CdRom.BLOCK_SIZE;

    private static final int REASON_COD = 0x01;
    private static final int REASON_IO = 0x02;

    private final CdRom unit;
    private final ScsiCommand command = new ScsiCommand(1);
    private final byte[] packet = new byte[PACKET_LENGTH];
    private final byte[] chunkCdb = new byte[PACKET_LENGTH];
    private final byte[] identify = new byte[512];

    private boolean awaitingPacket;
    private boolean identifying;
    private int limit;
    private int offset;
    private int filled;
    private int block;
    private long readLba;
    private long readBlocks;
    private byte readFlags;

    AtapiDrive(IdeChannel channel, CdRom unit, String serial) {
        super(channel);
        this.unit = unit;
        putWord(identify, 0, 0x85C0); // ATAPI, CD/DVD, removable, DRQ within 50 us, 12-byte packets
        putString(identify, 10, 10, serial);
        putString(identify, 23, 4, "1.1.0");
        putString(identify, 27, 20, "Msft Virtual CD/ROM");
        putWord(identify, 49, 0x0200); // LBA; no DMA
        putWord(identify, 53, 0x0006);
        putWord(identify, 64, 0x0003);
        for (int w = 65; w <= 68; w++) {
            putWord(identify, w, 120);
        }
        putWord(identify, 80, 0x007E);
        reset();
    }

    CdRom unit() {
        return unit;
    }

    @Override
    void reset() {
        cancel();
        signature(0x14, 0xEB);
        status = 0;
    }

    @Override
    void cancel() {
        awaitingPacket = false;
        identifying = false;
        readBlocks = 0;
        filled = 0;
        offset = 0;
    }

    @Override
    void command(int cmd) {
        switch (cmd) {
            case DEVICE_RESET -> {
                channel.endTransfer();
                reset();
            }
            case PACKET -> {
                if ((features & 0x01) != 0) {
                    abort(); // DMA is not supported on this drive
                    return;
                }
                cancel();
                awaitingPacket = true;
                count = REASON_COD;
                status = DRDY | DSC | DRQ;
                channel.startTransfer(this, 0, PACKET_LENGTH, false);
            }
            case 0xA1 -> {
                System.arraycopy(identify, 0, channel.buffer, 0, identify.length);
                cancel();
                identifying = true;
                filled = identify.length;
                limit = identify.length;
                offer(false);
            }
            case 0xEF -> {
                status = DRDY | DSC;
                channel.interrupt();
            }
            case 0xE5 -> {
                count = 0xFF;
                status = DRDY | DSC;
                channel.interrupt();
            }
            default -> {
                signature(0x14, 0xEB);
                error = ABRT;
                channel.endTransfer();
                status = DRDY | ERR;
                channel.interrupt();
            }
        }
    }

    @Override
    void blockDone() {
        if (awaitingPacket) {
            awaitingPacket = false;
            System.arraycopy(channel.buffer, 0, packet, 0, PACKET_LENGTH);
            runPacket();
            return;
        }
        offset += block;
        if (identifying) {
            identifying = false;
            filled = 0;
            status = DRDY | DSC;
        } else if (offset < filled) {
            offer(true);
        } else if (readBlocks > 0) {
            fillRead();
        } else {
            finish();
        }
    }

    private void runPacket() {
        int requested = lbaMid | lbaHigh << 8;
        limit = requested == 0xFFFF ? 0xFFFE : requested & ~1;
        if (limit == 0) {
            abort();
            return;
        }
        int op = packet[0] & 0xFF;
        if (op == ScsiOpcodes.READ_10 || op == ScsiOpcodes.READ_12) {
            long lba = u32(packet, 2);
            long blocks = op == ScsiOpcodes.READ_10 ? (packet[7] & 0xFF) << 8 | (packet[8] & 0xFF) : u32(packet, 6);
            if (blocks > CHUNK_BLOCKS && (lba > unit.blocks() || blocks > unit.blocks() - lba)) {
                // Let the unit refuse the whole range (unit attention, no medium or out of range) before anything moves.
                command.cdb(packet).noData();
                unit.execute(command);
                if (command.status() != ScsiStatus.GOOD) {
                    fail(command.sense().orElse(Sense.LBA_OUT_OF_RANGE));
                } else {
                    finish();
                }
                return;
            }
            readLba = lba;
            readBlocks = blocks;
            readFlags = packet[1];
            if (blocks == 0) {
                command.cdb(packet).noData();
                unit.execute(command);
                complete();
                return;
            }
            fillRead();
            return;
        }
        command.cdb(packet).scatter(channel.bufferSegment, ScsiCommand.Direction.IN).addRange(0, IdeChannel.BUFFER);
        unit.execute(command);
        complete();
    }

    /** Runs the next READ(12) of at most {@link #CHUNK_BLOCKS} blocks into the buffer and offers it. */
    private void fillRead() {
        int n = (int) Math.min(readBlocks, CHUNK_BLOCKS);
        chunkCdb[0] = (byte) ScsiOpcodes.READ_12;
        chunkCdb[1] = readFlags;
        put32(chunkCdb, 2, readLba);
        put32(chunkCdb, 6, n);
        command.cdb(chunkCdb).scatter(channel.bufferSegment, ScsiCommand.Direction.IN)
                .addRange(0, (long) n * CdRom.BLOCK_SIZE);
        unit.execute(command);
        readLba += n;
        readBlocks -= n;
        if (command.status() != ScsiStatus.GOOD) {
            readBlocks = 0;
            fail(command.sense().orElse(Sense.UNRECOVERED_READ_ERROR));
            return;
        }
        filled = n * CdRom.BLOCK_SIZE;
        offset = 0;
        offer(true);
    }

    /** Ends a command run on the unit: its data (if any), then the completion, or its error. */
    private void complete() {
        if (command.status() != ScsiStatus.GOOD) {
            fail(command.sense().orElse(Sense.INVALID_FIELD_IN_CDB));
            return;
        }
        filled = (int) command.transferred();
        offset = 0;
        if (filled == 0) {
            finish();
        } else {
            offer(true);
        }
    }

    /** Offers {@code buffer[offset, ...)} as one DRQ block of at most the byte count limit. */
    private void offer(boolean packetData) {
        block = Math.min(limit, filled - offset);
        if (packetData) {
            lbaMid = block & 0xFF;
            lbaHigh = block >>> 8;
            count = REASON_IO;
        }
        status = DRDY | DSC | DRQ;
        channel.startTransfer(this, offset, offset + block, true);
        channel.interrupt();
    }

    private void finish() {
        filled = 0;
        count = REASON_IO | REASON_COD;
        status = DRDY | DSC;
        channel.interrupt();
    }

    private void fail(Sense sense) {
        channel.endTransfer();
        filled = 0;
        count = REASON_IO | REASON_COD;
        error = sense.key().code() << 4;
        status = DRDY | DSC | ERR;
        channel.interrupt();
    }

    private static long u32(byte[] b, int i) {
        return (long) (b[i] & 0xFF) << 24 | (b[i + 1] & 0xFF) << 16 | (b[i + 2] & 0xFF) << 8 | (b[i + 3] & 0xFF);
    }

    private static void put32(byte[] b, int i, long v) {
        b[i] = (byte) (v >>> 24);
        b[i + 1] = (byte) (v >>> 16);
        b[i + 2] = (byte) (v >>> 8);
        b[i + 3] = (byte) v;
    }

    @Override
    void release() {
        unit.eject().ifPresent(disk -> {
            try {
                disk.close();
            } catch (Exception e) {
                LOG.log(Level.WARNING, "closing " + disk.name() + " failed: " + e);
            }
        });
    }
}
