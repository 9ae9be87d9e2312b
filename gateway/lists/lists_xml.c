/*
 * lists_xml.c - reading list payloads (urn:icx:list:1 SyncRequest, Update,
 * Refusal), bare or inside an envelope, and writing the pieces of a page.
 *
 * Input has been verified and schema-validated by the broker (or built by
 * this module); parsing still goes through the hardened parser of xml.h,
 * and the tree is only read: names and text are borrowed from libxml2
 * and nothing it allocates leaves this file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "lists_int.h"
#include "lists_xml.h"
#include "util.h"
#include "xml.h"
#include "xmlnode.h"

#define LIST_NS "urn:icx:list:1"
#define ENV_NS "urn:icx:envelope:1"

static const char *attr(const xmlNode *n, const char *name)
{
    xmlAttr *a = n ? xmlHasProp((xmlNode *)n, (const xmlChar *)name) : NULL;
    return a && a->children ? (const char *)a->children->content : NULL;
}

static uint64_t num(const xmlNode *n)
{
    char t[32];
    return n ? strtoull(icx_xn_text(t, sizeof t, n), NULL, 10) : 0;
}

/* The list payload element: the root, or the envelope's payload. */
static int open_payload(icx_xmldoc **doc, const xmlNode **root,
                        const char *xml, size_t len, icx_err *err)
{
    icx_xml_limits lim = {.max_bytes = len + 1, .max_depth = 64};
    int rc = icx_xml_parse(doc, xml, len, &lim, err);
    if (rc < 0)
        return rc;
    const xmlNode *r = xmlDocGetRootElement(icx_xml_raw(*doc));
    if (icx_xn_is(r, "Envelope") && r->ns &&
        strcmp((const char *)r->ns->href, ENV_NS) == 0)
        r = icx_xn_first(icx_xn_child(r, "Payload"));
    if (r == NULL || r->ns == NULL ||
        strcmp((const char *)r->ns->href, LIST_NS) != 0) {
        icx_xml_free(doc);
        return icx_err_set(err, ICX_EINVAL, "not a list payload "
                           "(urn:icx:list:1)");
    }
    *root = r;
    return ICX_OK;
}

int lst_parse_syncreq(lst_syncreq *r, const char *xml, size_t len,
                      icx_err *err)
{
    icx_xmldoc *doc = NULL;
    const xmlNode *root = NULL;
    memset(r, 0, sizeof *r);
    int rc = open_payload(&doc, &root, xml, len, err);
    if (rc < 0)
        return rc;
    if (!icx_xn_is(root, "SyncRequest")) {
        /* The message names root: write it before the tree is freed. */
        rc = icx_err_set(err, ICX_EINVAL, "want a list:SyncRequest, got "
                         "list:%s", (const char *)root->name);
        icx_xml_free(&doc);
        return rc;
    }
    icx_xn_text(r->list, sizeof r->list, icx_xn_child(root, "ListId"));
    icx_xn_text(r->session, sizeof r->session, icx_xn_child(root, "SessionId"));
    const xmlNode *s = icx_xn_child(root, "Serial");
    r->has_serial = s != NULL;
    r->serial = num(s);
    icx_xn_text(r->cursor, sizeof r->cursor, icx_xn_child(root, "Cursor"));
    icx_xn_text(r->verified, sizeof r->verified,
                icx_xn_child(root, "Verified"));
    if (r->verified[0] != '\0' && (!r->has_serial || r->session[0] == '\0' ||
                                   r->cursor[0] != '\0'))
        rc = icx_err_set(err, ICX_EINVAL, "list:SyncRequest: Verified needs "
                         "SessionId and Serial and no Cursor");
    icx_xml_free(&doc);
    return rc;
}

