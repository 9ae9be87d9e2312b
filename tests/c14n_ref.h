/*
 * c14n_ref.h - the reference ICX's canonicalizer (gateway/sig/c14n.c) is held
 * to: libxml2's xmlC14NExecute in exclusive mode without comments, with
 * the node set given as a visibility callback, the way xmlsec drives it.
 * Shared by tests/unit/sig/test_c14n.c and tests/fuzz/fuzz_c14n.c.
 *
 * c14n_ref() returns malloc'ed bytes in *out (caller frees) and their
 * length, or -1 when libxml2 refuses the document.
 */
#ifndef ICX_C14N_REF_H
#define ICX_C14N_REF_H

#include <stdlib.h>
#include <string.h>

#include <libxml/c14n.h>
#include <libxml/tree.h>

#include "c14n.h"

/* The element a c14n node belongs to (namespace nodes come with their
 * element as parent; attributes have theirs as parent). */
static xmlNodePtr c14n_ref_owner(xmlNodePtr node, xmlNodePtr parent)
{
    return node != NULL && node->type != XML_NAMESPACE_DECL ? node : parent;
}

static int c14n_ref_inside(xmlNodePtr n, const xmlNode *top)
{
    for (; n != NULL; n = n->parent)
        if (n == top)
            return 1;
    return 0;
}

/* Everything but the subtree omit. */
static int c14n_ref_without(void *omit, xmlNodePtr node, xmlNodePtr parent)
{
    return omit == NULL || !c14n_ref_inside(c14n_ref_owner(node, parent), omit);
}

/* The subtree of top. */
static int c14n_ref_within(void *top, xmlNodePtr node, xmlNodePtr parent)
{
    return c14n_ref_inside(c14n_ref_owner(node, parent), top);
}

/* apex != NULL: the subtree of apex; else the document without omit. */
static long c14n_ref(xmlDocPtr d, xmlNodePtr omit, xmlNodePtr apex,
                     char **out)
{
    /* xmlC14NDocDumpMemory takes no callback: collect through a memory
     * output buffer. */
    xmlBufferPtr mem = xmlBufferCreate();
    xmlOutputBufferPtr ob = mem ? xmlOutputBufferCreateBuffer(mem, NULL)
                                : NULL;
    long len = -1;
    if (ob != NULL) {
        int r = apex != NULL
                    ? xmlC14NExecute(d, c14n_ref_within, apex,
                                     XML_C14N_EXCLUSIVE_1_0, NULL, 0, ob)
                    : xmlC14NExecute(d, c14n_ref_without, omit,
                                     XML_C14N_EXCLUSIVE_1_0, NULL, 0, ob);
        if (xmlOutputBufferClose(ob) >= 0 && r >= 0) {
            len = (long)xmlBufferLength(mem);
            *out = malloc((size_t)len + 1);
            if (*out == NULL) {
                len = -1;
            } else {
                memcpy(*out, xmlBufferContent(mem), (size_t)len);
                (*out)[len] = '\0';
            }
        }
    }
    xmlBufferFree(mem);
    return len;
}

/* The node after n in document order within its tree (NULL at the end). */
static xmlNodePtr c14n_ref_next(xmlNodePtr n)
{
    if (n->type == XML_ELEMENT_NODE && n->children != NULL)
        return n->children;
    while (n != NULL && n->next == NULL)
        n = n->parent;
    return n != NULL ? n->next : NULL;
}

struct c14n_mem {
    char *data;
    size_t len, cap;
};

static int c14n_mem_write(void *ctx, const char *data, size_t len)
{
    struct c14n_mem *m = ctx;
    if (m->len + len + 1 > m->cap) {
        size_t cap = (m->len + len + 1) * 2;
        char *p = realloc(m->data, cap);
        if (p == NULL)
            return -1;
        m->data = p;
        m->cap = cap;
    }
    memcpy(m->data + m->len, data, len);
    m->len += len;
    m->data[m->len] = '\0';
    return 0;
}

/* The same through gateway/sig/c14n.c: length, or -1 with *rc its error. */
static long c14n_icx(xmlDocPtr d, xmlNodePtr omit, xmlNodePtr apex,
                     char **out, int *rc)
{
    struct c14n_mem m = {NULL, 0, 0};
    *rc = apex != NULL ? icx_c14n_subtree(apex, c14n_mem_write, &m)
                       : icx_c14n_document(d, omit, c14n_mem_write, &m);
    if (*rc != 0) {
        free(m.data);
        return -1;
    }
    if (m.data == NULL && c14n_mem_write(&m, "", 0) < 0)
        return -1;
    *out = m.data;
    return (long)m.len;
}

#endif
