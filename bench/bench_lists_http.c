/*
 * bench_lists_http.c - the lists over HTTPS (lists_rrdp.c) without a
 * server: an N-entry hash list imported, then what a partner's first pull
 * costs the gateway through icx_lists_http_get(): the notification (which
 * builds and signs every snapshot page with a real RSA key and stores
 * them), every snapshot page served from the store, the notification again
 * with If-None-Match (304); then a delta of D changed entries imported
 * and the notification of the new serial (its snapshot pages and the
 * delta's made again).  Reports wall time, pages, bytes and peak RSS after
 * each phase.  TLS and HTTP framing are the web server's and not counted.
 *
 * Usage: bench_lists_http [--entries N] [--delta D] [--page P]
 *                         [--max-message BYTES] [--dir DIR]
 * Defaults: 1000000 entries, 10000 changed, page_entries 5000 and
 * max_message_bytes 1 MiB (the configuration defaults), a temporary
 * folder removed afterwards.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "keys.h"
#include "lists.h"
#include "util.h"
#include "xml.h"
#include "xmlsig.h"

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

static int write_hashes(const char *path, const char *mode, long from,
                        long to, const char *seed)
{
    FILE *f = fopen(path, mode);
    char in[64], hex[65];
    if (f == NULL)
        return -1;
    for (long i = from; i < to; i++) {
        int n = snprintf(in, sizeof in, "%s-%ld", seed, i);
        icx_sha256_hex(hex, in, (size_t)n);
        fprintf(f, "sha256:%s\n", hex);
    }
    return fclose(f);
}

/* Imports file as the next serial in a child process, so that the peak
 * memory this process reports is the HTTPS side's alone. */
static int import_apart(const char *listdb, const icx_lists_conf *conf,
                        const char *file)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        icx_err err;
        icx_listdb *db = NULL;
        icx_lists_import_opts o = {.user = "bench"};
        icx_lists_import_result r;
        icx_buf rep;
        icx_buf_init(&rep, 1 << 20);
        if (icx_listdb_open(&db, listdb, &err) != 0 ||
            icx_lists_import(db, icx_lists_conf_find(conf, "bench-hashes"),
                             file, &o, &r, &rep, &err) != 0) {
            fprintf(stderr, "import: %s\n", err.msg);
            _exit(1);
        }
        icx_listdb_free(&db);
        _exit(0);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return 0;
}

struct sealer {
    icx_schemas *schemas;
    icx_signer *signer;
    long seals;
};

static int seal(void *ctx, icx_buf *out, icx_header *h, const char *payload,
                size_t len, icx_err *err)
{
    struct sealer *s = ctx;
    s->seals++;
    int rc = icx_header_stamp(h, time(NULL), err);
    if (rc < 0)
        return rc;
    snprintf(h->sender, sizeof h->sender, "JP-NPA");
    return icx_envelope_build_signed(out, h, payload, len, s->schemas,
                                     s->signer, err);
}

/* Every snapshot page the notification names, fetched; bytes summed. */
static int fetch_pages(icx_lists *l, const char *note, long *pages,
                       size_t *bytes, icx_err *err)
{
    const char *p = note;
    char path[300];
    *pages = 0;
    *bytes = 0;
    while ((p = strstr(p, "<Page uri=\"")) != NULL) {
        p += strlen("<Page uri=\"");
        const char *q = strchr(p, '"');
        const char *sn = q ? strstr(p, "/snapshot-") : NULL;
        if (sn == NULL || sn > q)
            continue;
        snprintf(path, sizeof path, "bench-hashes/%.*s", (int)(q - p), p);
        icx_http_reply r;
        if (icx_lists_http_get(l, "PH-NBI", path, NULL, &r, err) != 0)
            return -1;
        if (r.status != 200) {
            fprintf(stderr, "%s: status %d\n", path, r.status);
            return -1;
        }
        (*pages)++;
        *bytes += r.len;
        icx_http_reply_clear(&r);
    }
    return 0;
}

