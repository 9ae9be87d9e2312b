/*
 * bench_signer.c - what the signer process costs: envelopes signed per
 * second by worker threads with the key in the process (icx_signer_load,
 * as the offline CLI commands sign) and with the key in the signer
 * process (icx_signer_remote_start, as icx serve signs), alternating runs,
 * median kept, and the ratio signer-process / in-process (target >= 0.9).
 *
 *   envelope  icx_envelope_build_signed of a 2 KiB case referral: the
 *             daemon's outbound path (parse, build, validate, c14n, sign,
 *             serialize), the figure that matters.
 *   digest    icx_signer_sign_digest alone: the bare private-key
 *             operation, where the round trip to the signer weighs most.
 *
 * --threads workers (default 2, the machine's cores) sign at once; the
 * signer process gets one channel (and thread) per worker, as icx serve
 * gives it one per configured worker.  --batch N (default 1): each
 * worker prepares N envelopes (or takes N digests) and asks for their
 * signatures in one icx_signer_sign_digests call, as icx serve's workers
 * do with the jobs waiting in their pipe when busy (up to ICX_SIGN_BATCH);
 * 1 is a lone message, one request per signature.
 *
 * Rates on a shared machine move with its load; the CPU time per
 * signature does much less: this process's (getrusage) plus, with the
 * signer process, the signer's (/proc/PID/stat), and its ratio
 * in-process / signer-process is the throughput ratio of a machine
 * whose cores are all busy signing.
 *
 * Usage: bench_signer --icx PATH [-t SECONDS] [-r RUNS] [--threads N]
 *                     [--alg rsa2048|ecdsa-p256] [--op envelope|digest]
 *                     [--batch N]
 * PATH is the icx program (the signer is `icx signer`).  Exit 1 on error.
 */
#include <getopt.h>
#include <sys/resource.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "keys.h"
#include "sample_env.h"
#include "signerproc.h"
#include "util.h"
#include "xmlsig.h"

#define MAX_RUNS 15
#define MAX_THREADS 16

struct job {
    const icx_signer *signer;
    const icx_header *h;
    const icx_buf *payload;
    const icx_schemas *schemas;
    int digest_only;
    int batch;
    double seconds;
    long done;
    int failed;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One batch of j->batch envelopes: prepared, signed with one request,
 * finished into out. */
static int envelope_batch(struct job *j, icx_buf *out, icx_err *err)
{
    icx_envelope_pending p[ICX_SIGN_BATCH];
    unsigned char d[ICX_SIGN_BATCH * ICX_SIGN_DIGEST];
    static _Thread_local unsigned char sigs[ICX_SIGN_BATCH * ICX_SIG_MAX];
    size_t siglen = 0;
    int rc = ICX_OK, n = 0;
    for (; n < j->batch && rc == ICX_OK; n++) {
        memset(&p[n], 0, sizeof p[n]);
        rc = icx_envelope_prepare(&p[n], j->h, j->payload->data,
                                  j->payload->len, ENV_MAX, j->schemas,
                                  icx_signer_ecdsa(j->signer), err);
        memcpy(d + n * ICX_SIGN_DIGEST, p[n].digest, ICX_SIGN_DIGEST);
    }
    if (rc == ICX_OK)
        rc = icx_signer_sign_digests(sigs, &siglen, j->signer, d, n, err);
    for (int i = 0; i < n; i++) {
        icx_buf_reset(out);
        if (rc == ICX_OK)
            rc = icx_envelope_finish(out, &p[i], sigs + i * ICX_SIG_MAX,
                                     siglen, err);
        icx_envelope_pending_free(&p[i]);
    }
    return rc;
}

static void *worker(void *arg)
{
    struct job *j = arg;
    icx_buf out;
    icx_err err;
    unsigned char digest[ICX_SIGN_BATCH * ICX_SIGN_DIGEST] = {1};
    static _Thread_local unsigned char sig[ICX_SIGN_BATCH * ICX_SIG_MAX];
    icx_buf_init(&out, ENV_MAX);
    double end = now_s() + j->seconds;
    while (now_s() < end) {
        int rc;
        icx_err_clear(&err);
        if (j->digest_only) {
            size_t siglen = ICX_SIG_MAX;
            for (int i = 0; i < j->batch; i++)
                digest[i * ICX_SIGN_DIGEST + 1]++;
            rc = j->batch == 1
                     ? icx_signer_sign_digest(sig, &siglen, j->signer, digest,
                                              &err)
                     : icx_signer_sign_digests(sig, &siglen, j->signer,
                                               digest, j->batch, &err);
        } else if (j->batch == 1) {
            icx_buf_reset(&out);
            rc = icx_envelope_build_signed(&out, j->h, j->payload->data,
                                           j->payload->len, j->schemas,
                                           j->signer, &err);
        } else {
            rc = envelope_batch(j, &out, &err);
        }
        if (rc < 0) {
            fprintf(stderr, "bench_signer: %s\n", err.msg);
            j->failed = 1;
            break;
        }
        j->done += j->batch;
    }
    icx_buf_free(&out);
    icx_xml_thread_release();
    return NULL;
}

/* CPU seconds of this process, and of process pid when > 0. */
static double cpu_s(long pid)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    if (pid > 0) {
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f != NULL)
            fclose(f);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        unsigned long ut = 0, st = 0;
        /* after "pid (comm)": state and 10 fields, then utime stime */
        if (p != NULL && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
                                "%*u %*u %lu %lu", &ut, &st) == 2)
            s += (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    }
    return s;
}

