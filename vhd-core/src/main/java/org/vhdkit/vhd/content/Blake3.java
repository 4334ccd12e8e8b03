package org.vhdkit.vhd.content;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;

/**
 * BLAKE3 (unkeyed, 256-bit output): the same digest as {@code b3sum}, computed on all cores.
 *
 * <p>BLAKE3 hashes 1 KiB chunks independently (each chunk's chaining value depends only on its bytes
 * and its index) and joins their chaining values in a binary tree whose left subtrees are always
 * complete powers of two. So a long run of whole chunks is cut into aligned power-of-two subtrees;
 * each subtree is split in halves on a fork-join pool down to {@link #LEAF_CHUNKS} chunks, hashed on
 * one thread, and joined back up to the subtree's two halves, whose chaining values then go onto the
 * same chaining-value stack the serial algorithm keeps (the "lazy merge" of the reference
 * implementation), so the tree and the result are exactly the serial ones. Only {@link #finish}
 * knows where the input ends, so nothing given to it as the root: a subtree is pushed as its halves
 * (their parent may be the root), and chunk 0, when it may be the only chunk, is kept back unhashed.
 * So every whole chunk of a window is hashed at once, and a 4 MiB window on a 4 MiB boundary is one
 * subtree, side by side throughout (keeping the last chunk of each update back, as this class did,
 * cut each window into subtrees of 2048, 1024, ... 1 chunks, the small ones scalar: about 10% of the
 * time).
 *
 * <p>Subtrees of {@link #LANES} chunks or more are hashed that many chunks side by side
 * ({@link #laneChunkCvs}): the compression function's state is kept as rows of one word per chunk,
 * and each step of it is a loop along the rows, which HotSpot's C2 compiles to SIMD instructions
 * (its SuperWord auto-vectorizer; with AVX-512, 16 chunks per instruction), with no incubator module
 * or flag. The loops are few and small (one per kind of step, the rows moved between them), so that
 * C2 compiles them within the first tens of megabytes. The block step ({@link #compressRows}) is kept
 * too big for C2 to inline, so that it is compiled once, on its own, rather than again inside each
 * caller and each on-stack replacement (that had cost about 1.5 s of compiler time per run). Levels
 * of 64 parents or more go side by side the same way ({@link #laneParentCvs}), their blocks being
 * the children's chaining values; fewer chunks, smaller levels and the last chunk go through the
 * scalar function, which works on {@code int} locals, unrolled.
 *
 * <p>Not thread-safe: one per computation (it uses a shared pool internally).
 */
final class Blake3 implements DigestAlgorithm.Hasher {
    static final int CHUNK_LEN = 1024;
    private static final int BLOCK_LEN = 64;
    private static final int CHUNK_START = 1;
    private static final int CHUNK_END = 2;
    private static final int PARENT = 4;
    private static final int ROOT = 8;
    private static final int IV0 = 0x6A09E667;
    private static final int IV1 = 0xBB67AE85;
    private static final int IV2 = 0x3C6EF372;
    private static final int IV3 = 0xA54FF53A;
    private static final int IV4 = 0x510E527F;
    private static final int IV5 = 0x9B05688C;
    private static final int IV6 = 0x1F83D9AB;
    private static final int IV7 = 0x5BE0CD19;
    private static final int[] IV = {IV0, IV1, IV2, IV3, IV4, IV5, IV6, IV7};
    /**
     * Chunks one fork-join task hashes by itself: 512 KiB, about 0.3 ms of work, and enough that its
     * first three levels of parents (256, 128, 64) go side by side.
     */
    private static final int LEAF_CHUNKS = 512;
    /** 2^54 chunks of 2^10 bytes cover 2^64 bytes: the stack never holds more. */
    private static final int MAX_DEPTH = 54;
    private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private final int[] cvStack = new int[MAX_DEPTH * 8];
    private int stackLength;
    /** The index of the chunk in {@link #chunk}. */
    private long chunkCounter;
    /** The bytes of the current (last) chunk; zeros after {@link #chunkLength}. */
    private final byte[] chunk = new byte[CHUNK_LEN];
    private int chunkLength;
    private final int[] cv = new int[8];
    private final byte[] parentBlock = new byte[BLOCK_LEN];

