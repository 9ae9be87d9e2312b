/*
 * diff_mutate_sig.c - the mutations of the signature (values, transforms,
 * algorithms, references, KeyInfo, Object, place), of the XML declaration
 * and byte order mark, and of raw bytes; see diff_mutate.c for the rest.
 */
#include "diff_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct scan sc; /* one scan at a time: single-threaded test */

/* The last base64 character before the padding differs only in bits the
 * value does not use (or is made to). */
MUT(m_sig_value_bits)
{
    UNUSED_ENV;
    size_t si, ei;
    dm_scan(t, &sc);
    if (dm_element(t, &sc, "ds:SignatureValue", &si, &ei) < 0 || ei != si + 1)
        return -1;
    size_t a = sc.v[si].gt + 1, b = sc.v[ei].lt;
    size_t eq = dm_find(t->s, b, a, "=");
    if (eq == SIZE_MAX || eq == a)
        return -1;
    size_t p = eq - 1;
    while (p > a && strchr(dm_b64chars, t->s[p]) == NULL)
        p--;
    const char *v = strchr(dm_b64chars, t->s[p]);
    if (v == NULL)
        return -1;
    int pad = t->s[eq + 1] == '=' ? 2 : 1; /* unused bits: 4 or 2 */
    unsigned mask = pad == 2 ? 0x0f : 0x03;
    unsigned val = (unsigned)(v - dm_b64chars);
    unsigned nv = (val & ~mask) |
                  ((val + 1 + (unsigned)dm_below(r, mask)) & mask);
    char old = t->s[p];
    t->s[p] = dm_b64chars[nv & 63];
    dm_notef(note, nl, "SignatureValue unused bits: '%c' -> '%c'", old,
             t->s[p]);
    return 0;
}

/* ---- signature parts -------------------------------------------------- */

static int b64_flip(struct dm_text *t, struct dm_rng *r, const char *elem,
                    char *note, size_t nl)
{
    size_t si, ei;
    dm_scan(t, &sc);
    if (dm_element(t, &sc, elem, &si, &ei) < 0 || ei != si + 1)
        return -1;
    size_t a = sc.v[si].gt + 1, b = sc.v[ei].lt;
    size_t p = dm_pick_pos(r, t->s, a, b - a, dm_b64chars);
    if (p == SIZE_MAX)
        return -1;
    char old = t->s[p];
    t->s[p] = dm_other_char(r, dm_b64chars, old);
    dm_notef(note, nl, "%s char %zu '%c' -> '%c'", elem, p - a, old, t->s[p]);
    return 0;
}

MUT(m_sig_digest_flip)
{
    UNUSED_ENV;
    return b64_flip(t, r, "ds:DigestValue", note, nl);
}

MUT(m_sig_value_flip)
{
    UNUSED_ENV;
    return b64_flip(t, r, "ds:SignatureValue", note, nl);
}

MUT(m_sig_value_len)
{
    UNUSED_ENV;
    size_t si, ei;
    dm_scan(t, &sc);
    const char *elem = dm_below(r, 3) ? "ds:SignatureValue" : "ds:DigestValue";
    if (dm_element(t, &sc, elem, &si, &ei) < 0 || ei != si + 1)
        return -1;
    size_t a = sc.v[si].gt + 1, b = sc.v[ei].lt;
    switch (dm_below(r, 6)) {
    case 0:
        if (b - a < 4)
            return -1;
        dm_text_splice(t, b - 4, 4, "", 0);
        dm_notef(note, nl, "%s: last 4 chars removed", elem);
        break;
    case 1:
        dm_splice_str(t, b, 0, "AAAA");
        dm_notef(note, nl, "%s: AAAA appended", elem);
        break;
    case 2:
        dm_splice_str(t, a, 0, "AAAA");
        dm_notef(note, nl, "%s: AAAA prepended", elem);
        break;
    case 3:
        dm_splice_str(t, b, 0, "=");
        dm_notef(note, nl, "%s: = appended", elem);
        break;
    case 4: {
        size_t eq = dm_find(t->s, b, a, "=");
        if (eq == SIZE_MAX)
            return -1;
        dm_text_splice(t, eq, 1, "", 0);
        dm_notef(note, nl, "%s: padding removed", elem);
        break;
    }
    default:
        dm_text_splice(t, a, b - a, "", 0);
        dm_notef(note, nl, "%s emptied", elem);
    }
    return 0;
}

