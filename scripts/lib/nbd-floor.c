/*
 * nbd-floor: the least an NBD server can do, to measure what a client's round trip costs on this
 * machine with no server work in it. It serves one read-only export of SIZE bytes of zeros over a
 * Unix socket, one client at a time, with the fixed newstyle handshake (NBD_OPT_GO/INFO answered
 * with the export's size, every other option refused with NBD_REP_ERR_UNSUP, so clients fall back to
 * simple replies) and answers READ with zeros, FLUSH with success and DISC by closing; anything else
 * is refused with EINVAL. Not a server for use: no checks beyond what keeps it from misbehaving.
 *
 * Used by scripts/bench-nbd-floor (see BENCHMARKS.md, "The floor: what any server could reach with
 * these clients"):
 *   cc -O2 -o nbd-floor scripts/lib/nbd-floor.c && ./nbd-floor SOCKET SIZE
 */
#include <arpa/inet.h>
#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_READ (32u << 20)

static int full_read(int fd, void *buf, size_t n) {
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) {
            return -1;
        }
        p += r;
        n -= (size_t) r;
    }
    return 0;
}

static int full_write(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r <= 0) {
            return -1;
        }
        p += r;
        n -= (size_t) r;
    }
    return 0;
}

static int option_reply(int fd, uint32_t option, uint32_t type, const void *data, uint32_t length) {
    unsigned char h[20];
    uint64_t magic = htobe64(0x3e889045565a9ULL);
    uint32_t o = htonl(option), t = htonl(type), l = htonl(length);
    memcpy(h, &magic, 8);
    memcpy(h + 8, &o, 4);
    memcpy(h + 12, &t, 4);
    memcpy(h + 16, &l, 4);
    return full_write(fd, h, 20) || (length > 0 && full_write(fd, data, length)) ? -1 : 0;
}

/* The handshake; 0 once the client went to transmission. */
static int handshake(int fd, uint64_t size) {
    unsigned char greeting[18] = "NBDMAGICIHAVEOPT";
    greeting[16] = 0;
    greeting[17] = 3; /* FIXED_NEWSTYLE | NO_ZEROES */
    uint32_t client_flags;
    if (full_write(fd, greeting, 18) || full_read(fd, &client_flags, 4)) {
        return -1;
    }
    for (;;) {
        unsigned char h[16];
        if (full_read(fd, h, 16)) {
            return -1;
        }
        uint32_t option, length;
        memcpy(&option, h + 8, 4);
        memcpy(&length, h + 12, 4);
        option = ntohl(option);
        length = ntohl(length);
        if (length > 65536) {
            return -1;
        }
        char data[65536];
        if (full_read(fd, data, length)) {
            return -1;
        }
        if (option == 6 || option == 7) { /* INFO, GO */
            unsigned char info[12];
            uint16_t type = htons(0); /* NBD_INFO_EXPORT */
            uint64_t s = htobe64(size);
            uint16_t flags = htons(1 | 2 | 4); /* HAS_FLAGS | READ_ONLY | SEND_FLUSH */
            memcpy(info, &type, 2);
            memcpy(info + 2, &s, 8);
            memcpy(info + 10, &flags, 2);
            if (option_reply(fd, option, 3, info, 12) || option_reply(fd, option, 1, NULL, 0)) {
                return -1;
            }
            if (option == 7) {
                return 0;
            }
        } else if (option == 2) { /* ABORT */
            option_reply(fd, option, 1, NULL, 0);
            return -1;
        } else if (option_reply(fd, option, 0x80000001u, NULL, 0)) { /* ERR_UNSUP */
            return -1;
        }
    }
}

static void transmission(int fd, uint64_t size, char *zeros) {
    for (;;) {
        unsigned char r[28];
        if (full_read(fd, r, 28)) {
            return;
        }
        uint16_t type;
        uint64_t offset;
        uint32_t length;
        memcpy(&type, r + 6, 2);
        memcpy(&offset, r + 16, 8);
        memcpy(&length, r + 24, 4);
        type = ntohs(type);
        offset = be64toh(offset);
        length = ntohl(length);
        unsigned char reply[16];
        uint32_t magic = htonl(0x67446698), error = 0;
        if (type == 2) { /* DISC */
            return;
        }
        int ok = (type == 0 && length <= MAX_READ && offset <= size && length <= size - offset) || type == 3;
        error = ok ? 0 : htonl(22);
        memcpy(reply, &magic, 4);
        memcpy(reply + 4, &error, 4);
        memcpy(reply + 8, r + 8, 8);
        if (type == 0 && ok) {
            if (full_write(fd, reply, 16) || full_write(fd, zeros, length)) {
                return;
            }
        } else if (full_write(fd, reply, 16)) {
            return;
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: nbd-floor SOCKET SIZE\n");
        return 2;
    }
    uint64_t size = strtoull(argv[2], NULL, 10);
    char *zeros = calloc(1, MAX_READ);
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
    unlink(argv[1]);
    if (zeros == NULL || listener < 0 || bind(listener, (struct sockaddr *) &a, sizeof a) || listen(listener, 4)) {
        perror("nbd-floor");
        return 1;
    }
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        if (handshake(fd, size) == 0) {
            transmission(fd, size, zeros);
        }
        close(fd);
    }
}
