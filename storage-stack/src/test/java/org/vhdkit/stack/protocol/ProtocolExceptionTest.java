package org.vhdkit.stack.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.vhdkit.vhd.format.RefusedInputException;

/** What a user reads when a codec refuses bytes: protocol, field and offset, in the message and as values. */
class ProtocolExceptionTest {

    @Test
    void messageNamesProtocolFieldAndOffsetInDecimalAndHex() {
        ProtocolException e = new ProtocolException("storage protocol", "SRB CDB length", 8, "17 bytes; at most 16");
        assertEquals("storage protocol: SRB CDB length at offset 8 (0x8): 17 bytes; at most 16", e.getMessage());
        assertEquals("storage protocol", e.protocol());
        assertEquals("SRB CDB length", e.field());
        assertEquals(8, e.offset());
    }

    @Test
    void aProblemWithNoSinglePlaceHasNoOffsetInItsMessage() {
        ProtocolException e = new ProtocolException("vmbus", "packet", -1, "truncated");
        assertEquals("vmbus: packet: truncated", e.getMessage());
        assertEquals(-1, e.offset());
    }

    /** The CLI classifies refused input (exit 65) and I/O errors by type: a codec's refusal must be both. */
    @Test
    void isRefusedInputAndAnIoException() {
        ProtocolException e = new ProtocolException("ic", "header", 0x1c, "bad");
        assertInstanceOf(RefusedInputException.class, e);
        assertInstanceOf(IOException.class, e);
        assertEquals("ic: header at offset 28 (0x1c): bad", e.getMessage());
    }
}
