package org.vhdkit.stack.protocol.qmp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.vhdkit.stack.protocol.ProtocolException;

/** What qemu's monitor sends, decoded, and what the host refuses from it. */
class QmpMessageTest {

    @Test
    void theFourMessagesQemuSendsDecode() throws Exception {
        QmpMessage.Greeting g = assertInstanceOf(QmpMessage.Greeting.class, QmpMessage.decode(
                "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 19, \"minor\": 2, \"major\": 7}}, \"capabilities\": []}}"));
        assertTrue(g.version().contains("\"major\":7"), g.version());

        QmpMessage.Return r = assertInstanceOf(QmpMessage.Return.class,
                QmpMessage.decode("{\"return\": {\"status\": \"running\"}, \"id\": 7}"));
        assertEquals(7, r.id());
        assertEquals("running", r.value().path("status").asText());

        QmpMessage.Error e = assertInstanceOf(QmpMessage.Error.class, QmpMessage.decode(
                "{\"id\": 8, \"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'x' not found\"}}"));
        assertEquals(new QmpMessage.Error(8, "DeviceNotFound", "Device 'x' not found"), e);

        QmpMessage.Event ev = assertInstanceOf(QmpMessage.Event.class, QmpMessage.decode(
                "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"SHUTDOWN\","
                        + " \"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}"));
        assertEquals("SHUTDOWN", ev.name());
        assertTrue(ev.data().path("guest").asBoolean());
    }

    @Test
    void anAnswerWithoutIdHasIdMinusOneAndAnErrorWithoutDetailsStillReads() throws Exception {
        assertEquals(-1, ((QmpMessage.Return) QmpMessage.decode("{\"return\": {}}")).id());
        assertEquals(new QmpMessage.Error(-1, "?", "(no description)"),
                QmpMessage.decode("{\"error\": {}}"));
    }

    @Test
    void aCommandIsOneLineOfJsonWithItsId() {
        var args = QmpMessage.arguments();
        args.put("device", "ide1-cd0");
        String line = new String(QmpMessage.command("eject", args, 42), StandardCharsets.UTF_8);
        assertEquals("{\"execute\":\"eject\",\"arguments\":{\"device\":\"ide1-cd0\"},\"id\":42}\n", line);
        assertEquals("{\"execute\":\"cont\",\"id\":1}\n",
                new String(QmpMessage.command("cont", null, 1), StandardCharsets.UTF_8));
    }

    @Test
    void whatIsNotQmpIsRefusedSayingWhy() {
        assertRefused("not JSON", "{\"return\": ");
        assertRefused("not a JSON object", "[1, 2]");
        assertRefused("not a JSON object", "");
        assertRefused("the event's name is not a string", "{\"event\": 5}");
        assertRefused("neither greeting, return, error nor event", "{\"id\": 3}");
        assertRefused("is not an id this host sent", "{\"return\": {}, \"id\": \"abc\"}");
        assertRefused("is not an id this host sent", "{\"return\": {}, \"id\": -4}");
        assertRefused("is not an id this host sent", "{\"return\": {}, \"id\": 1.5}");
        assertRefused("at most " + QmpMessage.MAX_LINE, "{\"return\": \"" + "x".repeat(QmpMessage.MAX_LINE) + "\"}");
    }

    private static void assertRefused(String why, String line) {
        ProtocolException e = assertThrows(ProtocolException.class, () -> QmpMessage.decode(line),
                line.length() > 80 ? line.substring(0, 80) : line);
        assertTrue(e.getMessage().contains(why), e.getMessage());
        assertTrue(e.getMessage().contains("QMP"), "names the protocol: " + e.getMessage());
    }
}
