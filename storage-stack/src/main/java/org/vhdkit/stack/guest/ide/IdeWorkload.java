package org.vhdkit.stack.guest.ide;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.vhdkit.stack.guest.workload.Workload.Report;
import org.vhdkit.stack.guest.workload.Workload;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;
import org.vhdkit.stack.partition.GuestContext;
import org.vhdkit.stack.partition.GuestProgram;

/**
 * The guest workload on an IDE disk: a {@link GuestProgram} that writes the built-in workload's
 * verifiable pattern (the same bytes per sector as {@link Workload}, so
 * {@link Workload#expectedSector} checks the disk from outside) across a region of an ATA disk
 * through {@link IdeDriver} by PIO or DMA, reads it back and compares, runs a random mix of reads and
 * writes of that pattern, flushes, and halts or powers off. One request at a time (IDE has no
 * queue). Each phase ends with a {@link Workload.Report} (signals and interrupts 0: the emulated path
 * has neither; the parent adds its intercept count with {@link Report#withIntercepts}).
 *
 * <p>It is the IDE counterpart of {@link Workload}, whose request engine is built on the synthetic
 * driver's queue; its phases are the same (the mix as "mix", with the same rules), but it has no
 * restart model (a resumed VM runs it from the top).
 *
 * <pre>
 *   0x1000     the driver's scratch page (PRD table, sense)
 *   0x100000   the request buffer, blockSize bytes
 * </pre>
 *
 * <p>Thread-safety: {@link #run} on processor 0 only (others halt at once); the reports are guarded
 * by this object and may be read from any thread.
 */
public final class IdeWorkload implements GuestProgram {
    public static final long SCRATCH = 0x1000;
    public static final long BUFFER = 0x10_0000;
    private static final int SECTOR = 512;

    /**
     * What to run.
     *
     * @param channel    the IDE channel (0 primary, 1 secondary)
     * @param unit       the device (0 master, 1 slave)
     * @param mode       PIO, PIO_MULTIPLE (16 sectors a block) or DMA
     * @param firstBlock the first 512-byte sector of the region
     * @param blocks     the region's length in sectors; 0 for the rest of the disk
     * @param blockSize  bytes per request, a multiple of 512 up to 256 KiB
     * @param seed       the pattern's seed
     * @param write      run the write phase
     * @param verify     run the verify phase, and check the mix's reads
     * @param powerOff   power the VM off when done, rather than halting
     * @param mixCount    random requests to run after the other phases; 0 for none (unless a duration is given)
     * @param readPercent the share of reads in the mix, 0 to 100; the rest write the pattern
     * @param mixDuration how long the mix runs at most; zero for no limit but the count
     */
    public record Plan(int channel, int unit, IdeDriver.Mode mode, long firstBlock, long blocks, int blockSize,
            long seed, boolean write, boolean verify, boolean powerOff, long mixCount, int readPercent,
            Duration mixDuration) {
        public Plan {
            Objects.requireNonNull(mode, "mode");
            Objects.requireNonNull(mixDuration, "mixDuration");
            if (mixCount < 0 || readPercent < 0 || readPercent > 100 || mixDuration.isNegative()) {
                throw new IllegalArgumentException("a mix of " + mixCount + " requests, " + readPercent
                        + "% reads, for " + mixDuration);
            }
            if (channel < 0 || channel > 1 || unit < 0 || unit > 1 || firstBlock < 0 || blocks < 0) {
                throw new IllegalArgumentException("no such IDE device or region: " + channel + ":" + unit + ", "
                        + firstBlock + "+" + blocks);
            }
            if (blockSize < SECTOR || blockSize % SECTOR != 0 || blockSize > 256 * 1024) {
                throw new IllegalArgumentException("a block size is a multiple of 512 up to 256 KiB, not " + blockSize);
            }
        }

        /** Write and verify all of the primary master in 64 KiB requests by {@code mode}. */
        public static Plan writeAndVerify(IdeDriver.Mode mode, long seed) {
            return new Plan(0, 0, mode, 0, 0, 64 * 1024, seed, true, true, false, 0, 0, Duration.ZERO);
        }

        public Plan withDisk(int newChannel, int newUnit) {
            return new Plan(newChannel, newUnit, mode, firstBlock, blocks, blockSize, seed, write, verify, powerOff,
                    mixCount, readPercent, mixDuration);
        }

        public Plan withRegion(long first, long count) {
            return new Plan(channel, unit, mode, first, count, blockSize, seed, write, verify, powerOff, mixCount,
                    readPercent, mixDuration);
        }

        public Plan withBlockSize(int size) {
            return new Plan(channel, unit, mode, firstBlock, blocks, size, seed, write, verify, powerOff, mixCount,
                    readPercent, mixDuration);
        }

        public Plan withPhases(boolean newWrite, boolean newVerify) {
            return new Plan(channel, unit, mode, firstBlock, blocks, blockSize, seed, newWrite, newVerify, powerOff,
                    mixCount, readPercent, mixDuration);
        }

        public Plan withPowerOff(boolean off) {
            return new Plan(channel, unit, mode, firstBlock, blocks, blockSize, seed, write, verify, off, mixCount,
                    readPercent, mixDuration);
        }

        /** A random mix after the other phases: {@code count} requests (or for {@code duration}). */
        public Plan withMix(long count, int percentReads, Duration duration) {
            return new Plan(channel, unit, mode, firstBlock, blocks, blockSize, seed, write, verify, powerOff, count,
                    percentReads, duration);
        }
    }

