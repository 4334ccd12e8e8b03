package org.vhdkit.stack.partition;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.vhdkit.stack.memory.GuestMemory;

@Timeout(20)
class ChildPartitionTest {
    private static final long MEMORY = 16 * GuestMemory.PAGE_SIZE;
    private static final Duration WAIT = Duration.ofSeconds(5);

    private final ParentPartition parent = ParentPartition.create();
    private final List<AtomicBoolean> workers = new ArrayList<>();
    private final BlockingQueue<String> events = new ArrayBlockingQueue<>(16);

    private final PartitionListener listener = new PartitionListener() {
        @Override
        public void guestFailed(ChildPartition partition, int processor, Throwable failure) {
            events.add("failed vp" + processor + ": " + failure.getMessage());
        }

        @Override
        public void guestPoweredOff(ChildPartition partition, int processor) {
            events.add("power off vp" + processor);
        }
    };

    @AfterEach
    void tearDown() {
        workers.forEach(w -> w.set(true));
        parent.close();
    }

    private ChildPartition child(String name, int processors) {
        return parent.createChild(name, MEMORY, processors, listener);
    }

    /** A minimal VM worker: handles intercepts with {@code handler} until the test ends. */
    private void serve(ChildPartition p, PortIoHandler handler) {
        AtomicBoolean stop = new AtomicBoolean();
        workers.add(stop);
        Thread t = Thread.ofPlatform().daemon(true).name(p.name() + "/worker").unstarted(() -> {
            while (!stop.get()) {
                if (p.intercepts().handlePending(handler) == 0) {
                    LockSupport.parkNanos(1_000_000);
                }
            }
        });
        p.intercepts().attachWorker(t);
        t.start();
    }

    /** A worker thread that never answers: processors stay blocked in port I/O. */
    private void deaf(ChildPartition p) {
        p.intercepts().attachWorker(Thread.ofPlatform().daemon(true).unstarted(() -> { }));
    }

    private static final PortIoHandler ECHO = new PortIoHandler() {
        private int last;

        @Override
        public int read(int port, int size) {
            return port == 0x80 ? last : 0x12345678;
        }

        @Override
        public void write(int port, int size, int value) {
            last = value;
        }
    };

    @Test
    void portAccessesAreInterceptsAnsweredByTheWorkerAndCounted() throws Exception {
        ChildPartition p = child("vm", 1);
        serve(p, ECHO);
        BlockingQueue<int[]> seen = new ArrayBlockingQueue<>(1);
        p.start(g -> {
            g.out32(0x80, 0xCAFEBABE);
            int a = g.in32(0x80);
            int b = g.in8(0x10);
            int c = g.in16(0x10);
            g.out8(0x80, 0x1FF); // masked to one byte
            int d = g.in32(0x80);
            seen.add(new int[] {a, b, c, d});
        }, false);
        int[] r = seen.poll(5, TimeUnit.SECONDS);
        assertEquals(0xCAFEBABE, r[0]);
        assertEquals(0x78, r[1]);
        assertEquals(0x5678, r[2]);
        assertEquals(0xFF, r[3]);
        assertEquals(6, p.intercepts().count());
        assertThrows(IllegalStateException.class, () -> p.start(g -> { }, false), "a partition starts once");
    }

    @Test
    void portNumbersOutsideSixteenBitsFailTheGuestProgram() throws Exception {
        ChildPartition p = child("vm", 1);
        serve(p, ECHO);
        p.start(g -> g.in8(0x10000), false);
        String event = events.poll(5, TimeUnit.SECONDS);
        assertTrue(event.startsWith("failed vp0: port 0x10000"), event);
    }

    @Test
    void pauseParksProcessorsAtSafePointsAndResumeLetsThemRunOn() throws Exception {
        ChildPartition p = child("vm", 2);
        serve(p, ECHO);
        p.start(g -> {
            long at = 64L * g.processor();
            while (true) {
                g.memory().setLong(at, g.memory().getLong(at) + 1);
                if (g.processor() == 0) {
                    g.safePoint();
                } else {
                    g.in8(0x10); // port I/O is a safe point too
                }
            }
        }, false);
        awaitAdvance(p, 0);
        awaitAdvance(p, 64);
        assertTrue(p.pause(WAIT));
        long a = p.memory().getLong(0);
        long b = p.memory().getLong(64);
        for (int i = 0; i < 50; i++) {
            Thread.onSpinWait();
            Thread.yield();
        }
        assertEquals(a, p.memory().getLong(0), "a paused processor does not run");
        assertEquals(b, p.memory().getLong(64));
        p.resume();
        awaitAdvance(p, 0);
        awaitAdvance(p, 64);
        assertTrue(p.stop(WAIT).isEmpty());
    }

