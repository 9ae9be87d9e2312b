/*
 * sample_env.c - case-referral envelopes of an exact size, for the
 * benchmarks (see sample_env.h).
 */
#include "sample_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *bench_prog = "bench";

void bench_die(const char *what, const icx_err *err)
{
    fprintf(stderr, "%s: %s%s%s\n", bench_prog, what,
            err != NULL ? ": " : "", err != NULL ? err->msg : "");
    exit(1);
}

struct shape {
    icx_buf *unsigned_env;
    icx_buf *signed_env;
    const icx_signer *signer;
    size_t target;
};

/* Replaces [from, to) of s (offsets) by rep. */
static void splice(icx_buf *s, size_t from, size_t to, const char *rep,
                   size_t replen)
{
    icx_buf t;
    icx_buf_init(&t, ENV_MAX);
    if (icx_buf_append(&t, s->data, from) < 0 ||
        icx_buf_append(&t, rep, replen) < 0 ||
        icx_buf_append(&t, s->data + to, s->len - to) < 0)
        bench_die("payload too large", NULL);
    icx_buf_free(s);
    *s = t;
}

static size_t find(const icx_buf *s, const char *what)
{
    const char *p = strstr(s->data, what);
    if (p == NULL) {
        fprintf(stderr, "%s: sample has no %s\n", bench_prog, what);
        exit(1);
    }
    return (size_t)(p - s->data);
}

/* Removes the lines from the one holding `open` to the one ending `close`. */
static void cut(icx_buf *s, const char *open, const char *close)
{
    size_t a = find(s, open), b = find(s, close) + strlen(close);
    while (a > 0 && s->data[a - 1] == ' ')
        a--;
    if (b < s->len && s->data[b] == '\n')
        b++;
    splice(s, a, b, "", 0);
}

/* Summary text of exactly n characters (ASCII), made from base. */
static void set_summary(icx_buf *s, const char *base, size_t n)
{
    size_t a = find(s, "<Summary>") + strlen("<Summary>");
    size_t b = find(s, "</Summary>");
    icx_buf text;
    icx_buf_init(&text, ENV_MAX);
    while (text.len < n) {
        size_t k = strlen(base);
        if (k > n - text.len)
            k = n - text.len;
        if (icx_buf_append(&text, base, k) < 0 ||
            (text.len < n && icx_buf_append(&text, " ", 1) < 0))
            bench_die("summary too large", NULL);
    }
    /* No trailing blank, so the text stays what was measured. */
    if (n > 0 && text.data[n - 1] == ' ')
        text.data[n - 1] = '.';
    splice(s, a, b, text.data, text.len);
    icx_buf_free(&text);
}

static void add_items(icx_buf *s, int first, int count)
{
    icx_buf items;
    icx_buf_init(&items, ENV_MAX);
    for (int i = first; i < first + count; i++) {
        char id[32], hash[ICX_SHA256_HEX_LEN + 1];
        snprintf(id, sizeof id, "item-%02d", i);
        icx_sha256_hex(hash, id, strlen(id));
        if (icx_buf_printf(&items,
                           "    <Item id=\"%s\">\n"
                           "      <Description>Still image %d of the same "
                           "series, recovered from the suspect's phone "
                           "backup</Description>\n"
                           "      <Hash algorithm=\"sha256\">%s</Hash>\n"
                           "      <SizeBytes>%d</SizeBytes>\n"
                           "      <Grading scheme=\"interpol\">baseline"
                           "</Grading>\n"
                           "    </Item>\n",
                           id, i, hash, 180000 + 977 * i) < 0)
            bench_die("payload too large", NULL);
    }
    size_t at = find(s, "  </Evidence>");
    splice(s, at, at, items.data, items.len);
    icx_buf_free(&items);
}

