/*
 * c14n.c - Exclusive XML Canonicalization 1.0 without comments (see
 * c14n.h for what is rendered and what is refused).
 *
 * One iterative walk over the part rendered: a start tag when an element
 * is entered, its end tag when the walk climbs out of it, so the depth of
 * a document costs heap (the stack of rendered namespaces) and never C
 * stack.  The rendered namespaces form one stack: an element pushes what
 * it declares and pops it at its end tag; the namespace a prefix has in
 * the output at a point is the topmost entry for it.  The part not
 * rendered (the omitted Signature, the document around SignedInfo) gets a
 * second, cheaper walk that reads only namespace declarations, since
 * libxml2 refuses a relative name wherever it is declared.
 */
#include "c14n.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/uri.h>

#include "err.h"

#define OUT_BUF 4096
#define SMALL 16 /* attributes or utilized namespaces kept on the C stack */

struct ns_ent {
    const xmlChar *prefix; /* NULL: the default namespace */
    const xmlChar *href;   /* "" : no namespace */
};

struct c14n {
    icx_c14n_write_fn write;
    void *ctx;
    int rc;
    size_t len;
    struct ns_ent *ns;     /* rendered, innermost last */
    size_t nns, capns;
    size_t *marks;         /* nns when each open element was entered */
    size_t nmarks, capmarks;
    char buf[OUT_BUF];
};

static void flush(struct c14n *c)
{
    if (c->len > 0 && c->rc == ICX_OK && c->write(c->ctx, c->buf, c->len) < 0)
        c->rc = ICX_EIO;
    c->len = 0;
}

static void put(struct c14n *c, const char *s, size_t n)
{
    if (c->len + n > sizeof c->buf) {
        flush(c);
        if (n > sizeof c->buf) {
            if (c->rc == ICX_OK && c->write(c->ctx, s, n) < 0)
                c->rc = ICX_EIO;
            return;
        }
    }
    memcpy(c->buf + c->len, s, n);
    c->len += n;
}

static void puts_(struct c14n *c, const xmlChar *s)
{
    put(c, (const char *)s, strlen((const char *)s));
}

/* Text content (attr 0) or an attribute value (attr 1), escaped. */
static void put_escaped(struct c14n *c, const xmlChar *s, int attr)
{
    const char *p = (const char *)s, *run = p;
    for (;; p++) {
        const char *rep;
        switch (*p) {
        case '\0':
            put(c, run, (size_t)(p - run));
            return;
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = attr ? NULL : "&gt;"; break;
        case '"': rep = attr ? "&quot;" : NULL; break;
        case '\t': rep = attr ? "&#x9;" : NULL; break;
        case '\n': rep = attr ? "&#xA;" : NULL; break;
        case '\r': rep = "&#xD;"; break;
        default: rep = NULL; break;
        }
        if (rep == NULL)
            continue;
        put(c, run, (size_t)(p - run));
        put(c, rep, strlen(rep));
        run = p + 1;
    }
}

static void put_qname(struct c14n *c, const xmlNs *ns, const xmlChar *name)
{
    if (ns != NULL && ns->prefix != NULL) {
        puts_(c, ns->prefix);
        put(c, ":", 1);
    }
    puts_(c, name);
}

static int same(const xmlChar *a, const xmlChar *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp((const char *)a, (const char *)b) == 0;
}

/* The namespace prefix has in the output here: "" for the default when
 * nothing was rendered, NULL for a prefix never rendered. */
static const xmlChar *rendered(const struct c14n *c, const xmlChar *prefix)
{
    for (size_t i = c->nns; i > 0; i--)
        if (same(c->ns[i - 1].prefix, prefix))
            return c->ns[i - 1].href;
    return prefix == NULL ? BAD_CAST "" : NULL;
}


/* Grows the array *arr of n entries of size bytes to hold n + 1: from
 * small, a C-stack array it starts in (NULL when it starts empty on the
 * heap), to the heap, doubling. */
static int grow(void **arr, void *small, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return ICX_OK;
    size_t want = *cap ? *cap * 2 : 16;
    int on_stack = small != NULL && *arr == small;
    void *p = on_stack ? malloc(want * size) : realloc(*arr, want * size);
    if (p == NULL)
        return ICX_ENOMEM;
    if (on_stack)
        memcpy(p, small, n * size);
    *arr = p;
    *cap = want;
    return ICX_OK;
}

