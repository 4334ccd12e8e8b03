package org.vhdkit.stack.guest.workload;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.vhdkit.stack.guest.GuestPages;
import org.vhdkit.stack.guest.storvsc.IoStatus;
import org.vhdkit.stack.guest.storvsc.Storvsc;
import org.vhdkit.stack.guest.storvsc.StorvscController;
import org.vhdkit.stack.guest.storvsc.StorvscDisk;
import org.vhdkit.stack.guest.storvsc.StorvscException;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;
import org.vhdkit.stack.partition.GuestContext;
import org.vhdkit.stack.partition.GuestProgram;

/**
 * The built-in guest workload: a {@link GuestProgram} that drives one disk through the guest's
 * storage driver and reports what it measured. Its phases, each optional, in order:
 * <ol>
 *   <li><b>write</b>: a verifiable pattern across the disk's region, sequentially, {@code blockSize}
 *       per request, {@code queueDepth} requests in flight. Every 512-byte sector carries its LBA
 *       (bytes 0-7, little-endian), the seed (8-15) and 62 words derived from both.
 *   <li><b>verify</b>: reads the region back the same way and compares every sector with the pattern.
 *   <li><b>mix</b>: random requests of {@code blockSize}, aligned to it, {@code readPercent} of them
 *       reads, the rest writes of the pattern (so the region stays verifiable; reads are checked
 *       when {@code verify} is on), until {@code count} requests or {@code duration} passed.
 *   <li>a flush of the disk, and then the program halts (or powers the VM off).
 * </ol>
 * After each phase a {@link Report} goes to the parent (the guest's console): requests, bytes, time,
 * VMBus signals the guest raised and interrupts it took, mismatches and failed requests; IOPS,
 * throughput and signals per request follow from them. Intercepts per request are the parent's to
 * add ({@link Report#withIntercepts}): the synthetic path makes none.
 *
 * <h2>Guest memory</h2>
 * <pre>
 *   0x1000              the progress record (see below)
 *   0x100000 (2 MiB)    pages for the storage driver's rings ({@link GuestPages})
 *   0x300000 ...        request buffers, queueDepth x blockSize
 * </pre>
 *
 * <h2>Restart model</h2>
 * Progress is kept in guest memory (the phase, the first request not yet completed of a sequential
 * phase or the number of mix requests done), so a VM saved in the middle resumes where it was: the
 * program re-opens its driver (the parent keeps no channel through a save), and issues again from
 * the progress record the requests that were in flight (all of them rewrite the same pattern or
 * read, so doing one twice is harmless). Reports after a resume cover the part after it.
 *
 * <p>Thread-safety: {@link #run} runs on the VM's processor 0 only (others halt at once); the
 * reports are kept in a list guarded by this object and may be read from any thread.
 */
public final class Workload implements GuestProgram {
    /** Where the progress record lives. */
    public static final long PROGRESS = 0x1000;
    /** The region handed to the storage driver for its rings. */
    public static final long DRIVER_PAGES = 0x10_0000;
    public static final long DRIVER_PAGES_LENGTH = 0x20_0000;
    /** Where the request buffers start. */
    public static final long BUFFERS = DRIVER_PAGES + DRIVER_PAGES_LENGTH;

    private static final long MAGIC = 0x564844_4b4954_574cL; // "VHDKITWL"
    private static final int SECTOR = 512;
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private static final int PHASE_WRITE = 1;
    private static final int PHASE_VERIFY = 2;
    private static final int PHASE_MIX = 3;
    private static final int PHASE_FLUSH = 4;
    private static final int PHASE_DONE = 5;

