/*
 * xmlnode.c - reading parsed trees (see xmlnode.h).  No allocation except
 * icx_xn_text_dup; reentrant.
 */
#include "xmlnode.h"

#include <string.h>

#include "buf.h"

int icx_xn_is(const xmlNode *n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE &&
           strcmp((const char *)n->name, name) == 0;
}

const xmlNode *icx_xn_child(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (icx_xn_is(c, name))
            return c;
    return NULL;
}

const xmlNode *icx_xn_first(const xmlNode *n)
{
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return c;
    return NULL;
}

const char *icx_xn_attr(const xmlNode *n, const char *name)
{
    xmlAttr *a = n ? xmlHasProp((xmlNode *)n, (const xmlChar *)name) : NULL;
    return a && a->children ? (const char *)a->children->content : NULL;
}

static int is_text(const xmlNode *c)
{
    return (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
           c->content != NULL;
}

const char *icx_xn_text(char *out, size_t outlen, const xmlNode *n)
{
    size_t len = 0;
    out[0] = '\0';
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next) {
        if (!is_text(c))
            continue;
        size_t k = strlen((const char *)c->content);
        if (k > outlen - 1 - len)
            k = outlen - 1 - len;
        memcpy(out + len, c->content, k);
        len += k;
        out[len] = '\0';
    }
    return out;
}

char *icx_xn_text_dup(const xmlNode *n)
{
    icx_buf b;
    icx_buf_init(&b, 1 << 20);
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (is_text(c) && icx_buf_puts(&b, (const char *)c->content) < 0) {
            icx_buf_free(&b);
            return NULL;
        }
    return icx_buf_steal(&b, NULL);
}

const char *icx_xn_text_only(const xmlNode *n)
{
    const char *t = NULL;
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next) {
        if (!is_text(c))
            continue;
        if (t != NULL)
            return NULL; /* several pieces: do not guess which is meant */
        t = (const char *)c->content;
    }
    return t;
}
