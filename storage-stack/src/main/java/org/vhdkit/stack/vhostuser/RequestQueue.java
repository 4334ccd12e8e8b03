package org.vhdkit.stack.vhostuser;

import static org.vhdkit.stack.protocol.vhostuser.VirtioScsi.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.LongAdder;
import org.vhdkit.stack.protocol.vhostuser.VirtioScsi;
import org.vhdkit.stack.scsi.ScsiCommand;
import org.vhdkit.stack.scsi.ScsiStatus;
import org.vhdkit.stack.scsi.ScsiTarget;

/**
 * A virtio-scsi request queue: each chain is a command request (LUN field, tag, CDB) and data-out
 * in the readable part, a response and data-in in the writable part. The command runs on the
 * {@link ScsiTarget} through one reused {@link ScsiCommand} whose data ranges are the guest's own
 * buffers in the memory window, so data moves once, between the disk and guest memory.
 *
 * <p>A LUN field that names another target, another addressing method, or a LUN beyond the target
 * is answered BAD_TARGET; a LUN of the target with no unit goes to the target, which answers as SPC
 * says (INQUIRY with peripheral qualifier 3, LOGICAL UNIT NOT SUPPORTED), as a guest's LUN scan and
 * hot add need. A chain with both data-out and data-in (bidirectional commands are not offered) is
 * answered FAILURE.
 *
 * <p>Thread-safety: none; it belongs to its queue's worker.
 */
final class RequestQueue implements Virtqueue.Service {
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final ScsiTarget target;
    private final LongAdder served;
    private final ScsiCommand command = new ScsiCommand(DescriptorChain.MAX_RANGES);
    private MemorySegment request;
    private MemorySegment response;

    RequestQueue(ScsiTarget target, LongAdder served) {
        this.target = target;
        this.served = served;
    }

    @Override
    public void started(Arena arena) {
        request = arena.allocate(REQUEST_LENGTH);
        response = arena.allocate(RESPONSE_LENGTH);
    }

    @Override
    public boolean wantsChains() {
        return true;
    }

    @Override
    public int serve(DescriptorChain chain, Virtqueue.Scratch scratch) {
        if (chain.writableLength < RESPONSE_LENGTH) {
            return -1;
        }
        response.asSlice(0, RESP_SENSE).fill((byte) 0);
        if (chain.readableLength < REQUEST_LENGTH) {
            return respond(chain, S_FAILURE, 0);
        }
        chain.read(0, request, REQUEST_LENGTH);
        int lun = VirtioScsi.lun(request, REQ_LUN);
        if (lun < 0 || lun >= target.lunCount()) {
            return respond(chain, S_BAD_TARGET, 0);
        }
        long dataOut = chain.readableLength - REQUEST_LENGTH;
        long dataIn = chain.writableLength - RESPONSE_LENGTH;
        if (dataOut > 0 && dataIn > 0) {
            return respond(chain, S_FAILURE, 0);
        }
        int opcode = request.get(ValueLayout.JAVA_BYTE, REQ_CDB) & 0xFF;
        ScsiCommand c = command;
        c.cdb(request, REQ_CDB, VirtioScsi.cdbLength(opcode));
        MemorySegment window = chain.window();
        boolean fits = true;
        if (dataOut > 0) {
            c.scatter(window, ScsiCommand.Direction.OUT);
            fits = chain.addData(c, false, REQUEST_LENGTH);
        } else if (dataIn > 0) {
            c.scatter(window, ScsiCommand.Direction.IN);
            fits = chain.addData(c, true, RESPONSE_LENGTH);
        } else {
            c.noData();
        }
        if (!fits) {
            return respond(chain, S_FAILURE, 0);
        }
        try {
            target.execute(lun, c);
        } catch (RuntimeException e) {
            // A unit never throws by contract; if one does, the request fails and the queue goes on.
            return respond(chain, S_TARGET_FAILURE, 0);
        }
        served.increment();
        int senseLength = c.writeSense(response, RESP_SENSE, SENSE_SIZE);
        response.set(U32, RESP_SENSE_LEN, senseLength);
        response.set(U32, RESP_RESID, (int) Math.min(c.residual(), 0xFFFF_FFFFL));
        response.set(ValueLayout.JAVA_BYTE, RESP_STATUS, (byte) c.status().code());
        long in = dataIn > 0 && c.status() == ScsiStatus.GOOD ? c.transferred() : 0;
        return respond(chain, S_OK, in);
    }

    private int respond(DescriptorChain chain, int code, long dataIn) {
        response.set(ValueLayout.JAVA_BYTE, RESP_RESPONSE, (byte) code);
        chain.write(0, response, RESPONSE_LENGTH);
        return (int) (RESPONSE_LENGTH + dataIn);
    }
}