    /**
     * What to run.
     *
     * @param controller    the controller, in the order the guest's driver found them
     * @param lun           the disk's LUN on it
     * @param firstBlock    the first 512-byte block of the region
     * @param blocks        the region's length in blocks; 0 for the rest of the disk
     * @param seed          the pattern's seed and the mix's random seed
     * @param blockSize     bytes per request, a multiple of 512 up to 256 KiB
     * @param queueDepth    requests in flight, 1 to 256
     * @param writePattern  run the write phase
     * @param verify        run the verify phase, and check the mix's reads
     * @param readPercent   the share of reads in the mix, 0 to 100
     * @param mixCount      mix requests to run; 0 for none (unless a duration is given)
     * @param mixDuration   how long the mix runs at most; zero for no limit but the count
     * @param powerOff      power the VM off when done, rather than halting
     */
    public record Plan(int controller, int lun, long firstBlock, long blocks, long seed, int blockSize,
            int queueDepth, boolean writePattern, boolean verify, int readPercent, long mixCount,
            Duration mixDuration, boolean powerOff) {
        public Plan {
            Objects.requireNonNull(mixDuration, "mixDuration");
            if (controller < 0 || lun < 0 || lun > 255 || firstBlock < 0 || blocks < 0 || mixCount < 0
                    || mixDuration.isNegative()) {
                throw new IllegalArgumentException("a negative or out-of-range plan value: " + controller + ", " + lun
                        + ", " + firstBlock + ", " + blocks + ", " + mixCount + ", " + mixDuration);
            }
            if (blockSize < SECTOR || blockSize % SECTOR != 0 || blockSize > 256 * 1024) {
                throw new IllegalArgumentException("a block size is a multiple of 512 up to 256 KiB, not " + blockSize);
            }
            if (queueDepth < 1 || queueDepth > 256) {
                throw new IllegalArgumentException("a queue depth of 1 to 256, not " + queueDepth);
            }
            if (readPercent < 0 || readPercent > 100) {
                throw new IllegalArgumentException("a read share of 0 to 100 %, not " + readPercent);
            }
        }

        /** Write and verify the whole of disk 0 of controller 0 in 64 KiB requests, 8 in flight; no mix. */
        public static Plan writeAndVerify(long seed) {
            return new Plan(0, 0, 0, 0, seed, 64 * 1024, 8, true, true, 0, 0, Duration.ZERO, false);
        }

        /** A random mix only: {@code count} requests of {@code blockSize}, {@code queueDepth} in flight. */
        public static Plan mix(int blockSize, int queueDepth, int readPercent, long count, long seed) {
            return new Plan(0, 0, 0, 0, seed, blockSize, queueDepth, false, false, readPercent, count, Duration.ZERO,
                    false);
        }

        public Plan withDisk(int newController, int newLun) {
            return new Plan(newController, newLun, firstBlock, blocks, seed, blockSize, queueDepth, writePattern, verify,
                    readPercent, mixCount, mixDuration, powerOff);
        }

        public Plan withRegion(long first, long count) {
            return new Plan(controller, lun, first, count, seed, blockSize, queueDepth, writePattern, verify,
                    readPercent, mixCount, mixDuration, powerOff);
        }

        public Plan withPhases(boolean write, boolean check) {
            return new Plan(controller, lun, firstBlock, blocks, seed, blockSize, queueDepth, write, check,
                    readPercent, mixCount, mixDuration, powerOff);
        }

        public Plan withMix(int percentReads, long count, Duration duration) {
            return new Plan(controller, lun, firstBlock, blocks, seed, blockSize, queueDepth, writePattern, verify,
                    percentReads, count, duration, powerOff);
        }

        public Plan withRequests(int size, int depth) {
            return new Plan(controller, lun, firstBlock, blocks, seed, size, depth, writePattern, verify,
                    readPercent, mixCount, mixDuration, powerOff);
        }

        public Plan withPowerOff(boolean off) {
            return new Plan(controller, lun, firstBlock, blocks, seed, blockSize, queueDepth, writePattern, verify,
                    readPercent, mixCount, mixDuration, off);
        }

        /** The guest memory the plan needs: progress, driver pages and its buffers. */
        public long memoryNeeded() {
            return BUFFERS + (long) queueDepth * blockSize;
        }
    }

