package org.vhdkit.stack.protocol.ic;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.vhdkit.stack.protocol.ProtocolException;

/** The integration-service codecs: the documented layout, round trips, and refusal of bad input. */
class IcCodecTest {
    private static IcHeader negotiateRequest(MemorySegment m, int payload) {
        return new IcHeader(IcMessage.FRAMEWORK_3_0, IcMessage.TYPE_NEGOTIATE, IcMessage.FRAMEWORK_3_0, payload,
                IcMessage.S_OK, 7, IcMessage.FLAG_TRANSACTION | IcMessage.FLAG_REQUEST);
    }

    @Test
    void theHeaderIsLaidOutAsDocumented() throws Exception {
        MemorySegment m = MemorySegment.ofArray(new byte[IcMessage.MAX_MESSAGE]);
        Negotiate offer = new Negotiate(IcMessage.FRAMEWORK_VERSIONS, IcMessage.SHUTDOWN_VERSIONS);
        int payload = offer.encode(m);
        IcHeader header = negotiateRequest(m, payload);
        int length = header.encode(m);
        assertEquals(8 + 4 * 3, payload);
        assertEquals(offer.size(), payload);
        assertEquals(28 + payload, length);
        byte[] b = m.toArray(ValueLayout.JAVA_BYTE);
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

        assertEquals(header, IcHeader.decode(m, length, true));
        assertEquals(offer, Negotiate.decode(m, payload));
        assertEquals(28, IcHeader.LENGTH);
    }

    @Test
    void aShutdownMessageRoundTripsInItsFixedSize() throws Exception {
        MemorySegment m = MemorySegment.ofArray(new byte[IcMessage.MAX_MESSAGE]);
        ShutdownMessage request = new ShutdownMessage(1, 30, IcMessage.SHUTDOWN_FLAG_FORCE, "maintenance");
        int payload = request.encode(m);
        assertEquals(12 + 2048, payload);
        assertEquals(ShutdownMessage.LENGTH, payload);
        assertEquals(2088, IcMessage.MAX_MESSAGE);
        assertEquals(request, ShutdownMessage.decode(m, payload, 100));
        ProtocolException e = assertThrows(ProtocolException.class, () -> ShutdownMessage.decode(m, payload - 1, 100));
        assertEquals("integration-service message: shutdown payload at offset 28 (0x1c): 2059 bytes; it takes 2060",
                e.getMessage());
    }

    @Test
    void theHeaderRefusesTruncatedAndInconsistentMessages() throws Exception {
        MemorySegment m = MemorySegment.ofArray(new byte[IcMessage.MAX_MESSAGE]);
        int length = negotiateRequest(m, new Negotiate(new int[] {IcMessage.FRAMEWORK_3_0}, new int[0]).encode(m))
                .encode(m);
        ProtocolException shortMessage = assertThrows(ProtocolException.class, () -> IcHeader.decode(m, 27, true));
        assertEquals("a message of 27 bytes, shorter than its 28-byte header", shortMessage.problem());
        ProtocolException cut = assertThrows(ProtocolException.class, () -> IcHeader.decode(m, length - 1, false));
        assertEquals("payload size", cut.field());
        assertEquals(18, cut.offset());

        m.set(ValueLayout.JAVA_INT_UNALIGNED, IcMessage.PIPE_FLAGS, -1);
        assertEquals("pipe header", assertThrows(ProtocolException.class, () -> IcHeader.decode(m, length, true)).field());
        IcHeader.decode(m, length, false); // the guest does not look at the pipe header
        m.set(ValueLayout.JAVA_INT_UNALIGNED, IcMessage.PIPE_FLAGS, 0);
        m.set(ValueLayout.JAVA_INT_UNALIGNED, IcMessage.PIPE_SIZE, 0x7FFF_FFFF);
        assertThrows(ProtocolException.class, () -> IcHeader.decode(m, length, true));
    }

    @Test
    void aNegotiationRefusesCountsItsPayloadCannotHold() {
        MemorySegment m = MemorySegment.ofArray(new byte[IcMessage.MAX_MESSAGE]);
        int payload = new Negotiate(new int[] {IcMessage.FRAMEWORK_3_0}, new int[] {IcMessage.SHUTDOWN_3_0}).encode(m);
        assertEquals(16, payload);
        assertThrows(ProtocolException.class, () -> Negotiate.decode(m, 7));
        m.set(ValueLayout.JAVA_SHORT_UNALIGNED, IcMessage.NEGOTIATE_FRAME_COUNT, (short) 2);
        ProtocolException tooMany = assertThrows(ProtocolException.class, () -> Negotiate.decode(m, payload));
        assertEquals("a negotiation of 2 and 1 versions in 16 bytes", tooMany.problem());
        m.set(ValueLayout.JAVA_SHORT_UNALIGNED, IcMessage.NEGOTIATE_FRAME_COUNT, (short) 17);
        assertThrows(ProtocolException.class, () -> Negotiate.decode(m, IcMessage.MAX_MESSAGE - IcMessage.HEADER));
        assertThrows(IllegalArgumentException.class, () -> new Negotiate(new int[17], new int[0]));
    }

    @Test
    void choosingTakesTheBestVersionBothSupport() {
        assertEquals(IcMessage.SHUTDOWN_3_0, Negotiate.choose(IcMessage.SHUTDOWN_VERSIONS,
                new int[] {IcMessage.SHUTDOWN_1_0, IcMessage.SHUTDOWN_3_0}));
        assertEquals(0, Negotiate.choose(IcMessage.SHUTDOWN_VERSIONS, new int[] {IcMessage.version(9, 0)}));
        int[] versions = {IcMessage.FRAMEWORK_3_0};
        Negotiate n = new Negotiate(versions, new int[0]);
        versions[0] = 0;
        assertArrayEquals(new int[] {IcMessage.FRAMEWORK_3_0}, n.frameworkVersions());
    }

    @Test
    void aLongMessageIsCutBetweenCharactersAndAlwaysEndsInNul() {
        String euros = "€".repeat(1000); // 3 bytes each: 3000 bytes
        byte[] bytes = ShutdownMessage.textBytes(euros);
        assertEquals(2046, bytes.length); // 682 whole characters fit in 2047 bytes
        assertEquals("€".repeat(682), new String(bytes, StandardCharsets.UTF_8));
        MemorySegment m = MemorySegment.ofArray(new byte[IcMessage.MAX_MESSAGE]);
        assertEquals(IcMessage.SHUTDOWN_PAYLOAD, new ShutdownMessage(1, 2, 3, euros).encode(m));
        assertEquals(0, m.get(ValueLayout.JAVA_BYTE, IcMessage.SHUTDOWN_MESSAGE + 2047));
        assertEquals("", new String(ShutdownMessage.textBytes(null), StandardCharsets.UTF_8));
    }

    @Test
    void untrustedTextIsCutAtNulCappedAndShownWithoutControlCharacters() {
        byte[] hostile = new byte[IcMessage.MESSAGE_BYTES];
        Arrays.fill(hostile, (byte) 'a');
        hostile[0] = '\n';
        hostile[1] = (byte) 0xFF; // not UTF-8
        assertEquals("?\uFFFD" + "a".repeat(8) + "...", ShutdownMessage.text(hostile, 10));
        assertEquals("ok", ShutdownMessage.text(new byte[] {'o', 'k', 0, 'x'}, 10));
        assertTrue(ShutdownMessage.text(new byte[0], 10).isEmpty());
    }
}