static long nth_transform(struct dm_text *t, size_t nth)
{
    size_t seen = 0;
    for (size_t i = 0; i < sc.n; i++)
        if (sc.v[i].kind == TK_START &&
            dm_tag_is(t, &sc.v[i], "ds:Transform") &&
            seen++ == nth)
            return (long)i;
    return -1;
}

MUT(m_sig_transform_swap)
{
    UNUSED_ENV;
    (void)r;
    dm_scan(t, &sc);
    long i = nth_transform(t, 0), j = nth_transform(t, 1);
    if (i < 0 || j < 0 || !dm_self_closing(t, &sc.v[i]) ||
        !dm_self_closing(t, &sc.v[j]))
        return -1;
    size_t a0 = sc.v[i].lt, a1 = sc.v[i].gt + 1;
    size_t b0 = sc.v[j].lt, b1 = sc.v[j].gt + 1;
    char *x = strndup(t->s + a0, a1 - a0), *y = strndup(t->s + b0, b1 - b0);
    if (x == NULL || y == NULL)
        abort();
    dm_text_splice(t, b0, b1 - b0, x, strlen(x));
    dm_text_splice(t, a0, a1 - a0, y, strlen(y));
    free(x);
    free(y);
    dm_notef(note, nl, "transforms swapped");
    return 0;
}

static const char *const algorithm_uris[] = {
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/2000/09/xmldsig#base64",
    "http://www.w3.org/TR/1999/REC-xpath-19991116",
    "http://www.w3.org/2002/06/xmldsig-filter2",
    "http://www.w3.org/TR/1999/REC-xslt-19991116",
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
    "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
    "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
    "http://www.w3.org/2000/09/xmldsig#sha1",
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature ",
    "",
};

MUT(m_sig_transform_add)
{
    UNUSED_ENV;
    dm_scan(t, &sc);
    long i = nth_transform(t, dm_below(r, 2));
    if (i < 0)
        return -1;
    const char *alg = PICK(r, algorithm_uris);
    char tr[256];
    snprintf(tr, sizeof tr, "<ds:Transform Algorithm=\"%s\"/>", alg);
    size_t at = dm_below(r, 2) ? sc.v[i].lt : sc.v[i].gt + 1;
    dm_splice_str(t, at, 0, tr);
    dm_notef(note, nl, "transform %s added", alg);
    return 0;
}

MUT(m_sig_transform_remove)
{
    UNUSED_ENV;
    dm_scan(t, &sc);
    long i = nth_transform(t, dm_below(r, 2));
    if (i < 0 || !dm_self_closing(t, &sc.v[i]))
        return -1;
    dm_text_splice(t, sc.v[i].lt, sc.v[i].gt + 1 - sc.v[i].lt, "", 0);
    dm_notef(note, nl, "a transform removed");
    return 0;
}

MUT(m_sig_alg)
{
    UNUSED_ENV;
    size_t a, b, seen = 0;
    struct attr at, pick = {0};
    dm_scan(t, &sc);
    dm_region(t, &sc, "ds:SignedInfo", &a, &b);
    for (size_t i = 0; i < sc.n; i++) {
        if (sc.v[i].kind != TK_START || sc.v[i].lt < a || sc.v[i].gt >= b)
            continue;
        struct attr v[MAX_ATTRS];
        size_t n = dm_attrs(t, &sc.v[i], v);
        for (size_t j = 0; j < n; j++)
            if (v[j].nlen == 9 &&
                memcmp(t->s + v[j].name, "Algorithm", 9) == 0 &&
                dm_below(r, ++seen) == 0)
                pick = v[j];
    }
    if (seen == 0)
        return -1;
    at = pick;
    const char *alg = PICK(r, algorithm_uris);
    dm_notef(note, nl, "Algorithm %.*s -> %s", (int)at.vlen, t->s + at.val,
             alg);
    dm_splice_str(t, at.val, at.vlen, alg);
    return 0;
}