    /**
     * What one phase measured.
     *
     * @param phase              "write", "verify", "mix", "flush", or "failed: ..." when the run stopped
     * @param requests           requests completed
     * @param bytes              bytes moved
     * @param nanos              time taken
     * @param signalsToParent    VMBus signals the guest raised (new requests for a parked consumer)
     * @param interruptsToGuest  VMBus interrupts the guest took (completions for a parked guest)
     * @param mismatches         sectors that read back other than the pattern
     * @param firstMismatch      the LBA of the first of them, or -1
     * @param failed             requests that did not complete OK
     * @param intercepts         port I/O intercepts per the parent, or -1 when not known (in the guest)
     */
    public record Report(String phase, long requests, long bytes, long nanos, long signalsToParent,
            long interruptsToGuest, long mismatches, long firstMismatch, long failed, long intercepts) {
        /** Requests per second. */
        public double iops() {
            return nanos == 0 ? 0 : requests * 1e9 / nanos;
        }

        /** Megabytes (10^6 bytes) per second. */
        public double megabytesPerSecond() {
            return nanos == 0 ? 0 : bytes * 1e3 / nanos;
        }

        /** Signals per request. */
        public double signalsPerRequest() {
            return requests == 0 ? 0 : (double) signalsToParent / requests;
        }

        /** Interrupts per request. */
        public double interruptsPerRequest() {
            return requests == 0 ? 0 : (double) interruptsToGuest / requests;
        }

        /** Intercepts per request, or -1 when not known. */
        public double interceptsPerRequest() {
            return intercepts < 0 ? -1 : requests == 0 ? 0 : (double) intercepts / requests;
        }

        /** This report with the parent's intercept count. */
        public Report withIntercepts(long count) {
            return new Report(phase, requests, bytes, nanos, signalsToParent, interruptsToGuest, mismatches,
                    firstMismatch, failed, count);
        }

        /** Whether the phase moved every byte as it should. */
        public boolean clean() {
            return mismatches == 0 && failed == 0 && !phase.startsWith("failed");
        }

        @Override
        public String toString() {
            return String.format("%s: %d requests, %d bytes in %.3f s: %.0f IOPS, %.1f MB/s, %.3f signals and %.3f"
                    + " interrupts per request%s%s%s", phase, requests, bytes, nanos / 1e9, iops(), megabytesPerSecond(),
                    signalsPerRequest(), interruptsPerRequest(),
                    intercepts < 0 ? "" : String.format(", %.3f intercepts per request", interceptsPerRequest()),
                    mismatches == 0 ? "" : ", " + mismatches + " sectors differ (first at LBA " + firstMismatch + ")",
                    failed == 0 ? "" : ", " + failed + " requests failed");
        }
    }

    private final Plan plan;
    private final List<Report> reports = new ArrayList<>(); // guarded by this
    private final CountDownLatch finished = new CountDownLatch(1);

    /** A workload running {@code plan}. */
    public Workload(Plan plan) {
        this.plan = Objects.requireNonNull(plan, "plan");
    }

    /** The plan. */
    public Plan plan() {
        return plan;
    }

    /** The reports so far, one per phase run. Thread-safe. */
    public synchronized List<Report> reports() {
        return List.copyOf(reports);
    }

