/*
 * notify.h - the service manager's readiness protocol (sd_notify(3)).
 *
 * Under systemd with Type=notify, $NOTIFY_SOCKET names a datagram socket
 * (a path, or an abstract name starting with '@'); icx serve sends it
 * READY=1 once it serves, RELOADING=1 then READY=1 around a SIGHUP reload
 * and STOPPING=1 when asked to stop.  Without $NOTIFY_SOCKET nothing is
 * sent.  Written by hand: no libsystemd.
 *
 * Thread safety: any thread; each call opens and closes its own socket.
 */
#ifndef ICX_NOTIFY_H
#define ICX_NOTIFY_H

/* Sends STATE (e.g. "READY=1") to $NOTIFY_SOCKET.  Returns 1 when sent,
 * 0 when there is no $NOTIFY_SOCKET, -1 when it cannot be sent (logged
 * once as event=notify.failed; the daemon goes on). */
int icx_notify(const char *state);

#endif