MUT(m_sig_ref_uri)
{
    UNUSED_ENV;
    static const char *const uris[] = {
        "#", "#xpointer(/)", "#xpointer(id('x'))", "#hdr", " ",
        "file:///etc/passwd", "http://127.0.0.1:9/", "?", "%20", "&#x20;",
    };
    size_t si, ei;
    dm_scan(t, &sc);
    if (dm_element(t, &sc, "ds:Reference", &si, &ei) < 0)
        return -1;
    struct attr v[MAX_ATTRS];
    size_t n = dm_attrs(t, &sc.v[si], v);
    for (size_t j = 0; j < n; j++) {
        if (v[j].nlen != 3 || memcmp(t->s + v[j].name, "URI", 3) != 0)
            continue;
        if (dm_below(r, 4) == 0) {
            dm_text_splice(t, v[j].ws, v[j].val + v[j].vlen + 1 - v[j].ws, "",
                           0);
            dm_notef(note, nl, "Reference URI removed");
        } else {
            const char *u = PICK(r, uris);
            dm_splice_str(t, v[j].val, v[j].vlen, u);
            dm_notef(note, nl, "Reference URI=\"%s\"", u);
        }
        return 0;
    }
    return -1;
}

MUT(m_sig_ref_extra)
{
    UNUSED_ENV;
    size_t si, ei;
    dm_scan(t, &sc);
    if (dm_element(t, &sc, "ds:Reference", &si, &ei) < 0)
        return -1;
    size_t s0 = sc.v[si].lt, s1 = sc.v[ei].gt + 1;
    char *copy = strndup(t->s + s0, s1 - s0);
    if (copy == NULL)
        abort();
    int before = dm_below(r, 2) == 0;
    dm_splice_str(t, before ? s0 : s1, 0, copy);
    free(copy);
    dm_notef(note, nl, "Reference repeated %s", before ? "before" : "after");
    return 0;
}

MUT(m_sig_ref_attr)
{
    UNUSED_ENV;
    static const char *const adds[] = {
        " Id=\"r1\"", " Type=\"http://www.w3.org/2000/09/xmldsig#Object\"",
        " Type=\"\"",
    };
    size_t si, ei;
    dm_scan(t, &sc);
    if (dm_element(t, &sc, "ds:Reference", &si, &ei) < 0)
        return -1;
    const char *add = PICK(r, adds);
    size_t nlen, at = dm_tag_name(t, &sc.v[si], &nlen) + nlen;
    dm_splice_str(t, at, 0, add);
    dm_notef(note, nl, "Reference attribute:%s", add);
    return 0;
}

MUT(m_sig_keyinfo)
{
    char *ki = NULL;
    const char *what;
    size_t cap = 8192;
    ki = malloc(cap);
    if (ki == NULL)
        abort();
    switch (dm_below(r, 6)) {
    case 0:
        what = "X509Data with an untrusted certificate";
        snprintf(ki, cap, "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s"
                 "</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
                 e->other_cert);
        break;
    case 1:
        what = "X509Data with the signer's certificate";
        snprintf(ki, cap, "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s"
                 "</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
                 e->own_cert);
        break;
    case 2:
        what = "KeyName";
        snprintf(ki, cap, "<ds:KeyInfo><ds:KeyName>XX-EVIL</ds:KeyName>"
                 "</ds:KeyInfo>");
        break;
    case 3:
        what = "KeyValue";
        snprintf(ki, cap, "<ds:KeyInfo><ds:KeyValue><ds:RSAKeyValue>"
                 "<ds:Modulus>AQAB</ds:Modulus><ds:Exponent>AQAB"
                 "</ds:Exponent></ds:RSAKeyValue></ds:KeyValue></ds:KeyInfo>");
        break;
    case 4:
        what = "RetrievalMethod";
        snprintf(ki, cap, "<ds:KeyInfo><ds:RetrievalMethod "
                 "URI=\"file:///etc/passwd\"/></ds:KeyInfo>");
        break;
    default:
        what = "empty KeyInfo";
        snprintf(ki, cap, "<ds:KeyInfo/>");
    }
    size_t at = dm_find(t->s, t->n, 0, "</ds:SignatureValue>");
    if (at == SIZE_MAX) {
        free(ki);
        return -1;
    }
    dm_splice_str(t, at + strlen("</ds:SignatureValue>"), 0, ki);
    free(ki);
    dm_notef(note, nl, "KeyInfo: %s", what);
    return 0;
}

MUT(m_sig_object)
{
    UNUSED_ENV;
    static const char *const objs[] = {
        "<ds:Object/>", "<ds:Object Id=\"o1\"><x/></ds:Object>",
        "<ds:Object><ds:Manifest><ds:Reference URI=\"\"><ds:DigestMethod "
        "Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>"
        "<ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:Manifest>"
        "</ds:Object>",
    };
    size_t at = dm_find(t->s, t->n, 0, "</ds:Signature>");
    if (at == SIZE_MAX)
        return -1;
    const char *o = PICK(r, objs);
    dm_splice_str(t, at, 0, o);
    dm_notef(note, nl, "Object added: %.40s", o);
    return 0;
}