    private final Plan plan;
    private final List<Report> reports = new ArrayList<>(); // guarded by this
    private final CountDownLatch finished = new CountDownLatch(1);

    public IdeWorkload(Plan plan) {
        this.plan = Objects.requireNonNull(plan, "plan");
    }

    /** The reports so far, one per phase. Thread-safe. */
    public synchronized List<Report> reports() {
        return List.copyOf(reports);
    }

    /** Waits until the workload finished or failed; whether it did within {@code timeout}. Thread-safe. */
    public boolean awaitFinished(java.time.Duration timeout) throws InterruptedException {
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
        try {
            IdeDriver d = IdeDriver.open(ctx, plan.channel(), plan.unit(), SCRATCH);
            IdeDriver.Identity id = d.identify();
            if (id.packet()) {
                throw new IdeException("IDE " + plan.channel() + ":" + plan.unit() + " is a DVD drive, not a disk",
                        0, 0);
            }
            if (plan.mode() == IdeDriver.Mode.PIO_MULTIPLE) {
                d.setMultiple(Math.min(16, id.maxMultiple()));
            }
            long first = plan.firstBlock();
            long count = plan.blocks() == 0 ? id.sectors() - first : plan.blocks();
            if (first > id.sectors() || count > id.sectors() - first) {
                throw new IdeException("the region " + first + "+" + count + " is not on a disk of " + id.sectors()
                        + " sectors", 0, 0);
            }
            if (plan.write()) {
                phase(ctx, d, "write", first, count, true);
            }
            if (plan.verify()) {
                phase(ctx, d, "verify", first, count, false);
            }
            if (plan.mixCount() > 0 || !plan.mixDuration().isZero()) {
                mix(ctx, d, first, count);
            }
            long start = System.nanoTime();
            long failed = 0;
            try {
                d.flush();
            } catch (IdeException e) {
                failed = 1;
            }
            report(new Report("flush", 1, 0, System.nanoTime() - start, 0, 0, 0, -1, failed, -1));
        } catch (IdeException | GuestMemoryException e) {
            report(new Report("failed: " + e.getMessage(), 0, 0, 0, 0, 0, 0, -1, 1, -1));
        } finally {
            finished.countDown();
        }
        if (plan.powerOff()) {
            ctx.powerOff();
        }
    }

    private void phase(GuestContext ctx, IdeDriver d, String name, long first, long count, boolean write)
            throws IdeException, GuestMemoryException {
        GuestMemory m = ctx.memory();
        int per = plan.blockSize() / SECTOR;
        long requests = 0;
        long mismatches = 0;
        long firstMismatch = -1;
        long start = System.nanoTime();
        for (long lba = first; lba < first + count; lba += per) {
            int n = (int) Math.min(per, first + count - lba);
            if (write) {
                fill(m, lba, n);
                d.write(lba, n, BUFFER, plan.mode());
            } else {
                d.read(lba, n, BUFFER, plan.mode());
                for (int s = 0; s < n; s++) {
                    if (!sectorMatches(m, BUFFER + (long) s * SECTOR, lba + s)) {
                        if (mismatches++ == 0) {
                            firstMismatch = lba + s;
                        }
                    }
                }
            }
            requests++;
            ctx.safePoint();
        }
        report(new Report(name, requests, count * SECTOR, System.nanoTime() - start, 0, 0, mismatches, firstMismatch,
                0, -1));
    }

    /**
     * Random requests of the block size, aligned to it in the region: {@code readPercent} of them
     * reads (checked against the pattern when the plan verifies), the rest writes of the pattern.
     */
    private void mix(GuestContext ctx, IdeDriver d, long first, long count) throws IdeException, GuestMemoryException {
        GuestMemory m = ctx.memory();
        int per = plan.blockSize() / SECTOR;
        long slots = Math.max(1, count / per);
        Random random = new Random(plan.seed());
        long deadline = plan.mixDuration().isZero() ? Long.MAX_VALUE : System.nanoTime() + plan.mixDuration().toNanos();
        long requests = 0;
        long bytes = 0;
        long mismatches = 0;
        long firstMismatch = -1;
        long start = System.nanoTime();
        while ((plan.mixCount() == 0 || requests < plan.mixCount()) && System.nanoTime() < deadline) {
            long lba = first + (long) (random.nextDouble() * slots) * per;
            int n = (int) Math.min(per, first + count - lba);
            if (random.nextInt(100) < plan.readPercent()) {
                d.read(lba, n, BUFFER, plan.mode());
                for (int s = 0; plan.verify() && s < n; s++) {
                    if (!sectorMatches(m, BUFFER + (long) s * SECTOR, lba + s) && mismatches++ == 0) {
                        firstMismatch = lba + s;
                    }
                }
            } else {
                fill(m, lba, n);
                d.write(lba, n, BUFFER, plan.mode());
            }
            requests++;
            bytes += (long) n * SECTOR;
            ctx.safePoint();
        }
        report(new Report("mix", requests, bytes, System.nanoTime() - start, 0, 0, mismatches, firstMismatch, 0, -1));
    }

    private void fill(GuestMemory m, long lba, int sectors) throws GuestMemoryException {
        Workload.fillPattern(m, BUFFER, lba, sectors, plan.seed());
    }

    private boolean sectorMatches(GuestMemory m, long at, long lba) throws GuestMemoryException {
        return Workload.holdsPattern(m, at, lba, plan.seed());
    }
}
