/*
 * payload_view.c - a payload document written for a person to read, or as
 * JSON for a program.
 *
 * Used by `icx inbox show`: an officer reads what a partner sent (the
 * header, the persons, the offences, the requested actions) without
 * knowing XML.  The payload is walked element by element; every element
 * becomes one line "Label: text (attribute: value, ...)", indented by its
 * depth, with its local name turned into words ("CaseReference" ->
 * "Case reference").  Nothing is dropped: every element, attribute and
 * text node of the payload appears, in document order, so what is shown
 * is what was signed.  JSON is the same tree, one object per element:
 * {"element": local name, "attributes": {...}, "text": "...",
 *  "children": [...]} ("text" only when the element holds text,
 * "children" only when it has child elements).
 *
 * Text written for a terminal never carries a control character from the
 * payload: a carriage return, another C0 or C1 control or DEL is written
 * as an escape (\r, \x1b, \u009b), so a partner's text cannot move the
 * cursor or change what the officer's terminal shows.
 *
 * Ownership: out belongs to the caller; nothing is kept.  Thread safety:
 * reentrant.  Failures: the parse's error (the payload was verified when
 * it arrived, so this means a damaged store or a caller's mistake), or
 * ICX_ENOMEM.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "envelope.h"
#include "xmlnode.h"

/* "CaseReference" -> "Case reference", "IpAddress" -> "Ip address". */
static int put_label(icx_buf *out, const char *name)
{
    int rc = ICX_OK;
    for (size_t i = 0; name[i] != '\0' && rc == ICX_OK; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z' && i > 0) {
            char sp[3] = {' ', (char)(c - 'A' + 'a'), '\0'};
            rc = icx_buf_puts(out, sp);
        } else {
            rc = icx_buf_append(out, &c, 1);
        }
    }
    return rc;
}

/* The element's own text, without surrounding whitespace (a payload's
 * values never carry any: the schemas forbid it), or NULL. */
static const char *own_text(const xmlNode *n, size_t *len)
{
    for (const xmlNode *c = n->children; c != NULL; c = c->next) {
        if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE)
            continue;
        const char *t = (const char *)c->content;
        size_t a = 0, b = t != NULL ? strlen(t) : 0;
        while (a < b && strchr(" \t\r\n", t[a]) != NULL)
            a++;
        while (b > a && strchr(" \t\r\n", t[b - 1]) != NULL)
            b--;
        if (b > a) {
            *len = b - a;
            return t + a;
        }
    }
    return NULL;
}

/* s[0..len) for a terminal: controls other than newline and tab escaped. */
static int put_safe(icx_buf *out, const char *s, size_t len)
{
    int rc = ICX_OK;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len && rc == ICX_OK; i++) {
        if (p[i] == '\r')
            rc = icx_buf_puts(out, "\\r");
        else if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\t') ||
                 p[i] == 0x7f)
            rc = icx_buf_printf(out, "\\x%02x", p[i]);
        else if (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
                 p[i + 1] <= 0x9f)
            rc = icx_buf_printf(out, "\\u00%02x", p[++i]);
        else
            rc = icx_buf_append(out, p + i, 1);
    }
    return rc;
}

