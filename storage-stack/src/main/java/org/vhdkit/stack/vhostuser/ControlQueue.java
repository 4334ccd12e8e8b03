package org.vhdkit.stack.vhostuser;

import static org.vhdkit.stack.protocol.vhostuser.VirtioScsi.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.function.Consumer;
import org.vhdkit.stack.protocol.vhostuser.VirtioScsi;
import org.vhdkit.stack.scsi.ScsiTarget;
import org.vhdkit.stack.scsi.Sense;

/**
 * The virtio-scsi control queue: task management functions and asynchronous notification queries
 * and subscriptions.
 *
 * <p>Commands run to completion on their queue's worker before the chain is returned, so when a
 * task management request is read no task it could name is still waiting: ABORT TASK, ABORT TASK
 * SET, CLEAR TASK SET, CLEAR ACA and I_T NEXUS RESET complete with nothing to do, QUERY TASK and
 * QUERY TASK SET find none, and LOGICAL UNIT RESET also establishes the unit attention BUS DEVICE
 * RESET FUNCTION OCCURRED (29h/03h) SAM asks for. A LUN that is not the target's is BAD_TARGET; an
 * unknown function is FUNCTION_REJECTED. No asynchronous event is supported: queries and
 * subscriptions answer event_actual 0.
 *
 * <p>Thread-safety: none; it belongs to its queue's worker.
 */
final class ControlQueue implements Virtqueue.Service {
    static final Sense RESET_OCCURRED = new Sense(Sense.Key.UNIT_ATTENTION, 0x29, 0x03);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final ScsiTarget target;
    private final Consumer<String> log;
    private MemorySegment request;
    private MemorySegment response;

    ControlQueue(ScsiTarget target, Consumer<String> log) {
        this.target = target;
        this.log = log;
    }

    @Override
    public void started(Arena arena) {
        request = arena.allocate(TMF_REQUEST_LENGTH);
        response = arena.allocate(AN_RESPONSE_LENGTH);
    }

    @Override
    public boolean wantsChains() {
        return true;
    }

    @Override
    public int serve(DescriptorChain chain, Virtqueue.Scratch scratch) {
        if (chain.readableLength < 4 || chain.writableLength < 1) {
            return -1;
        }
        chain.read(0, request, 4);
        int type = request.get(U32, 0);
        if (type == T_TMF) {
            if (chain.readableLength < TMF_REQUEST_LENGTH) {
                return -1;
            }
            chain.read(0, request, TMF_REQUEST_LENGTH);
            int lun = VirtioScsi.lun(request, TMF_LUN);
            response.set(ValueLayout.JAVA_BYTE, 0, (byte) taskManagement(request.get(U32, 4), lun));
            chain.write(0, response, TMF_RESPONSE_LENGTH);
            return TMF_RESPONSE_LENGTH;
        }
        if (type == T_AN_QUERY || type == T_AN_SUBSCRIBE) {
            if (chain.readableLength < AN_REQUEST_LENGTH || chain.writableLength < AN_RESPONSE_LENGTH) {
                return -1;
            }
            chain.read(0, request, AN_REQUEST_LENGTH);
            int lun = VirtioScsi.lun(request, AN_LUN);
            response.set(U32, 0, 0);
            response.set(ValueLayout.JAVA_BYTE, 4, (byte) (lun < 0 || lun >= target.lunCount() ? S_BAD_TARGET : S_OK));
            chain.write(0, response, AN_RESPONSE_LENGTH);
            return AN_RESPONSE_LENGTH;
        }
        response.set(ValueLayout.JAVA_BYTE, 0, (byte) S_FAILURE);
        chain.write(0, response, 1);
        return 1;
    }

    private int taskManagement(int subtype, int lun) {
        if (lun < 0 || lun >= target.lunCount()) {
            return S_BAD_TARGET;
        }
        return switch (subtype) {
            case TMF_ABORT_TASK, TMF_ABORT_TASK_SET, TMF_CLEAR_ACA, TMF_CLEAR_TASK_SET, TMF_I_T_NEXUS_RESET,
                 TMF_QUERY_TASK, TMF_QUERY_TASK_SET -> S_FUNCTION_COMPLETE;
            case TMF_LOGICAL_UNIT_RESET -> {
                target.unit(lun).ifPresent(u -> u.postUnitAttention(RESET_OCCURRED));
                log.accept("logical unit reset of LUN " + lun);
                yield S_FUNCTION_COMPLETE;
            }
            default -> S_FUNCTION_REJECTED;
        };
    }
}
