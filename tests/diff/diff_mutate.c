/*
 * diff_mutate.c - the mutations of payload, namespaces, whitespace,
 * escaping and markup (diff_mutate_sig.c has those of the signature, the
 * encoding and the bytes), and the one list of both.
 *
 * Every mutation either means to keep the canonical form (DM_NEUTRAL:
 * whitespace inside tags, references for characters, CDATA, quotes,
 * redundant declarations; both verifiers should accept) or to change what
 * is signed or the signature's shape (both should refuse, or ICX alone
 * where its profile is stricter).  The test does not rely on the intent;
 * it only compares the two verdicts.  Mutations stacked on one another
 * may break the markers regions are found by: a mutation that finds no
 * region works on the whole text, or reports that it has no place.
 */
#include "diff_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The name of the tag add_to_tag changed last, for the notes. */
static char last_tag[64];

/* Inserts ins right after the name of a random start tag in [a, b). */
static int add_to_tag(struct dm_rng *r, struct dm_text *t,
                      const struct scan *s, size_t a, size_t b,
                      const char *ins)
{
    long i = dm_pick_tok(r, s, TK_START, a, b);
    if (i < 0)
        return -1;
    size_t nlen, name = dm_tag_name(t, &s->v[i], &nlen);
    snprintf(last_tag, sizeof last_tag, "%.*s", (int)nlen, t->s + name);
    dm_splice_str(t, name + nlen, 0, ins);
    return 0;
}

static struct scan sc; /* one scan at a time: single-threaded test */

/* ---- payload: signed content changes ------------------------------ */

MUT(m_text_char)
{
    UNUSED_ENV;
    size_t a, b, off, len;
    dm_scan(t, &sc);
    dm_region(t, &sc, dm_payload_or_header(r), &a, &b);
    if (dm_pick_text(r, t, &sc, a, b, 1, &off, &len) < 0)
        return -1;
    size_t p = dm_pick_pos(r, t->s, off, len, dm_alnum);
    if (p == SIZE_MAX)
        return -1;
    char old = t->s[p];
    t->s[p] = dm_other_char(r, dm_alnum, old);
    dm_notef(note, nl, "text byte %zu '%c' -> '%c'", p, old, t->s[p]);
    return 0;
}

MUT(m_attr_char)
{
    UNUSED_ENV;
    struct attr at;
    dm_scan(t, &sc);
    if (dm_pick_attr(r, t, &sc, 0, t->n, 0, &at) < 0)
        return -1;
    size_t p = dm_pick_pos(r, t->s, at.val, at.vlen, dm_alnum);
    if (p == SIZE_MAX)
        return -1;
    char old = t->s[p];
    t->s[p] = dm_other_char(r, dm_alnum, old);
    dm_notef(note, nl, "attribute %.*s byte %zu '%c' -> '%c'", (int)at.nlen,
          t->s + at.name, p, old, t->s[p]);
    return 0;
}

