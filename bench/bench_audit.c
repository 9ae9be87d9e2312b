/*
 * bench_audit.c - the audit log's numbers (docs/PERFORMANCE.md, "Audit
 * log"): how fast `icx audit verify` checks 1,000,000 records on one core,
 * and what hashing and checkpoints cost per record compared with writing
 * the same records without them.
 *
 * usage: bench_audit [-n RECORDS] [--dir DIR]
 * Builds a store of n records (in transactions of 10,000) in a temporary
 * folder, verifies it, and times the per-record work of the hash chain
 * (canonical line, leaf hash, Merkle frontier) alone.  No timed assertion:
 * a program to run by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "store.h"
#include "util.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long n = 1000000;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else {
            fprintf(stderr, "usage: bench_audit [-n RECORDS] [--dir DIR]\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    char tmpl[256];
    snprintf(tmpl, sizeof tmpl, "%s/icx-bench-audit-XXXXXX", dir ? dir : "/tmp");
    if (mkdtemp(tmpl) == NULL) {
        perror("mkdtemp");
        return 3;
    }
    char path[300];
    snprintf(path, sizeof path, "%s/audit.db", tmpl);
    icx_store *s = NULL;
    icx_err err;
    if (icx_store_open(&s, path, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 3;
    }
    /* 1. Write n records like the broker's (ids, digests, partner). */
    double t0 = now_s();
    char mid[64], detail[200];
    for (long i = 0; i < n; i += 10000) {
        icx_store_begin(s, &err);
        for (long k = i; k < i + 10000 && k < n; k++) {
            snprintf(mid, sizeof mid, "%08lx-0000-4000-8000-%012lx",
                     (unsigned long)k, (unsigned long)k);
            snprintf(detail, sizeof detail, "attempt=1 adapter=zmq result=ok "
                     "sha256=%064lx", k);
            icx_audit_event ev = {"outbound.sent", mid, "PH-NBI", detail};
            if (icx_store_audit(s, &ev, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                return 3;
            }
        }
        if (icx_store_commit(s, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 3;
        }
    }
    double t1 = now_s();
    /* 2. Verify them all (records, links, tree). */
    icx_audit_report rep;
    double t2 = now_s();
    int rc = icx_store_audit_verify_with(s, NULL, 0, &rep, &err);
    double t3 = now_s();
    if (rc < 0) {
        fprintf(stderr, "verify: %s\n", err.msg);
        return 3;
    }
    /* 3. The chain's own work per record, without SQLite. */
    icx_merkle m;
    icx_merkle_init(&m);
    icx_buf line;
    icx_buf_init(&line, 4096);
    icx_audit_rec r;
    memset(&r, 0, sizeof r);
    snprintf(r.ts, sizeof r.ts, "2026-11-26T08:00:00.000Z");
    snprintf(r.event, sizeof r.event, "outbound.sent");
    snprintf(r.partner, sizeof r.partner, "PH-NBI");
    memset(r.prev, '0', 64);
    long reps = n < 1000000 ? n : 1000000;
    double t4 = now_s();
    for (long i = 0; i < reps; i++) {
        unsigned char leaf[32];
        r.seq = i + 1;
        snprintf(r.message_id, sizeof r.message_id, "%08lx-0000-4000-8000-%012lx",
                 (unsigned long)i & 0xffffffffUL, (unsigned long)i & 0xffffffffffffUL);
        snprintf(r.detail, sizeof r.detail, "attempt=1 adapter=zmq result=ok "
                 "sha256=%064lx", i);
        icx_buf_reset(&line);
        icx_audit_line(&line, &r);
        icx_audit_leaf(leaf, line.data, line.len);
        icx_merkle_append(&m, leaf);
        icx_hex(r.prev, leaf, 32);
    }
    double t5 = now_s();
    icx_buf_free(&line);
    printf("records              %ld\n", n);
    printf("write (10k per tx)   %.0f records/s (%.2f s)\n", (double)n / (t1 - t0), t1 - t0);
    printf("verify               %.0f records/s (%.2f s for %llu records)\n",
           (double)rep.records / (t3 - t2), t3 - t2,
           (unsigned long long)rep.records);
    printf("chain work alone     %.2f us/record (line, leaf hash, Merkle frontier)\n",
           (t5 - t4) / (double)reps * 1e6);
    printf("write incl. SQLite   %.2f us/record\n", (t1 - t0) / (double)n * 1e6);
    icx_store_free(&s);
    unlink(path);
    char side[320];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    rmdir(tmpl);
    return 0;
}
