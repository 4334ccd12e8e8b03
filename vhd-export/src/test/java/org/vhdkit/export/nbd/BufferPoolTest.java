package org.vhdkit.export.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The pool keeps what four nbdcopy connections have in flight while the server is busy, and gives
 * most of it back once it is idle.
 */
class BufferPoolTest {
    private static final int K256 = 256 << 10;

    @Test
    void keepsABurstOfLargeBuffersWhileBusyAndTrimsThemOnceIdle() {
        BufferPool pool = new BufferPool();
        List<ByteBuffer> burst = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            burst.add(pool.take(K256));
        }
        burst.forEach(pool::give);
        assertEquals(64L << 20, pool.kept(), "256 buffers of 256 KiB kept, the rest freed");
        assertEquals(0, pool.lent());

        pool.trim(); // buffers were taken since the last trim: busy, nothing given back
        assertEquals(64L << 20, pool.kept());
        ByteBuffer again = pool.take(K256);
        pool.give(again);
        pool.trim();
        assertEquals(64L << 20, pool.kept(), "a buffer was taken again: still busy");

        pool.trim(); // nothing taken since: idle
        assertEquals(16L << 20, pool.kept(), "idle: 16 MiB of 256 KiB buffers kept");
        assertEquals(K256, pool.take(K256).capacity(), "a kept buffer is still usable after the trim");
    }
}
