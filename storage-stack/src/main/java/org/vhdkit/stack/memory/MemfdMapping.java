package org.vhdkit.stack.memory;

import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.vhdkit.vhd.io.Libc;

/**
 * Guest memory as Linux anonymous shared memory: a {@code memfd_create} file of the memory's size
 * ({@code ftruncate}), mapped {@code MAP_SHARED} read-write, called through vhd-core's {@link Libc}.
 *
 * <p>Why: such memory costs nothing until touched, and which pages were touched can be asked
 * ({@link #hole}) without touching them. The kernel gives each page, zeroed, on its first
 * touch (a read too), where {@link Arena#allocate} zeroes every byte up front (5 s and all of it resident for a
 * 512 MiB VM that may use a few MiB). And a memfd is what another process can map too: a vhost-user
 * backend is handed guest memory as memfd descriptors, so the descriptor is kept.
 *
 * <p>Where it cannot be had, {@link #map} says so with null and the caller allocates from the
 * arena instead: there is no {@link Libc} (not Linux on amd64 or aarch64, native access denied, a C
 * library without {@code memfd_create}), or {@code memfd_create}, {@code ftruncate} or {@code mmap}
 * fail at run time other than for want of memory (an old kernel, a seccomp filter, no descriptors
 * left).
 *
 * <p>Thread-safety: stateless.
 */
final class MemfdMapping {
    private static final System.Logger LOG = System.getLogger(MemfdMapping.class.getName());
    /** memfd_create takes names of up to 249 bytes; they show in /proc/PID/maps as "/memfd:NAME". */
    private static final int MAX_NAME = 64;

    private static final Libc SYSTEM = Libc.system().orElse(null);

    /** The memory and the descriptor of the memfd that holds it. */
    record Mapping(MemorySegment segment, int fd) {
    }

    private MemfdMapping() {
    }

    /** The host's C library, or null where there is none. */
    static Libc systemLibc() {
        return SYSTEM;
    }

    /**
     * Maps {@code size} bytes of fresh zeroed memfd memory, named after {@code owner}, whose segment
     * belongs to {@code arena}: closing the arena unmaps it and closes the descriptor. Returns null
     * where memfd memory cannot be had (see the class comment; {@code libc} null: there is no C
     * library); throws OutOfMemoryError when the kernel has no room for the mapping.
     */
    @SuppressWarnings("restricted") // the mapping's segment is given its size; see the class comment
    static Mapping map(Libc libc, String owner, long size, Arena arena) {
        if (libc == null) {
            return null;
        }
        Libc.Result created = libc.memfdCreate(name(owner), Libc.MFD_CLOEXEC);
        if (created.failed()) {
            LOG.log(Level.DEBUG, "memfd_create failed with errno {0}; guest memory is allocated eagerly",
                    created.errno());
            return null;
        }
        int fd = created.intValue();
        Libc.Result sized = libc.ftruncate(fd, size);
        if (sized.failed()) {
            libc.close(fd);
            return failed("ftruncate", sized.errno(), size);
        }
        Libc.Result mapped = libc.mmap(size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0L);
        if (mapped.failed()) {
            libc.close(fd);
            return failed("mmap", mapped.errno(), size);
        }
        long at = mapped.value();
        MemorySegment segment = MemorySegment.ofAddress(at).reinterpret(size, arena, unused -> unmap(libc, at, size, fd));
        return new Mapping(segment, fd);
    }

    /**
     * Whether the memfd {@code fd} holds no page in {@code [offset, offset + length)}: none was
     * touched since it was made, so the range reads as zeros ({@code lseek(SEEK_DATA)}; a page
     * swapped out counts as held). False where it cannot tell.
     */
    static boolean hole(Libc libc, int fd, long offset, long length) {
        if (libc == null) {
            return false;
        }
        Libc.Result data = libc.lseek(fd, offset, Libc.SEEK_DATA);
        return data.failed() ? data.errno() == Libc.ENXIO : data.value() - offset >= length;
    }

    private static Mapping failed(String call, int errno, long size) {
        if (errno == Libc.ENOMEM) {
            throw new OutOfMemoryError(call + " of " + size + " bytes of guest memory failed: out of memory");
        }
        LOG.log(Level.DEBUG, "{0} failed with errno {1}; guest memory is allocated eagerly", call, errno);
        return null;
    }

    /** The arena's cleanup: unmaps the memory and closes its descriptor. Never throws. */
    private static void unmap(Libc libc, long at, long size, int fd) {
        try {
            Libc.Result unmapped = libc.munmap(at, size);
            Libc.Result closed = libc.close(fd);
            if (unmapped.failed() || closed.failed()) {
                LOG.log(Level.ERROR, "releasing guest memory failed: munmap errno {0}, close errno {1}",
                        unmapped.errno(), closed.errno());
            }
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "releasing guest memory failed", e);
        }
    }

    /** A memfd name: the owner's name in plain characters, short; it is only for reading /proc. */
    private static String name(String owner) {
        String plain = owner.replaceAll("[^A-Za-z0-9._-]", "_");
        return "vhdkit-guest-" + (plain.length() > MAX_NAME ? plain.substring(0, MAX_NAME) : plain);
    }
}
