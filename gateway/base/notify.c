/*
 * notify.c - sd_notify(3) by hand (see notify.h).
 *
 * One AF_UNIX datagram per call to the socket named by $NOTIFY_SOCKET: a
 * path ("/run/systemd/notify") or, with a leading '@', an abstract name
 * (the '@' becomes a NUL byte).  RELOADING=1 carries MONOTONIC_USEC= as
 * systemd 253 and later ask.  A failure is logged and returned; it never
 * stops the daemon: the service manager's timeout is its answer.
 *
 * Owns nothing between calls; any thread.
 */
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

int icx_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || path[0] == '\0')
        return 0;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t plen = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || plen >= sizeof sa.sun_path) {
        icx_log_warn("notify.failed", "reason=\"NOTIFY_SOCKET is not a socket "
                     "path or @name\"");
        return -1;
    }
    memcpy(sa.sun_path, path, plen);
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
                                  plen + (path[0] == '@' ? 0 : 1));
    char msg[256];
    int n;
    if (strcmp(state, "RELOADING=1") == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        n = snprintf(msg, sizeof msg, "%s\nMONOTONIC_USEC=%lld", state,
                     (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
    } else {
        n = snprintf(msg, sizeof msg, "%s", state);
    }
    if (n < 0 || (size_t)n >= sizeof msg)
        return -1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        icx_log_warn("notify.failed", "error=\"socket: %s\"", strerror(errno));
        return -1;
    }
    ssize_t w = sendto(fd, msg, (size_t)n, MSG_NOSIGNAL,
                       (const struct sockaddr *)&sa, salen);
    int saved = errno;
    close(fd);
    if (w != n) {
        icx_log_warn("notify.failed", "state=%.32s error=\"%s\"", state,
                     w < 0 ? strerror(saved) : "short send");
        return -1;
    }
    return 1;
}