/* Signatures per second of nthreads workers for seconds; *cpu_us gets
 * the CPU microseconds per signature (this process and signer_pid). */
static double rate(const icx_signer *s, const icx_header *h,
                   const icx_buf *payload, const icx_schemas *schemas,
                   int digest_only, int batch, int nthreads,
                   double seconds, long signer_pid, double *cpu_us)
{
    struct job jobs[MAX_THREADS];
    pthread_t t[MAX_THREADS];
    long total = 0;
    double c0 = cpu_s(signer_pid);
    double t0 = now_s();
    for (int i = 0; i < nthreads; i++) {
        jobs[i] = (struct job){s, h, payload, schemas, digest_only, batch,
                               seconds, 0, 0};
        if (pthread_create(&t[i], NULL, worker, &jobs[i]) != 0)
            bench_die("cannot start a thread", NULL);
    }
    for (int i = 0; i < nthreads; i++) {
        pthread_join(t[i], NULL);
        if (jobs[i].failed)
            bench_die("signing failed", NULL);
        total += jobs[i].done;
    }
    double t1 = now_s();
    *cpu_us = (cpu_s(signer_pid) - c0) * 1e6 / (double)(total ? total : 1);
    return (double)total / (t1 - t0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    double c[MAX_RUNS];
    memcpy(c, v, (size_t)n * sizeof *v);
    qsort(c, (size_t)n, sizeof *c, cmp_double);
    return n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_signer --icx PATH [-t SECONDS] [-r RUNS] "
          "[--threads N]\n"
          "                    [--alg rsa2048|ecdsa-p256] "
          "[--op envelope|digest]\n"
          "                    [--batch 1..%d]\n"
          "Signing throughput with the key in the process and in the "
          "signer process\n(icx serve's), alternating runs, median kept; "
          "target ratio >= 0.90.\n", ICX_SIGN_BATCH);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"icx", required_argument, NULL, 'x'},
        {"threads", required_argument, NULL, 'n'},
        {"alg", required_argument, NULL, 'a'},
        {"op", required_argument, NULL, 'o'},
        {"batch", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *icx = NULL, *only_alg = NULL, *only_op = NULL;
    double seconds = 3;
    int runs = 5, nthreads = 2, batch = 1, c;
    bench_prog = "bench_signer";
    while ((c = getopt_long(argc, argv, "t:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'x': icx = optarg; break;
        case 'n': nthreads = (int)strtol(optarg, NULL, 10); break;
        case 'a': only_alg = optarg; break;
        case 'o': only_op = optarg; break;
        case 'b': batch = (int)strtol(optarg, NULL, 10); break;
        case 't': seconds = strtod(optarg, NULL); break;
        case 'r': runs = (int)strtol(optarg, NULL, 10); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (icx == NULL || nthreads < 1 || nthreads > MAX_THREADS || runs < 1 ||
        runs > MAX_RUNS || seconds <= 0 || batch < 1 ||
        batch > ICX_SIGN_BATCH) {
        usage(stderr);
        return 2;
    }
    icx_err err;
    icx_err_clear(&err);
    if (icx_xmlsig_init(&err) < 0)
        bench_die("xmlsig", &err);
    icx_schemas *schemas = NULL;
    if (icx_schemas_load(&schemas, icx_schemas_default_dir(), &err) < 0)
        bench_die("schemas", &err);
    char *sample = sample_env_read(NULL);
    char tmp[] = "/tmp/icx-bench-signer-XXXXXX";
    if (mkdtemp(tmp) == NULL)
        bench_die("mkdtemp", NULL);
    static const struct {
        const char *name;
        int alg;
    } algs[] = {{"rsa2048", ICX_ALG_RSA2048}, {"ecdsa-p256", ICX_ALG_ECDSA_P256}};
    printf("signing throughput, %d threads, %d signature(s) per request, "
           "%d alternating runs of %.1f s, median kept\n\n%-11s %-9s %12s %14s %7s %6s %9s %9s %9s\n",
           nthreads, batch, runs, seconds, "alg", "op", "in-process/s",
           "signer-proc/s", "ratio", ">=0.9", "cpu-us-in", "cpu-us-sp",
           "cpu-ratio");
    for (size_t a = 0; a < 2; a++) {
        if (only_alg != NULL && strcmp(only_alg, algs[a].name) != 0)
            continue;
        char dir[128], key[160];
        snprintf(dir, sizeof dir, "%s/%s", tmp, algs[a].name);
        snprintf(key, sizeof key, "%s/key.pem", dir);
        icx_signer *local = NULL, *remote = NULL;
        icx_signer_remote *rp = NULL;
        if (icx_keys_generate("JP-NPA", dir, algs[a].alg, 30, &err) < 0 ||
            icx_signer_load(&local, key, &err) < 0 ||
            icx_signer_remote_start(&remote, &rp, icx, key, NULL, nthreads,
                                    &err) < 0)
            bench_die("keys", &err);
        icx_header h;
        memset(&h, 0, sizeof h);
        snprintf(h.sender, sizeof h.sender, "JP-NPA");
        snprintf(h.recipient, sizeof h.recipient, "PH-NBI");
        snprintf(h.category, sizeof h.category, "case-referral");
        snprintf(h.tlp, sizeof h.tlp, "AMBER");
        snprintf(h.hcode, sizeof h.hcode, "H2");
        snprintf(h.legal_basis, sizeof h.legal_basis, "MLAT JP-PH art. 3");
        snprintf(h.retain_until, sizeof h.retain_until, "2031-12-31");
        if (icx_header_stamp(&h, time(NULL), &err) < 0)
            bench_die("header", &err);
        icx_buf payload, uenv, senv;
        icx_buf_init(&payload, ENV_MAX);
        icx_buf_init(&uenv, ENV_MAX);
        icx_buf_init(&senv, ENV_MAX);
        sample_env_make(&payload, &uenv, &senv, 2048, sample, &h, schemas,
                        local);
        for (int op = 0; op < 2; op++) {
            const char *opname = op ? "digest" : "envelope";
            if (only_op != NULL && strcmp(only_op, opname) != 0)
                continue;
            double in[MAX_RUNS], out[MAX_RUNS], cin[MAX_RUNS],
                cout[MAX_RUNS];
            for (int r = 0; r < runs; r++) {
                in[r] = rate(local, &h, &payload, schemas, op, batch,
                             nthreads, seconds, 0, &cin[r]);
                out[r] = rate(remote, &h, &payload, schemas, op, batch,
                              nthreads, seconds, icx_signer_remote_pid(rp),
                              &cout[r]);
            }
            double mi = median(in, runs), mo = median(out, runs);
            double ci = median(cin, runs), co = median(cout, runs);
            printf("%-11s %-9s %12.0f %14.0f %7.3f %6s %9.1f %9.1f %9.3f\n",
                   algs[a].name, opname, mi, mo, mo / mi,
                   mo / mi >= 0.9 ? "pass" : "MISS", ci, co, ci / co);
            printf("  per run (in/signer):");
            for (int r = 0; r < runs; r++)
                printf(" %.0f/%.0f", in[r], out[r]);
            printf("\n");
        }
        icx_buf_free(&payload);
        icx_buf_free(&uenv);
        icx_buf_free(&senv);
        icx_signer_free(&local);
        icx_signer_free(&remote);
        char cmd[256];
        snprintf(cmd, sizeof cmd, "%s/key.pem", dir);
        unlink(cmd);
        snprintf(cmd, sizeof cmd, "%s/cert.pem", dir);
        unlink(cmd);
        snprintf(cmd, sizeof cmd, "%s/curve.key", dir);
        unlink(cmd);
        snprintf(cmd, sizeof cmd, "%s/curve.pub", dir);
        unlink(cmd);
        rmdir(dir);
    }
    rmdir(tmp);
    free(sample);
    icx_schemas_free(&schemas);
    icx_xmlsig_shutdown();
    return 0;
}