int main(int argc, char **argv)
{
    long entries = 1000000, delta = 10000, psize = 5000, maxmsg = 1L << 20;
    const char *dir = NULL;
    static const struct option lo[] = {
        {"entries", required_argument, NULL, 'n'},
        {"delta", required_argument, NULL, 'd'},
        {"page", required_argument, NULL, 'p'},
        {"max-message", required_argument, NULL, 'm'},
        {"dir", required_argument, NULL, 'D'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'n': entries = strtol(optarg, NULL, 10); break;
        case 'd': delta = strtol(optarg, NULL, 10); break;
        case 'p': psize = strtol(optarg, NULL, 10); break;
        case 'm': maxmsg = strtol(optarg, NULL, 10); break;
        case 'D': dir = optarg; break;
        default:
            fprintf(stderr, "usage: bench_lists_http [--entries N] [--delta D] "
                            "[--page P] [--max-message BYTES] [--dir DIR]\n");
            return 2;
        }
    }
    char tmpl[] = "/tmp/bench-lists-http-XXXXXX";
    int own = dir == NULL;
    if (dir == NULL && (dir = mkdtemp(tmpl)) == NULL) {
        perror("mkdtemp");
        return 3;
    }
    char p_conf[512], p_a[512], p_b[512], p_store[512], p_keys[512], p_key[600];
    snprintf(p_conf, sizeof p_conf, "%s/lists.yaml", dir);
    snprintf(p_a, sizeof p_a, "%s/a.txt", dir);
    snprintf(p_b, sizeof p_b, "%s/b.txt", dir);
    snprintf(p_store, sizeof p_store, "%s/icx.db", dir);
    snprintf(p_keys, sizeof p_keys, "%s/keys", dir);
    snprintf(p_key, sizeof p_key, "%s/key.pem", p_keys);
    FILE *f = fopen(p_conf, "w");
    if (f == NULL)
        return 3;
    fprintf(f, "lists:\n  - id: bench-hashes\n    kind: hash\n    allow: "
               "[PH-NBI]\n    page_entries: %ld\n", psize);
    fclose(f);
    icx_err err;
    icx_buf errs;
    icx_lists_conf *conf = NULL;
    icx_lists *l = NULL;
    struct sealer s = {0};
    char listdb[600];
    snprintf(listdb, sizeof listdb, "%s/icx-lists.db", dir);
    icx_buf_init(&errs, 1 << 16);
    char *lists[] = {"bench-hashes"}, *cats[] = {"list-update"};
    icx_partner partner = {.id = "PH-NBI", .lists = {lists, 1},
                           .categories_out = {cats, 1}, .max_tlp = 2,
                           .max_hcode = 2};
    icx_config cfg = {.id = "JP-NPA", .partners = &partner, .npartners = 1,
                      .max_message_bytes = maxmsg, .base_dir = (char *)dir,
                      .store_path = p_store};
    partner.max_tlp = icx_tlp_from_name("AMBER");
    if (icx_xmlsig_init(&err) != 0 ||
        icx_lists_conf_load(&conf, p_conf, &errs, &err) != 0 ||
        icx_keys_generate("JP-NPA", p_keys, ICX_ALG_RSA2048, 30, &err) != 0 ||
        icx_signer_load(&s.signer, p_key, &err) != 0 ||
        icx_schemas_load(&s.schemas, icx_schemas_default_dir(), &err) != 0 ||
        icx_lists_http_open(&l, &cfg, seal, &s, NULL, NULL, &err) != 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 3;
    }
    printf("bench_lists_http: %ld entries, delta %ld, page_entries %ld, "
           "max_message_bytes %ld, RSA-2048, folder %s\n", entries, delta,
           psize, maxmsg, dir);
    if (write_hashes(p_a, "w", 0, entries, "a") != 0)
        return 3;
    double t0 = now_s();
    if (import_apart(listdb, conf, p_a) != 0)
        return 1;
    printf("import %ld entries (serial 1, another process): %.2f s; this "
           "process: peak RSS %ld KiB\n", entries, now_s() - t0, peak_kib());

    icx_http_reply note;
    t0 = now_s();
    if (icx_lists_http_get(l, "PH-NBI", "bench-hashes/notification.xml", NULL,
                           &note, &err) != 0 || note.status != 200) {
        fprintf(stderr, "notification: %s\n", err.msg);
        return 1;
    }
    double t_build = now_s() - t0;
    long pages_built = s.seals - 1;
    printf("first notification (builds, signs and stores %ld snapshot "
           "pages): %.2f s, %.1f pages/s, peak RSS %ld KiB\n", pages_built,
           t_build, (double)pages_built / t_build, peak_kib());
    long pages;
    size_t bytes;
    t0 = now_s();
    if (fetch_pages(l, note.body, &pages, &bytes, &err) != 0) {
        fprintf(stderr, "pages: %s\n", err.msg);
        return 1;
    }
    double t_serve = now_s() - t0;
    printf("serving the %ld snapshot pages from the store: %.2f s, %.1f MB "
           "(%.0f MB/s), peak RSS %ld KiB\n", pages, t_serve,
           (double)bytes / 1e6, (double)bytes / 1e6 / t_serve, peak_kib());
    icx_http_reply again;
    t0 = now_s();
    for (int i = 0; i < 1000; i++) {
        if (icx_lists_http_get(l, "PH-NBI", "bench-hashes/notification.xml",
                               note.etag, &again, &err) != 0 ||
            again.status != 304) {
            fprintf(stderr, "304: %s\n", err.msg);
            return 1;
        }
        icx_http_reply_clear(&again);
    }
    printf("notification with If-None-Match (304): %.3f ms each\n",
           (now_s() - t0));
    icx_http_reply_clear(&note);

    /* Serial 2: the first delta/2 entries removed, delta/2 new ones. */
    if (write_hashes(p_b, "w", delta / 2, entries, "a") != 0 ||
        write_hashes(p_b, "a", 0, delta - delta / 2, "b") != 0)
        return 3;
    if (import_apart(listdb, conf, p_b) != 0)
        return 1;
    long before = s.seals;
    t0 = now_s();
    if (icx_lists_http_get(l, "PH-NBI", "bench-hashes/notification.xml", NULL,
                           &note, &err) != 0 || note.status != 200) {
        fprintf(stderr, "notification 2: %s\n", err.msg);
        return 1;
    }
    printf("notification of serial 2 (%ld changes: delta and snapshot "
           "pages made again, %ld documents signed): %.2f s, peak RSS %ld "
           "KiB\n", delta, s.seals - before, now_s() - t0, peak_kib());
    icx_http_reply_clear(&note);
    icx_buf_free(&errs);
    icx_lists_http_free(&l);
    icx_lists_conf_free(&conf);
    icx_signer_free(&s.signer);
    icx_schemas_free(&s.schemas);
    if (own) {
        char cmd[700];
        unlink(p_key);
        snprintf(cmd, sizeof cmd, "%s/cert.pem", p_keys);
        unlink(cmd);
        snprintf(cmd, sizeof cmd, "%s/curve.key", p_keys);
        unlink(cmd);
        snprintf(cmd, sizeof cmd, "%s/curve.pub", p_keys);
        unlink(cmd);
        rmdir(p_keys);
        const char *files[] = {"lists.yaml", "a.txt", "b.txt", "icx-lists.db",
                               "icx-lists.db-wal", "icx-lists.db-shm"};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(cmd, sizeof cmd, "%s/%s", dir, files[i]);
            unlink(cmd);
        }
        rmdir(dir);
    }
    return 0;
}