    /** Waits until the workload finished (or failed); returns whether it did within {@code timeout}. Thread-safe. */
    public boolean awaitFinished(Duration timeout) throws InterruptedException {
        return finished.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    private synchronized void report(Report r) {
        reports.add(r);
    }

    @Override
    public void run(GuestContext ctx) throws Exception {
        if (ctx.processor() != 0) {
            return;
        }
        GuestMemory memory = ctx.memory();
        try {
            if (memory.size() < plan.memoryNeeded()) {
                throw new StorvscException("the plan needs " + plan.memoryNeeded() + " bytes of guest memory; the VM has "
                        + memory.size());
            }
            if (!ctx.resumed() || memory.getLong(PROGRESS) != MAGIC) {
                memory.setLong(PROGRESS, MAGIC);
                setPhase(memory, PHASE_WRITE);
            }
            try (Storvsc storvsc = Storvsc.open(ctx, new GuestPages(memory, DRIVER_PAGES, DRIVER_PAGES_LENGTH),
                    plan.queueDepth())) {
                StorvscDisk disk = storvsc.disk(plan.controller(), plan.lun()).orElseThrow(() -> new StorvscException(
                        "the guest finds no disk at LUN " + plan.lun() + " of controller " + plan.controller()));
                new Run(ctx, storvsc, disk).phases();
            }
        } catch (StorvscException | GuestMemoryException e) {
            report(new Report("failed: " + e.getMessage(), 0, 0, 0, 0, 0, 0, -1, 1, -1));
            finished.countDown();
            return;
        }
        finished.countDown();
        if (plan.powerOff()) {
            ctx.powerOff();
        }
    }

    private static void setPhase(GuestMemory memory, int phase) throws GuestMemoryException {
        memory.setInt(PROGRESS + 8, phase);
        memory.setLong(PROGRESS + 16, 0);
    }

    /** One run of the phases over an open driver. */
    private final class Run {
        final GuestContext ctx;
        final GuestMemory memory;
        final Storvsc storvsc;
        final StorvscDisk disk;
        final StorvscController controller;
        final long first;
        final long blocks;
        final int chunkBlocks;
        final long chunks;
        final long[] slotChunk;
        final boolean[] slotWrite;
        long mismatches;
        long firstMismatch = -1;
        long failed;
        boolean gone;

        Run(GuestContext ctx, Storvsc storvsc, StorvscDisk disk) throws StorvscException {
            this.ctx = ctx;
            this.memory = ctx.memory();
            this.storvsc = storvsc;
            this.disk = disk;
            this.controller = disk.controller();
            this.first = plan.firstBlock();
            long available = disk.blocks() - first;
            if (available <= 0) {
                throw new StorvscException("the region starts at block " + first + ", past the disk's " + disk.blocks());
            }
            this.blocks = plan.blocks() == 0 ? available : Math.min(plan.blocks(), available);
            this.chunkBlocks = plan.blockSize() / SECTOR;
            this.chunks = (blocks + chunkBlocks - 1) / chunkBlocks;
            this.slotChunk = new long[plan.queueDepth()];
            this.slotWrite = new boolean[plan.queueDepth()];
            java.util.Arrays.fill(slotChunk, -1);
        }

        void phases() throws StorvscException, GuestMemoryException {
            int phase = memory.getInt(PROGRESS + 8);
            if (phase == PHASE_WRITE) {
                if (plan.writePattern()) {
                    sequential("write", true);
                }
                setPhase(memory, PHASE_VERIFY);
                phase = PHASE_VERIFY;
            }
            if (phase == PHASE_VERIFY) {
                if (plan.verify()) {
                    sequential("verify", false);
                }
                setPhase(memory, PHASE_MIX);
                phase = PHASE_MIX;
            }
            if (phase == PHASE_MIX) {
                if (plan.mixCount() > 0 || !plan.mixDuration().isZero()) {
                    mix();
                }
                setPhase(memory, PHASE_FLUSH);
                phase = PHASE_FLUSH;
            }
            if (phase == PHASE_FLUSH) {
                flush();
                setPhase(memory, PHASE_DONE);
            }
        }

        private long bufferOf(int tag) {
            return BUFFERS + (long) tag * plan.blockSize();
        }

        private int chunkLength(long chunk) {
            return (int) Math.min(chunkBlocks, blocks - chunk * chunkBlocks);
        }

        /** A sequential pass; the progress word holds the first chunk not yet completed. */
        void sequential(String name, boolean write) throws StorvscException, GuestMemoryException {
            long start = System.nanoTime();
            long signals = storvsc.signalsToParent();
            long interrupts = storvsc.interruptsFromParent();
            long next = memory.getLong(PROGRESS + 16);
            long requests = 0;
            long bytes = 0;
            int inFlight = 0;
            while (!gone && (next < chunks || inFlight > 0)) {
                while (!gone && inFlight < plan.queueDepth() && next < chunks) {
                    submit(next++, write);
                    inFlight++;
                }
                if (inFlight == 0) {
                    break;
                }
                int tag = controller.awaitCompletion();
                inFlight--;
                bytes += finish(tag);
                requests++;
                memory.setLong(PROGRESS + 16, frontier(next, inFlight));
            }
            report(new Report(name, requests, bytes, System.nanoTime() - start, storvsc.signalsToParent() - signals,
                    storvsc.interruptsFromParent() - interrupts, mismatches, firstMismatch, failed, -1));
            mismatches = 0;
            firstMismatch = -1;
            failed = 0;
        }

        /** The first chunk not yet completed: the lowest in flight, or the next to submit. */
        private long frontier(long next, int inFlight) {
            long low = next;
            if (inFlight > 0) {
                for (int t = 0; t < slotChunk.length; t++) {
                    if (slotChunk[t] >= 0 && slotChunk[t] < low) {
                        low = slotChunk[t];
                    }
                }
            }
            return low;
        }

        private void submit(long chunk, boolean write) throws StorvscException, GuestMemoryException {
            int count = chunkLength(chunk);
            long lba = first + chunk * chunkBlocks;
            int tag;
            if (write) {
                long buffer = freeBuffer();
                fill(buffer, lba, count);
                tag = disk.write(lba, count, buffer);
                if (tag != pendingTag) {
                    throw new IllegalStateException("the driver handed out tag " + tag + ", not " + pendingTag);
                }
            } else {
                tag = disk.read(lba, count, freeBuffer());
                if (tag != pendingTag) {
                    throw new IllegalStateException("the driver handed out tag " + tag + ", not " + pendingTag);
                }
            }
            slotChunk[tag] = chunk;
            slotWrite[tag] = write;
        }

        private int pendingTag;

        /** The buffer of the lowest free tag, which the driver hands out next. */
        private long freeBuffer() {
            for (int t = 0; t < slotChunk.length; t++) {
                if (slotChunk[t] < 0) {
                    pendingTag = t;
                    return bufferOf(t);
                }
            }
            throw new IllegalStateException("no free tag");
        }

        /** Checks a finished request; returns the bytes it moved. */
        private long finish(int tag) throws GuestMemoryException {
            IoStatus status = controller.status(tag);
            long chunk = slotChunk[tag];
            int count = chunkLength(chunk);
            long lba = first + chunk * chunkBlocks;
            long moved = 0;
            if (status == IoStatus.OK) {
                moved = (long) count * SECTOR;
                if (!slotWrite[tag] && (plan.verify())) {
                    check(bufferOf(tag), lba, count);
                }
            } else {
                failed++;
                if (status == IoStatus.NO_DEVICE) {
                    gone = true;
                }
            }
            slotChunk[tag] = -1;
            controller.release(tag);
            return moved;
        }

        void mix() throws StorvscException, GuestMemoryException {
            long start = System.nanoTime();
            long deadline = plan.mixDuration().isZero() ? Long.MAX_VALUE : start + plan.mixDuration().toNanos();
            long limit = plan.mixCount() == 0 ? Long.MAX_VALUE : plan.mixCount();
            long signals = storvsc.signalsToParent();
            long interrupts = storvsc.interruptsFromParent();
            long done = memory.getLong(PROGRESS + 16);
            long issued = done;
            long requests = 0;
            long bytes = 0;
            int inFlight = 0;
            long whole = blocks / chunkBlocks;
            if (whole == 0) {
                throw new StorvscException("the region of " + blocks + " blocks holds no whole " + plan.blockSize()
                        + "-byte request");
            }
            boolean timeUp = false;
            while (!gone && ((issued < limit && !timeUp) || inFlight > 0)) {
                while (!gone && inFlight < plan.queueDepth() && issued < limit && !timeUp) {
                    long h = mix64(plan.seed() ^ (issued * GOLDEN));
                    long chunk = Long.remainderUnsigned(h, whole);
                    boolean read = Long.remainderUnsigned(mix64(h + 1), 100) < plan.readPercent();
                    submit(chunk, !read);
                    issued++;
                    inFlight++;
                }
                if (inFlight == 0) {
                    break;
                }
                int tag = controller.awaitCompletion();
                inFlight--;
                bytes += finish(tag);
                requests++;
                done++;
                memory.setLong(PROGRESS + 16, done - inFlight);
                if ((requests & 63) == 0) {
                    timeUp = System.nanoTime() - deadline >= 0;
                }
            }
            report(new Report("mix", requests, bytes, System.nanoTime() - start, storvsc.signalsToParent() - signals,
                    storvsc.interruptsFromParent() - interrupts, mismatches, firstMismatch, failed, -1));
        }

        void flush() throws StorvscException {
            if (gone) {
                return;
            }
            long start = System.nanoTime();
            int tag = disk.flush();
            int finishedTag = controller.awaitCompletion();
            IoStatus status = controller.status(finishedTag);
            controller.release(finishedTag);
            report(new Report("flush", 1, 0, System.nanoTime() - start, 0, 0, 0, -1,
                    status == IoStatus.OK && finishedTag == tag ? 0 : 1, -1));
        }

        private void fill(long buffer, long lba, int count) throws GuestMemoryException {
            fillPattern(memory, buffer, lba, count, plan.seed());
        }

        private void check(long buffer, long lba, int count) throws GuestMemoryException {
            for (int s = 0; s < count; s++) {
                if (!holdsPattern(memory, buffer + (long) s * SECTOR, lba + s, plan.seed())) {
                    if (mismatches == 0) {
                        firstMismatch = lba + s;
                    }
                    mismatches++;
                }
            }
        }
    }

    /**
     * Writes the pattern of sectors {@code lba} to {@code lba + count - 1} under {@code seed} into
     * guest memory from {@code buffer}; allocates nothing. For guest programs on any disk path.
     */
    public static void fillPattern(GuestMemory memory, long buffer, long lba, int count, long seed)
            throws GuestMemoryException {
        for (int s = 0; s < count; s++) {
            long at = buffer + (long) s * SECTOR;
            long sectorLba = lba + s;
            memory.setLong(at, sectorLba);
            memory.setLong(at + 8, seed);
            long word = mix64(sectorLba ^ seed);
            for (int w = 2; w < SECTOR / 8; w++) {
                memory.setLong(at + 8L * w, word + w);
            }
        }
    }

    /** Whether the sector at {@code at} in guest memory holds sector {@code lba}'s pattern; allocates nothing. */
    public static boolean holdsPattern(GuestMemory memory, long at, long lba, long seed) throws GuestMemoryException {
        boolean same = memory.getLong(at) == lba && memory.getLong(at + 8) == seed;
        long word = mix64(lba ^ seed);
        for (int w = 2; same && w < SECTOR / 8; w++) {
            same = memory.getLong(at + 8L * w) == word + w;
        }
        return same;
    }

    /** The expected bytes of sector {@code lba} under {@code seed}: for checking a disk from outside. */
    public static byte[] expectedSector(long lba, long seed) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(SECTOR).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(lba).putLong(seed);
        long word = mix64(lba ^ seed);
        for (int w = 2; w < SECTOR / 8; w++) {
            b.putLong(word + w);
        }
        return b.array();
    }

    /** A 64-bit mixer (splitmix64's finalizer). */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
