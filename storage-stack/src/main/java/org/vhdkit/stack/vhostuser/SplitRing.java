package org.vhdkit.stack.vhostuser;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * A split virtqueue in guest memory (the virtio specification's split virtqueues): the descriptor
 * table, the available ring the driver fills and the used ring the device fills, at offsets of the
 * guest memory window, checked once when the queue starts (inside one region each, aligned as the
 * specification requires).
 *
 * <h2>Memory ordering</h2>
 * The available index is read with acquire semantics before the entries it publishes; a used
 * element is written before the used index is stored with release semantics; a full fence
 * separates publishing used entries (or re-enabling notifications) from reading what the driver
 * asked about notifications, as the specification's pseudo-code has it.
 *
 * <h2>Hostile input</h2>
 * {@link #take} reads each descriptor's fields once into locals, checks every address against the
 * regions, refuses loops (more descriptors than the table holds), a readable descriptor after a
 * writable one, an indirect descriptor without the feature, inside an indirect table, with NEXT
 * set, or with a length that is not a whole number of descriptors, and a next index outside the
 * table. A refused chain is returned to the driver used with length 0; the queue goes on.
 *
 * <p>Thread-safety: none; a ring belongs to its queue's worker.
 */
final class SplitRing {
    static final int DESC_F_NEXT = 1;
    static final int DESC_F_WRITE = 2;
    static final int DESC_F_INDIRECT = 4;
    static final int AVAIL_F_NO_INTERRUPT = 1;
    static final int USED_F_NO_NOTIFY = 1;
    static final int DESCRIPTOR_LENGTH = 16;
    /** The most descriptors an indirect table may hold. */
    static final int MAX_INDIRECT = 32768;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle U16_ACCESS = U16.varHandle();
    private static final ValueLayout.OfShort U16_PLAIN =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final GuestRegions memory;
    private final MemorySegment window;
    private final int size;
    private final long descriptors;
    private final long available;
    private final long used;
    private final boolean indirect;
    private final boolean eventIndex;
    /** The dirty-page log the used ring's writes go to, or null. */
    private final DirtyLog log;
    /** The used ring's guest physical address for the log. */
    private final long usedGuest;

    private SplitRing(GuestRegions memory, int size, long descriptors, long available, long used, boolean indirect,
                      boolean eventIndex, DirtyLog log, long usedGuest) {
        this.log = log;
        this.usedGuest = usedGuest;
        this.memory = memory;
        this.window = memory.window();
        this.size = size;
        this.descriptors = descriptors;
        this.available = available;
        this.used = used;
        this.indirect = indirect;
        this.eventIndex = eventIndex;
    }

    /**
     * The ring of {@code size} entries at the front-end's user addresses given, or a refusal: why it
     * cannot be served (thrown as {@link IllegalArgumentException} with the reason).
     */
    static SplitRing at(GuestRegions memory, int size, long descriptorTable, long availableRing, long usedRing,
                        boolean indirect, boolean eventIndex, DirtyLog log, long usedGuest) {
        long d = memory.fromUser(descriptorTable, (long) DESCRIPTOR_LENGTH * size);
        long a = memory.fromUser(availableRing, 6 + 2L * size);
        long u = memory.fromUser(usedRing, 6 + 8L * size);
        if (d < 0 || a < 0 || u < 0) {
            throw new IllegalArgumentException("the ring of " + size + " entries (descriptors at 0x"
                    + Long.toHexString(descriptorTable) + ", available at 0x" + Long.toHexString(availableRing)
                    + ", used at 0x" + Long.toHexString(usedRing) + ") is not inside one memory region each");
        }
        long base = memory.window().address();
        if ((base + d) % 16 != 0 || (base + a) % 2 != 0 || (base + u) % 4 != 0) {
            throw new IllegalArgumentException("the ring is misaligned (descriptors need 16 bytes, available 2, used 4)");
        }
        return new SplitRing(memory, size, d, a, u, indirect, eventIndex, usedGuest < 0 ? null : log, usedGuest);
    }

    int size() {
        return size;
    }

    // ---- the available ring ----

    /** avail->idx, with acquire semantics. */
    int availableIndex() {
        return Short.toUnsignedInt((short) U16_ACCESS.getAcquire(window, available + 2));
    }

    /** avail->ring[slot % size]: a head index, unchecked. */
    int availableHead(int slot) {
        return Short.toUnsignedInt(window.get(U16_PLAIN, available + 4 + 2L * (slot & (size - 1))));
    }

    int availableFlags() {
        return Short.toUnsignedInt(window.get(U16_PLAIN, available));
    }

    /** used_event, at the end of the available ring. */
    int usedEvent() {
        return Short.toUnsignedInt(window.get(U16_PLAIN, available + 4 + 2L * size));
    }

    // ---- the used ring ----

    int usedIndex() {
        return Short.toUnsignedInt((short) U16_ACCESS.getAcquire(window, used + 2));
    }

    /** Writes used->ring[usedIndex % size] = {id, length}; publish with {@link #publishUsed}. */
    void putUsed(int usedIndex, int id, int length) {
        long at = used + 4 + 8L * (usedIndex & (size - 1));
        window.set(U32, at, id);
        window.set(U32, at + 4, length);
        if (log != null) {
            log.mark(usedGuest + (at - used), 8);
        }
    }

    /** Stores used->idx with release semantics. */
    void publishUsed(int usedIndex) {
        U16_ACCESS.setRelease(window, used + 2, (short) usedIndex);
        if (log != null) {
            log.mark(usedGuest + 2, 2);
        }
    }

    /**
     * Asks the driver to kick (or not) for new requests: the used ring's NO_NOTIFY flag, or with
     * event index the avail_event at {@code availableIndex} (where a kick is wanted from).
     */
    void notifications(boolean wanted, int availableIndex) {
        if (eventIndex) {
            if (wanted) {
                U16_ACCESS.setRelease(window, used + 4 + 8L * size, (short) availableIndex);
                if (log != null) {
                    log.mark(usedGuest + 4 + 8L * size, 2);
                }
            }
        } else {
            U16_ACCESS.setRelease(window, used, (short) (wanted ? 0 : USED_F_NO_NOTIFY));
            if (log != null) {
                log.mark(usedGuest, 2);
            }
        }
        VarHandle.fullFence();
    }

    /**
     * Whether the driver wants an interrupt now that the used index went from {@code oldUsed} to
     * {@code newUsed}. Call after publishing.
     */
    boolean interruptWanted(int oldUsed, int newUsed) {
        VarHandle.fullFence();
        if (eventIndex) {
            int event = usedEvent();
            return ((newUsed - event - 1) & 0xFFFF) < ((newUsed - oldUsed) & 0xFFFF);
        }
        return (availableFlags() & AVAIL_F_NO_INTERRUPT) == 0;
    }

    // ---- descriptor chains ----

    /**
     * Reads the chain starting at descriptor {@code head} into {@code chain}; returns null, or why
     * the chain is refused.
     */
    String take(int head, DescriptorChain chain) {
        chain.reset(window, head);
        if (head >= size) {
            return "head descriptor " + head + " is outside the table of " + size;
        }
        long table = descriptors;
        int tableSize = size;
        boolean inIndirect = false;
        boolean sawWritable = false;
        int index = head;
        int visited = 0;
        while (true) {
            if (++visited > tableSize) {
                return "the chain from descriptor " + head + " is longer than its table (" + tableSize
                        + " descriptors): a loop";
            }
            long at = table + (long) DESCRIPTOR_LENGTH * index;
            long address = window.get(U64, at);
            long length = Integer.toUnsignedLong(window.get(U32, at + 8));
            int flags = Short.toUnsignedInt(window.get(U16_PLAIN, at + 12));
            int next = Short.toUnsignedInt(window.get(U16_PLAIN, at + 14));
            if ((flags & DESC_F_INDIRECT) != 0) {
                if (!indirect) {
                    return "descriptor " + index + " is indirect, which was not negotiated";
                }
                if (inIndirect) {
                    return "an indirect table holds an indirect descriptor";
                }
                if ((flags & DESC_F_NEXT) != 0) {
                    return "indirect descriptor " + index + " has NEXT set";
                }
                if (length == 0 || length % DESCRIPTOR_LENGTH != 0 || length / DESCRIPTOR_LENGTH > MAX_INDIRECT) {
                    return "indirect descriptor " + index + " has length " + length
                            + ", not a whole number of descriptors (1 to " + MAX_INDIRECT + ")";
                }
                long t = memory.fromGuest(address, length);
                if (t < 0) {
                    return "indirect table at 0x" + Long.toHexString(address) + " (" + length
                            + " bytes) is not inside one memory region";
                }
                table = t;
                tableSize = (int) (length / DESCRIPTOR_LENGTH);
                inIndirect = true;
                index = 0;
                visited = 0;
                continue;
            }
            boolean writable = (flags & DESC_F_WRITE) != 0;
            if (!writable && sawWritable) {
                return "descriptor " + index + " is device-readable after a device-writable one";
            }
            sawWritable |= writable;
            String refused = addRanges(chain, writable, address, length);
            if (refused != null) {
                return refused;
            }
            if ((flags & DESC_F_NEXT) == 0) {
                return null;
            }
            if (next >= tableSize) {
                return "descriptor " + index + " chains to " + next + ", outside its table of " + tableSize;
            }
            index = next;
        }
    }

    private String addRanges(DescriptorChain chain, boolean writable, long address, long length) {
        long at = address;
        long left = length;
        while (left > 0) {
            int r = memory.regionOf(at);
            if (r < 0) {
                return "buffer at 0x" + Long.toHexString(address) + " (" + length + " bytes) is outside guest memory";
            }
            long n = Math.min(left, memory.remaining(r, at));
            if (!chain.add(writable, memory.offsetIn(r, at), n, at)) {
                return "the chain names more than " + DescriptorChain.MAX_RANGES + " buffers";
            }
            at += n;
            left -= n;
        }
        return null;
    }
}
