package org.vhdkit.stack.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.vhdkit.stack.protocol.storage.StorageProtocol;
import org.vhdkit.stack.vm.HyperVLimits;
import org.vhdkit.stack.vm.VmException;

/**
 * The synthetic SCSI part of a saved state is a file a user can edit: what makes no sense (another
 * device's bytes, another format, a protocol version no guest can have negotiated) is refused with
 * a VmException that says so; what is cut short ends in an EOFException, which the VM names as a
 * device state that ends early.
 */
class ControllersRestoreTest {
    private static final int MAGIC = 0x53435349;

    /** Controllers with none of its controllers made: restoring reads and checks the bytes only. */
    private static Controllers controllers() {
        return new Controllers("vm", UUID.randomUUID(), null);
    }

    /** A SCSI state: magic, format, then for controller 0 (offered, open, version) and the rest not offered. */
    private static byte[] state(int magic, int format, int version) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(magic);
            out.writeByte(format);
            out.writeBoolean(true);
            out.writeBoolean(true);
            out.writeShort(version);
            for (int i = 1; i < HyperVLimits.SCSI_CONTROLLERS; i++) {
                out.writeBoolean(false);
            }
        }
        return bytes.toByteArray();
    }

    private static DataInputStream in(byte[] bytes) {
        return new DataInputStream(new ByteArrayInputStream(bytes));
    }

    @Test
    void aWellFormedStateIsReadToTheEnd() throws IOException {
        DataInputStream in = in(state(MAGIC, 1, StorageProtocol.VERSION_THRESHOLD));
        controllers().restoreState(in);
        assertEquals(0, in.available());
    }

    @Test
    void anotherDevicesBytesAreRefused() {
        VmException e = assertThrows(VmException.class,
                () -> controllers().restoreState(in(state(0x49444530, 1, StorageProtocol.VERSION_THRESHOLD))));
        assertEquals("the saved state of 'vm' holds no synthetic SCSI state where it should", e.getMessage());
    }

    @Test
    void anotherFormatIsRefused() {
        VmException e = assertThrows(VmException.class,
                () -> controllers().restoreState(in(state(MAGIC, 2, StorageProtocol.VERSION_THRESHOLD))));
        assertEquals("the synthetic SCSI state of 'vm' is format 2; this version reads format 1", e.getMessage());
    }

    @Test
    void aProtocolVersionNoGuestCanHaveNegotiatedIsRefused() {
        VmException e = assertThrows(VmException.class, () -> controllers().restoreState(in(state(MAGIC, 1, 0x0999))));
        assertEquals("the synthetic SCSI state of 'vm' names protocol version 0x999 for controller 0, which no guest"
                + " can have negotiated", e.getMessage());
    }

    @Test
    void aStateCutShortEndsInEndOfFile() throws IOException {
        byte[] whole = state(MAGIC, 1, StorageProtocol.VERSION_THRESHOLD);
        for (int length = 0; length < whole.length; length++) {
            byte[] cut = java.util.Arrays.copyOf(whole, length);
            assertThrows(EOFException.class, () -> controllers().restoreState(in(cut)), "cut to " + length);
        }
    }
}
