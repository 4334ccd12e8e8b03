/*
 * The floor of issue 15's 4 KiB write target: what writing 4 KiB at a time into the allocated blocks
 * of a page-cached dynamic VHD costs when nothing but the write itself is done, as `qemu-img bench -w`
 * and `vhd bench -w` write (depth 1, sequential from virtual offset 0): COUNT calls of pwrite(2), each
 * of 4096 bytes of 0x5a, at the file offsets where virtual offsets 0, 4096, 8192, ... are stored. The
 * block allocation table is read once, before the clock starts; sector bitmaps are not touched (the
 * blocks must be allocated whole, as a dynamic VHD that qemu-img convert made from data has them).
 *
 *     write-floor FILE.vhd COUNT
 *
 * Prints "Run completed in S seconds." as both benches do, timed from the first write to the end of
 * the last. Used by scripts/bench-write-floor; see BENCHMARKS.md, Writes.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int read_at(int fd, void *buf, size_t n, off_t at) {
    return pread(fd, buf, n, at) == (ssize_t) n ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: write-floor FILE.vhd COUNT\n");
        return 2;
    }
    long count = atol(argv[2]);
    int fd = open(argv[1], O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(argv[1]);
        return 1;
    }
    /* Footer (last 512 bytes): data offset at 16; dynamic header: table offset at 16, entries at 28, block size at 32. */
    unsigned char footer[512], header[1024];
    if (st.st_size < 512 || read_at(fd, footer, sizeof footer, st.st_size - 512) != 0
            || memcmp(footer, "conectix", 8) != 0) {
        fprintf(stderr, "write-floor: %s: no VHD footer at offset %lld\n", argv[1], (long long) st.st_size - 512);
        return 2;
    }
    uint64_t dyn;
    memcpy(&dyn, footer + 16, 8);
    dyn = be64toh(dyn);
    if (read_at(fd, header, sizeof header, (off_t) dyn) != 0 || memcmp(header, "cxsparse", 8) != 0) {
        fprintf(stderr, "write-floor: %s: not a dynamic VHD (no dynamic header at offset %llu)\n", argv[1],
                (unsigned long long) dyn);
        return 2;
    }
    uint64_t table;
    uint32_t entries, block;
    memcpy(&table, header + 16, 8);
    memcpy(&entries, header + 28, 4);
    memcpy(&block, header + 32, 4);
    table = be64toh(table);
    entries = be32toh(entries);
    block = be32toh(block);
    uint32_t *bat = malloc((size_t) entries * 4);
    if (block < 4096 || block % 4096 != 0 || bat == NULL || read_at(fd, bat, (size_t) entries * 4, (off_t) table) != 0) {
        fprintf(stderr, "write-floor: %s: cannot read its block allocation table\n", argv[1]);
        return 2;
    }
    long per_block = block / 4096;
    off_t bitmap = ((block / 512 / 8) + 511) / 512 * 512;
    if (count <= 0 || count > (long) entries * per_block) {
        fprintf(stderr, "write-floor: %ld writes of 4096 bytes do not fit in the disk\n", count);
        return 2;
    }
    for (long b = 0; b <= (count - 1) / per_block; b++) {
        if (bat[b] == 0xffffffffu) {
            fprintf(stderr, "write-floor: %s: block %ld is not allocated\n", argv[1], b);
            return 2;
        }
    }
    static char buf[4096] __attribute__((aligned(4096)));
    memset(buf, 0x5a, sizeof buf);
    double start = now();
    for (long i = 0; i < count; i++) {
        off_t at = (off_t) be32toh(bat[i / per_block]) * 512 + bitmap + (i % per_block) * 4096;
        if (pwrite(fd, buf, sizeof buf, at) != (ssize_t) sizeof buf) {
            perror("pwrite");
            return 1;
        }
    }
    printf("Run completed in %.3f seconds.\n", now() - start);
    return close(fd) == 0 ? 0 : 1;
}
