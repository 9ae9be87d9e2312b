/*
 * bench_lists.c - the lists module alone, without network or signatures:
 * import of an N-entry hash list, a snapshot transfer page by page into a
 * fresh subscriber store (serve + apply, what the two daemons' hooks do),
 * then a delta of D changed entries imported and transferred.  Reports
 * wall time, pages, payload bytes and peak RSS after each phase.
 *
 * Usage: bench_lists [--entries N] [--delta D] [--page P] [--dir DIR]
 * Defaults: 1000000 entries, 10000 changed (half removed, half added),
 * 10000 entries per page, a temporary folder removed afterwards.
 * The end-to-end numbers with two real gateways come from
 * bench/run-lists.sh.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lists.h"
#include "util.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long peak_kib(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_maxrss;
}

static void write_hashes(const char *path, long from, long to, const char *seed)
{
    FILE *f = fopen(path, "w");
    char in[64], hex[65];
    if (f == NULL) {
        perror(path);
        exit(3);
    }
    for (long i = from; i < to; i++) {
        int n = snprintf(in, sizeof in, "%s-%ld", seed, i);
        icx_sha256_hex(hex, in, (size_t)n);
        fprintf(f, "sha256:%s\n", hex);
    }
    fclose(f);
}

struct xfer {
    int pages;
    size_t bytes;
    double secs;
};

static int transfer(struct xfer *x, icx_listdb *pub, icx_listdb *sub,
                    const icx_lists_conf *conf, const icx_config *cfg)
{
    icx_buf req, page, next;
    icx_lists_answer ans;
    icx_err err;
    int64_t seq;
    double t0 = now_s();
    memset(x, 0, sizeof *x);
    icx_buf_init(&req, 1 << 16);
    icx_buf_init(&page, 64u << 20);
    icx_buf_init(&next, 1 << 16);
    int rc = icx_lists_pull_begin(&req, &seq, sub, "PH-NBI", "bench-hashes",
                                  time(NULL), &err);
    while (rc == 0 && req.len > 0) {
        rc = icx_lists_serve(&page, &ans, pub, conf, cfg, "PH-NBI", req.data,
                             req.len, time(NULL), &err);
        if (rc == 0)
            rc = icx_lists_apply(&next, sub, "PH-NBI", page.data, page.len,
                                 time(NULL), &err);
        x->pages++;
        x->bytes += page.len;
        icx_buf_reset(&req);
        icx_buf_append(&req, next.data, next.len);
    }
    x->secs = now_s() - t0;
    if (rc != 0)
        fprintf(stderr, "transfer: %s\n", err.msg);
    icx_lists_sub s;
    if (rc == 0 && (icx_lists_sub_get(&s, sub, "PH-NBI", "bench-hashes", &err) != 0 ||
                    strcmp(s.state, "ok") != 0)) {
        fprintf(stderr, "transfer ended in state %s: %s\n", s.state, s.detail);
        rc = -1;
    }
    icx_buf_free(&req);
    icx_buf_free(&page);
    icx_buf_free(&next);
    return rc;
}

int main(int argc, char **argv)
{
    long entries = 1000000, delta = 10000, psize = 10000;
    const char *dir = NULL;
    static const struct option lo[] = {
        {"entries", required_argument, NULL, 'n'},
        {"delta", required_argument, NULL, 'd'},
        {"page", required_argument, NULL, 'p'},
        {"dir", required_argument, NULL, 'D'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'n': entries = strtol(optarg, NULL, 10); break;
        case 'd': delta = strtol(optarg, NULL, 10); break;
        case 'p': psize = strtol(optarg, NULL, 10); break;
        case 'D': dir = optarg; break;
        default:
            fprintf(stderr, "usage: bench_lists [--entries N] [--delta D] "
                            "[--page P] [--dir DIR]\n");
            return 2;
        }
    }
    char tmpl[] = "/tmp/bench-lists-XXXXXX";
    int own = dir == NULL;
    if (dir == NULL && (dir = mkdtemp(tmpl)) == NULL) {
        perror("mkdtemp");
        return 3;
    }
    char p_conf[512], p_pub[512], p_sub[512], p_a[512], p_b[512];
    snprintf(p_conf, sizeof p_conf, "%s/lists.yaml", dir);
    snprintf(p_pub, sizeof p_pub, "%s/pub.db", dir);
    snprintf(p_sub, sizeof p_sub, "%s/sub.db", dir);
    snprintf(p_a, sizeof p_a, "%s/a.txt", dir);
    snprintf(p_b, sizeof p_b, "%s/b.txt", dir);
    FILE *f = fopen(p_conf, "w");
    if (f == NULL)
        return 3;
    fprintf(f, "lists:\n  - id: bench-hashes\n    kind: hash\n    allow: "
               "[PH-NBI]\n    page_entries: %ld\n", psize);
    fclose(f);
    icx_err err;
    icx_buf errs;
    icx_lists_conf *conf = NULL;
    icx_listdb *pub = NULL, *sub = NULL;
    icx_buf_init(&errs, 1 << 16);
    if (icx_lists_conf_load(&conf, p_conf, &errs, &err) != 0 ||
        icx_listdb_open(&pub, p_pub, &err) != 0 ||
        icx_listdb_open(&sub, p_sub, &err) != 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 3;
    }
    char *lists[] = {"bench-hashes"};
    icx_partner partner = {.id = "PH-NBI", .lists = {lists, 1}};
    icx_config cfg = {.id = "JP-NPA", .partners = &partner, .npartners = 1,
                      .max_message_bytes = 4L << 20};
    const icx_list_decl *d = icx_lists_conf_find(conf, "bench-hashes");

    printf("bench_lists: %ld entries, delta %ld, page %ld, folder %s\n",
           entries, delta, psize, dir);
    write_hashes(p_a, 0, entries, "a");
    icx_lists_import_opts o = {.user = "bench"};
    icx_lists_import_result r;
    icx_buf rep;
    icx_buf_init(&rep, 1 << 20);
    double t0 = now_s();
    if (icx_lists_import(pub, d, p_a, &o, &r, &rep, &err) != 0) {
        fprintf(stderr, "import: %s\n", err.msg);
        return 1;
    }
    printf("import %ld entries (serial %llu): %.2f s, peak RSS %ld KiB\n",
           entries, (unsigned long long)r.serial, now_s() - t0, peak_kib());
    struct xfer x;
    if (transfer(&x, pub, sub, conf, &cfg) != 0)
        return 1;
    printf("snapshot transfer: %d pages, %.1f MB of payload, %.2f s "
           "(serve + apply + digest), peak RSS %ld KiB\n", x.pages,
           (double)x.bytes / 1e6, x.secs, peak_kib());
    /* Delta: the first delta/2 entries removed, delta/2 new ones added. */
    write_hashes(p_b, delta / 2, entries, "a");
    f = fopen(p_b, "a");
    fclose(f);
    {
        char p_c[600];
        snprintf(p_c, sizeof p_c, "%s.new", p_b);
        write_hashes(p_c, 0, delta - delta / 2, "b");
        FILE *in = fopen(p_c, "r"), *out = fopen(p_b, "a");
        char line[128];
        while (in && out && fgets(line, sizeof line, in))
            fputs(line, out);
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        unlink(p_c);
    }
    t0 = now_s();
    if (icx_lists_import(pub, d, p_b, &o, &r, &rep, &err) != 0) {
        fprintf(stderr, "import: %s\n", err.msg);
        return 1;
    }
    printf("import of the next export (%llu added, %llu removed): %.2f s\n",
           (unsigned long long)r.added, (unsigned long long)r.removed,
           now_s() - t0);
    if (transfer(&x, pub, sub, conf, &cfg) != 0)
        return 1;
    printf("delta transfer: %d pages, %.2f MB of payload, %.2f s "
           "(serve + apply + digest of the whole copy), peak RSS %ld KiB\n",
           x.pages, (double)x.bytes / 1e6, x.secs, peak_kib());
    int left = 1;
    t0 = now_s();
    while (left && icx_lists_sub_gc(sub, 1000000, &left, &err) == 0)
        ;
    printf("freeing the replaced copy: %.2f s\n", now_s() - t0);
    icx_buf_free(&rep);
    icx_buf_free(&errs);
    icx_listdb_free(&pub);
    icx_listdb_free(&sub);
    icx_lists_conf_free(&conf);
    unlink(p_a);
    unlink(p_b);
    if (own) {
        static const char *const files[] = {"lists.yaml", "pub.db",
                                            "pub.db-wal", "pub.db-shm",
                                            "sub.db", "sub.db-wal",
                                            "sub.db-shm"};
        char p[600];
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(p, sizeof p, "%s/%s", dir, files[i]);
            unlink(p);
        }
        rmdir(dir);
    }
    return 0;
}
