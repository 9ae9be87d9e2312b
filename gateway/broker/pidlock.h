/*
 * pidlock.h - one daemon per store: an exclusive lock on a file beside
 * it, held for the daemon's life, naming the holder's pid.
 *
 * The lock is an open file description lock (F_OFD_SETLK) on a file of
 * its own (`<store>.lock`, mode 0600), never on the store: SQLite keeps
 * POSIX locks on the store's files, and closing any descriptor of a file
 * drops every POSIX lock the process holds on it.  The kernel releases
 * the lock when the holder exits, however it ends, so a crash leaves no
 * stale lock; the file stays (unlinking it would let a third process lock
 * a new file while a second still waits on the old one).
 *
 * Threads: call from one thread at start and stop.  Errors: ICX_EEXIST
 * when another process holds the lock (the message names the file and
 * its pid), ICX_EPERM for a lock file that is not a private regular file,
 * ICX_EIO otherwise.
 */
#ifndef ICX_PIDLOCK_H
#define ICX_PIDLOCK_H

#include "err.h"

/* Takes the lock on path (created 0600 when missing) and writes our pid
 * into it; *fd holds it until icx_pidlock_release. */
int icx_pidlock_take(int *fd, const char *path, icx_err *err);
/* Releases the lock (closes the descriptor); *fd becomes -1.  Safe on -1. */
void icx_pidlock_release(int *fd);

#endif
