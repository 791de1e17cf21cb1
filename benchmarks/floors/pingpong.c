/* The floors of the cross-process benchmark: the least any request/response between two processes
 * on this machine can cost, with no protocol at all.
 *
 *   pingpong server unix PATH | tcp PORT        echo server (one client at a time)
 *   pingpong client unix PATH | tcp PORT REQ RESP ROUNDS
 *       sends REQ bytes, reads RESP bytes back, ROUNDS times with blocking reads; prints
 *       "p50_us p99_us" of the round trips (after ROUNDS/10 unmeasured ones)
 *   pingpong shm REQ RESP ROUNDS
 *       forks a peer; the two exchange REQ and RESP bytes through a shared mapping, each
 *       busy-polling a sequence number: the floor of any shared-memory transport
 *   pingpong memcpy BYTES ROUNDS
 *       copies BYTES there and back inside one process; prints "p50_us p99_us"
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"

static void report(double *t, long n) {
    double p50, p99;
    percentiles(t, n, &p50, &p99);
    printf("%.2f %.2f\n", p50, p99);
}

static int full(int fd, char *buf, long n, int writing) {
    while (n > 0) {
        long k = writing ? write(fd, buf, n) : read(fd, buf, n);
        if (k <= 0) return -1;
        buf += k;
        n -= k;
    }
    return 0;
}

static int open_socket(const char *kind, const char *where, int listening) {
    int fd;
    if (strcmp(kind, "unix") == 0) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        strncpy(a.sun_path, where, sizeof a.sun_path - 1);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (listening) {
            unlink(where);
            if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4)) { perror("bind"); exit(2); }
        } else if (connect(fd, (struct sockaddr *)&a, sizeof a)) { perror("connect"); exit(2); }
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(where))};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int one = 1;
        fd = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (listening) {
            if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4)) { perror("bind"); exit(2); }
        } else {
            if (connect(fd, (struct sockaddr *)&a, sizeof a)) { perror("connect"); exit(2); }
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
    }
    return fd;
}

static _Noreturn void serve(const char *kind, const char *where) {
    int listener = open_socket(kind, where, 1);
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) continue;
        int one = 1;
        if (strcmp(kind, "tcp") == 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        uint32_t sizes[2];
        if (full(fd, (char *)sizes, sizeof sizes, 0) == 0) {
            char *req = malloc(sizes[0]), *resp = calloc(1, sizes[1]);
            while (full(fd, req, sizes[0], 0) == 0 && full(fd, resp, sizes[1], 1) == 0) {}
            free(req);
            free(resp);
        }
        close(fd);
    }
}

static int client(const char *kind, const char *where, long req, long resp, long rounds) {
    int fd = open_socket(kind, where, 0);
    uint32_t sizes[2] = {(uint32_t)req, (uint32_t)resp};
    full(fd, (char *)sizes, sizeof sizes, 1);
    char *out = calloc(1, req), *in = malloc(resp);
    double *t = malloc(rounds * sizeof *t);
    for (long i = -rounds / 10; i < rounds; i++) {
        double start = now_us();
        if (full(fd, out, req, 1) || full(fd, in, resp, 0)) { fprintf(stderr, "peer closed\n"); return 2; }
        if (i >= 0) t[i] = now_us() - start;
    }
    report(t, rounds);
    return 0;
}

struct ring { _Atomic long request, response; char pad[112]; };

static int shm(long req, long resp, long rounds) {
    long bytes = sizeof(struct ring) + req + resp;
    struct ring *r = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *reqbuf = (char *)(r + 1), *respbuf = reqbuf + req;
    long total = rounds + rounds / 10;
    pid_t peer = fork();
    if (peer == 0) {
        char *local = malloc(req > 0 ? req : 1), *answer = calloc(1, resp > 0 ? resp : 1);
        for (long i = 1; i <= total; i++) {
            while (atomic_load_explicit(&r->request, memory_order_acquire) != i) {}
            memcpy(local, reqbuf, req);
            memcpy(respbuf, answer, resp);
            atomic_store_explicit(&r->response, i, memory_order_release);
        }
        _exit(0);
    }
    char *out = calloc(1, req > 0 ? req : 1), *in = malloc(resp > 0 ? resp : 1);
    double *t = malloc(rounds * sizeof *t);
    for (long i = 1; i <= total; i++) {
        double start = now_us();
        memcpy(reqbuf, out, req);
        atomic_store_explicit(&r->request, i, memory_order_release);
        while (atomic_load_explicit(&r->response, memory_order_acquire) != i) {}
        memcpy(in, respbuf, resp);
        if (i > rounds / 10) t[i - rounds / 10 - 1] = now_us() - start;
    }
    waitpid(peer, NULL, 0);
    report(t, rounds);
    return 0;
}

static int copy(long bytes, long rounds) {
    char *a = calloc(1, bytes), *b = malloc(bytes), *c = malloc(bytes);
    double *t = malloc(rounds * sizeof *t);
    for (long i = -rounds / 10; i < rounds; i++) {
        double start = now_us();
        memcpy(b, a, bytes);
        memcpy(c, b, bytes);
        __asm__ volatile("" ::"r"(c) : "memory");
        if (i >= 0) t[i] = now_us() - start;
    }
    report(t, rounds);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "server") == 0) serve(argv[2], argv[3]);
    if (argc == 7 && strcmp(argv[1], "client") == 0) return client(argv[2], argv[3], atol(argv[4]), atol(argv[5]), atol(argv[6]));
    if (argc == 5 && strcmp(argv[1], "shm") == 0) return shm(atol(argv[2]), atol(argv[3]), atol(argv[4]));
    if (argc == 4 && strcmp(argv[1], "memcpy") == 0) return copy(atol(argv[2]), atol(argv[3]));
    fprintf(stderr, "usage: pingpong server unix PATH|tcp PORT | client unix PATH|tcp PORT REQ RESP ROUNDS | shm REQ RESP ROUNDS | memcpy BYTES ROUNDS\n");
    return 2;
}