static int push_ns(struct c14n *c, const xmlChar *prefix, const xmlChar *href)
{
    int rc = grow((void **)&c->ns, NULL, c->nns, &c->capns, sizeof *c->ns);
    if (rc == ICX_OK)
        c->ns[c->nns++] = (struct ns_ent){prefix, href};
    return rc;
}

static int push_mark(struct c14n *c)
{
    int rc = grow((void **)&c->marks, NULL, c->nmarks, &c->capmarks,
                  sizeof *c->marks);
    if (rc == ICX_OK)
        c->marks[c->nmarks++] = c->nns;
    return rc;
}

/* A namespace name exclusive c14n accepts in a declaration anywhere in
 * the document, rendered or not: empty, or absolute (xmlParseURI finds a
 * scheme).  libxml2's xmlC14NCheckForRelativeNamespaces, the same test
 * with the same URI parser, so that both refuse the same documents. */
static int decl_ok(const xmlChar *href)
{
    if (href == NULL || href[0] == '\0')
        return 1;
    xmlURIPtr uri = xmlParseURI((const char *)href);
    int ok = uri != NULL && uri->scheme != NULL && uri->scheme[0] != '\0';
    xmlFreeURI(uri);
    return ok;
}

/* A namespace name the form can write: nothing the namespace axis would
 * have to escape.  Of these characters only & gets through decl_ok, and
 * libxml2 writes it as the parser left it in the tree ("&#38;" from
 * xmlCtxtReadMemory without NOENT, "&" with it), never as the "&amp;"
 * of the Exclusive C14N specification: no rendering agrees with both. */
static int render_ok(const xmlChar *href)
{
    return href == NULL || strpbrk((const char *)href, "\"&<>\t\n\r") == NULL;
}

/* The node after n in document order within the subtree of top, entering
 * n's children when descend; NULL after the last. */
static const xmlNode *next_in_order(const xmlNode *n, const xmlNode *top,
                                    int descend)
{
    if (descend && n->children != NULL)
        return n->children;
    while (n != top && n->next == NULL)
        n = n->parent;
    return n == top ? NULL : n->next;
}

/* decl_ok for every declaration of the elements of the subtree of top,
 * except the subtree of skip (the part rendered, checked as it is), with
 * *where the first element that fails and *name its declaration;
 * *escapes (when not NULL) set when a declaration fails render_ok. */
static int decls_ok(const xmlNode **where, const xmlNs **name, int *escapes,
                    const xmlNode *top, const xmlNode *skip)
{
    const xmlNode *n = top;
    while (n != NULL) {
        int descend = n != skip && n->type == XML_ELEMENT_NODE;
        if (descend)
            for (const xmlNs *d = n->nsDef; d != NULL; d = d->next) {
                if (!decl_ok(d->href)) {
                    *where = n;
                    *name = d;
                    return 0;
                }
                if (escapes != NULL && !render_ok(d->href))
                    *escapes = 1;
            }
        n = next_in_order(n, top, descend);
    }
    return 1;
}

/* Prefix order: the default namespace (NULL) first, then by bytes, which
 * for UTF-8 is the order of code points. */
static int prefix_cmp(const xmlChar *a, const xmlChar *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    return strcmp((const char *)a, (const char *)b);
}

static int attr_cmp(const xmlAttr *a, const xmlAttr *b)
{
    const char *ua = a->ns ? (const char *)a->ns->href : "";
    const char *ub = b->ns ? (const char *)b->ns->href : "";
    int r = strcmp(ua, ub);
    return r != 0 ? r : strcmp((const char *)a->name, (const char *)b->name);
}


/* Adds (prefix, href) to the namespaces e utilizes unless it is there. */
static int utilize(struct ns_ent **u, struct ns_ent *small, size_t *n,
                   size_t *cap, const xmlChar *prefix, const xmlChar *href)
{
    for (size_t i = 0; i < *n; i++)
        if (same((*u)[i].prefix, prefix))
            return same((*u)[i].href, href) ? ICX_OK : ICX_EINVAL;
    int rc = grow((void **)u, small, *n, cap, sizeof **u);
    if (rc == ICX_OK)
        (*u)[(*n)++] = (struct ns_ent){prefix, href};
    return rc;
}

