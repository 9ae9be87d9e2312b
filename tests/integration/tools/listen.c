/*
 * listen.c - icx_test_listen: a TCP listener on 127.0.0.1 that records
 * every connection, for scenario tests that must prove nothing was
 * fetched (hostile.sh points every http: URI of its hostile envelopes here).
 *
 * Usage: icx_test_listen PORT-FILE LOG-FILE
 * Binds an ephemeral port, writes its number to PORT-FILE, then for each
 * connection appends "connection from ADDR:PORT" and the first bytes the
 * peer sent (at most 4 KiB, waiting at most one second) to LOG-FILE.
 * Runs until killed.  Single-threaded; nothing is ever sent back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: icx_test_listen PORT-FILE LOG-FILE\n");
        return 2;
    }
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(s, 64) < 0 || getsockname(s, (struct sockaddr *)&a, &alen) < 0) {
        perror("icx_test_listen");
        return 3;
    }
    FILE *pf = fopen(argv[1], "w");
    if (pf == NULL || fprintf(pf, "%u\n", (unsigned)ntohs(a.sin_port)) < 0 ||
        fclose(pf) != 0) {
        perror(argv[1]);
        return 3;
    }
    for (;;) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof peer;
        int c = accept(s, (struct sockaddr *)&peer, &plen);
        if (c < 0) {
            if (errno == EINTR)
                continue;
            perror("accept");
            return 3;
        }
        char buf[4096];
        ssize_t n = 0;
        struct pollfd p = {.fd = c, .events = POLLIN};
        if (poll(&p, 1, 1000) > 0)
            n = read(c, buf, sizeof buf);
        FILE *log = fopen(argv[2], "a");
        if (log != NULL) {
            char ip[INET_ADDRSTRLEN] = "?";
            inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
            fprintf(log, "connection from %s:%u\n", ip,
                    (unsigned)ntohs(peer.sin_port));
            if (n > 0)
                fwrite(buf, 1, (size_t)n, log);
            fputc('\n', log);
            fclose(log);
        }
        close(c);
    }
}