/* Cuts the Signature out; *block receives it (caller frees). */
static int cut_signature(struct dm_text *t, char **block)
{
    size_t si, ei;
    dm_scan(t, &sc);
    if (dm_element(t, &sc, "ds:Signature", &si, &ei) < 0)
        return -1;
    size_t s0 = sc.v[si].lt, s1 = sc.v[ei].gt + 1;
    *block = strndup(t->s + s0, s1 - s0);
    if (*block == NULL)
        abort();
    dm_text_splice(t, s0, s1 - s0, "", 0);
    return 0;
}

MUT(m_sig_move)
{
    UNUSED_ENV;
    char *block;
    if (cut_signature(t, &block) < 0)
        return -1;
    dm_scan(t, &sc);
    size_t si, ei, at = SIZE_MAX;
    const char *where = "?";
    switch (dm_below(r, 5)) {
    case 0:
        if (sc.n > 0 && sc.v[0].kind == TK_DECL && sc.n > 1)
            at = sc.v[1].gt + 1;
        else if (sc.n > 0)
            at = sc.v[0].gt + 1;
        where = "first child of the root";
        break;
    case 1:
        if (dm_element(t, &sc, "Header", &si, &ei) == 0)
            at = sc.v[ei].lt;
        where = "inside Header";
        break;
    case 2:
        if (dm_element(t, &sc, "Payload", &si, &ei) == 0)
            at = sc.v[si].gt + 1;
        where = "first in Payload";
        break;
    case 3:
        if (dm_element(t, &sc, "Payload", &si, &ei) == 0 && ei > si + 1)
            at = sc.v[ei - 1].lt;
        where = "inside the payload element";
        break;
    default:
        at = t->n;
        where = "after the root";
    }
    if (at == SIZE_MAX) {
        free(block);
        return -1;
    }
    dm_splice_str(t, at, 0, block);
    free(block);
    dm_notef(note, nl, "Signature moved: %s", where);
    return 0;
}

MUT(m_sig_twice)
{
    UNUSED_ENV;
    size_t si, ei;
    dm_scan(t, &sc);
    if (dm_element(t, &sc, "ds:Signature", &si, &ei) < 0)
        return -1;
    size_t s0 = sc.v[si].lt, s1 = sc.v[ei].gt + 1;
    char *block = strndup(t->s + s0, s1 - s0);
    if (block == NULL)
        abort();
    size_t at = s1;
    if (dm_below(r, 2) && dm_element(t, &sc, "Payload", &si, &ei) == 0)
        at = sc.v[ei].lt;
    dm_splice_str(t, at, 0, block);
    free(block);
    dm_notef(note, nl, "Signature repeated at %zu", at);
    return 0;
}

MUT(m_sig_id)
{
    UNUSED_ENV;
    static const char *const ids[] = {" Id=\"sig1\"", " Id='s'"};
    size_t si, ei;
    dm_scan(t, &sc);
    if (dm_element(t, &sc, "ds:Signature", &si, &ei) < 0)
        return -1;
    const char *id = PICK(r, ids);
    size_t nlen, at = dm_tag_name(t, &sc.v[si], &nlen) + nlen;
    dm_splice_str(t, at, 0, id);
    dm_notef(note, nl, "Signature%s", id);
    return 0;
}

/* ---- encoding ------------------------------------------------------- */

#define SP40 "                                        "
#define SP200 SP40 SP40 SP40 SP40 SP40