    /** {@link #update(MemorySegment, long, int)} of {@code length} bytes of {@code input} at {@code offset}. */
    void update(byte[] input, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, input.length);
        update(MemorySegment.ofArray(input), offset, length);
    }

    /**
     * Hashes the {@code length} bytes of {@code input} at {@code offset} next. The segment, heap or
     * native, must be readable from any thread (the chunks are hashed on a pool); it is only read.
     */
    @Override
    public void update(MemorySegment input, long offset, int length) {
        Objects.checkFromIndexSize(offset, length, input.byteSize());
        long at = offset;
        int left = length;
        while (left > 0) {
            if (chunkLength == CHUNK_LEN) {
                // More input follows, so the buffered chunk is not the root.
                chunkCv(chunk, 0, CHUNK_LEN, chunkCounter, 0, cv);
                pushCv(cv, 0, chunkCounter);
                chunkCounter++;
                chunkLength = 0;
            }
            if (chunkLength > 0 || left < CHUNK_LEN || (chunkCounter == 0 && left == CHUNK_LEN)) {
                // A part of a chunk, or what may be the whole input's only chunk (the root).
                int take = Math.min(CHUNK_LEN - chunkLength, left);
                MemorySegment.copy(input, ValueLayout.JAVA_BYTE, at, chunk, chunkLength, take);
                chunkLength += take;
                at += take;
                left -= take;
                // The stack now holds no root: join what the chunk's index says is complete, so that
                // finish() only has to fold the stack from the right.
                mergeStack(chunkCounter);
                continue;
            }
            // Whole chunks straight from the input, all of them, as aligned subtrees: so a 4 MiB window
            // at a 4 MiB boundary is one subtree, hashed side by side throughout. None of them is
            // the root: a subtree of two or more chunks is pushed as its two halves (the root, if it
            // is one, is their parent, which finish() joins), a single chunk only when it is not
            // chunk 0 or more input follows.
            int whole = left / CHUNK_LEN;
            while (whole > 0) {
                int size = Integer.highestOneBit(whole);
                if (chunkCounter != 0) {
                    size = (int) Math.min(size, Long.lowestOneBit(chunkCounter));
                }
                pushSubtree(input, at, size, chunkCounter);
                chunkCounter += size;
                at += size * CHUNK_LEN;
                left -= size * CHUNK_LEN;
                whole -= size;
            }
        }
    }

    /** The 32-byte digest of everything given to {@link #update}; the hasher is used up. */
    @Override
    public byte[] finish() {
        Arrays.fill(chunk, chunkLength, CHUNK_LEN, (byte) 0);
        if (chunkLength == 0 && stackLength > 0) {
            // The input ended with whole chunks that update() pushed: the top of the stack is the
            // rightmost subtree, and there are at least two values (see update).
            stackLength--;
            System.arraycopy(cvStack, stackLength * 8, cv, 0, 8);
            for (int i = stackLength - 1; i >= 0; i--) {
                parentCv(cvStack, i * 8, cv, 0, i == 0 ? ROOT : 0, cv, 0, parentBlock);
            }
        } else if (stackLength == 0) {
            chunkCv(chunk, 0, chunkLength, chunkCounter, ROOT, cv);
        } else {
            chunkCv(chunk, 0, chunkLength, chunkCounter, 0, cv);
            for (int i = stackLength - 1; i >= 0; i--) {
                parentCv(cvStack, i * 8, cv, 0, i == 0 ? ROOT : 0, cv, 0, parentBlock);
            }
        }
        byte[] out = new byte[32];
        for (int i = 0; i < 8; i++) {
            INT_LE.set(out, i * 4, cv[i]);
        }
        return out;
    }

    /** Pushes the chaining value of the subtree starting at chunk {@code counter}, merging complete pairs first. */
    private void pushCv(int[] value, int valueOffset, long counter) {
        mergeStack(counter);
        System.arraycopy(value, valueOffset, cvStack, stackLength * 8, 8);
        stackLength++;
    }

    /**
     * Joins the stack's top pairs until it holds one value per complete subtree before chunk
     * {@code counter}. Done lazily, just before a push, and after bytes go into {@link #chunk}: a
     * value is never joined before it is known not to be the root's child on the right.
     */
    private void mergeStack(long counter) {
        int keep = Long.bitCount(counter);
        while (stackLength > keep) {
            int right = (stackLength - 1) * 8;
            int left = (stackLength - 2) * 8;
            parentCv(cvStack, left, cvStack, right, 0, cvStack, left, parentBlock);
            stackLength--;
        }
    }

    /** The chaining value of a parent node; {@code scratch} is a 64-byte block the caller owns. */
    private static void parentCv(int[] left, int leftOffset, int[] right, int rightOffset, int flags,
                                 int[] out, int outOffset, byte[] scratch) {
        for (int i = 0; i < 8; i++) {
            INT_LE.set(scratch, i * 4, left[leftOffset + i]);
            INT_LE.set(scratch, 32 + i * 4, right[rightOffset + i]);
        }
        out[outOffset] = IV0;
        out[outOffset + 1] = IV1;
        out[outOffset + 2] = IV2;
        out[outOffset + 3] = IV3;
        out[outOffset + 4] = IV4;
        out[outOffset + 5] = IV5;
        out[outOffset + 6] = IV6;
        out[outOffset + 7] = IV7;
        compress(out, outOffset, scratch, 0, 0, BLOCK_LEN, PARENT | flags);
    }

    /**
     * The chaining value of the chunk at {@code counter} whose {@code length} bytes (0 to 1024) start
     * at {@code offset}; the bytes after them, up to the next 64-byte boundary, must be zeros.
     * {@code lastFlags} is {@link #ROOT} when the chunk is the whole input.
     */
    private static void chunkCv(byte[] input, int offset, int length, long counter, int lastFlags, int[] out) {
        int blocks = Math.max(1, (length + BLOCK_LEN - 1) / BLOCK_LEN);
        out[0] = IV0;
        out[1] = IV1;
        out[2] = IV2;
        out[3] = IV3;
        out[4] = IV4;
        out[5] = IV5;
        out[6] = IV6;
        out[7] = IV7;
        for (int b = 0; b < blocks; b++) {
            boolean last = b == blocks - 1;
            int flags = (b == 0 ? CHUNK_START : 0) | (last ? CHUNK_END | lastFlags : 0);
            int blockLength = last ? length - b * BLOCK_LEN : BLOCK_LEN;
            compress(out, 0, input, offset + b * BLOCK_LEN, counter, blockLength, flags);
        }
    }

    /**
     * Pushes the {@code chunks} (a power of two) whole chunks at {@code offset}, the first being chunk
     * {@code counter}: their chaining value when one chunk, else the chaining values of their two
     * halves, so that the subtree can still become the root's children.
     */
    private void pushSubtree(MemorySegment input, long offset, int chunks, long counter) {
        if (chunks == 1) {
            // The chunk buffer is empty whenever whole chunks are taken from the input.
            MemorySegment.copy(input, ValueLayout.JAVA_BYTE, offset, chunk, 0, CHUNK_LEN);
            chunkCv(chunk, 0, CHUNK_LEN, counter, 0, cv);
            pushCv(cv, 0, counter);
            return;
        }
        int[] halves;
        if (chunks <= LEAF_CHUNKS || Workers.PARALLELISM < 2) {
            halves = serialSubtree(input, offset, chunks, counter, 2);
        } else {
            halves = Workers.POOL.invoke(ForkJoinTask.adapt(() -> parallelHalves(input, offset, chunks, counter)));
        }
        pushCv(halves, 0, counter);
        pushCv(halves, 8, counter + chunks / 2);
    }

    /** The chaining values of the two halves of the subtree, side by side in 16 ints, hashed on the pool. */
    private static int[] parallelHalves(MemorySegment input, long offset, int chunks, long counter) {
        int half = chunks / 2;
        ForkJoinTask<int[]> right = ForkJoinTask.adapt(
                () -> parallelSubtree(input, offset + (long) half * CHUNK_LEN, half, counter + half)).fork();
        int[] left = parallelSubtree(input, offset, half, counter);
        int[] both = Arrays.copyOf(left, 16);
        System.arraycopy(right.join(), 0, both, 8, 8);
        return both;
    }

    /** The chaining value of the subtree, in the first 8 ints of the result, hashed on the pool. */
    private static int[] parallelSubtree(MemorySegment input, long offset, int chunks, long counter) {
        if (chunks <= LEAF_CHUNKS) {
            return serialSubtree(input, offset, chunks, counter, 1);
        }
        int half = chunks / 2;
        ForkJoinTask<int[]> right = ForkJoinTask.adapt(
                () -> parallelSubtree(input, offset + (long) half * CHUNK_LEN, half, counter + half)).fork();
        int[] left = parallelSubtree(input, offset, half, counter);
        int[] r = right.join();
        parentCv(left, 0, r, 0, 0, left, 0, new byte[BLOCK_LEN]);
        return left;
    }

    /**
     * The subtree on this thread: every chunk's value, then the tree above them level by level, up to
     * the level of {@code top} (1 or 2) values, which are the first {@code top * 8} ints of the result.
     */
    private static int[] serialSubtree(MemorySegment input, long offset, int chunks, long counter, int top) {
        int[] cvs = new int[chunks * 8];
        int c = 0;
        if (chunks >= LANES) {
            int[] work = WORK.get();
            for (; c < chunks; c += LANES) {
                laneChunkCvs(input, offset + (long) c * CHUNK_LEN, counter + c, work, cvs, c * 8);
            }
        }
        int[] one = new int[8];
        byte[] chunk = c < chunks ? new byte[CHUNK_LEN] : null;
        for (; c < chunks; c++) {
            MemorySegment.copy(input, ValueLayout.JAVA_BYTE, offset + (long) c * CHUNK_LEN, chunk, 0, CHUNK_LEN);
            chunkCv(chunk, 0, CHUNK_LEN, counter + c, 0, one);
            System.arraycopy(one, 0, cvs, c * 8, 8);
        }
        byte[] scratch = new byte[BLOCK_LEN];
        int n = chunks;
        if (n >= LANES) {
            // Every level side by side, the small ones with lanes idle: a little more work than the
            // scalar function on the last 63 parents, but it keeps that function (5 KB of bytecode)
            // from becoming hot, and so C1 and C2 from spending a few hundred ms compiling it.
            int[] work = WORK.get();
            for (; n > top; n /= 2) {
                for (int first = 0; first < n; first += 2 * LANES) {
                    laneParentCvs(cvs, first, Math.min(LANES, (n - first) / 2), work);
                }
            }
        }
        for (; n > top; n /= 2) {
            for (int i = 0; i < n / 2; i++) {
                parentCv(cvs, 2 * i * 8, cvs, (2 * i + 1) * 8, 0, cvs, i * 8, scratch);
            }
        }
        return cvs;
    }

    /**
     * Chunks hashed side by side by {@link #laneChunkCvs}: each step of the compression function is
     * a loop along rows of one word per chunk, which C2 compiles to SIMD instructions (SuperWord).
     */
    static final int LANES = 128;
    /** One row: a word of every lane. */
    private static final int R = LANES;
    // The work array, in rows. The state's rows 0-3 (A), 4-7 (B), 8-11 (C), 12-15 (D) lie so that a
    // column step is one loop over A, B, C, D from their starts, and a diagonal step one loop over A
    // and B, C, D from their second, third and fourth rows: B is followed by a copy of row 4, C by
    // copies of rows 8-9, D by copies of rows 12-14 (made before a diagonal step, copied back after).
    private static final int B = 4 * R;
    private static final int C = 9 * R;
    private static final int D = 15 * R;
    /** The message rows a step uses: its four G functions' first words (X) and second words (Y). */
    private static final int X = 22 * R;
    private static final int Y = 26 * R;
    /** The 16 message words of the block. */
    private static final int M = 30 * R;
    /** The 8 chaining-value words. */
    private static final int H = 46 * R;
    /** The counter's low and high words. */
    private static final int COUNTER = 54 * R;
    /** The chunks' bytes as little-endian words, as read: 256 per chunk. */
    private static final int IN = 56 * R;
    private static final int WORK_INTS = IN + LANES * CHUNK_LEN / 4;
    /** Each thread's work array for {@link #laneChunkCvs} (190 KB), kept rather than made per task. */
    private static final ThreadLocal<int[]> WORK = ThreadLocal.withInitial(() -> new int[WORK_INTS]);
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** The message words each round takes, in order (the spec's permutation applied round by round). */
    private static final byte[][] SCHEDULE = {
        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
        {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
        {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
        {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
        {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
        {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
        {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13}};

    /**
     * The chaining values of the {@link #LANES} whole chunks at {@code offset}, the first being chunk
     * {@code counter}, into {@code out[outOffset..]} (8 ints per chunk), {@link #compressRows} taking
     * their blocks side by side.
     */
    private static void laneChunkCvs(MemorySegment input, long offset, long counter, int[] w, int[] out, int outOffset) {
        MemorySegment.copy(input, LE_INT, offset, w, IN, LANES * CHUNK_LEN / 4);
        ivRows(w);
        for (int lane = 0; lane < LANES; lane++) {
            long c = counter + lane;
            w[COUNTER + lane] = (int) c;
            w[COUNTER + R + lane] = (int) (c >>> 32);
        }
        for (int b = 0; b < CHUNK_LEN / BLOCK_LEN; b++) {
            messageRows(w, IN + b * 16, CHUNK_LEN / 4, LANES, w);
            compressRows(w, (b == 0 ? CHUNK_START : 0) | (b == CHUNK_LEN / BLOCK_LEN - 1 ? CHUNK_END : 0));
        }
        cvsOut(w, out, outOffset, LANES);
    }

    /**
     * The parents of the {@code 2 * parents} (at most {@code 2 * LANES}) nodes whose chaining values
     * are at {@code cvs[first * 8..]}, side by side: parent {@code i} goes to {@code
     * cvs[(first / 2 + i) * 8..]}, which may overlap the nodes (they are all read first).
     */
    private static void laneParentCvs(int[] cvs, int first, int parents, int[] w) {
        ivRows(w);
        Arrays.fill(w, COUNTER, COUNTER + 2 * R, 0);
        // A parent's block is its two children's chaining values, which lie side by side in cvs.
        messageRows(cvs, first * 8, 16, parents, w);
        compressRows(w, PARENT);
        cvsOut(w, cvs, first / 2 * 8, parents);
    }

    /** The chaining-value rows set to the IV, as at the start of a chunk or a parent. */
    private static void ivRows(int[] w) {
        for (int i = 0; i < 8; i++) {
            Arrays.fill(w, H + i * R, H + (i + 1) * R, IV[i]);
        }
    }

    /**
     * The message rows from 16-word blocks, one per lane, lane {@code l}'s at {@code src[from + l *
     * stride..]}: word {@code j} of the first {@code lanes} lanes' blocks into row {@code j} (the
     * other lanes keep what they held).
     */
    private static void messageRows(int[] src, int from, int stride, int lanes, int[] w) {
        for (int lane = 0; lane < lanes; lane++) {
            int at = from + lane * stride;
            for (int word = 0; word < 16; word++) {
                w[M + word * R + lane] = src[at + word];
            }
        }
    }

    /** The first {@code lanes} chaining values in the rows, to {@code out[outOffset..]}, 8 ints each. */
    private static void cvsOut(int[] w, int[] out, int outOffset, int lanes) {
        for (int lane = 0; lane < lanes; lane++) {
            for (int i = 0; i < 8; i++) {
                out[outOffset + lane * 8 + i] = w[H + i * R + lane];
            }
        }
    }

    /**
     * One block of every lane through the compression function: the message rows and the
     * chaining-value and counter rows in, the new chaining-value rows out. Each step is one loop
     * along rows ({@link #columnStep}, {@link #diagonalStep}); few and small loops, so that C2
     * compiles them soon and cheaply.
     */
    private static void compressRows(int[] w, int flags) {
        System.arraycopy(w, H, w, 0, 4 * R);
        System.arraycopy(w, H + 4 * R, w, B, 4 * R);
        for (int i = 0; i < 4; i++) {
            Arrays.fill(w, C + i * R, C + (i + 1) * R, IV[i]);
        }
        System.arraycopy(w, COUNTER, w, D, 2 * R);
        Arrays.fill(w, D + 2 * R, D + 3 * R, BLOCK_LEN);
        Arrays.fill(w, D + 3 * R, D + 4 * R, flags);
        for (byte[] s : SCHEDULE) {
            for (int g = 0; g < 4; g++) {
                System.arraycopy(w, M + s[2 * g] * R, w, X + g * R, R);
                System.arraycopy(w, M + s[2 * g + 1] * R, w, Y + g * R, R);
            }
            columnStep(w);
            System.arraycopy(w, B, w, B + 4 * R, R);
            System.arraycopy(w, C, w, C + 4 * R, 2 * R);
            System.arraycopy(w, D, w, D + 4 * R, 3 * R);
            for (int g = 0; g < 4; g++) {
                System.arraycopy(w, M + s[8 + 2 * g] * R, w, X + g * R, R);
                System.arraycopy(w, M + s[8 + 2 * g + 1] * R, w, Y + g * R, R);
            }
            diagonalStep(w);
            System.arraycopy(w, B + 4 * R, w, B, R);
            System.arraycopy(w, C + 4 * R, w, C, 2 * R);
            System.arraycopy(w, D + 4 * R, w, D, 3 * R);
        }
        feedForward(w);
    }

    /** The four G functions of a round's first step, on the columns (rows 0, 4, 8, 12; 1, 5, 9, 13; ...). */
    private static void columnStep(int[] w) {
        for (int i = 0; i < 4 * R; i++) {
            int a = w[i];
            int b = w[B + i];
            int c = w[C + i];
            int d = w[D + i];
            a += b + w[X + i];
            d = Integer.rotateRight(d ^ a, 16);
            c += d;
            b = Integer.rotateRight(b ^ c, 12);
            a += b + w[Y + i];
            d = Integer.rotateRight(d ^ a, 8);
            c += d;
            b = Integer.rotateRight(b ^ c, 7);
            w[i] = a;
            w[B + i] = b;
            w[C + i] = c;
            w[D + i] = d;
        }
    }

    /**
     * The four G functions of a round's second step, on the diagonals (rows 0, 5, 10, 15; 1, 6, 11,
     * 12; ...). Written out apart from {@link #columnStep} rather than sharing a method that takes
     * the rows' distance: C2 vectorizes the loop only when it can prove the rows it reads and writes
     * apart, which needs their offsets to be constants in the loop's own compilation.
     */
    private static void diagonalStep(int[] w) {
        for (int i = 0; i < 4 * R; i++) {
            int a = w[i];
            int b = w[B + R + i];
            int c = w[C + 2 * R + i];
            int d = w[D + 3 * R + i];
            a += b + w[X + i];
            d = Integer.rotateRight(d ^ a, 16);
            c += d;
            b = Integer.rotateRight(b ^ c, 12);
            a += b + w[Y + i];
            d = Integer.rotateRight(d ^ a, 8);
            c += d;
            b = Integer.rotateRight(b ^ c, 7);
            w[i] = a;
            w[B + R + i] = b;
            w[C + 2 * R + i] = c;
            w[D + 3 * R + i] = d;
        }
    }

    /** The new chaining values: rows 0-7 of the state, each XORed with the row 8 further. */
    private static void feedForward(int[] w) {
        for (int i = 0; i < 4 * R; i++) {
            w[H + i] = w[i] ^ w[C + i];
            w[H + 4 * R + i] = w[B + i] ^ w[D + i];
        }
    }

    /**
     * BLAKE3's compression function, keeping the first half of its output: {@code cv[cvOffset..+8]}
     * becomes the chaining value after the 64-byte block at {@code block[blockOffset]}.
     */
    private static void compress(int[] cv, int cvOffset, byte[] block, int blockOffset, long counter,
                                 int blockLength, int flags) {
        int m0 = (int) INT_LE.get(block, blockOffset);
        int m1 = (int) INT_LE.get(block, blockOffset + 4);
        int m2 = (int) INT_LE.get(block, blockOffset + 8);
        int m3 = (int) INT_LE.get(block, blockOffset + 12);
        int m4 = (int) INT_LE.get(block, blockOffset + 16);
        int m5 = (int) INT_LE.get(block, blockOffset + 20);
        int m6 = (int) INT_LE.get(block, blockOffset + 24);
        int m7 = (int) INT_LE.get(block, blockOffset + 28);
        int m8 = (int) INT_LE.get(block, blockOffset + 32);
        int m9 = (int) INT_LE.get(block, blockOffset + 36);
        int m10 = (int) INT_LE.get(block, blockOffset + 40);
        int m11 = (int) INT_LE.get(block, blockOffset + 44);
        int m12 = (int) INT_LE.get(block, blockOffset + 48);
        int m13 = (int) INT_LE.get(block, blockOffset + 52);
        int m14 = (int) INT_LE.get(block, blockOffset + 56);
        int m15 = (int) INT_LE.get(block, blockOffset + 60);
        int v0 = cv[cvOffset];
        int v1 = cv[cvOffset + 1];
        int v2 = cv[cvOffset + 2];
        int v3 = cv[cvOffset + 3];
        int v4 = cv[cvOffset + 4];
        int v5 = cv[cvOffset + 5];
        int v6 = cv[cvOffset + 6];
        int v7 = cv[cvOffset + 7];
        int v8 = IV0;
        int v9 = IV1;
        int v10 = IV2;
        int v11 = IV3;
        int v12 = (int) counter;
        int v13 = (int) (counter >>> 32);
        int v14 = blockLength;
        int v15 = flags;
        // round 1
        v0 += v4 + m0; v12 = Integer.rotateRight(v12 ^ v0, 16);
        v8 += v12; v4 = Integer.rotateRight(v4 ^ v8, 12);
        v0 += v4 + m1; v12 = Integer.rotateRight(v12 ^ v0, 8);
        v8 += v12; v4 = Integer.rotateRight(v4 ^ v8, 7);
        v1 += v5 + m2; v13 = Integer.rotateRight(v13 ^ v1, 16);
        v9 += v13; v5 = Integer.rotateRight(v5 ^ v9, 12);
        v1 += v5 + m3; v13 = Integer.rotateRight(v13 ^ v1, 8);
        v9 += v13; v5 = Integer.rotateRight(v5 ^ v9, 7);
        v2 += v6 + m4; v14 = Integer.rotateRight(v14 ^ v2, 16);
        v10 += v14; v6 = Integer.rotateRight(v6 ^ v10, 12);
        v2 += v6 + m5; v14 = Integer.rotateRight(v14 ^ v2, 8);
        v10 += v14; v6 = Integer.rotateRight(v6 ^ v10, 7);
        v3 += v7 + m6; v15 = Integer.rotateRight(v15 ^ v3, 16);
        v11 += v15; v7 = Integer.rotateRight(v7 ^ v11, 12);
        v3 += v7 + m7; v15 = Integer.rotateRight(v15 ^ v3, 8);
        v11 += v15; v7 = Integer.rotateRight(v7 ^ v11, 7);
        v0 += v5 + m8; v15 = Integer.rotateRight(v15 ^ v0, 16);
        v10 += v15; v5 = Integer.rotateRight(v5 ^ v10, 12);
        v0 += v5 + m9; v15 = Integer.rotateRight(v15 ^ v0, 8);
        v10 += v15; v5 = Integer.rotateRight(v5 ^ v10, 7);
        v1 += v6 + m10; v12 = Integer.rotateRight(v12 ^ v1, 16);
        v11 += v12; v6 = Integer.rotateRight(v6 ^ v11, 12);
        v1 += v6 + m11; v12 = Integer.rotateRight(v12 ^ v1, 8);
        v11 += v12; v6 = Integer.rotateRight(v6 ^ v11, 7);
        v2 += v7 + m12; v13 = Integer.rotateRight(v13 ^ v2, 16);
        v8 += v13; v7 = Integer.rotateRight(v7 ^ v8, 12);
        v2 += v7 + m13; v13 = Integer.rotateRight(v13 ^ v2, 8);
        v8 += v13; v7 = Integer.rotateRight(v7 ^ v8, 7);
        v3 += v4 + m14; v14 = Integer.rotateRight(v14 ^ v3, 16);
        v9 += v14; v4 = Integer.rotateRight(v4 ^ v9, 12);
        v3 += v4 + m15; v14 = Integer.rotateRight(v14 ^ v3, 8);
        v9 += v14; v4 = Integer.rotateRight(v4 ^ v9, 7);
        // round 2
        v0 += v4 + m2; v12 = Integer.rotateRight(v12 ^ v0, 16);
        v8 += v12; v4 = Integer.rotateRight(v4 ^ v8, 12);
        v0 += v4 + m6; v12 = Integer.rotateRight(v12 ^ v0, 8);
        v8 += v12; v4 = Integer.rotateRight(v4 ^ v8, 7);
        v1 += v5 + m3; v13 = Integer.rotateRight(v13 ^ v1, 16);
        v9 += v13; v5 = Integer.rotateRight(v5 ^ v9, 12);
        v1 += v5 + m10; v13 = Integer.rotateRight(v13 ^ v1, 8);
        v9 += v13; v5 = Integer.rotateRight(v5 ^ v9, 7);
        v2 += v6 + m7; v14 = Integer.rotateRight(v14 ^ v2, 16);
        v10 += v14; v6 = Integer.rotateRight(v6 ^ v10, 12);
        v2 += v6 + m0; v14 = Integer.rotateRight(v14 ^ v2, 8);
        v10 += v14; v6 = Integer.rotateRight(v6 ^ v10, 7);
        v3 += v7 + m4; v15 = Integer.rotateRight(v15 ^ v3, 16);
        v11 += v15; v7 = Integer.rotateRight(v7 ^ v11, 12);
        v3 += v7 + m13; v15 = Integer.rotateRight(v15 ^ v3, 8);
        v11 += v15; v7 = Integer.rotateRight(v7 ^ v11, 7);
        v0 += v5 + m1; v15 = Integer.rotateRight(v15 ^ v0, 16);
        v10 += v15; v5 = Integer.rotateRight(v5 ^ v10, 12);
        v0 += v5 + m11; v15 = Integer.rotateRight(v15 ^ v0, 8);
        v10 += v15; v5 = Integer.rotateRight(v5 ^ v10, 7);
        v1 += v6 + m12; v12 = Integer.rotateRight(v12 ^ v1, 16);
        v11 += v12; v6 = Integer.rotateRight(v6 ^ v11, 12);
        v1 += v6 + m5; v12 = Integer.rotateRight(v12 ^ v1, 8);
        v11 += v12; v6 = Integer.rotateRight(v6 ^ v11, 7);
        v2 += v7 + m9; v13 = Integer.rotateRight(v13 ^ v2, 16);
        v8 += v13; v7 = Integer.rotateRight(v7 ^ v8, 12);
        v2 += v7 + m14; v13 = Integer.rotateRight(v13 ^ v2, 8);
        v8 += v13; v7 = Integer.rotateRight(v7 ^ v8, 7);
        v3 += v4 + m15; v14 = Integer.rotateRight(v14 ^ v3, 16);
        v9 += v14; v4 = Integer.rotateRight(v4 ^ v9, 12);
        v3 += v4 + m8; v14 = Integer.rotateRight(v14 ^ v3, 8);
        v9 += v14; v4 = Integer.rotateRight(v4 ^ v9, 7);
        // round 3
        v0 += v4 + m3; v12 = Integer.rotateRight(v12 ^ v0, 16);
        v8 += v12; v4 = Integer.rotateRight(v4 ^ v8, 12);
        v0 += v4 + m4; v12 = Integer.rotateRight(v12 ^ v0, 8);
        v8 += v12; v4 = Integer.rotateRight(v4 ^ v8, 7);
        v1 += v5 + m10; v13 = Integer.rotateRight(v13 ^ v1, 16);
        v9 += v13; v5 = Integer.rotateRight(v5 ^ v9, 12);
        v1 += v5 + m12; v13 = Integer.rotateRight(v13 ^ v1, 8);
        v9 += v13; v5 = Integer.rotateRight(v5 ^ v9, 7);
        v2 += v6 + m13; v14 = Integer.rotateRight(v14 ^ v2, 16);
        v10 += v14; v6 = Integer.rotateRight(v6 ^ v10, 12);
        v2 += v6 + m2; v14 = Integer.rotateRight(v14 ^ v2, 8);
        v10 += v14; v6 = Integer.rotateRight(v6 ^ v10, 7);
        v3 += v7 + m7; v15 = Integer.rotateRight(v15 ^ v3, 16);
        v11 += v15; v7 = Integer.rotateRight(v7 ^ v11, 12);
        v3 += v7 + m14; v15 = Integer.rotateRight(v15 ^ v3, 8);
        v11 += v15; v7 = Integer.rotateRight(v7 ^ v11, 7);
        v0 += v5 + m6; v15 = Integer.rotateRight(v15 ^ v0, 16);
        v10 += v15; v5 = Integer.rotateRight(v5 ^ v10, 12);
        v0 += v5 + m5; v15 = Integer.rotateRight(v15 ^ v0, 8);
        v10 += v15; v5 = Integer.rotateRight(v5 ^ v10, 7);
        v1 += v6 + m9; v12 = Integer.rotateRight(v12 ^ v1, 16);
        v11 += v12; v6 = Integer.rotateRight(v6 ^ v11, 12);
        v1 += v6 + m0; v12 = Integer.rotateRight(v12 ^ v1, 8);
        v11 += v12; v6 = Integer.rotateRight(v6 ^ v11, 7);
        v2 += v7 + m11; v13 = Integer.rotateRight(v13 ^ v2, 16);
        v8 += v13; v7 = Integer.rotateRight(v7 ^ v8, 12);
        v2 += v7 + m15; v13 = Integer.rotateRight(v13 ^ v2, 8);
        v8 += v13; v7 = Integer.rotateRight(v7 ^ v8, 7);
        v3 += v4 + m8; v14 = Integer.rotateRight(v14 ^ v3, 16);
        v9 += v14; v4 = Integer.rotateRight(v4 ^ v9, 12);
        v3 += v4 + m1; v14 = Integer.rotateRight(v14 ^ v3, 8);
        v9 += v14; v4 = Integer.rotateRight(v4 ^ v9, 7);
        // round 4
        v0 += v4 + m10; v12 = Integer.rotateRight(v12 ^ v0, 16);
        v8 += v12; v4 = Integer.rotateRight(v4 ^ v8, 12);
        v0 += v4 + m7; v12 = Integer.rotateRight(v12 ^ v0, 8);
        v8 += v12; v4 = Integer.rotateRight(v4 ^ v8, 7);
        v1 += v5 + m12; v13 = Integer.rotateRight(v13 ^ v1, 16);
        v9 += v13; v5 = Integer.rotateRight(v5 ^ v9, 12);
        v1 += v5 + m9; v13 = Integer.rotateRight(v13 ^ v1, 8);
        v9 += v13; v5 = Integer.rotateRight(v5 ^ v9, 7);
        v2 += v6 + m14; v14 = Integer.rotateRight(v14 ^ v2, 16);
        v10 += v14; v6 = Integer.rotateRight(v6 ^ v10, 12);
        v2 += v6 + m3; v14 = Integer.rotateRight(v14 ^ v2, 8);
        v10 += v14; v6 = Integer.rotateRight(v6 ^ v10, 7);
        v3 += v7 + m13; v15 = Integer.rotateRight(v15 ^ v3, 16);
        v11 += v15; v7 = Integer.rotateRight(v7 ^ v11, 12);
        v3 += v7 + m15; v15 = Integer.rotateRight(v15 ^ v3, 8);
        v11 += v15; v7 = Integer.rotateRight(v7 ^ v11, 7);
        v0 += v5 + m4; v15 = Integer.rotateRight(v15 ^ v0, 16);
        v10 += v15; v5 = Integer.rotateRight(v5 ^ v10, 12);
        v0 += v5 + m0; v15 = Integer.rotateRight(v15 ^ v0, 8);
        v10 += v15; v5 = Integer.rotateRight(v5 ^ v10, 7);
        v1 += v6 + m11; v12 = Integer.rotateRight(v12 ^ v1, 16);
        v11 += v12; v6 = Integer.rotateRight(v6 ^ v11, 12);
        v1 += v6 + m2; v12 = Integer.rotateRight(v12 ^ v1, 8);
        v11 += v12; v6 = Integer.rotateRight(v6 ^ v11, 7);
        v2 += v7 + m5; v13 = Integer.rotateRight(v13 ^ v2, 16);
        v8 += v13; v7 = Integer.rotateRight(v7 ^ v8, 12);
        v2 += v7 + m8; v13 = Integer.rotateRight(v13 ^ v2, 8);
        v8 += v13; v7 = Integer.rotateRight(v7 ^ v8, 7);
        v3 += v4 + m1; v14 = Integer.rotateRight(v14 ^ v3, 16);
        v9 += v14; v4 = Integer.rotateRight(v4 ^ v9, 12);
        v3 += v4 + m6; v14 = Integer.rotateRight(v14 ^ v3, 8);
        v9 += v14; v4 = Integer.rotateRight(v4 ^ v9, 7);
        // round 5
        v0 += v4 + m12; v12 = Integer.rotateRight(v12 ^ v0, 16);
        v8 += v12; v4 = Integer.rotateRight(v4 ^ v8, 12);
        v0 += v4 + m13; v12 = Integer.rotateRight(v12 ^ v0, 8);
        v8 += v12; v4 = Integer.rotateRight(v4 ^ v8, 7);
        v1 += v5 + m9; v13 = Integer.rotateRight(v13 ^ v1, 16);
        v9 += v13; v5 = Integer.rotateRight(v5 ^ v9, 12);
        v1 += v5 + m11; v13 = Integer.rotateRight(v13 ^ v1, 8);
        v9 += v13; v5 = Integer.rotateRight(v5 ^ v9, 7);
        v2 += v6 + m15; v14 = Integer.rotateRight(v14 ^ v2, 16);
        v10 += v14; v6 = Integer.rotateRight(v6 ^ v10, 12);
        v2 += v6 + m10; v14 = Integer.rotateRight(v14 ^ v2, 8);
        v10 += v14; v6 = Integer.rotateRight(v6 ^ v10, 7);
        v3 += v7 + m14; v15 = Integer.rotateRight(v15 ^ v3, 16);
        v11 += v15; v7 = Integer.rotateRight(v7 ^ v11, 12);
        v3 += v7 + m8; v15 = Integer.rotateRight(v15 ^ v3, 8);
        v11 += v15; v7 = Integer.rotateRight(v7 ^ v11, 7);
        v0 += v5 + m7; v15 = Integer.rotateRight(v15 ^ v0, 16);
        v10 += v15; v5 = Integer.rotateRight(v5 ^ v10, 12);
        v0 += v5 + m2; v15 = Integer.rotateRight(v15 ^ v0, 8);
        v10 += v15; v5 = Integer.rotateRight(v5 ^ v10, 7);
        v1 += v6 + m5; v12 = Integer.rotateRight(v12 ^ v1, 16);
        v11 += v12; v6 = Integer.rotateRight(v6 ^ v11, 12);
        v1 += v6 + m3; v12 = Integer.rotateRight(v12 ^ v1, 8);
        v11 += v12; v6 = Integer.rotateRight(v6 ^ v11, 7);
        v2 += v7 + m0; v13 = Integer.rotateRight(v13 ^ v2, 16);
        v8 += v13; v7 = Integer.rotateRight(v7 ^ v8, 12);
        v2 += v7 + m1; v13 = Integer.rotateRight(v13 ^ v2, 8);
        v8 += v13; v7 = Integer.rotateRight(v7 ^ v8, 7);
        v3 += v4 + m6; v14 = Integer.rotateRight(v14 ^ v3, 16);
        v9 += v14; v4 = Integer.rotateRight(v4 ^ v9, 12);
        v3 += v4 + m4; v14 = Integer.rotateRight(v14 ^ v3, 8);
        v9 += v14; v4 = Integer.rotateRight(v4 ^ v9, 7);
        // round 6
        v0 += v4 + m9; v12 = Integer.rotateRight(v12 ^ v0, 16);
        v8 += v12; v4 = Integer.rotateRight(v4 ^ v8, 12);
        v0 += v4 + m14; v12 = Integer.rotateRight(v12 ^ v0, 8);
        v8 += v12; v4 = Integer.rotateRight(v4 ^ v8, 7);
        v1 += v5 + m11; v13 = Integer.rotateRight(v13 ^ v1, 16);
        v9 += v13; v5 = Integer.rotateRight(v5 ^ v9, 12);
        v1 += v5 + m5; v13 = Integer.rotateRight(v13 ^ v1, 8);
        v9 += v13; v5 = Integer.rotateRight(v5 ^ v9, 7);
        v2 += v6 + m8; v14 = Integer.rotateRight(v14 ^ v2, 16);
        v10 += v14; v6 = Integer.rotateRight(v6 ^ v10, 12);
        v2 += v6 + m12; v14 = Integer.rotateRight(v14 ^ v2, 8);
        v10 += v14; v6 = Integer.rotateRight(v6 ^ v10, 7);
        v3 += v7 + m15; v15 = Integer.rotateRight(v15 ^ v3, 16);
        v11 += v15; v7 = Integer.rotateRight(v7 ^ v11, 12);
        v3 += v7 + m1; v15 = Integer.rotateRight(v15 ^ v3, 8);
        v11 += v15; v7 = Integer.rotateRight(v7 ^ v11, 7);
        v0 += v5 + m13; v15 = Integer.rotateRight(v15 ^ v0, 16);
        v10 += v15; v5 = Integer.rotateRight(v5 ^ v10, 12);
        v0 += v5 + m3; v15 = Integer.rotateRight(v15 ^ v0, 8);
        v10 += v15; v5 = Integer.rotateRight(v5 ^ v10, 7);
        v1 += v6 + m0; v12 = Integer.rotateRight(v12 ^ v1, 16);
        v11 += v12; v6 = Integer.rotateRight(v6 ^ v11, 12);
        v1 += v6 + m10; v12 = Integer.rotateRight(v12 ^ v1, 8);
        v11 += v12; v6 = Integer.rotateRight(v6 ^ v11, 7);
        v2 += v7 + m2; v13 = Integer.rotateRight(v13 ^ v2, 16);
        v8 += v13; v7 = Integer.rotateRight(v7 ^ v8, 12);
        v2 += v7 + m6; v13 = Integer.rotateRight(v13 ^ v2, 8);
        v8 += v13; v7 = Integer.rotateRight(v7 ^ v8, 7);
        v3 += v4 + m4; v14 = Integer.rotateRight(v14 ^ v3, 16);
        v9 += v14; v4 = Integer.rotateRight(v4 ^ v9, 12);
        v3 += v4 + m7; v14 = Integer.rotateRight(v14 ^ v3, 8);
        v9 += v14; v4 = Integer.rotateRight(v4 ^ v9, 7);
        // round 7
        v0 += v4 + m11; v12 = Integer.rotateRight(v12 ^ v0, 16);
        v8 += v12; v4 = Integer.rotateRight(v4 ^ v8, 12);
        v0 += v4 + m15; v12 = Integer.rotateRight(v12 ^ v0, 8);
        v8 += v12; v4 = Integer.rotateRight(v4 ^ v8, 7);
        v1 += v5 + m5; v13 = Integer.rotateRight(v13 ^ v1, 16);
        v9 += v13; v5 = Integer.rotateRight(v5 ^ v9, 12);
        v1 += v5 + m0; v13 = Integer.rotateRight(v13 ^ v1, 8);
        v9 += v13; v5 = Integer.rotateRight(v5 ^ v9, 7);
        v2 += v6 + m1; v14 = Integer.rotateRight(v14 ^ v2, 16);
        v10 += v14; v6 = Integer.rotateRight(v6 ^ v10, 12);
        v2 += v6 + m9; v14 = Integer.rotateRight(v14 ^ v2, 8);
        v10 += v14; v6 = Integer.rotateRight(v6 ^ v10, 7);
        v3 += v7 + m8; v15 = Integer.rotateRight(v15 ^ v3, 16);
        v11 += v15; v7 = Integer.rotateRight(v7 ^ v11, 12);
        v3 += v7 + m6; v15 = Integer.rotateRight(v15 ^ v3, 8);
        v11 += v15; v7 = Integer.rotateRight(v7 ^ v11, 7);
        v0 += v5 + m14; v15 = Integer.rotateRight(v15 ^ v0, 16);
        v10 += v15; v5 = Integer.rotateRight(v5 ^ v10, 12);
        v0 += v5 + m10; v15 = Integer.rotateRight(v15 ^ v0, 8);
        v10 += v15; v5 = Integer.rotateRight(v5 ^ v10, 7);
        v1 += v6 + m2; v12 = Integer.rotateRight(v12 ^ v1, 16);
        v11 += v12; v6 = Integer.rotateRight(v6 ^ v11, 12);
        v1 += v6 + m12; v12 = Integer.rotateRight(v12 ^ v1, 8);
        v11 += v12; v6 = Integer.rotateRight(v6 ^ v11, 7);
        v2 += v7 + m3; v13 = Integer.rotateRight(v13 ^ v2, 16);
        v8 += v13; v7 = Integer.rotateRight(v7 ^ v8, 12);
        v2 += v7 + m4; v13 = Integer.rotateRight(v13 ^ v2, 8);
        v8 += v13; v7 = Integer.rotateRight(v7 ^ v8, 7);
        v3 += v4 + m7; v14 = Integer.rotateRight(v14 ^ v3, 16);
        v9 += v14; v4 = Integer.rotateRight(v4 ^ v9, 12);
        v3 += v4 + m13; v14 = Integer.rotateRight(v14 ^ v3, 8);
        v9 += v14; v4 = Integer.rotateRight(v4 ^ v9, 7);
        cv[cvOffset] = v0 ^ v8;
        cv[cvOffset + 1] = v1 ^ v9;
        cv[cvOffset + 2] = v2 ^ v10;
        cv[cvOffset + 3] = v3 ^ v11;
        cv[cvOffset + 4] = v4 ^ v12;
        cv[cvOffset + 5] = v5 ^ v13;
        cv[cvOffset + 6] = v6 ^ v14;
        cv[cvOffset + 7] = v7 ^ v15;
    }

    /** The pool subtrees are hashed on, one thread per core; made on first use, its threads are daemons. */
    private static final class Workers {
        static final int PARALLELISM = Runtime.getRuntime().availableProcessors();
        static final ForkJoinPool POOL = new ForkJoinPool(PARALLELISM);
    }
}
