/*
 * bench_web.c - what the dashboard costs on a large store (docs/
 * PERFORMANCE.md, "Dashboard and /metrics"): the time of one /metrics
 * scrape, of the messages, partners and audit pages, over a store of N
 * outbound messages to a few partners (each with its audit record).
 *
 * usage: bench_web [-n MESSAGES] [--dir DIR] [--rounds R]
 * Builds the store in a temporary folder (transactions of 10,000), starts
 * the web service on 127.0.0.1 with its read-only connection, as icx
 * serve does, and times R requests of each path over HTTP.  No timed
 * assertion: a program to run by hand.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config.h"
#include "store.h"
#include "util.h"
#include "web.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One GET with Connection: close; the bytes of the answer. */
static size_t get(int port, const char *target)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("connect");
        exit(1);
    }
    char req[512], buf[65536];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: b\r\n"
                     "Connection: close\r\n\r\n", target);
    if (write(fd, req, (size_t)n) != n) {
        perror("write");
        exit(1);
    }
    size_t total = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        total += (size_t)r;
    close(fd);
    return total;
}

/* A self-signed P-256 certificate for the audit page's checkpoints. */
static int write_cert(const char *path)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    FILE *f = fopen(path, "w");
    int ok = k && x && f;
    if (ok) {
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        X509_gmtime_adj(X509_getm_notBefore(x), -3600);
        X509_gmtime_adj(X509_getm_notAfter(x), 86400);
        X509_set_pubkey(x, k);
        X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
                                   MBSTRING_ASC, (unsigned char *)"JP-NPA",
                                   -1, -1, 0);
        X509_set_issuer_name(x, X509_get_subject_name(x));
        ok = X509_sign(x, k, EVP_sha256()) > 0 && PEM_write_X509(f, x) == 1;
    }
    if (f)
        fclose(f);
    X509_free(x);
    EVP_PKEY_free(k);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    long n = 100000, rounds = 10;
    const char *dir = NULL;
    char tmp[] = "/tmp/icx-bench-web-XXXXXX";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else {
            fprintf(stderr, "usage: bench_web [-n MESSAGES] [--dir DIR] "
                            "[--rounds R]\n");
            return 2;
        }
    }
    if (dir == NULL && (dir = mkdtemp(tmp)) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    char db[512], cert[512];
    snprintf(db, sizeof db, "%s/icx.db", dir);
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    icx_err err;
    icx_store *s = NULL;
    if (write_cert(cert) < 0 || icx_store_open(&s, db, &err) < 0) {
        fprintf(stderr, "bench_web: %s\n", err.msg);
        return 1;
    }
    static const char *const hops[] = {"PH-NBI", "KR-KNPA", "GB-NCA",
                                       "INT-ICPO"};
    static const char env[] = "<Envelope/>";
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        if (i % 10000 == 0 && icx_store_begin(s, &err) < 0)
            goto fail;
        icx_out_row row;
        memset(&row, 0, sizeof row);
        if (icx_uuid4(row.message_id, &err) < 0)
            goto fail;
        snprintf(row.next_hop, sizeof row.next_hop, "%s", hops[i % 4]);
        snprintf(row.recipient, sizeof row.recipient, "%s", hops[i % 4]);
        snprintf(row.sender, sizeof row.sender, "JP-NPA");
        snprintf(row.category, sizeof row.category, "case-referral");
        icx_sha256_hex(row.sha256, env, sizeof env - 1);
        /* Mostly delivered, a tail still queued. */
        row.state = i < n - n / 100 ? ICX_OUT_DELIVERED : ICX_OUT_QUEUED;
        row.attempts = 1 + (int)(i % 3 == 0);
        row.created_at = row.next_attempt_at = row.updated_at = 1700000000 + i;
        if (icx_store_out_insert(s, &row, env, sizeof env - 1,
                                 "outbound.queued", "bench=1", &err) < 0)
            goto fail;
        if ((i % 10000 == 9999 || i == n - 1) && icx_store_commit(s, &err) < 0)
            goto fail;
    }
    printf("store: %ld messages written in %.1f s\n", n, now_s() - t0);

    icx_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.base_dir = (char *)dir;
    cfg.store_path = db;
    cfg.certificate = cert;
    cfg.http_enabled = 1;
    cfg.http_address = "127.0.0.1";
    cfg.http_port = 0;
    cfg.http_max_connections = 4;
    icx_web *w = NULL;
    if (icx_web_new(&w, &err) < 0)
        goto fail;
    const icx_service *sv = icx_web_service(w, NULL);
    if (sv->start(sv->ctx, &cfg, &err) < 0)
        goto fail;
    int port = (int)strtol(icx_web_url(w) + strlen("http://127.0.0.1:"),
                           NULL, 10);
    static const char *const paths[] = {"/metrics", "/", "/messages",
                                        "/messages?partner=KR-KNPA",
                                        "/partners", "/audit"};
    printf("%-28s %10s %10s %10s\n", "path", "first ms", "mean ms", "bytes");
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        double a = now_s();
        size_t bytes = get(port, paths[p]);
        double first = now_s() - a;
        a = now_s();
        for (long r = 0; r < rounds; r++)
            get(port, paths[p]);
        printf("%-28s %10.1f %10.1f %10zu\n", paths[p], first * 1e3,
               (now_s() - a) / (double)rounds * 1e3, bytes);
    }
    sv->stop(sv->ctx);
    icx_web_free(&w);
    icx_store_free(&s);
    if (dir == tmp) {
        char rm[600];
        snprintf(rm, sizeof rm, "%s/icx.db", dir);
        unlink(rm);
        snprintf(rm, sizeof rm, "%s/icx.db-wal", dir);
        unlink(rm);
        snprintf(rm, sizeof rm, "%s/icx.db-shm", dir);
        unlink(rm);
        snprintf(rm, sizeof rm, "%s/icx.db.head", dir);
        unlink(rm);
        unlink(cert);
        rmdir(dir);
    }
    return 0;
fail:
    fprintf(stderr, "bench_web: %s\n", err.msg);
    return 1;
}