static int text_lines(icx_buf *out, const xmlNode *n, int depth)
{
    int rc = ICX_OK;
    for (int i = 0; i < depth && rc == ICX_OK; i++)
        rc = icx_buf_puts(out, "  ");
    if (rc == ICX_OK)
        rc = put_label(out, (const char *)n->name);
    size_t tlen = 0;
    const char *t = own_text(n, &tlen);
    if (rc == ICX_OK && t != NULL) {
        rc = icx_buf_puts(out, ": ");
        if (rc == ICX_OK)
            rc = put_safe(out, t, tlen);
    }
    int first = 1;
    for (const xmlAttr *a = n->properties; a != NULL && rc == ICX_OK;
         a = a->next) {
        rc = icx_buf_puts(out, first ? " (" : ", ");
        first = 0;
        if (rc == ICX_OK)
            rc = put_label(out, (const char *)a->name);
        if (rc == ICX_OK)
            rc = icx_buf_puts(out, ": ");
        const char *v = icx_xn_attr(n, (const char *)a->name);
        if (rc == ICX_OK && v != NULL)
            rc = put_safe(out, v, strlen(v));
    }
    if (rc == ICX_OK && !first)
        rc = icx_buf_puts(out, ")");
    if (rc == ICX_OK)
        rc = icx_buf_puts(out, "\n");
    for (const xmlNode *c = icx_xn_first(n); c != NULL && rc == ICX_OK;
         c = icx_xn_elem_from(c->next))
        rc = text_lines(out, c, depth + 1);
    return rc;
}

static int put_json_n(icx_buf *out, const char *s, size_t len)
{
    char *z = malloc(len + 1);
    if (z == NULL)
        return ICX_ENOMEM;
    memcpy(z, s, len);
    z[len] = '\0';
    int rc = icx_buf_put_json(out, z);
    free(z);
    return rc;
}

static int json_tree(icx_buf *out, const xmlNode *n)
{
    int rc = icx_buf_puts(out, "{\"element\":");
    if (rc == ICX_OK)
        rc = icx_buf_put_json(out, (const char *)n->name);
    if (rc == ICX_OK)
        rc = icx_buf_puts(out, ",\"attributes\":{");
    for (const xmlAttr *a = n->properties; a != NULL && rc == ICX_OK;
         a = a->next) {
        if (a != n->properties)
            rc = icx_buf_puts(out, ",");
        if (rc == ICX_OK)
            rc = icx_buf_put_json(out, (const char *)a->name);
        if (rc == ICX_OK)
            rc = icx_buf_puts(out, ":");
        const char *v = icx_xn_attr(n, (const char *)a->name);
        if (rc == ICX_OK)
            rc = icx_buf_put_json(out, v != NULL ? v : "");
    }
    if (rc == ICX_OK)
        rc = icx_buf_puts(out, "}");
    size_t tlen = 0;
    const char *t = own_text(n, &tlen);
    if (rc == ICX_OK && t != NULL) {
        rc = icx_buf_puts(out, ",\"text\":");
        if (rc == ICX_OK)
            rc = put_json_n(out, t, tlen);
    }
    const xmlNode *c = icx_xn_first(n);
    if (rc == ICX_OK && c != NULL) {
        rc = icx_buf_puts(out, ",\"children\":[");
        for (; c != NULL && rc == ICX_OK; c = icx_xn_elem_from(c->next)) {
            rc = json_tree(out, c);
            if (rc == ICX_OK && icx_xn_elem_from(c->next) != NULL)
                rc = icx_buf_puts(out, ",");
        }
        if (rc == ICX_OK)
            rc = icx_buf_puts(out, "]");
    }
    if (rc == ICX_OK)
        rc = icx_buf_puts(out, "}");
    return rc;
}

int icx_payload_format(icx_buf *out, const char *payload, size_t len,
                       const icx_xml_limits *lim, int json, icx_err *err)
{
    icx_xmldoc *doc = NULL;
    int rc = icx_xml_parse(&doc, payload, len, lim, err);
    if (rc < 0)
        return rc;
    const xmlNode *root = xmlDocGetRootElement(icx_xml_raw(doc));
    if (root == NULL)
        rc = icx_err_set(err, ICX_EINVAL, "the payload has no element");
    else
        rc = json ? json_tree(out, root) : text_lines(out, root, 0);
    if (rc == ICX_OK && json)
        rc = icx_buf_puts(out, "\n");
    if (rc == ICX_ENOMEM)
        icx_err_set(err, ICX_ENOMEM, "out of memory writing the payload");
    icx_xml_free(&doc);
    return rc;
}
