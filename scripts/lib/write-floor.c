/*
 * The floor of issue 15's 4 KiB write target: what writing 4 KiB at a time into a page-cached file
 * costs when nothing but the write itself is done, as `qemu-img bench -w` and `vhd bench -w` write
 * (depth 1, sequential): COUNT calls of pwrite(2), each of 4096 bytes of 0x5a, at OFFSET, OFFSET + 4096, ...
 *
 *     write-floor FILE COUNT [OFFSET]
 *
 * Prints "Run completed in S seconds." as both benches do, timed from the first write to the end of
 * the last. The file must exist and be at least OFFSET + COUNT * 4096 bytes long (it is written over).
 * Used by scripts/bench-write-floor; see BENCHMARKS.md, Writes.
 */
#define _GNU_SOURCE
#include <fcntl.h>
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

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: write-floor FILE COUNT [OFFSET]\n");
        return 2;
    }
    long count = atol(argv[2]);
    long offset = argc == 4 ? atol(argv[3]) : 0;
    int fd = open(argv[1], O_WRONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(argv[1]);
        return 1;
    }
    if (count <= 0 || offset < 0 || offset + count * 4096 > st.st_size) {
        fprintf(stderr, "write-floor: %s: %ld writes of 4096 bytes from %ld do not fit in its %lld bytes\n",
                argv[1], count, offset, (long long) st.st_size);
        return 2;
    }
    static char buf[4096] __attribute__((aligned(4096)));
    memset(buf, 0x5a, sizeof buf);
    double start = now();
    for (long i = 0; i < count; i++) {
        if (pwrite(fd, buf, sizeof buf, offset + i * 4096) != (ssize_t) sizeof buf) {
            perror("pwrite");
            return 1;
        }
    }
    printf("Run completed in %.3f seconds.\n", now() - start);
    return close(fd) == 0 ? 0 : 1;
}