int lst_parse_update(lst_update *u, const char *xml, size_t len,
                     lst_head_fn head, lst_entry_fn fn, void *ctx,
                     icx_err *err)
{
    icx_xmldoc *doc = NULL;
    const xmlNode *root = NULL;
    memset(u, 0, sizeof *u);
    int rc = open_payload(&doc, &root, xml, len, err);
    if (rc < 0)
        return rc;
    icx_xn_text(u->list, sizeof u->list, icx_xn_child(root, "ListId"));
    if (icx_xn_is(root, "Refusal")) {
        const xmlNode *reason = icx_xn_child(root, "Reason");
        const char *code = attr(reason, "code");
        u->refusal = 1;
        snprintf(u->code, sizeof u->code, "%s", code ? code : "UNKNOWN");
        icx_xn_text(u->detail, sizeof u->detail, reason);
        goto out;
    }
    if (!icx_xn_is(root, "Update")) {
        rc = icx_err_set(err, ICX_EINVAL, "want a list:Update or "
                         "list:Refusal, got list:%s", (const char *)root->name);
        goto out;
    }
    const char *snap = attr(root, "snapshot");
    u->snapshot = snap && (strcmp(snap, "true") == 0 || strcmp(snap, "1") == 0);
    icx_xn_text(u->kind, sizeof u->kind, icx_xn_child(root, "Kind"));
    icx_xn_text(u->session, sizeof u->session, icx_xn_child(root, "SessionId"));
    u->serial = num(icx_xn_child(root, "Serial"));
    u->prev = num(icx_xn_child(root, "PreviousSerial"));
    u->page = (unsigned long)num(icx_xn_child(root, "Page"));
    u->pages = (unsigned long)num(icx_xn_child(root, "PageCount"));
    icx_xn_text(u->digest, sizeof u->digest, icx_xn_child(root, "Digest"));
    u->count = num(icx_xn_child(root, "EntryCount"));
    icx_xn_text(u->cursor, sizeof u->cursor, icx_xn_child(root, "Cursor"));
    int hash = strcmp(u->kind, "hash") == 0;
    if (head != NULL && (rc = head(ctx, u)) != 0)
        goto out;
    for (int removed = 0; fn != NULL && removed < 2 && rc == ICX_OK; removed++) {
        const xmlNode *sec = icx_xn_child(root, removed ? "Removed" : "Added");
        for (const xmlNode *e = sec ? sec->children : NULL; e && rc == ICX_OK;
             e = e->next) {
            if (!icx_xn_is(e, "Entry"))
                continue;
            char value[4200], line[4300], cat[160], det[48];
            const xmlNode *v = icx_xn_child(e, "Value");
            const char *alg = attr(v, "algorithm");
            icx_xn_text(value, sizeof value, v);
            if (hash)
                snprintf(line, sizeof line, "%s:%s", alg ? alg : "", value);
            else
                snprintf(line, sizeof line, "%s", value);
            const xmlNode *c = icx_xn_child(e, "Category");
            icx_xn_text(det, sizeof det, icx_xn_child(e, "DetectedAt"));
            rc = fn(ctx, removed, line, c ? icx_xn_text(cat, sizeof cat, c) : NULL,
                    det[0] ? det : NULL, removed ? attr(e, "reason") : NULL);
            u->entries++;
        }
    }
out:
    icx_xml_free(&doc);
    return rc;
}

/* ---- writing -------------------------------------------------------------- */

int lst_put_entry(icx_buf *b, int kind, const char *line, const char *category,
                  const char *detected, const char *reason)
{
    char alg[16];
    const char *value = lst_line_value(line, kind, alg, sizeof alg);
    if (reason != NULL)
        icx_buf_printf(b, "<Entry reason=\"%s\"><Value", reason);
    else
        icx_buf_puts(b, "<Entry><Value");
    if (kind == ICX_LIST_HASH)
        icx_buf_printf(b, " algorithm=\"%s\"", alg);
    icx_buf_puts(b, ">");
    icx_buf_put_xml(b, value);
    icx_buf_puts(b, "</Value>");
    if (reason == NULL) {
        if (category != NULL) {
            icx_buf_puts(b, "<Category>");
            icx_buf_put_xml(b, category);
            icx_buf_puts(b, "</Category>");
        }
        icx_buf_puts(b, "<DetectedAt>");
        icx_buf_put_xml(b, detected ? detected : "1970-01-01T00:00:00Z");
        icx_buf_puts(b, "</DetectedAt>");
    }
    return icx_buf_puts(b, "</Entry>");
}