    private static void awaitAdvance(ChildPartition p, long gpa) throws Exception {
        long start = p.memory().getLong(gpa);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (p.memory().getLong(gpa) == start) {
            assertTrue(System.nanoTime() < deadline, "the counter at " + gpa + " does not advance");
            Thread.sleep(1);
        }
    }

    @Test
    void processorsBlockedInWaitsOrPortIoCountAsPausedAndStopWakesThem() throws Exception {
        ChildPartition p = child("vm", 3);
        deaf(p);
        GuestSignal never = p.newSignal();
        CountDownLatch inside = new CountDownLatch(3);
        AtomicInteger stopped = new AtomicInteger();
        p.start(g -> {
            inside.countDown();
            try {
                switch (g.processor()) {
                    case 0 -> g.in8(0x1F7); // nobody answers
                    case 1 -> g.await(never);
                    default -> g.blocking(() -> {
                        new CountDownLatch(1).await();
                        return null;
                    });
                }
            } catch (ProcessorStopped e) {
                stopped.incrementAndGet();
                throw e;
            }
        }, false);
        assertTrue(inside.await(5, TimeUnit.SECONDS));
        assertTrue(p.pause(WAIT), "blocked processors do not hold up a pause");
        assertEquals(List.of(), p.stop(WAIT));
        assertEquals(3, stopped.get());
        assertTrue(events.isEmpty(), "a stop is not a failure: " + events);
    }

    @Test
    void aProgramThatNeverReachesASafePointCannotBePausedAndIsAbandonedOnStop() throws Exception {
        ChildPartition p = child("vm", 1);
        serve(p, ECHO);
        AtomicBoolean release = new AtomicBoolean();
        AtomicReference<Throwable> end = new AtomicReference<>();
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch ended = new CountDownLatch(1);
        p.start(g -> {
            running.countDown();
            try {
                long spins = 0;
                while (!release.get()) {
                    spins++; // no context call: no safe point
                }
                g.memory().setLong(0, spins); // the memory is gone by now
            } catch (Throwable t) {
                end.set(t);
            } finally {
                ended.countDown();
            }
        }, false);
        assertTrue(running.await(5, TimeUnit.SECONDS));
        assertFalse(p.pause(Duration.ofMillis(100)), "no safe point, no pause");
        List<String> abandoned = p.stop(Duration.ofMillis(100));
        assertEquals(List.of("vm/vp0"), abandoned);
        p.destroy();
        release.set(true);
        assertTrue(ended.await(5, TimeUnit.SECONDS));
        assertInstanceOf(IllegalStateException.class, end.get(), "memory released under the runaway processor");
    }

    @Test
    void aFailingProgramIsReportedOnceAndAReturningOneJustHalts() throws Exception {
        ChildPartition p = child("vm", 2);
        serve(p, ECHO);
        p.start(g -> {
            if (g.processor() == 1) {
                throw new IllegalStateException("guest bug");
            }
        }, false);
        assertEquals("failed vp1: guest bug", events.poll(5, TimeUnit.SECONDS));
        assertTrue(p.pause(WAIT), "halted processors count as paused");
        assertTrue(p.stop(WAIT).isEmpty());
        assertTrue(events.isEmpty());
    }

    @Test
    void powerOffIsReportedAndEndsTheProcessor() throws Exception {
        ChildPartition p = child("vm", 1);
        serve(p, ECHO);
        AtomicBoolean after = new AtomicBoolean();
        p.start(g -> {
            g.powerOff();
            after.set(true);
        }, false);
        assertEquals("power off vp0", events.poll(5, TimeUnit.SECONDS));
        assertTrue(p.stop(WAIT).isEmpty());
        assertFalse(after.get());
    }