/* Writes e's start tag and pushes the namespaces it renders. */
static int start_tag(struct c14n *c, const xmlNode *e)
{
    struct ns_ent usmall[SMALL], *u = usmall;
    const xmlAttr *asmall[SMALL], **a = asmall;
    size_t nu = 0, capu = SMALL, na = 0, capa = SMALL;
    int rc = ICX_OK;

    for (const xmlNs *d = e->nsDef; d != NULL && rc == ICX_OK; d = d->next)
        if (!decl_ok(d->href))
            rc = ICX_EINVAL;
    /* Visibly utilized: the element's own namespace (the default, maybe
     * none, when it has no prefix) and its attributes' prefixes. */
    if (rc == ICX_OK) {
        const xmlNs *ns = e->ns;
        if (ns != NULL && ns->prefix != NULL &&
            (ns->href == NULL || ns->href[0] == '\0'))
            rc = ICX_EINVAL; /* a prefix bound to no namespace */
        else if (ns != NULL && ns->prefix != NULL &&
                 xmlStrEqual(ns->prefix, BAD_CAST "xml"))
            rc = ICX_EINVAL; /* an element in xml:, whose namespace the
                                form never declares */
        else
            rc = utilize(&u, usmall, &nu, &capu, ns ? ns->prefix : NULL,
                         ns && ns->href ? ns->href : BAD_CAST "");
    }
    for (const xmlAttr *at = e->properties; at != NULL && rc == ICX_OK;
         at = at->next) {
        if (at->type != XML_ATTRIBUTE_NODE) {
            rc = ICX_EINVAL;
            break;
        }
        if (at->ns != NULL) {
            if (at->ns->prefix == NULL || at->ns->href == NULL ||
                at->ns->href[0] == '\0')
                rc = ICX_EINVAL;
            else if (!xmlStrEqual(at->ns->prefix, BAD_CAST "xml"))
                rc = utilize(&u, usmall, &nu, &capu, at->ns->prefix,
                             at->ns->href);
        }
        if (rc == ICX_OK)
            rc = grow((void **)&a, asmall, na, &capa, sizeof *a);
        if (rc == ICX_OK)
            a[na++] = at;
    }
    if (rc == ICX_OK)
        rc = push_mark(c);
    if (rc != ICX_OK)
        goto out;

    /* Keep only what the output does not already have, in prefix order
     * (insertion sort: an element utilizes a handful at most). */
    size_t nr = 0;
    for (size_t i = 0; i < nu; i++) {
        if (same(rendered(c, u[i].prefix), u[i].href))
            continue;
        struct ns_ent x = u[i];
        size_t j = nr++;
        for (; j > 0 && prefix_cmp(u[j - 1].prefix, x.prefix) > 0; j--)
            u[j] = u[j - 1];
        u[j] = x;
    }
    for (size_t i = 1; i < na; i++) {
        const xmlAttr *x = a[i];
        size_t j = i;
        for (; j > 0 && attr_cmp(a[j - 1], x) > 0; j--)
            a[j] = a[j - 1];
        a[j] = x;
    }

    for (size_t i = 0; i < nr; i++)
        if (!render_ok(u[i].href))
            rc = ICX_EINVAL;
    if (rc != ICX_OK)
        goto out;

    put(c, "<", 1);
    put_qname(c, e->ns, e->name);
    for (size_t i = 0; i < nr && rc == ICX_OK; i++) {
        put(c, " xmlns", 6);
        if (u[i].prefix != NULL) {
            put(c, ":", 1);
            puts_(c, u[i].prefix);
        }
        put(c, "=\"", 2);
        puts_(c, u[i].href); /* render_ok: nothing to escape */
        put(c, "\"", 1);
        rc = push_ns(c, u[i].prefix, u[i].href);
    }
    for (size_t i = 0; i < na && rc == ICX_OK; i++) {
        put(c, " ", 1);
        put_qname(c, a[i]->ns, a[i]->name);
        put(c, "=\"", 2);
        for (const xmlNode *t = a[i]->children; t != NULL; t = t->next) {
            if (t->type != XML_TEXT_NODE) {
                rc = ICX_EINVAL;
                break;
            }
            put_escaped(c, t->content, 1);
        }
        put(c, "\"", 1);
    }
    put(c, ">", 1);
out:
    if (u != usmall)
        free(u);
    if (a != asmall)
        free(a);
    return rc;
}

static void end_tag(struct c14n *c, const xmlNode *e)
{
    put(c, "</", 2);
    put_qname(c, e->ns, e->name);
    put(c, ">", 1);
    c->nns = c->marks[--c->nmarks];
}

