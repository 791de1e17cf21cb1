/* The floor of the UM-Bridge rows of the cross-process benchmark: the least an HTTP server can cost
 * the report's C client (benchmarks/clients/umbridge_evaluate.c) on this machine. It answers every
 * request with one fixed /Evaluate answer of gaussian1d at once, parsing nothing but the request's
 * length, and busy-polls its connection, so the client pays only its own wake-up.
 *
 *   http_responder PORT
 *       listens on 127.0.0.1:PORT, prints "ready", and serves one connection after another until
 *       killed; a connection ends when the client closes it, or after the answer to a request that
 *       asked for "Connection: close".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char answer_body[] = "{\"output\": [[-1.0439385332046727]]}";

/* Answers the requests of one connection until the client closes it or asks to close. */
static void serve(int fd, const char *answer, size_t answer_length) {
    static char request[1 << 16];
    size_t have = 0;
    for (;;) {
        ssize_t k = recv(fd, request + have, sizeof request - 1 - have, MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (k <= 0) return;
        have += (size_t)k;
        request[have] = 0;
        char *end = strstr(request, "\r\n\r\n");
        if (end == NULL) {
            if (have == sizeof request - 1) return;
            continue;
        }

        char *length = strcasestr(request, "\r\ncontent-length:");
        size_t total = (size_t)(end + 4 - request) + (length != NULL && length < end ? (size_t)atol(length + 17) : 0);
        if (total >= sizeof request) return;
        if (have < total) continue;

        int close_after = strcasestr(request, "\r\nconnection: close") != NULL;
        if (send(fd, answer, answer_length, MSG_NOSIGNAL) != (ssize_t)answer_length || close_after) return;
        memmove(request, request + total, have - total);
        have -= total;
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: http_responder PORT\n");
        return 2;
    }

    char answer[512];
    int answer_length = snprintf(answer, sizeof answer,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(answer_body), answer_body);

    int listening = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(listening, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listening < 0 || bind(listening, (struct sockaddr *)&address, sizeof address) != 0 || listen(listening, 64) != 0) {
        perror("http_responder: cannot listen on 127.0.0.1:PORT");
        return 2;
    }

    printf("ready\n");
    fflush(stdout);
    for (;;) {
        int fd = accept(listening, NULL, NULL);
        if (fd < 0) continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        serve(fd, answer, (size_t)answer_length);
        close(fd);
    }
}
