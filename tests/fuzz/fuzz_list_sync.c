/*
 * fuzz_list_sync.c - libFuzzer target for the list-sync payload readers
 * (gateway/lists/lists_xml.c): lst_parse_syncreq(), the SyncRequest a partner
 * sends to pull a list, and lst_parse_update(), the Update or Refusal
 * pages that answer it.  Both take a payload or a whole envelope.  Every
 * field read must stay NUL-terminated in its array, and every entry handed
 * to the callback must be a string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_xmlsig.h"
#include "lists_xml.h"
#include "xmlsig.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_xmlsig_init();
    return 0;
}

static int terminated(const char *s, size_t n) { return memchr(s, 0, n) != NULL; }

static int head(void *ctx, const lst_update *u)
{
    (void)ctx;
    if (!terminated(u->list, sizeof u->list) ||
        !terminated(u->cursor, sizeof u->cursor))
        abort();
    return 0;
}

static int entry(void *ctx, int removed, const char *line, const char *category,
                 const char *detected, const char *reason)
{
    size_t *n = ctx;
    (void)removed;
    if (line == NULL)
        abort();
    (void)strlen(line);
    if (category != NULL)
        (void)strlen(category);
    if (detected != NULL)
        (void)strlen(detected);
    if (reason != NULL)
        (void)strlen(reason);
    (*n)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lst_syncreq r;
    static lst_update u;
    const char *xml = (const char *)data;
    icx_err err;
    size_t n = 0;

    icx_err_clear(&err);
    if (lst_parse_syncreq(&r, xml, size, &err) == ICX_OK &&
        (!terminated(r.list, sizeof r.list) ||
         !terminated(r.session, sizeof r.session) ||
         !terminated(r.cursor, sizeof r.cursor)))
        abort();
    icx_err_clear(&err);
    if (lst_parse_update(&u, xml, size, head, entry, &n, &err) == ICX_OK &&
        (!terminated(u.detail, sizeof u.detail) ||
         !terminated(u.digest, sizeof u.digest)))
        abort();
    return 0;
}
