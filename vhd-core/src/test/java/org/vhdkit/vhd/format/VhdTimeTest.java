package org.vhdkit.vhd.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class VhdTimeTest {
    @Test
    void epochIsTheStartOf2000() {
        assertEquals(Instant.parse("2000-01-01T00:00:00Z"), VhdTime.EPOCH);
        assertEquals(946684800L, VhdTime.EPOCH.getEpochSecond());
        assertEquals(0, VhdTime.fromInstant(VhdTime.EPOCH));
        assertEquals(VhdTime.EPOCH, VhdTime.toInstant(0));
    }

    @Test
    void corpusTimeStamps() {
        assertEquals(Instant.parse("2020-03-24T16:36:31Z"), VhdTime.toInstant(0x260cf38f));
        assertEquals(Instant.parse("2013-05-12T07:55:40Z"), VhdTime.toInstant(0x1922077c));
        assertEquals(0x1922077c, VhdTime.fromInstant(Instant.parse("2013-05-12T07:55:40Z")));
    }

    @Test
    void unsigned32BitRange() {
        assertEquals(Instant.parse("2136-02-07T06:28:15Z"), VhdTime.toInstant(0xFFFFFFFFL));
        assertEquals(0xFFFFFFFFL, VhdTime.fromInstant(Instant.parse("2136-02-07T06:28:15Z")));
        assertThrows(IllegalArgumentException.class, () -> VhdTime.toInstant(-1));
        assertThrows(IllegalArgumentException.class, () -> VhdTime.toInstant(0x1_0000_0000L));
    }

    @Test
    void clampsAndTruncates() {
        assertEquals(0, VhdTime.fromInstant(Instant.parse("1999-12-31T23:59:59Z")));
        assertEquals(0, VhdTime.fromInstant(Instant.MIN));
        assertEquals(0xFFFFFFFFL, VhdTime.fromInstant(Instant.parse("2136-02-07T06:28:16Z")));
        assertEquals(0xFFFFFFFFL, VhdTime.fromInstant(Instant.MAX));
        assertEquals(1, VhdTime.fromInstant(Instant.parse("2000-01-01T00:00:01.999Z")));
    }

    @Test
    void roundTrip() {
        for (long seconds = 0; seconds <= 0xFFFFFFFFL; seconds += 0x1234567) {
            assertEquals(seconds, VhdTime.fromInstant(VhdTime.toInstant(seconds)));
        }
    }
}