    @Test
    void signalsLatchTimeOutAndBelongToTheirPartition() throws Exception {
        ChildPartition a = child("a", 1);
        ChildPartition b = child("b", 1);
        serve(a, ECHO);
        GuestSignal mine = a.newSignal();
        GuestSignal theirs = b.newSignal();
        mine.raise();
        mine.raise(); // two raises before a wait count as one
        BlockingQueue<String> results = new ArrayBlockingQueue<>(8);
        CountDownLatch waiting = new CountDownLatch(1);
        p(a).start(g -> {
            results.add("first " + g.await(mine, Duration.ofSeconds(5)));
            results.add("second " + g.await(mine, Duration.ofMillis(10)));
            results.add("poll " + g.poll(mine));
            try {
                g.await(theirs);
            } catch (IllegalArgumentException e) {
                results.add("theirs: " + e.getMessage());
            }
            waiting.countDown();
            g.await(mine);
            results.add("woken");
        }, false);
        assertEquals("first true", results.poll(5, TimeUnit.SECONDS));
        assertEquals("second false", results.poll(5, TimeUnit.SECONDS));
        assertEquals("poll false", results.poll(5, TimeUnit.SECONDS));
        assertEquals("theirs: that signal belongs to another partition", results.poll(5, TimeUnit.SECONDS));
        assertTrue(waiting.await(5, TimeUnit.SECONDS));
        mine.raise();
        assertEquals("woken", results.poll(5, TimeUnit.SECONDS));
    }

    private static ChildPartition p(ChildPartition p) {
        return p;
    }

    @Test
    void guestServicesAreFoundByTypeAndNothingElse() throws Exception {
        ChildPartition p = child("vm", 1);
        serve(p, ECHO);
        p.offerGuestService(CharSequence.class, "hello");
        BlockingQueue<Optional<?>> found = new ArrayBlockingQueue<>(2);
        p.start(g -> {
            found.add(g.service(CharSequence.class));
            found.add(g.service(String.class));
        }, false);
        assertEquals(Optional.of("hello"), found.poll(5, TimeUnit.SECONDS));
        assertEquals(Optional.empty(), found.poll(5, TimeUnit.SECONDS));
    }

    @Test
    void theContextReachesNothingButTheGuestsOwnMachine() throws Exception {
        Set<Class<?>> allowed = Set.of(int.class, void.class, boolean.class, GuestMemory.class, Optional.class,
                String.class, Object.class);
        for (Method m : GuestContext.class.getMethods()) {
            if (m.getDeclaringClass() == GuestContext.class && Modifier.isPublic(m.getModifiers())) {
                assertTrue(allowed.contains(m.getReturnType()), m + " hands the guest a " + m.getReturnType());
            }
        }
        for (var f : GuestContext.class.getDeclaredFields()) {
            assertTrue(Modifier.isPrivate(f.getModifiers()), f + " is visible to the guest");
        }
        ChildPartition a = child("a", 1);
        ChildPartition b = child("b", 1);
        serve(a, ECHO);
        serve(b, ECHO);
        BlockingQueue<GuestMemory> memories = new ArrayBlockingQueue<>(2);
        a.start(g -> {
            g.memory().setLong(0, 0xAAAA);
            memories.add(g.memory());
        }, false);
        b.start(g -> {
            g.memory().setLong(0, 0xBBBB);
            memories.add(g.memory());
        }, false);
        GuestMemory m1 = memories.poll(5, TimeUnit.SECONDS);
        GuestMemory m2 = memories.poll(5, TimeUnit.SECONDS);
        assertNotSame(m1, m2);
        assertEquals(0xAAAA, a.memory().getLong(0));
        assertEquals(0xBBBB, b.memory().getLong(0));
    }

    @Test
    void theParentKeepsNamesUniqueAndDestroysItsChildrenWhenClosed() {
        ChildPartition a = child("a", 1);
        assertThrows(IllegalStateException.class, () -> child("a", 1));
        assertThrows(IllegalArgumentException.class, () -> child("b", 0));
        assertEquals(List.of(a), parent.children());
        parent.close();
        assertEquals(List.of(), parent.children());
        assertThrows(IllegalStateException.class, () -> a.memory().getLong(0));
        assertThrows(IllegalStateException.class, () -> child("c", 1));
    }
}
