package org.vhdkit.stack.ic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class IcMessageTest {
    @Test
    void theHeaderIsLaidOutAsDocumented() {
        MemorySegment m = MemorySegment.ofArray(new byte[IcMessage.MAX_MESSAGE]);
        int payload = IcMessage.negotiate(m, IcMessage.FRAMEWORK_VERSIONS, IcMessage.SHUTDOWN_VERSIONS);
        int length = IcMessage.header(m, IcMessage.FRAMEWORK_3_0, IcMessage.TYPE_NEGOTIATE, IcMessage.FRAMEWORK_3_0,
                payload, IcMessage.S_OK, 7, IcMessage.FLAG_TRANSACTION | IcMessage.FLAG_REQUEST);
        assertEquals(8 + 4 * 3, payload);
        assertEquals(28 + payload, length);
        byte[] b = m.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        assertEquals(20 + payload, b[4]); // pipe size
        assertEquals(3, b[8]); // framework 3.0
        assertEquals(0, b[12]); // negotiate
        assertEquals(payload, b[18]);
        assertEquals(7, b[24]);
        assertEquals(3, b[25]);
        assertEquals(1, b[28]); // one framework version
        assertEquals(2, b[30]); // two message versions
        assertEquals(3, b[36]); // 3.0 major at 36, minor at 38
        assertEquals(0, b[38]);
    }

    @Test
    void aLongMessageIsCutBetweenCharactersAndAlwaysEndsInNul() {
        String euros = "€".repeat(1000); // 3 bytes each: 3000 bytes
        byte[] bytes = IcMessage.encode(euros);
        assertEquals(2046, bytes.length); // 682 whole characters fit in 2047 bytes
        assertEquals("€".repeat(682), new String(bytes, StandardCharsets.UTF_8));
        MemorySegment m = MemorySegment.ofArray(new byte[IcMessage.MAX_MESSAGE]);
        assertEquals(IcMessage.SHUTDOWN_PAYLOAD, IcMessage.shutdown(m, 1, 2, 3, euros));
        assertEquals(0, m.get(java.lang.foreign.ValueLayout.JAVA_BYTE, IcMessage.SHUTDOWN_MESSAGE + 2047));
        assertEquals("", new String(IcMessage.encode(null), StandardCharsets.UTF_8));
    }

    @Test
    void untrustedTextIsCutAtNulCappedAndShownWithoutControlCharacters() {
        byte[] hostile = new byte[IcMessage.MESSAGE_BYTES];
        Arrays.fill(hostile, (byte) 'a');
        hostile[0] = '\n';
        hostile[1] = (byte) 0xFF; // not UTF-8
        assertEquals("?\uFFFD" + "a".repeat(8) + "...", IcMessage.decode(hostile, 10));
        assertEquals("ok", IcMessage.decode(new byte[] {'o', 'k', 0, 'x'}, 10));
        assertTrue(IcMessage.decode(new byte[0], 10).isEmpty());
    }
}
