/*
 * bench_translate.c - icx_translate_run on generated, fictional inputs:
 * rows per second and the peak memory of the process (VmHWM).
 *
 * Usage: bench_translate KIND N [--build] [--page-bytes B]
 *   KIND  urls-lines  N URLs, one per line (profile npa-urls-lines)
 *         urls-csv    N rows URL,検知日時,分類,状態 (profile npa-urls)
 *         case        one case export of N rows, one person each
 *                     (profile npa-case)
 *   --build  also build and validate the payload: for a list every page
 *            (at most B bytes, default ICX_TRANSLATE_MAX_PAYLOAD), each
 *            handed to a sink that counts it and drops it, as icx translate
 *            writes each page to its file; without --build the rows are
 *            read, normalized and checked only (check_only: for a list,
 *            spilled, merged and their duplicates counted).
 * Run from the source folder (profiles in config/mappings, schemas/).
 * List rows are spilled to $TMPDIR (default /tmp).
 * One size per process: VmHWM is the peak of this process, so the sizes
 * are compared by running the program once per size (run-translate.sh).
 * Output: one line "KIND N rows=R seconds=S cpu_seconds=C rows_per_s=X
 * rows_per_cpu_s=Y vmhwm_kib=K input_bytes=B pages=P payload_bytes=Q"
 * (the translation runs on one thread: CPU seconds are one core's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mapping.h"
#include "translate.h"

static long vmhwm_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            v = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static double clock_s(clockid_t which)
{
    struct timespec ts;
    clock_gettime(which, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct counted {
    unsigned long pages;
    size_t bytes;
} counted;

static int count_page(void *ctx, unsigned long page, unsigned long pages,
                      const char *xml, size_t len, icx_err *err)
{
    counted *c = ctx;
    (void)page;
    (void)pages;
    (void)xml;
    (void)err;
    c->pages++;
    c->bytes += len;
    return 0;
}

/* Fictional data: hosts under .example, documentation addresses. */
static int generate(const char *path, const char *kind, long n)
{
    FILE *f = fopen(path, "w");
    unsigned long x = 88172645463325252UL;
    if (f == NULL)
        return -1;
    if (strcmp(kind, "urls-csv") == 0)
        fputs("URL,検知日時,分類,状態\n", f);
    if (strcmp(kind, "case") == 0)
        fputs("事件番号,件名,罪名,人物番号,区分,氏名,生年月日,国籍,"
              "メールアドレス,IPアドレス,観測日時\n", f);
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (strcmp(kind, "urls-lines") == 0)
            fprintf(f, "https://host%ld.example/c/%07ld/%08lx.jpg\n", i % 5000,
                    i, x & 0xffffffffUL);
        else if (strcmp(kind, "urls-csv") == 0)
            fprintf(f, "https://Host%ld.example/c/%07ld/%08lx.jpg,"
                    "令和7年4月%ld日 9時%02ld分,B1,公開中\n", i % 5000, i,
                    x & 0xffffffffUL, 1 + i % 28, i % 60);
        else
            fprintf(f, "NPA-2025-CSE-00417,【架空データ】大量事件,"
                    "児童ポルノ所持,P%ld,被疑者,架空 太郎%ld,昭和56年5月17日,"
                    "日本,user%ld@mail.example,198.51.100.%ld,"
                    "令和7年9月2日 23時14分6秒\n", i + 1, i, i, i % 250 + 1);
    }
    return fclose(f);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_translate urls-lines|urls-csv|case N "
                "[--build] [--page-bytes B]\n");
        return 2;
    }
    const char *kind = argv[1];
    long n = strtol(argv[2], NULL, 10);
    int build = 0;
    size_t page_bytes = 0;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--build") == 0)
            build = 1;
        else if (strcmp(argv[i], "--page-bytes") == 0 && i + 1 < argc)
            page_bytes = (size_t)strtoul(argv[++i], NULL, 10);
    }
    const char *profile = strcmp(kind, "urls-lines") == 0
                              ? "config/mappings/npa-urls-lines.yaml"
                          : strcmp(kind, "urls-csv") == 0
                              ? "config/mappings/npa-urls.yaml"
                              : "config/mappings/npa-case.yaml";
    char path[] = "/tmp/icx-bench-translate-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || n <= 0)
        return 2;
    close(fd);
    if (generate(path, kind, n) != 0) {
        unlink(path);
        return 3;
    }
    FILE *f = fopen(path, "r");
    long bytes = 0;
    if (f && fseek(f, 0, SEEK_END) == 0)
        bytes = ftell(f);
    if (f)
        fclose(f);
    long hwm0 = vmhwm_kib();
    icx_mapping *m = NULL;
    icx_err err;
    icx_buf payload, report;
    icx_translate_result res;
    icx_buf_init(&payload, ICX_TRANSLATE_MAX_PAYLOAD);
    icx_buf_init(&report, 256u << 20);
    int rc = icx_mapping_load(&m, profile, &report, &err);
    counted pages = {0};
    icx_translate_opts o = {.check_only = !build, .now = 1767225600,
                            .sink = count_page, .sink_ctx = &pages,
                            .page_bytes = page_bytes};
    double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    if (rc == 0)
        rc = icx_translate_run(&payload, &res, m, path, &o, &report, &err);
    double dt = clock_s(CLOCK_MONOTONIC) - t0;
    double dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    unlink(path);
    if (rc < 0) {
        fprintf(stderr, "%s\n%.*s", err.msg, (int)(report.len > 2000 ? 2000
                                                   : report.len),
                report.data ? report.data : "");
        return 1;
    }
    printf("%s %ld%s rows=%zu seconds=%.3f cpu_seconds=%.3f rows_per_s=%.0f "
           "rows_per_cpu_s=%.0f vmhwm_kib=%ld (before: %ld) input_bytes=%ld "
           "pages=%lu payload_bytes=%zu\n", kind, n, build ? " --build" : "",
           res.rows, dt, dc, (double)res.rows / dt, (double)res.rows / dc,
           vmhwm_kib(), hwm0, bytes, pages.pages, pages.bytes);
    icx_buf_free(&payload);
    icx_buf_free(&report);
    icx_mapping_free(&m);
    return 0;
}