MUT(m_enc_decl)
{
    UNUSED_ENV;
    static const char *const decls[] = {
        "",
        "<?xml version=\"1.0\"?>",
        "<?xml version='1.0' encoding='utf-8'?>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>",
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
        "<?xml version=\"1.0\" encoding=\"US-ASCII\"?>",
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>",
        "<?xml version=\"1.1\" encoding=\"UTF-8\"?>",
        "<?xml  version = \"1.0\"  encoding = \"UTF-8\" ?>",
        "<?xml version=\"1.0\" encoding=\"utf8\"?>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>",
        "<?xml version=\"1.0\" standalone=\"no\"?>",
        "<?xml version=\"1.0\"" SP200 "encoding=\"ISO-8859-1\"?>",
        "<?xml version=\"1.0\"" SP200 "encoding=\"UTF-8\"?>",
        "<?xml version=\"1.0\"\n\tencoding\n=\n'windows-1252'?>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"" SP200 "?>",
    };
    size_t start = t->n >= 3 && memcmp(t->s, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    size_t end = start;
    if (dm_starts(t->s, t->n, start, "<?xml")) {
        size_t q = dm_find(t->s, t->n, start, "?>");
        if (q != SIZE_MAX)
            end = q + 2;
    }
    const char *d = PICK(r, decls);
    dm_splice_str(t, start, end - start, d);
    dm_notef(note, nl, "XML declaration: %s", d[0] ? d : "(none)");
    return 0;
}

MUT(m_enc_bom)
{
    UNUSED_ENV;
    static const char *const boms[] = {
        "\xef\xbb\xbf", "\xef\xbb\xbf\xef\xbb\xbf", "\xfe\xff", "\xff\xfe",
    };
    size_t k = dm_below(r, sizeof boms / sizeof boms[0]);
    dm_splice_str(t, 0, 0, boms[k]);
    dm_notef(note, nl, "byte order mark %zu prepended", k);
    return 0;
}

MUT(m_enc_lead)
{
    UNUSED_ENV;
    dm_splice_str(t, 0, 0, dm_ws_run(r));
    dm_notef(note, nl, "whitespace before the XML declaration");
    return 0;
}

/* ---- bytes ------------------------------------------------------------ */

MUT(m_byte_flip)
{
    UNUSED_ENV;
    if (t->n == 0)
        return -1;
    size_t p = dm_below(r, t->n);
    unsigned char old = (unsigned char)t->s[p];
    t->s[p] = (char)(old ^ (1u << dm_below(r, 8)));
    dm_notef(note, nl, "byte %zu 0x%02x -> 0x%02x", p, old,
          (unsigned char)t->s[p]);
    return 0;
}

MUT(m_byte_insert)
{
    UNUSED_ENV;
    static const char special[] = "<>&;\"'= \n/:#xX!?[]-";
    size_t p = dm_below(r, t->n + 1);
    char c = dm_below(r, 2) ? special[dm_below(r, sizeof special - 1)]
                            : (char)dm_below(r, 256);
    dm_text_splice(t, p, 0, &c, 1);
    dm_notef(note, nl, "byte 0x%02x inserted at %zu", (unsigned char)c, p);
    return 0;
}

MUT(m_byte_delete)
{
    UNUSED_ENV;
    if (t->n == 0)
        return -1;
    size_t p = dm_below(r, t->n), k = 1 + dm_below(r, 4);
    dm_text_splice(t, p, k, "", 0);
    dm_notef(note, nl, "%zu bytes deleted at %zu", k, p);
    return 0;
}

#define R DM_RESIGNABLE
#define N DM_NEUTRAL

#define R DM_RESIGNABLE
#define N DM_NEUTRAL

const struct dm_mutation dm_signature_mutations[] = {
    {"sig-value-bits", "signature", m_sig_value_bits, 0},
    {"sig-digest-flip", "signature", m_sig_digest_flip, 0},
    {"sig-value-flip", "signature", m_sig_value_flip, 0},
    {"sig-value-length", "signature", m_sig_value_len, 0},
    {"sig-transform-swap", "signature", m_sig_transform_swap, 0},
    {"sig-transform-add", "signature", m_sig_transform_add, 0},
    {"sig-transform-remove", "signature", m_sig_transform_remove, 0},
    {"sig-algorithm", "signature", m_sig_alg, 0},
    {"sig-reference-uri", "signature", m_sig_ref_uri, 0},
    {"sig-reference-extra", "signature", m_sig_ref_extra, 0},
    {"sig-reference-attr", "signature", m_sig_ref_attr, 0},
    {"sig-keyinfo", "signature", m_sig_keyinfo, 0},
    {"sig-object", "signature", m_sig_object, 0},
    {"sig-move", "signature", m_sig_move, 0},
    {"sig-twice", "signature", m_sig_twice, 0},
    {"sig-id", "signature", m_sig_id, N},
    {"enc-declaration", "encoding", m_enc_decl, R},
    {"enc-bom", "encoding", m_enc_bom, R},
    {"enc-leading-space", "encoding", m_enc_lead, R},
    {"byte-flip", "bytes", m_byte_flip, R},
    {"byte-insert", "bytes", m_byte_insert, R},
    {"byte-delete", "bytes", m_byte_delete, R},
};

const size_t dm_signature_mutation_count =
    sizeof dm_signature_mutations / sizeof dm_signature_mutations[0];
