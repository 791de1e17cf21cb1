/* A UM-Bridge client for the cross-process benchmark: one keep-alive HTTP/1.1 connection that
 * POSTs the same /Evaluate request again and again, as UM-Bridge's own C++ client does, and times
 * each call. Written in C with blocking sockets so that the client costs next to nothing.
 *
 *   umbridge_evaluate PORT MODEL ROUNDS WARMUP_SECONDS [keep-alive|close]
 *       calls 127.0.0.1:PORT for WARMUP_SECONDS unmeasured, then ROUNDS measured times, with the
 *       body {"name": MODEL, "input": [[0.5]], "config": {}}; prints "p50_us p99_us calls_per_second".
 *       Any answer but 200 with a Content-Length and an "output" fails with exit code 2.
 *
 * keep-alive (the default) sends every call over one connection. close opens a connection for
 * every call and asks the server to close it ("Connection: close"), as UM-Bridge's C++ client
 * does: its HTTPModel keeps one cpp-httplib Client, whose connections are not kept alive unless
 * set_keep_alive(true) is called, and HTTPModel does not call it. A call's time then includes
 * the connect.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../floors/timing.h"

static _Noreturn void fail(const char *what) {
    fprintf(stderr, "umbridge_evaluate: %s\n", what);
    exit(2);
}

static char answer[1 << 16];

/* One call: sends the request and reads the answer whole, or fails. */
static void call(int fd, const char *request, size_t length) {
    for (size_t sent = 0; sent < length;) {
        ssize_t k = write(fd, request + sent, length - sent);
        if (k <= 0) fail("the server closed the connection while we sent");
        sent += (size_t)k;
    }

    size_t have = 0;
    char *end = NULL;
    while (end == NULL) {
        if (have == sizeof answer - 1) fail("the answer's headers are too long");
        ssize_t k = read(fd, answer + have, sizeof answer - 1 - have);
        if (k <= 0) fail("the server closed the connection before answering");
        have += (size_t)k;
        answer[have] = 0;
        end = strstr(answer, "\r\n\r\n");
    }

    if (strncmp(answer, "HTTP/1.1 200", 12) != 0) {
        fprintf(stderr, "umbridge_evaluate: answer: %.200s\n", answer);
        fail("the server did not answer 200");
    }

    long body = -1;
    for (char *line = strstr(answer, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, "content-length:", 15) == 0) body = atol(line + 15);
        if (strncasecmp(line, "transfer-encoding:", 18) == 0) fail("the answer is chunked; this client reads answers with a Content-Length");
    }

    if (body < 0) fail("the answer has no Content-Length");
    size_t total = (size_t)(end + 4 - answer) + (size_t)body;
    if (total >= sizeof answer) fail("the answer is too long");
    while (have < total) {
        ssize_t k = read(fd, answer + have, total - have);
        if (k <= 0) fail("the server closed the connection inside an answer");
        have += (size_t)k;
    }

    answer[have] = 0;
    if (have > total) fail("the server sent more than one answer");
    if (strstr(end + 4, "\"output\"") == NULL) fail("the answer has no \"output\"");
}

static struct sockaddr_in address;

static int open_connection(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) fail("cannot connect to 127.0.0.1:PORT");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* One call over the kept connection, or over a connection of its own. */
static void timed_call(int kept, const char *request, size_t length) {
    if (kept >= 0) {
        call(kept, request, length);
        return;
    }

    int fd = open_connection();
    call(fd, request, length);
    close(fd);
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: umbridge_evaluate PORT MODEL ROUNDS WARMUP_SECONDS [keep-alive|close]\n");
        return 2;
    }

    int keep_alive = argc == 5 || strcmp(argv[5], "keep-alive") == 0;
    if (!keep_alive && strcmp(argv[5], "close") != 0) fail("the connection mode is keep-alive or close");

    long rounds = atol(argv[3]);
    double warmup = atof(argv[4]) * 1e6;
    if (rounds <= 0) fail("ROUNDS must be a positive number");

    char body[512], request[1024];
    int body_length = snprintf(body, sizeof body, "{\"name\": \"%s\", \"input\": [[0.5]], \"config\": {}}", argv[2]);
    int length = snprintf(request, sizeof request,
        "POST /Evaluate HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
        argv[1], keep_alive ? "" : "Connection: close\r\n", body_length, body);
    if (body_length >= (int)sizeof body || length >= (int)sizeof request) fail("the model name is too long");

    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)atoi(argv[1]));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = keep_alive ? open_connection() : -1;

    for (double start = now_us(); now_us() - start < warmup;) timed_call(fd, request, (size_t)length);

    double *t = malloc((size_t)rounds * sizeof *t);
    double began = now_us();
    for (long i = 0; i < rounds; i++) {
        double start = now_us();
        timed_call(fd, request, (size_t)length);
        t[i] = now_us() - start;
    }

    double seconds = (now_us() - began) / 1e6;
    double p50, p99;
    percentiles(t, rounds, &p50, &p99);
    printf("%.2f %.2f %.1f\n", p50, p99, rounds / seconds);
    if (fd >= 0) close(fd);
    return 0;
}