/* Renders the subtree of top without the subtree omit. */
static int walk(struct c14n *c, const xmlNode *top, const xmlNode *omit)
{
    const xmlNode *n = top;
    for (;;) {
        int descend = 0;
        if (n == omit) {
            /* the enveloped signature: nothing of it */
        } else if (n->type == XML_ELEMENT_NODE) {
            int rc = start_tag(c, n);
            if (rc != ICX_OK)
                return rc;
            if (n->children != NULL)
                descend = 1;
            else
                end_tag(c, n);
        } else if (n->type == XML_TEXT_NODE ||
                   n->type == XML_CDATA_SECTION_NODE) {
            if (n->content != NULL)
                put_escaped(c, n->content, 0);
        } else {
            return ICX_EINVAL;
        }
        if (c->rc != ICX_OK)
            return c->rc;
        if (descend) {
            n = n->children;
            continue;
        }
        while (n != top && n->next == NULL) {
            n = n->parent;
            end_tag(c, n);
        }
        if (n == top)
            return c->rc;
        n = n->next;
    }
}

static int finish(struct c14n *c, int rc)
{
    if (rc == ICX_OK)
        flush(c);
    free(c->ns);
    free(c->marks);
    return rc == ICX_OK ? c->rc : rc;
}

/* The namespace names the elements and attributes of the subtree of top
 * utilize: render_ok for each, with *where the first element that fails
 * and *name the namespace. */
static int utilized_ok(const xmlNode **where, const xmlNs **name,
                       const xmlNode *top)
{
    const xmlNode *n = top;
    while (n != NULL) {
        int elem = n->type == XML_ELEMENT_NODE;
        if (elem && n->ns != NULL && !render_ok(n->ns->href)) {
            *where = n;
            *name = n->ns;
            return 0;
        }
        for (const xmlAttr *a = elem ? n->properties : NULL; a != NULL;
             a = a->next)
            if (a->ns != NULL && !render_ok(a->ns->href)) {
                *where = n;
                *name = a->ns;
                return 0;
            }
        n = next_in_order(n, top, elem);
    }
    return 1;
}

int icx_c14n_check_names(const xmlNode **where, const xmlNs **name,
                         const char **why, const xmlDoc *doc)
{
    int escapes = 0;
    *where = NULL;
    *name = NULL;
    *why = NULL;
    for (const xmlNode *n = doc->children; n != NULL; n = n->next)
        if (!decls_ok(where, name, &escapes, n, NULL)) {
            *why = "is relative or not a URI, which exclusive c14n refuses";
            return ICX_EINVAL;
        }
    /* Declarations with a character to escape are rare: look for what
     * utilizes them only when there are some. */
    for (const xmlNode *n = doc->children; escapes && n != NULL; n = n->next)
        if (!utilized_ok(where, name, n)) {
            *why = "holds a character exclusive c14n would escape, which "
                   "implementations write differently";
            return ICX_EINVAL;
        }
    return ICX_OK;
}

int icx_c14n_document(const xmlDoc *doc, const xmlNode *omit,
                      icx_c14n_write_fn write, void *ctx)
{
    struct c14n c = {.write = write, .ctx = ctx, .rc = ICX_OK};
    const xmlNode *where;
    const xmlNs *name;
    int rc = ICX_OK, roots = 0;
    /* The part left out is not rendered, but its declarations count. */
    if (omit != NULL && !decls_ok(&where, &name, NULL, omit, NULL))
        rc = ICX_EINVAL;
    for (const xmlNode *n = doc->children; n != NULL && rc == ICX_OK;
         n = n->next) {
        if (n->type != XML_ELEMENT_NODE || roots++ > 0)
            rc = ICX_EINVAL;
        else
            rc = walk(&c, n, omit);
    }
    return finish(&c, rc);
}

int icx_c14n_subtree(const xmlNode *apex, icx_c14n_write_fn write,
                     void *ctx)
{
    struct c14n c = {.write = write, .ctx = ctx, .rc = ICX_OK};
    const xmlNode *where, *top = apex;
    const xmlNs *name;
    int rc = apex != NULL && apex->type == XML_ELEMENT_NODE ? ICX_OK
                                                             : ICX_EINVAL;
    /* The rest of the document is not rendered, but its declarations
     * count, as they do for libxml2 (xmlsec hands it the whole document
     * with SignedInfo as the node set). */
    while (rc == ICX_OK && top->parent != NULL &&
           top->parent->type == XML_ELEMENT_NODE)
        top = top->parent;
    for (const xmlNode *n = rc != ICX_OK       ? NULL
                            : top->parent != NULL ? top->parent->children
                                                  : top;
         n != NULL && rc == ICX_OK; n = n->next)
        if (!decls_ok(&where, &name, NULL, n, apex))
            rc = ICX_EINVAL;
    if (rc == ICX_OK)
        rc = walk(&c, apex, NULL);
    return finish(&c, rc);
}