static void build_sign(struct shape *sj, const icx_header *h,
                       const icx_buf *p, const icx_schemas *schemas)
{
    icx_err err;
    icx_err_clear(&err);
    icx_buf_reset(sj->unsigned_env);
    icx_buf_reset(sj->signed_env);
    if (icx_envelope_build(sj->unsigned_env, h, p->data, p->len, schemas,
                           &err) < 0)
        bench_die("building the envelope", &err);
    if (icx_envelope_sign(sj->signed_env, sj->unsigned_env->data,
                          sj->unsigned_env->len, schemas, sj->signer,
                          &err) < 0)
        bench_die("signing the envelope", &err);
}

/* Grows or trims the sample until the signed envelope has sj->target
 * bytes: small envelopes lose Evaluation, one Offence, Dates..Evidence and
 * RequestedActions, large ones gain Evidence items; the Summary length
 * does the fine tuning. */
void sample_env_make(icx_buf *payload, icx_buf *unsigned_env,
                     icx_buf *signed_env, size_t target, const char *sample,
                     const icx_header *hdr, const icx_schemas *schemas,
                     const icx_signer *signer)
{
    struct shape shape = {unsigned_env, signed_env, signer, target};
    struct shape *sj = &shape;
    icx_header h = *hdr;
    icx_buf p;
    char base[1024];
    icx_buf_init(&p, ENV_MAX);
    if (icx_buf_puts(&p, sample) < 0)
        bench_die("sample too large", NULL);
    {
        size_t a = find(&p, "<Summary>") + strlen("<Summary>");
        size_t b = find(&p, "</Summary>");
        snprintf(base, sizeof base, "%.*s", (int)(b - a), p.data + a);
    }
    size_t summary = strlen(base);
    build_sign(sj, &h, &p, schemas);
    if (sj->signed_env->len > sj->target) {
        cut(&p, "<Dates>", "</Evidence>");
        cut(&p, "<RequestedActions>", "</RequestedActions>");
        cut(&p, "<Evaluation ", "/>");
        cut(&p, "<Offence ", "</Offence>");
    } else {
        int next = 3, step = 8;
        while (step > 0) {
            icx_buf trial;
            icx_buf_init(&trial, ENV_MAX);
            if (icx_buf_append(&trial, p.data, p.len) < 0)
                bench_die("payload too large", NULL);
            add_items(&trial, next, step);
            build_sign(sj, &h, &trial, schemas);
            /* Leave room for the Summary to close the gap. */
            if (sj->signed_env->len + 200 <= sj->target) {
                icx_buf_free(&p);
                p = trial;
                next += step;
            } else {
                icx_buf_free(&trial);
                step /= 2;
            }
        }
    }
    for (int round = 0; round < 6; round++) {
        set_summary(&p, base, summary);
        build_sign(sj, &h, &p, schemas);
        long gap = (long)sj->target - (long)sj->signed_env->len;
        if (gap == 0)
            break;
        if ((long)summary + gap < 1 || (long)summary + gap > 4000) {
            fprintf(stderr, "%s: cannot reach %zu bytes with "
                            "the Summary alone\n", bench_prog, sj->target);
            exit(1);
        }
        summary = (size_t)((long)summary + gap);
    }
    if (payload != NULL) {
        icx_buf_reset(payload);
        if (icx_buf_append(payload, p.data, p.len) < 0)
            bench_die("payload too large", NULL);
    }
    icx_buf_free(&p);
}


char *sample_env_read(const char *given)
{
    icx_err err;
    char *data = NULL, path[4096];
    size_t len = 0;
    icx_err_clear(&err);
    if (given != NULL) {
        if (icx_file_read(&data, &len, given, ENV_MAX, &err) < 0)
            bench_die("reading the sample", &err);
        return data;
    }
    if (icx_file_read(&data, &len, SAMPLE_REL, ENV_MAX, &err) == 0)
        return data;
    /* Beside the schemas folder of the source tree. */
    snprintf(path, sizeof path, "%s/../" SAMPLE_REL,
             icx_schemas_default_dir());
    icx_err_clear(&err);
    if (icx_file_read(&data, &len, path, ENV_MAX, &err) < 0)
        bench_die("reading the sample (give --sample FILE)", &err);
    return data;
}

