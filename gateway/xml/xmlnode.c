/*
 * xmlnode.c - reading and building trees (see xmlnode.h).  Readers
 * allocate nothing except icx_xn_text_dup; reentrant.
 */
#include "xmlnode.h"

#include <string.h>

#include <libxml/chvalid.h>
#include <libxml/xmlstring.h>

#include "buf.h"
#include "err.h"

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

xmlNode *icx_xn_elem_from(xmlNode *n)
{
    while (n != NULL && n->type != XML_ELEMENT_NODE)
        n = n->next;
    return n;
}

int icx_xn_is_ns(const xmlNode *n, const char *ns, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           n->ns->href != NULL &&
           strcmp((const char *)n->ns->href, ns) == 0 &&
           strcmp((const char *)n->name, name) == 0;
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

int icx_xn_text_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p != 0) {
        if (*p < 0x80) { /* the common case, one byte */
            if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
                return 0;
            p++;
            continue;
        }
        int len = 4;
        int c = xmlGetUTF8Char(p, &len);
        if (c < 0 || !xmlIsCharQ(c))
            return 0;
        p += len;
    }
    return 1;
}

int icx_xn_add(xmlNode *parent, const char *name, const char *text,
               xmlNode **out)
{
    if (text != NULL && !icx_xn_text_ok(text))
        return ICX_EINVAL;
    /* Raw: the text is stored as given and escaped on output. */
    xmlNode *n = xmlNewDocRawNode(parent->doc, parent->ns, BAD_CAST name,
                                  text != NULL && text[0] != '\0'
                                      ? BAD_CAST text : NULL);
    if (n == NULL)
        return ICX_ENOMEM;
    if (xmlAddChild(parent, n) == NULL) {
        xmlFreeNode(n);
        return ICX_ENOMEM;
    }
    if (out != NULL)
        *out = n;
    return ICX_OK;
}

int icx_xn_set_attr(xmlNode *n, const char *name, const char *value)
{
    if (!icx_xn_text_ok(value))
        return ICX_EINVAL;
    return xmlSetProp(n, BAD_CAST name, BAD_CAST value) != NULL ? ICX_OK
                                                               : ICX_ENOMEM;
}