MUT(m_attr_add)
{
    UNUSED_ENV;
    static const char *const adds[] = {
        " x=\"1\"", " xml:lang=\"en\"", " p:a=\"1\" xmlns:p=\"urn:icx:test\"",
        " Id=\"i1\"", " xml:space=\"preserve\"",
        (" xsi:nil=\"true\" "
         "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""),
    };
    size_t a, b;
    dm_scan(t, &sc);
    dm_region(t, &sc, dm_some_region(r), &a, &b);
    const char *add = PICK(r, adds);
    if (add_to_tag(r, t, &sc, a, b, add) < 0)
        return -1;
    dm_notef(note, nl, "attribute added to <%s>:%s", last_tag, add);
    return 0;
}

MUT(m_attr_remove)
{
    UNUSED_ENV;
    struct attr at;
    dm_scan(t, &sc);
    if (dm_pick_attr(r, t, &sc, 0, t->n, 0, &at) < 0)
        return -1;
    dm_notef(note, nl, "attribute %.*s removed", (int)at.nlen, t->s + at.name);
    dm_text_splice(t, at.ws, at.val + at.vlen + 1 - at.ws, "", 0);
    return 0;
}

MUT(m_elem_dup)
{
    UNUSED_ENV;
    size_t a, b, seen = 0, pick = SIZE_MAX;
    dm_scan(t, &sc);
    dm_region(t, &sc, dm_payload_or_header(r), &a, &b);
    for (size_t i = 0; i + 1 < sc.n; i++)
        if (sc.v[i].kind == TK_START && sc.v[i + 1].kind == TK_END &&
            sc.v[i].lt >= a && sc.v[i + 1].gt < b &&
            dm_below(r, ++seen) == 0)
            pick = i;
    if (pick == SIZE_MAX)
        return -1;
    size_t s0 = sc.v[pick].lt, s1 = sc.v[pick + 1].gt + 1;
    char *copy = malloc(s1 - s0);
    if (copy == NULL)
        abort();
    memcpy(copy, t->s + s0, s1 - s0);
    dm_text_splice(t, s1, 0, copy, s1 - s0);
    free(copy);
    dm_notef(note, nl, "element at %zu duplicated", s0);
    return 0;
}

/* ---- namespaces ----------------------------------------------------- */

MUT(m_ns_unused)
{
    UNUSED_ENV;
    static const char *const decls[] = {
        " xmlns:u=\"urn:icx:unused\"", " xmlns:u0=\"http://example.org/u\"",
        " xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"",
        " xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"",
        " xmlns:xml=\"http://www.w3.org/XML/1998/namespace\"",
    };
    size_t a, b;
    dm_scan(t, &sc);
    dm_region(t, &sc, dm_some_region(r), &a, &b);
    const char *d = PICK(r, decls);
    if (add_to_tag(r, t, &sc, a, b, d) < 0)
        return -1;
    dm_notef(note, nl, "declaration added to <%s>:%s", last_tag, d);
    return 0;
}

/* Adds a declaration that repeats the one in scope. */
MUT(m_ns_redundant)
{
    size_t a, b;
    char decl[160];
    dm_scan(t, &sc);
    switch (dm_below(r, 3)) {
    case 0:
        dm_region(t, &sc, "Header", &a, &b);
        snprintf(decl, sizeof decl, " xmlns=\"urn:icx:envelope:1\"");
        break;
    case 1: {
        size_t si, ei;
        if (dm_element(t, &sc, "Payload", &si, &ei) < 0 || ei <= si + 1)
            return -1;
        a = sc.v[si + 1].lt; /* inside Payload: the payload's namespace */
        b = sc.v[ei].lt;
        snprintf(decl, sizeof decl, " xmlns=\"%s\"", e->payload_ns);
        break;
    }
    default:
        dm_region(t, &sc, "ds:SignedInfo", &a, &b);
        snprintf(decl, sizeof decl,
                 " xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"");
    }
    long i = dm_pick_tok(r, &sc, TK_START, a, b);
    if (i < 0)
        return -1;
    size_t nlen, at = dm_tag_name(t, &sc.v[i], &nlen);
    if (strncmp(decl, " xmlns=", 7) == 0 &&
        memchr(t->s + at, ':', nlen) != NULL)
        return -1; /* a default declaration on a prefixed element */
    dm_splice_str(t, at + nlen, 0, decl);
    dm_notef(note, nl, "redundant declaration at %zu:%s", at, decl);
    return 0;
}

MUT(m_ns_default_other)
{
    UNUSED_ENV;
    size_t a, b;
    dm_scan(t, &sc);
    dm_region(t, &sc, dm_some_region(r), &a, &b);
    const char *d = dm_below(r, 2) ? " xmlns=\"urn:icx:other\""
                                   : " xmlns=\"urn:icx:envelope:1\"";
    if (add_to_tag(r, t, &sc, a, b, d) < 0)
        return -1;
    dm_notef(note, nl, "default namespace declared on <%s>:%s", last_tag, d);
    return 0;
}

/* Inserts prefix ("e:") into every start and end tag in [a, b) whose
 * name has no prefix and, when names is not NULL, is listed. */
static size_t prefix_tags(struct dm_text *t, size_t a, size_t b,
                          const char *prefix, const char *const *names)
{
    size_t done = 0;
    dm_scan(t, &sc);
    for (size_t i = sc.n; i-- > 0;) {
        const struct tok *k = &sc.v[i];
        if ((k->kind != TK_START && k->kind != TK_END) || k->lt < a ||
            k->gt >= b)
            continue;
        size_t nlen, at = dm_tag_name(t, k, &nlen);
        if (memchr(t->s + at, ':', nlen) != NULL)
            continue;
        int listed = names == NULL;
        for (size_t j = 0; names != NULL && names[j] != NULL; j++)
            listed |= nlen == strlen(names[j]) &&
                      memcmp(t->s + at, names[j], nlen) == 0;
        if (!listed)
            continue;
        dm_splice_str(t, at, 0, prefix);
        done++;
    }
    return done;
}

MUT(m_ns_prefix_env)
{
    UNUSED_ENV;
    static const char *const names[] = {
        "Envelope", "Header", "MessageId", "ConversationId", "RefToMessageId",
        "Sender", "Recipient", "Created", "Expires", "Category", "Handling",
        "Payload", NULL,
    };
    static const char *const prefixes[] = {"e", "env", "icx", "ds2"};
    const char *p = PICK(r, prefixes);
    char pre[16], decl[64];
    snprintf(pre, sizeof pre, "%s:", p);
    if (prefix_tags(t, 0, t->n, pre, names) == 0)
        return -1;
    size_t at = dm_find(t->s, t->n, 0, "xmlns=\"urn:icx:envelope:1\"");
    if (at == SIZE_MAX)
        return -1;
    int keep = dm_below(r, 2) == 0;
    snprintf(decl, sizeof decl, "%sxmlns:%s=\"urn:icx:envelope:1\"",
             keep ? "xmlns=\"urn:icx:envelope:1\" " : "", p);
    dm_text_splice(t, at, strlen("xmlns=\"urn:icx:envelope:1\""), decl,
                   strlen(decl));
    dm_notef(note, nl, "envelope elements prefixed %s (default %s)", p,
          keep ? "kept" : "removed");
    return 0;
}

MUT(m_ns_prefix_payload)
{
    (void)r;
    size_t si, ei;
    dm_scan(t, &sc);
    if (dm_element(t, &sc, "Payload", &si, &ei) < 0 || ei <= si + 1)
        return -1;
    size_t a = sc.v[si + 1].lt, b = sc.v[ei].lt;
    if (prefix_tags(t, a, b, "p:", NULL) == 0)
        return -1;
    char decl[128];
    snprintf(decl, sizeof decl, " xmlns:p=\"%s\"", e->payload_ns);
    /* The payload element's tag still starts at a (prefixes went in
     * after its '<'). */
    dm_scan(t, &sc);
    for (size_t i = 0; i < sc.n; i++) {
        if (sc.v[i].lt != a)
            continue;
        size_t nlen, at = dm_tag_name(t, &sc.v[i], &nlen);
        dm_splice_str(t, at + nlen, 0, decl);
        dm_notef(note, nl, "payload elements prefixed p:");
        return 0;
    }
    return -1;
}

static size_t replace_all(struct dm_text *t, const char *from, const char *to)
{
    size_t n = 0, m = strlen(from), k = strlen(to);
    for (size_t at = dm_find(t->s, t->n, 0, from); at != SIZE_MAX;
         at = dm_find(t->s, t->n, at + k, from)) {
        dm_text_splice(t, at, m, to, k);
        n++;
    }
    return n;
}

MUT(m_ns_ds_rename)
{
    UNUSED_ENV;
    static const char *const to[] = {"dsig", "s", "ds2", "x", "Ds"};
    const char *p = PICK(r, to);
    char a[16], b[16], c[24];
    snprintf(a, sizeof a, "<%s:", p);
    snprintf(b, sizeof b, "</%s:", p);
    snprintf(c, sizeof c, "xmlns:%s=", p);
    if (replace_all(t, "<ds:", a) == 0)
        return -1;
    replace_all(t, "</ds:", b);
    replace_all(t, "xmlns:ds=", c);
    dm_notef(note, nl, "ds prefix renamed %s", p);
    return 0;
}

MUT(m_ns_ds_default)
{
    UNUSED_ENV;
    (void)r;
    if (replace_all(t, "<ds:", "<") == 0)
        return -1;
    replace_all(t, "</ds:", "</");
    replace_all(t, "xmlns:ds=", "xmlns=");
    dm_notef(note, nl, "XML-DSig as the default namespace");
    return 0;
}

MUT(m_ns_remove)
{
    UNUSED_ENV;
    struct attr at;
    dm_scan(t, &sc);
    if (dm_pick_attr(r, t, &sc, 0, t->n, 1, &at) < 0)
        return -1;
    dm_notef(note, nl, "declaration %.*s removed", (int)at.nlen,
             t->s + at.name);
    dm_text_splice(t, at.ws, at.val + at.vlen + 1 - at.ws, "", 0);
    return 0;
}

MUT(m_ns_relative)
{
    UNUSED_ENV;
    static const char *const names[] = {
        "rel/x", "../x", "x", "#frag", "?q", "//host/x", "urn",
    };
    const char *name = PICK(r, names);
    char decl[64];
    size_t a, b;
    dm_scan(t, &sc);
    if (dm_below(r, 2) == 0) {
        snprintf(decl, sizeof decl, " xmlns:r=\"%s\"", name);
        dm_region(t, &sc, dm_some_region(r), &a, &b);
        if (add_to_tag(r, t, &sc, a, b, decl) < 0)
            return -1;
        dm_notef(note, nl, "unused relative declaration on <%s>:%s", last_tag,
              decl);
        return 0;
    }
    struct attr at;
    if (dm_pick_attr(r, t, &sc, 0, t->n, 1, &at) < 0)
        return -1;
    dm_notef(note, nl, "declaration %.*s made relative: %s", (int)at.nlen,
          t->s + at.name, name);
    dm_splice_str(t, at.val, at.vlen, name);
    return 0;
}

MUT(m_ns_escaped)
{
    UNUSED_ENV;
    dm_scan(t, &sc);
    if (dm_below(r, 2) == 0) {
        static const char *const decls[] = {
            " xmlns:q=\"urn:a&amp;b\"", " xmlns:q=\"urn:a&lt;b&gt;\"",
            " xmlns:q=\"urn:a&#x20;b\"", " xmlns:q=\"urn:a&quot;b\"",
            " xmlns:q=\"urn:a%20b\"", " xmlns:q=\"urn:&#x3b1;\"",
            " xmlns:q=\"urn:a&#9;b\"",
        };
        size_t a, b;
        const char *d = PICK(r, decls);
        dm_region(t, &sc, dm_some_region(r), &a, &b);
        if (add_to_tag(r, t, &sc, a, b, d) < 0)
            return -1;
        dm_notef(note, nl, "escaped declaration added to <%s>:%s", last_tag, d);
        return 0;
    }
    struct attr at;
    if (dm_pick_attr(r, t, &sc, 0, t->n, 1, &at) < 0)
        return -1;
    size_t p = dm_pick_pos(r, t->s, at.val, at.vlen, dm_alnum);
    if (p == SIZE_MAX)
        return -1;
    char ref[16];
    snprintf(ref, sizeof ref, dm_below(r, 2) ? "&#x%x;" : "&#%d;",
             (unsigned char)t->s[p]);
    dm_notef(note, nl, "declaration %.*s: byte %zu as %s", (int)at.nlen,
          t->s + at.name, p, ref);
    dm_splice_str(t, p, 1, ref);
    return 0;
}

/* The ds declaration moved from the Signature to the root, where the
 * exclusive form must still render it on SignedInfo and nowhere else. */
MUT(m_ns_move_ds)
{
    UNUSED_ENV;
    static const char decl[] =
        " xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"";
    size_t at = dm_find(t->s, t->n, 0, decl);
    if (at == SIZE_MAX)
        return -1;
    dm_text_splice(t, at, strlen(decl), "", 0);
    dm_scan(t, &sc);
    size_t root = sc.n > 0 && sc.v[0].kind == TK_DECL ? 1 : 0;
    if (root >= sc.n || sc.v[root].kind != TK_START)
        return -1;
    size_t nlen, name = dm_tag_name(t, &sc.v[root], &nlen);
    int keep = dm_below(r, 2) == 0;
    dm_splice_str(t, name + nlen, 0, decl);
    if (keep) /* and declared again where it was */
        dm_splice_str(t, at + strlen(decl), 0, decl);
    dm_notef(note, nl, "ds declaration moved to the root%s",
             keep ? " and kept on the Signature" : "");
    return 0;
}

/* ---- whitespace ----------------------------------------------------- */

MUT(m_ws_tag_end)
{
    UNUSED_ENV;
    size_t a, b;
    dm_scan(t, &sc);
    dm_region(t, &sc, dm_some_region(r), &a, &b);
    long i = dm_pick_tok(r, &sc, -1, a, b);
    if (i < 0)
        return -1;
    size_t at = dm_self_closing(t, &sc.v[i]) ? sc.v[i].gt - 1 : sc.v[i].gt;
    const char *w = dm_ws_run(r);
    dm_splice_str(t, at, 0, w);
    dm_notef(note, nl, "whitespace before the end of the tag at %zu",
          sc.v[i].lt);
    return 0;
}

MUT(m_ws_attr_sep)
{
    UNUSED_ENV;
    struct attr at;
    dm_scan(t, &sc);
    if (dm_pick_attr(r, t, &sc, 0, t->n, -1, &at) < 0)
        return -1;
    dm_notef(note, nl, "whitespace before attribute %.*s", (int)at.nlen,
          t->s + at.name);
    dm_splice_str(t, at.ws, at.name - at.ws, dm_ws_run(r));
    return 0;
}

MUT(m_ws_attr_eq)
{
    UNUSED_ENV;
    struct attr at;
    dm_scan(t, &sc);
    if (dm_pick_attr(r, t, &sc, 0, t->n, -1, &at) < 0)
        return -1;
    static const char *const eqs[] = {" =", "= ", " = ", "\n=\t", "\r\n= "};
    dm_notef(note, nl, "whitespace around = of %.*s", (int)at.nlen,
          t->s + at.name);
    dm_splice_str(t, at.eq, 1, PICK(r, eqs));
    return 0;
}

static const char *text_ws(struct dm_rng *r)
{
    static const char *const w[] = {
        " ", "\t", "\n", "\r\n", "\r", "&#13;", "&#9;", "&#xA;", "&#x20;",
        "&#xD;&#xA;",
    };
    return PICK(r, w);
}

MUT(m_ws_text)
{
    UNUSED_ENV;
    size_t a, b, off, len;
    dm_scan(t, &sc);
    dm_region(t, &sc, dm_some_region(r), &a, &b);
    if (dm_pick_text(r, t, &sc, a, b, 1, &off, &len) < 0)
        return -1;
    size_t p = dm_pick_pos(r, t->s, off, len + 1, NULL);
    if (p == SIZE_MAX)
        return -1;
    const char *w = text_ws(r);
    dm_splice_str(t, p, 0, w);
    dm_notef(note, nl, "whitespace in text at %zu", p);
    return 0;
}

MUT(m_ws_between)
{
    UNUSED_ENV;
    size_t seen = 0, pick = SIZE_MAX;
    dm_scan(t, &sc);
    for (size_t i = 0; i + 1 < sc.n; i++)
        if (sc.v[i].kind != TK_DECL && sc.v[i].gt + 1 <= sc.v[i + 1].lt &&
            dm_blank(t->s + sc.v[i].gt + 1, sc.v[i + 1].lt - sc.v[i].gt - 1) &&
            dm_below(r, ++seen) == 0)
            pick = i;
    if (pick == SIZE_MAX)
        return -1;
    size_t at = sc.v[pick].gt + 1;
    dm_splice_str(t, at, 0, text_ws(r));
    dm_notef(note, nl, "whitespace between tags at %zu", at);
    return 0;
}

MUT(m_ws_attr_value)
{
    UNUSED_ENV;
    static const char *const w[] = {
        "\t", "\n", "\r", " ", "&#9;", "&#10;", "&#13;", "&#x20;", "\r\n",
    };
    struct attr at;
    dm_scan(t, &sc);
    if (dm_pick_attr(r, t, &sc, 0, t->n, 0, &at) < 0)
        return -1;
    size_t p = dm_pick_pos(r, t->s, at.val, at.vlen + 1, NULL);
    if (p == SIZE_MAX)
        return -1;
    dm_notef(note, nl, "whitespace in attribute %.*s", (int)at.nlen,
          t->s + at.name);
    dm_splice_str(t, p, 0, PICK(r, w));
    return 0;
}

/* Whitespace inside a base64 value: neutral in SignatureValue (not
 * signed), a signed change in DigestValue. */
static int ws_in(struct dm_text *t, struct dm_rng *r, const char *elem,
                 char *note, size_t nl)
{
    size_t si, ei;
    dm_scan(t, &sc);
    if (dm_element(t, &sc, elem, &si, &ei) < 0 || ei != si + 1)
        return -1;
    size_t a = sc.v[si].gt + 1, b = sc.v[ei].lt;
    size_t p = a + dm_below(r, b - a + 1);
    static const char *const w[] = {
        " ", "\n", "\t", "\r\n", "&#13;", "&#x20;", "&#9;", "&#10;", "\n  ",
    };
    const char *ins = PICK(r, w);
    dm_splice_str(t, p, 0, ins);
    dm_notef(note, nl, "whitespace in %s at %zu", elem, p - a);
    return 0;
}

MUT(m_ws_sigvalue)
{
    UNUSED_ENV;
    return ws_in(t, r, "ds:SignatureValue", note, nl);
}

MUT(m_ws_digestvalue)
{
    UNUSED_ENV;
    return ws_in(t, r, "ds:DigestValue", note, nl);
}

MUT(m_ws_outside)
{
    UNUSED_ENV;
    dm_scan(t, &sc);
    size_t at = 0;
    if (dm_below(r, 2) == 0) {
        at = t->n;
    } else if (sc.n > 0 && sc.v[0].kind == TK_DECL) {
        at = sc.v[0].gt + 1;
    } else if (sc.n > 0) {
        at = sc.v[0].lt;
    }
    if (at == 0)
        return -1; /* before everything: the encoding mutations do that */
    dm_splice_str(t, at, 0, dm_ws_run(r));
    dm_notef(note, nl, "whitespace outside the root at %zu", at);
    return 0;
}

/* ---- escaping ------------------------------------------------------- */

/* Replaces the character at p (UTF-8) by a character reference. */
static int char_ref(struct dm_text *t, struct dm_rng *r, size_t p,
                    char *note, size_t nl)
{
    const unsigned char *u = (const unsigned char *)t->s + p;
    unsigned cp;
    size_t len;
    if (u[0] < 0x80) {
        cp = u[0];
        len = 1;
    } else if ((u[0] & 0xe0) == 0xc0 && p + 1 < t->n) {
        cp = (u[0] & 0x1fu) << 6 | (u[1] & 0x3fu);
        len = 2;
    } else if ((u[0] & 0xf0) == 0xe0 && p + 2 < t->n) {
        cp = (u[0] & 0x0fu) << 12 | (u[1] & 0x3fu) << 6 | (u[2] & 0x3fu);
        len = 3;
    } else {
        return -1; /* continuation byte or 4-byte form: pick again */
    }
    if (cp == '&' || cp == '<')
        return -1;
    static const char *const forms[] = {"&#%u;", "&#x%x;", "&#x%X;",
                                        "&#x%04x;", "&#000%u;"};
    char ref[24];
    snprintf(ref, sizeof ref, PICK(r, forms), cp);
    dm_notef(note, nl, "U+%04X at %zu as %s", cp, p, ref);
    dm_text_splice(t, p, len, ref, strlen(ref));
    return 0;
}

MUT(m_esc_text_ref)
{
    UNUSED_ENV;
    size_t a, b, off, len;
    dm_scan(t, &sc);
    dm_region(t, &sc, dm_some_region(r), &a, &b);
    if (dm_pick_text(r, t, &sc, a, b, 1, &off, &len) < 0)
        return -1;
    for (int tries = 0; tries < 8; tries++) {
        size_t p = dm_pick_pos(r, t->s, off, len, NULL);
        if (p != SIZE_MAX && !dm_is_ws(t->s[p]) &&
            char_ref(t, r, p, note, nl) == 0)
            return 0;
    }
    return -1;
}

MUT(m_esc_attr_ref)
{
    UNUSED_ENV;
    struct attr at;
    dm_scan(t, &sc);
    if (dm_pick_attr(r, t, &sc, 0, t->n, 0, &at) < 0)
        return -1;
    for (int tries = 0; tries < 8; tries++) {
        size_t p = dm_pick_pos(r, t->s, at.val, at.vlen, NULL);
        if (p != SIZE_MAX && !dm_is_ws(t->s[p]) &&
            char_ref(t, r, p, note, nl) == 0)
            return 0;
    }
    return -1;
}

/* Swaps a character and its other written forms in text. */
MUT(m_esc_named)
{
    UNUSED_ENV;
    static const struct { const char *a, *b; } forms[] = {
        {">", "&gt;"}, {"\"", "&quot;"}, {"'", "&apos;"}, {"&amp;", "&#38;"},
        {"&lt;", "&#60;"}, {"&gt;", "&#x3E;"}, {"&quot;", "&#34;"},
        {"&apos;", "&#39;"}, {"&amp;", "&#x26;"},
    };
    size_t off, len;
    dm_scan(t, &sc);
    if (dm_pick_text(r, t, &sc, 0, t->n, 1, &off, &len) < 0)
        return -1;
    size_t start = dm_below(r, sizeof forms / sizeof forms[0]);
    for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
        size_t f = (start + k) % (sizeof forms / sizeof forms[0]);
        int back = dm_below(r, 2) == 0;
        const char *from = back ? forms[f].b : forms[f].a;
        const char *to = back ? forms[f].a : forms[f].b;
        size_t at = dm_find(t->s, off + len, off, from);
        if (at == SIZE_MAX || (from[0] != '&' && dm_in_ref(t->s, off, at)))
            continue;
        dm_notef(note, nl, "text at %zu: %s as %s", at, from, to);
        dm_splice_str(t, at, strlen(from), to);
        return 0;
    }
    return -1;
}

MUT(m_esc_cdata)
{
    UNUSED_ENV;
    size_t a, b, off, len;
    dm_scan(t, &sc);
    dm_region(t, &sc, dm_some_region(r), &a, &b);
    if (dm_pick_text(r, t, &sc, a, b, 1, &off, &len) < 0)
        return -1;
    if (memchr(t->s + off, '&', len) != NULL ||
        dm_find(t->s, off + len, off, "]]>") != SIZE_MAX)
        return -1;
    size_t s0 = off + dm_below(r, len);
    size_t s1 = s0 + dm_below(r, off + len - s0 + 1);
    dm_splice_str(t, s1, 0, "]]>");
    dm_splice_str(t, s0, 0, "<![CDATA[");
    dm_notef(note, nl, "CDATA around text %zu..%zu", s0, s1);
    return 0;
}

MUT(m_esc_quote)
{
    UNUSED_ENV;
    struct attr at;
    dm_scan(t, &sc);
    if (dm_pick_attr(r, t, &sc, 0, t->n, -1, &at) < 0)
        return -1;
    char q = at.quote == '"' ? '\'' : '"';
    if (memchr(t->s + at.val, q, at.vlen) != NULL)
        return -1;
    t->s[at.val - 1] = q;
    t->s[at.val + at.vlen] = q;
    dm_notef(note, nl, "attribute %.*s quoted with %c", (int)at.nlen,
          t->s + at.name, q);
    return 0;
}

MUT(m_esc_break)
{
    UNUSED_ENV;
    static const struct { const char *from, *to; } breaks[] = {
        {"&lt;", "<"}, {"&amp;", "&"}, {"&gt;", ">"}, {"&quot;", "\""},
    };
    size_t k = dm_below(r, sizeof breaks / sizeof breaks[0]);
    size_t at = dm_find(t->s, t->n, 0, breaks[k].from);
    if (at == SIZE_MAX)
        return -1;
    dm_splice_str(t, at, strlen(breaks[k].from), breaks[k].to);
    dm_notef(note, nl, "%s unescaped at %zu", breaks[k].from, at);
    return 0;
}

MUT(m_esc_empty_elem)
{
    UNUSED_ENV;
    size_t seen = 0, pick = SIZE_MAX;
    dm_scan(t, &sc);
    for (size_t i = 0; i < sc.n; i++) {
        int empty = dm_self_closing(t, &sc.v[i]);
        int pair = sc.v[i].kind == TK_START && !empty && i + 1 < sc.n &&
                   sc.v[i + 1].kind == TK_END &&
                   sc.v[i + 1].lt == sc.v[i].gt + 1;
        if ((empty || pair) && dm_below(r, ++seen) == 0)
            pick = i;
    }
    if (pick == SIZE_MAX)
        return -1;
    const struct tok *k = &sc.v[pick];
    size_t nlen, name = dm_tag_name(t, k, &nlen);
    if (dm_self_closing(t, k)) {
        char end[160];
        snprintf(end, sizeof end, "></%.*s>", (int)nlen, t->s + name);
        dm_splice_str(t, k->gt - 1, 2, end);
        dm_notef(note, nl, "empty element at %zu written as a pair", k->lt);
    } else {
        dm_text_splice(t, k->gt, sc.v[pick + 1].gt - k->gt, "/", 1);
        dm_notef(note, nl, "element pair at %zu written empty", k->lt);
    }
    return 0;
}

/* Characters at the edges of what XML allows, as references or literal
 * UTF-8, into text or an attribute value. */
MUT(m_esc_odd_char)
{
    UNUSED_ENV;
    static const char *const chars[] = {
        "&#x85;", "&#x2028;", "&#xFEFF;", "&#x10FFFF;", "&#xD7FF;",
        "&#xFFFD;", "&#x7F;", "&#x9F;", "&#xE000;", "&#x1F600;",
        "\xc2\x85", "\xe2\x80\xa8", "\xef\xbb\xbf", "\xf0\x9f\x98\x80",
        "\xf4\x8f\xbf\xbf", "\xef\xbf\xbd", "&#0;", "&#xD800;", "&#xFFFE;",
        "&#x1;", "&#x110000;", "&#X41;", "&#;", "&#x;",
    };
    const char *c = PICK(r, chars);
    dm_scan(t, &sc);
    size_t p = SIZE_MAX, a, b;
    if (dm_below(r, 2) == 0) {
        size_t off, len;
        dm_region(t, &sc, dm_some_region(r), &a, &b);
        if (dm_pick_text(r, t, &sc, a, b, 1, &off, &len) == 0)
            p = dm_pick_pos(r, t->s, off, len + 1, NULL);
    } else {
        struct attr at;
        if (dm_pick_attr(r, t, &sc, 0, t->n, 0, &at) == 0)
            p = dm_pick_pos(r, t->s, at.val, at.vlen + 1, NULL);
    }
    if (p == SIZE_MAX || (p < t->n && (unsigned char)t->s[p] >= 0x80 &&
                          ((unsigned char)t->s[p] & 0xc0) == 0x80))
        return -1;
    dm_splice_str(t, p, 0, c);
    dm_notef(note, nl, "character %s inserted at %zu", c, p);
    return 0;
}

/* ---- markup ICX never accepts: comments, PIs, DOCTYPE, entities ------- */

MUT(m_markup)
{
    UNUSED_ENV;
    static const char *const marks[] = {
        "<!--x-->", "<!---->", "<?pi data?>", "&amp;#65;",
        "<!DOCTYPE Envelope>",
        "<!DOCTYPE Envelope [<!ATTLIST Handling extra CDATA \"x\">]>",
        "<!DOCTYPE Envelope [<!ENTITY e \"x\">]>",
    };
    size_t k = dm_below(r, sizeof marks / sizeof marks[0]);
    dm_scan(t, &sc);
    size_t at;
    if (k >= 4) { /* a DOCTYPE goes before the root */
        at = sc.n > 0 && sc.v[0].kind == TK_DECL ? sc.v[0].gt + 1 : 0;
    } else {
        long i = dm_pick_tok(r, &sc, -1, 0, t->n);
        if (i < 0)
            return -1;
        at = sc.v[i].gt + 1;
    }
    dm_splice_str(t, at, 0, marks[k]);
    dm_notef(note, nl, "%s inserted at %zu", marks[k], at);
    return 0;
}

/* xmlns="" on an element: undeclares the default namespace, which the
 * exclusive form renders only where an unprefixed element needs it. */
MUT(m_ns_undeclare)
{
    UNUSED_ENV;
    size_t a, b;
    dm_scan(t, &sc);
    dm_region(t, &sc, dm_some_region(r), &a, &b);
    if (add_to_tag(r, t, &sc, a, b, " xmlns=\"\"") < 0)
        return -1;
    dm_notef(note, nl, "xmlns=\"\" on <%s>", last_tag);
    return 0;
}

#define R DM_RESIGNABLE
#define N DM_NEUTRAL

static const struct dm_mutation content_mutations[] = {
    {"text-char", "payload", m_text_char, R},
    {"attr-char", "payload", m_attr_char, R},
    {"attr-add", "payload", m_attr_add, R},
    {"attr-remove", "payload", m_attr_remove, R},
    {"element-dup", "payload", m_elem_dup, R},
    {"ns-unused", "namespace", m_ns_unused, R | N},
    {"ns-redundant", "namespace", m_ns_redundant, R | N},
    {"ns-default-other", "namespace", m_ns_default_other, R},
    {"ns-prefix-envelope", "namespace", m_ns_prefix_env, R},
    {"ns-prefix-payload", "namespace", m_ns_prefix_payload, R},
    {"ns-ds-rename", "namespace", m_ns_ds_rename, 0},
    {"ns-ds-default", "namespace", m_ns_ds_default, 0},
    {"ns-remove", "namespace", m_ns_remove, R},
    {"ns-relative", "namespace", m_ns_relative, R},
    {"ns-escaped", "namespace", m_ns_escaped, R},
    {"ns-move-ds", "namespace", m_ns_move_ds, 0},
    {"ws-tag-end", "whitespace", m_ws_tag_end, R | N},
    {"ws-attr-sep", "whitespace", m_ws_attr_sep, R | N},
    {"ws-attr-eq", "whitespace", m_ws_attr_eq, R | N},
    {"ws-text", "whitespace", m_ws_text, R},
    {"ws-between", "whitespace", m_ws_between, R},
    {"ws-attr-value", "whitespace", m_ws_attr_value, R},
    {"ws-signature-value", "whitespace", m_ws_sigvalue, N},
    {"ws-digest-value", "whitespace", m_ws_digestvalue, 0},
    {"ws-outside", "whitespace", m_ws_outside, R | N},
    {"esc-text-ref", "escaping", m_esc_text_ref, R | N},
    {"esc-attr-ref", "escaping", m_esc_attr_ref, R | N},
    {"esc-named", "escaping", m_esc_named, R | N},
    {"esc-cdata", "escaping", m_esc_cdata, R | N},
    {"esc-quote", "escaping", m_esc_quote, R | N},
    {"esc-break", "escaping", m_esc_break, R},
    {"esc-empty-element", "escaping", m_esc_empty_elem, R | N},
    {"esc-odd-char", "escaping", m_esc_odd_char, R},
    {"markup", "markup", m_markup, R},
    {"ns-undeclare-default", "namespace", m_ns_undeclare, R},
};

#define NCONTENT (sizeof content_mutations / sizeof content_mutations[0])

size_t dm_mutation_total(void)
{
    return NCONTENT + dm_signature_mutation_count;
}

const struct dm_mutation *dm_mutation_at(size_t i)
{
    return i < NCONTENT ? &content_mutations[i]
                        : &dm_signature_mutations[i - NCONTENT];
}
