/*
 * qdbench: random block I/O at a fixed queue depth, for measuring a disk from inside a test guest.
 * Built by vhdkit's test tooling (GuestProgram.java) with `gcc -static -O2` and copied into the
 * guest's initramfs as /usr/sbin/qdbench; busybox dd has one request in flight and no random mode.
 *
 *   qdbench [-d DEPTH] [-b BYTES] [-n REQUESTS] [-w] [-q] [-s SEED] DEVICE
 *
 * Opens DEVICE with O_DIRECT and keeps DEPTH requests of BYTES (default 4096) in flight through
 * Linux native AIO (io_setup/io_submit/io_getevents as raw system calls: no libaio), at random
 * BYTES-aligned offsets (xorshift64*, SEED) over the whole device, or at consecutive offsets with
 * -q; reads unless -w (writes of a fixed pattern). Stops after REQUESTS completions (default
 * 10000) and prints one line:
 *
 *   qdbench depth=32 bytes=4096 requests=10000 seconds=1.234567 iops=8100.0 mibps=31.6
 *       lat_avg_us=3950.1 lat_p50_us=3900 lat_p99_us=7000 lat_max_us=12000 cpu_user_s=0.10 cpu_sys_s=0.80
 *
 * Latency is per request, from io_submit to the io_getevents that returned it (microseconds);
 * cpu_* is this process's own CPU time (getrusage), the guest-side cost of the run. Exit status 0,
 * or 1 with a message on stderr when a request fails or comes back short.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long io_setup(unsigned nr, aio_context_t *ctx) { return syscall(SYS_io_setup, nr, ctx); }
static long io_destroy(aio_context_t ctx) { return syscall(SYS_io_destroy, ctx); }
static long io_submit(aio_context_t ctx, long n, struct iocb **iocbs) { return syscall(SYS_io_submit, ctx, n, iocbs); }
static long io_getevents(aio_context_t ctx, long min, long max, struct io_event *events, struct timespec *timeout) {
    return syscall(SYS_io_getevents, ctx, min, max, events, timeout);
}

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t) t.tv_sec * 1000000000u + (uint64_t) t.tv_nsec;
}

static uint64_t rng;
static uint64_t next_random(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}

static int compare_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return x < y ? -1 : x > y;
}

static void usage(void) {
    fprintf(stderr, "usage: qdbench [-d DEPTH] [-b BYTES] [-n REQUESTS] [-w] [-q] [-s SEED] DEVICE\n");
    exit(2);
}

int main(int argc, char **argv) {
    long depth = 1, bytes = 4096, total = 10000;
    int writing = 0, sequential = 0, opt;
    rng = 0x9e3779b97f4a7c15ull;
    while ((opt = getopt(argc, argv, "d:b:n:wqs:")) != -1) {
        switch (opt) {
        case 'd': depth = atol(optarg); break;
        case 'b': bytes = atol(optarg); break;
        case 'n': total = atol(optarg); break;
        case 'w': writing = 1; break;
        case 'q': sequential = 1; break;
        case 's': rng = strtoull(optarg, NULL, 0) | 1; break;
        default: usage();
        }
    }
    if (optind != argc - 1 || depth < 1 || depth > 1024 || bytes < 512 || bytes % 512 != 0 || total < 1) {
        usage();
    }
    const char *device = argv[optind];
    int fd = open(device, (writing ? O_RDWR : O_RDONLY) | O_DIRECT);
    if (fd < 0) {
        fprintf(stderr, "qdbench: %s: %s\n", device, strerror(errno));
        return 1;
    }
    uint64_t size = 0;
    if (ioctl(fd, BLKGETSIZE64, &size) != 0) {
        off_t end = lseek(fd, 0, SEEK_END);
        size = end > 0 ? (uint64_t) end : 0;
    }
    uint64_t blocks = size / (uint64_t) bytes;
    if (blocks == 0) {
        fprintf(stderr, "qdbench: %s: smaller than one request (%llu bytes)\n", device, (unsigned long long) size);
        return 1;
    }
    aio_context_t ctx = 0;
    if (io_setup((unsigned) depth, &ctx) != 0) {
        fprintf(stderr, "qdbench: io_setup(%ld): %s\n", depth, strerror(errno));
        return 1;
    }
    struct iocb *cbs = calloc((size_t) depth, sizeof *cbs);
    struct io_event *events = calloc((size_t) depth, sizeof *events);
    uint64_t *started = calloc((size_t) depth, sizeof *started);
    uint32_t *latency = calloc((size_t) total, sizeof *latency);
    char *buffers;
    if (!cbs || !events || !started || !latency || posix_memalign((void **) &buffers, 4096, (size_t) (depth * bytes)) != 0) {
        fprintf(stderr, "qdbench: out of memory\n");
        return 1;
    }
    memset(buffers, 0x5a, (size_t) (depth * bytes));
    uint64_t sequence = 0;
    long submitted = 0, done = 0;
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    uint64_t start = now_ns();

    for (long slot = 0; slot < depth && submitted < total; slot++, submitted++) {
        struct iocb *cb = &cbs[slot];
        memset(cb, 0, sizeof *cb);
        cb->aio_data = (uint64_t) slot;
        cb->aio_lio_opcode = writing ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
        cb->aio_fildes = (uint32_t) fd;
        cb->aio_buf = (uint64_t) (uintptr_t) (buffers + slot * bytes);
        cb->aio_nbytes = (uint64_t) bytes;
        cb->aio_offset = (int64_t) ((sequential ? sequence++ % blocks : next_random() % blocks) * (uint64_t) bytes);
        started[slot] = now_ns();
        struct iocb *one = cb;
        if (io_submit(ctx, 1, &one) != 1) {
            fprintf(stderr, "qdbench: io_submit: %s\n", strerror(errno));
            return 1;
        }
    }
    while (done < total) {
        long n = io_getevents(ctx, 1, depth, events, NULL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fprintf(stderr, "qdbench: io_getevents: %s\n", strerror(errno));
            return 1;
        }
        uint64_t t = now_ns();
        struct iocb *again[1024];
        long resubmit = 0;
        for (long i = 0; i < n; i++) {
            long slot = (long) events[i].data;
            if (events[i].res != bytes) {
                fprintf(stderr, "qdbench: %s at offset %lld: %s\n", writing ? "write" : "read",
                        (long long) cbs[slot].aio_offset,
                        (long long) events[i].res < 0 ? strerror((int) -(long long) events[i].res) : "short transfer");
                return 1;
            }
            uint64_t us = (t - started[slot]) / 1000;
            latency[done++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t) us;
            if (submitted < total) {
                struct iocb *cb = &cbs[slot];
                cb->aio_offset = (int64_t) ((sequential ? sequence++ % blocks : next_random() % blocks) * (uint64_t) bytes);
                again[resubmit++] = cb;
                submitted++;
            }
        }
        if (resubmit > 0) {
            uint64_t s = now_ns();
            for (long i = 0; i < resubmit; i++) {
                started[(long) again[i]->aio_data] = s;
            }
            long put = 0;
            while (put < resubmit) {
                long r = io_submit(ctx, resubmit - put, again + put);
                if (r <= 0) {
                    fprintf(stderr, "qdbench: io_submit: %s\n", r < 0 ? strerror(errno) : "nothing accepted");
                    return 1;
                }
                put += r;
            }
        }
    }
    double seconds = (double) (now_ns() - start) / 1e9;
    getrusage(RUSAGE_SELF, &after);
    io_destroy(ctx);
    close(fd);

    double sum = 0;
    for (long i = 0; i < total; i++) {
        sum += latency[i];
    }
    qsort(latency, (size_t) total, sizeof *latency, compare_u32);
    double user = (double) (after.ru_utime.tv_sec - before.ru_utime.tv_sec)
                  + (double) (after.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1e6;
    double sys = (double) (after.ru_stime.tv_sec - before.ru_stime.tv_sec)
                 + (double) (after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e6;
    printf("qdbench depth=%ld bytes=%ld requests=%ld seconds=%.6f iops=%.1f mibps=%.1f lat_avg_us=%.1f"
           " lat_p50_us=%u lat_p99_us=%u lat_max_us=%u cpu_user_s=%.2f cpu_sys_s=%.2f\n",
           depth, bytes, total, seconds, (double) total / seconds, (double) total * (double) bytes / seconds / 1048576.0,
           sum / (double) total, latency[total / 2], latency[(total * 99) / 100 < total ? (total * 99) / 100 : total - 1],
           latency[total - 1], user, sys);
    return 0;
}