int lst_put_update_head(icx_buf *b, int snapshot, const char *list, int kind,
                        const char *session, uint64_t serial, int64_t prev,
                        unsigned long page, unsigned long pages)
{
    icx_buf_printf(b, "<Update xmlns=\"urn:icx:list:1\" snapshot=\"%s\">"
                   "<ListId>", snapshot ? "true" : "false");
    icx_buf_put_xml(b, list);
    icx_buf_printf(b, "</ListId><Kind>%s</Kind><SessionId>%s</SessionId>"
                   "<Serial>%llu</Serial>", icx_list_kind_name(kind), session,
                   (unsigned long long)serial);
    if (prev >= 0)
        icx_buf_printf(b, "<PreviousSerial>%lld</PreviousSerial>",
                       (long long)prev);
    return icx_buf_printf(b, "<Page>%lu</Page><PageCount>%lu</PageCount>",
                          page, pages);
}

int lst_put_update_tail(icx_buf *b, const char *digest, uint64_t count,
                        const char *cursor)
{
    icx_buf_printf(b, "<Digest algorithm=\"sha256\">%s</Digest>"
                   "<EntryCount>%llu</EntryCount>", digest,
                   (unsigned long long)count);
    if (cursor != NULL && cursor[0] != '\0')
        icx_buf_printf(b, "<Cursor>%s</Cursor>", cursor);
    return icx_buf_puts(b, "</Update>\n");
}

void lst_cursor_write(char *out, size_t n, const char *session, uint64_t from,
                      uint64_t to, unsigned long psize, unsigned long pages,
                      unsigned long next_page, const char *last)
{
    int k = snprintf(out, n, "%s.%llu.%llu.%lu.%lu.%lu.", session,
                     (unsigned long long)from, (unsigned long long)to, psize,
                     pages, next_page);
    size_t len = strlen(last);
    if (k < 0 || (size_t)k + 2 * len + 1 > n) {
        out[0] = '\0';
        return;
    }
    icx_hex(out + k, (const unsigned char *)last, len);
}

size_t lst_cursor_len(size_t len)
{
    /* session, five numbers of at most 20 digits, six dots, the hex */
    return ICX_LISTS_SESSION_LEN + 5 * 20 + 6 + 2 * len;
}

int lst_put_refusal(icx_buf *b, const char *list, const char *code,
                    const char *detail)
{
    icx_buf_puts(b, "<Refusal xmlns=\"urn:icx:list:1\"><ListId>");
    icx_buf_put_xml(b, list);
    icx_buf_printf(b, "</ListId><Reason code=\"%s\">", code);
    icx_buf_put_xml(b, detail);
    return icx_buf_puts(b, "</Reason></Refusal>\n");
}

int lst_put_ack(icx_buf *b, const char *list, const char *session,
                uint64_t serial, const char *digest)
{
    icx_buf_puts(b, "<SyncRequest xmlns=\"urn:icx:list:1\"><ListId>");
    icx_buf_put_xml(b, list);
    icx_buf_printf(b, "</ListId><SessionId>%s</SessionId><Serial>%llu</Serial>"
                   "<Verified algorithm=\"sha256\">%s</Verified>", session,
                   (unsigned long long)serial, digest);
    return icx_buf_puts(b, "</SyncRequest>\n");
}

int lst_put_syncreq(icx_buf *b, const char *list, const char *session,
                    uint64_t serial, const char *cursor)
{
    icx_buf_puts(b, "<SyncRequest xmlns=\"urn:icx:list:1\"><ListId>");
    icx_buf_put_xml(b, list);
    icx_buf_puts(b, "</ListId>");
    if (session != NULL && session[0] != '\0') {
        icx_buf_printf(b, "<SessionId>%s</SessionId><Serial>%llu</Serial>",
                       session, (unsigned long long)serial);
    }
    if (cursor != NULL && cursor[0] != '\0') {
        icx_buf_puts(b, "<Cursor>");
        icx_buf_put_xml(b, cursor);
        icx_buf_puts(b, "</Cursor>");
    }
    return icx_buf_puts(b, "</SyncRequest>\n");
}
