/*
 * xmlscan.c - a document's bytes, checked before the parser sees them.
 *
 * icx_xml_parse() (xml.c) calls this after the size check and before
 * libxml2.  The encoding rule is decided here, on the bytes, and not by
 * libxml2's reading of the declaration: a document is UTF-8 (strict, no
 * NUL, no byte order mark of another encoding), and its XML declaration,
 * when it has one, is read whole by the grammar of XML 1.0 section 2.8,
 *
 *   XMLDecl ::= '<?xml' VersionInfo EncodingDecl? SDDecl? S? '?>'
 *
 * with S any run of space, tab, CR and LF and values in ' or " quotes,
 * however long the declaration is (the document size limit is its only
 * bound).  Every pseudo-attribute is read before anything is decided, so
 * an encoding other than UTF-8 named anywhere in the declaration, early,
 * late, twice or out of order, is NOT_UTF8; a declaration that is
 * otherwise outside the grammar is MALFORMED.  Once this has passed, the
 * bytes are exactly UTF-8 and libxml2 reads them without a decoder.
 *
 * icx_xmlscan_shape() then bounds what the parser will do, before it
 * does it: libxml2 checks an element's attributes for duplicates in time
 * quadratic in their number (100,000 attributes on one element cost it
 * minutes) and builds every attribute, name and text node it reads, so
 * attributes per element, namespace declarations per element, attributes
 * in the document, name length and text length are counted here, over the
 * whole document, in one pass of memchr and short loops.  The scan reads
 * the markup libxml2 would read (tags, attributes, quoted values, CDATA)
 * and measures every piece at least as large as libxml2 will see it.
 * Where it cannot tell what libxml2 would do next, it refuses rather than
 * stop early: a comment or processing instruction (FORBIDDEN_NODE), a
 * DOCTYPE (DOCTYPE), and markup outside the grammar, such as '<' in an
 * attribute value or a tag that never ends (MALFORMED); libxml2 reads on
 * after such errors, and what it would read has not been measured.  So a
 * document either passes with every element libxml2 will build within the
 * limits, or is refused for the first problem in document order.
 *
 * No allocation, no libxml2; reentrant.  Refusals return ICX_EBADSIG with
 * the reason and a message naming the line.
 */
#include "xmlscan.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Where the run of ASCII bytes other than NUL that starts at i ends, or
 * a little before (blocks are stepped over whole; the caller goes on
 * byte by byte).  Most documents are mostly ASCII, and every document is
 * checked before it is parsed. */
static size_t ascii_run(const unsigned char *s, size_t i, size_t n)
{
#ifdef __SSE2__
    const __m128i zero = _mm_setzero_si128();
    while (i + 32 <= n) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + i + 16));
        /* High bit of each byte: >= 0x80, or NUL (the compare gives 0xff). */
        unsigned m = (unsigned)_mm_movemask_epi8(
                         _mm_or_si128(a, _mm_cmpeq_epi8(a, zero))) |
                     (unsigned)_mm_movemask_epi8(
                         _mm_or_si128(b, _mm_cmpeq_epi8(b, zero))) << 16;
        if (m != 0)
            return i + (size_t)__builtin_ctz(m); /* exactly the first */
        i += 32;
    }
#endif
    while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (((w | ((w - 0x0101010101010101ull) & ~w)) &
             0x8080808080808080ull) != 0)
            break;
        i += 8;
    }
    return i;
}

/* Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF) and no NUL. */
static int utf8_valid(const unsigned char *s, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        i = ascii_run(s, i, n);
        if (i >= n)
            break;
        unsigned c = s[i];
        size_t k;
        unsigned min, cp;
        if (c == 0) {
            *bad = i;
            return 0;
        }
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1; min = 0x80; cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2; min = 0x800; cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3; min = 0x10000; cp = c & 0x07;
        } else {
            *bad = i;
            return 0;
        }
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (s[i + j] & 0xc0) != 0x80) {
                *bad = i;
                return 0;
            }
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            *bad = i;
            return 0;
        }
        i += k + 1;
    }
    return 1;
}

/* Line of byte offset off (1-based), for messages: only refusals count. */
static int line_at(const unsigned char *s, size_t off)
{
    int line = 1;
    const unsigned char *p = s, *end = s + off;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        line++;
        p++;
    }
    return line;
}

static int is_s(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t skip_s(const unsigned char *s, size_t i, size_t n)
{
    while (i < n && is_s(s[i]))
        i++;
    return i;
}

enum { DECL_VERSION, DECL_ENCODING, DECL_STANDALONE, DECL_N };

static int decl_name(const unsigned char *s, size_t n)
{
    static const char *const names[DECL_N] = {"version", "encoding",
                                              "standalone"};
    for (int i = 0; i < DECL_N; i++)
        if (strlen(names[i]) == n && memcmp(s, names[i], n) == 0)
            return i;
    return -1;
}

/* VersionNum ::= '1.' [0-9]+ */
static int version_ok(const unsigned char *v, size_t n)
{
    if (n < 3 || v[0] != '1' || v[1] != '.')
        return 0;
    for (size_t i = 2; i < n; i++)
        if (v[i] < '0' || v[i] > '9')
            return 0;
    return 1;
}

/* An EncName worth quoting in a message (the value is the sender's). */
static int printable_name(const unsigned char *v, size_t n)
{
    if (n == 0 || n > 40)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z') ||
              (v[i] >= '0' && v[i] <= '9') || v[i] == '.' || v[i] == '_' ||
              v[i] == '-'))
            return 0;
    return 1;
}

/* Reads the declaration that starts at s[i] (after '<?xml' and S, as
 * libxml2 recognizes one); *end is the byte after its '?>'.  Every
 * pseudo-attribute is read before the grammar is applied, so that a
 * foreign encoding wins over a misplaced one. */
static int read_decl(size_t *end, const unsigned char *s, size_t i, size_t n,
                     icx_err *err)
{
    const unsigned char *foreign = NULL; /* first encoding not UTF-8 */
    size_t foreign_len = 0, foreign_at = 0, bad_at = 0;
    const char *bad = NULL;              /* first rule broken */
    int seen[DECL_N] = {0}, last = -1;
    size_t j = i + 5;

    for (;;) {
        size_t k = skip_s(s, j, n);
        if (k + 1 < n && s[k] == '?' && s[k + 1] == '>') {
            *end = k + 2;
            break;
        }
        if (k >= n)
            return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_MALFORMED,
                                  "line %d: the XML declaration is not "
                                  "closed", line_at(s, i));
        if (k == j)
            return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_MALFORMED,
                                  "line %d: XML declaration: whitespace "
                                  "expected before a pseudo-attribute",
                                  line_at(s, k));
        size_t a = k;
        while (k < n && s[k] >= 'a' && s[k] <= 'z')
            k++;
        size_t alen = k - a;
        k = skip_s(s, k, n);
        if (alen == 0 || k >= n || s[k] != '=')
            return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_MALFORMED,
                                  "line %d: XML declaration: pseudo-attribute "
                                  "name and '=' expected", line_at(s, a));
        k = skip_s(s, k + 1, n);
        if (k >= n || (s[k] != '"' && s[k] != '\''))
            return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_MALFORMED,
                                  "line %d: XML declaration: quoted value "
                                  "expected", line_at(s, k));
        const unsigned char *v = s + k + 1;
        const unsigned char *q = memchr(v, s[k], n - k - 1);
        if (q == NULL)
            return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_MALFORMED,
                                  "line %d: the XML declaration is not "
                                  "closed", line_at(s, i));
        size_t vlen = (size_t)(q - v);
        int id = decl_name(s + a, alen);
        if (id == DECL_ENCODING && foreign == NULL &&
            !(vlen == 5 && strncasecmp((const char *)v, "UTF-8", 5) == 0)) {
            foreign = v;
            foreign_len = vlen;
            foreign_at = (size_t)(v - s);
        }
        if (bad == NULL) {
            if (id < 0)
                bad = "unknown pseudo-attribute";
            else if (seen[id] || id < last)
                bad = "version, encoding, standalone: each once, in this "
                      "order";
            else if (id == DECL_VERSION && !version_ok(v, vlen))
                bad = "version must be 1.x";
            else if (id == DECL_STANDALONE &&
                     !(vlen == 3 && memcmp(v, "yes", 3) == 0) &&
                     !(vlen == 2 && memcmp(v, "no", 2) == 0))
                bad = "standalone must be yes or no";
            if (bad != NULL)
                bad_at = a;
        }
        if (id >= 0) {
            seen[id] = 1;
            last = id;
        }
        j = (size_t)(q - s) + 1;
    }
    if (foreign != NULL) {
        int line = line_at(s, foreign_at);
        if (printable_name(foreign, foreign_len))
            return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_NOT_UTF8,
                                  "line %d: the XML declaration names "
                                  "encoding %.*s; only UTF-8 is accepted",
                                  line, (int)foreign_len,
                                  (const char *)foreign);
        return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_NOT_UTF8,
                              "line %d: the XML declaration names an "
                              "encoding other than UTF-8", line);
    }
    if (bad == NULL && !seen[DECL_VERSION]) {
        bad = "version is required";
        bad_at = i;
    }
    if (bad != NULL)
        return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_MALFORMED,
                              "line %d: XML declaration: %s",
                              line_at(s, bad_at), bad);
    return ICX_OK;
}

int icx_xmlscan_bytes(size_t *body, const char *data, size_t len,
                      icx_err *err)
{
    const unsigned char *u = (const unsigned char *)data;
    size_t bad = 0, i = 0;

    *body = 0;
    if ((len >= 2 && ((u[0] == 0xfe && u[1] == 0xff) ||
                      (u[0] == 0xff && u[1] == 0xfe))) ||
        (len >= 4 && u[0] == 0 && u[1] == 0 && u[2] == 0xfe && u[3] == 0xff))
        return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_NOT_UTF8,
                              "document starts with a UTF-16/32 byte order "
                              "mark; only UTF-8 is accepted");
    if (!utf8_valid(u, len, &bad))
        return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_NOT_UTF8,
                              "invalid UTF-8 or NUL byte at offset %zu", bad);
    if (len >= 3 && memcmp(u, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    /* What libxml2 takes for a declaration: '<?xml' then S.  Anything
     * else that starts '<?xml' is a processing instruction, which the
     * shape scan refuses. */
    if (len - i >= 6 && memcmp(u + i, "<?xml", 5) == 0 && is_s(u[i + 5])) {
        int rc = read_decl(&i, u, i, len, err);
        if (rc < 0)
            return rc;
    }
    *body = i;
    return ICX_OK;
}

/* ---- shape limits --------------------------------------------------------- */

/* Bytes that end a name: whitespace and the markup around names.  A name
 * is measured as the longest run of other bytes, which is never shorter
 * than the name libxml2 reads (its name characters are all in the run). */
static const unsigned char name_stop[256] = {
    [' '] = 1, ['\t'] = 1, ['\r'] = 1, ['\n'] = 1, ['/'] = 1, ['>'] = 1,
    ['='] = 1, ['<'] = 1, ['"'] = 1, ['\''] = 1,
};

static size_t name_end(const unsigned char *s, size_t i, size_t n)
{
    while (i < n && !name_stop[s[i]])
        i++;
    return i;
}

struct shape {
    const unsigned char *s;
    size_t n;
    icx_xml_limits lim;    /* with the defaults filled in */
};

static int malformed(const struct shape *sh, size_t at, const char *what,
                     icx_err *err)
{
    return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_MALFORMED,
                          "line %d: %s", line_at(sh->s, at), what);
}

static int over(const struct shape *sh, size_t at, icx_err *err,
                const char *fmt, long limit, const char *key)
{
    char what[160];
    snprintf(what, sizeof what, fmt, limit);
    return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_PARSER_LIMIT,
                          "line %d: %s (limits.%s)", line_at(sh->s, at), what,
                          key);
}

/* One start tag at s[i] == '<': its name, each attribute's name and value,
 * and the counts.  *end is the byte after it, *empty says '/>'. */
static int shape_tag(const struct shape *sh, long *total, size_t i,
                     size_t *end, int *empty, icx_err *err)
{
    const unsigned char *s = sh->s;
    size_t n = sh->n, e = name_end(s, i + 1, n);
    int attrs = 0, decls = 0;

    if (e == i + 1)
        return malformed(sh, i, "'<' not followed by a name", err);
    if (e - (i + 1) > (size_t)sh->lim.max_name)
        return over(sh, i, err, "a name longer than %ld bytes",
                    sh->lim.max_name, "max_name_bytes");
    for (;;) {
        size_t a = skip_s(s, e, n);
        if (a >= n)
            return malformed(sh, i, "document ends inside a start tag", err);
        if (s[a] == '>' || (s[a] == '/' && a + 1 < n && s[a + 1] == '>')) {
            *empty = s[a] == '/';
            *end = a + (*empty ? 2 : 1);
            return ICX_OK;
        }
        if (a == e)
            return malformed(sh, a, "whitespace expected before an "
                                    "attribute", err);
        size_t ae = name_end(s, a, n);
        if (ae == a)
            return malformed(sh, a, "attribute name expected", err);
        if (ae - a > (size_t)sh->lim.max_name)
            return over(sh, a, err, "a name longer than %ld bytes",
                        sh->lim.max_name, "max_name_bytes");
        if ((ae - a == 5 || (ae - a > 5 && s[a + 5] == ':')) &&
            memcmp(s + a, "xmlns", 5) == 0) {
            if (++decls > sh->lim.max_ns_decls)
                return over(sh, i, err, "an element with more than %ld "
                            "namespace declarations", sh->lim.max_ns_decls,
                            "max_namespaces_per_element");
        } else if (++attrs > sh->lim.max_attrs) {
            return over(sh, i, err, "an element with more than %ld "
                        "attributes", sh->lim.max_attrs,
                        "max_attributes_per_element");
        }
        if (++*total > sh->lim.max_attrs_total)
            return over(sh, a, err, "more than %ld attributes in the "
                        "document", sh->lim.max_attrs_total,
                        "max_attributes_total");
        size_t q = skip_s(s, ae, n);
        if (q >= n || s[q] != '=')
            return malformed(sh, a, "'=' expected after an attribute name",
                             err);
        q = skip_s(s, q + 1, n);
        if (q >= n || (s[q] != '"' && s[q] != '\''))
            return malformed(sh, a, "quoted attribute value expected", err);
        const unsigned char *v = s + q + 1;
        const unsigned char *ve = memchr(v, s[q], n - q - 1);
        if (ve == NULL)
            return malformed(sh, a, "attribute value not closed", err);
        /* libxml2 stops a value at '<' and reads on as content: refused
         * here, so that every tag it reads is one measured here. */
        if (memchr(v, '<', (size_t)(ve - v)) != NULL)
            return malformed(sh, a, "'<' in an attribute value", err);
        if ((size_t)(ve - v) > sh->lim.max_text)
            return over(sh, a, err, "an attribute value longer than %ld "
                        "bytes", (long)sh->lim.max_text, "max_text_bytes");
        e = (size_t)(ve - s) + 1;
    }
}

int icx_xmlscan_shape(const char *data, size_t len, size_t body,
                      const icx_xml_limits *lim, icx_err *err)
{
    struct shape sh = {(const unsigned char *)data, len, *lim};
    const unsigned char *s = sh.s;
    size_t i = body, text = body;
    int depth = 0;
    long total = 0;

    if (sh.lim.max_attrs <= 0)
        sh.lim.max_attrs = ICX_XML_MAX_ATTRS;
    if (sh.lim.max_ns_decls <= 0)
        sh.lim.max_ns_decls = ICX_XML_MAX_NS_DECLS;
    if (sh.lim.max_attrs_total <= 0) {
        /* Per MiB of the size limit: a large list page holds more. */
        size_t mib = lim->max_bytes / (1u << 20) +
                     (lim->max_bytes % (1u << 20) != 0);
        if (mib == 0 || mib > 10000)
            mib = mib == 0 ? 1 : 10000;
        sh.lim.max_attrs_total = ICX_XML_MAX_ATTRS_TOTAL * (long)mib;
    }
    if (sh.lim.max_name <= 0)
        sh.lim.max_name = ICX_XML_MAX_NAME;
    if (sh.lim.max_text == 0)
        sh.lim.max_text = ICX_XML_MAX_TEXT;
    while (i < len) {
        const unsigned char *lt = memchr(s + i, '<', len - i);
        size_t j = lt != NULL ? (size_t)(lt - s) : len;
        if (depth > 0 && j - text > sh.lim.max_text)
            return over(&sh, text, err, "a text node longer than %ld bytes",
                        (long)sh.lim.max_text, "max_text_bytes");
        if (lt == NULL)
            break;
        i = j;
        if (i + 1 >= len)
            return malformed(&sh, i, "document ends with '<'", err);
        switch (s[i + 1]) {
        case '!':
            if (len - i >= 9 && memcmp(s + i, "<![CDATA[", 9) == 0) {
                const unsigned char *ce = memmem(s + i + 9, len - i - 9,
                                                 "]]>", 3);
                if (ce == NULL)
                    return malformed(&sh, i, "CDATA section not closed",
                                     err);
                i = (size_t)(ce - s) + 3; /* the text node goes on */
                continue;
            }
            if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0)
                return icx_err_reason(err, ICX_EBADSIG,
                                      ICX_REASON_FORBIDDEN_NODE,
                                      "line %d: comment is not allowed",
                                      line_at(s, i));
            if (len - i >= 9 && memcmp(s + i, "<!DOCTYPE", 9) == 0)
                return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_DOCTYPE,
                                      "line %d: DOCTYPE is not allowed",
                                      line_at(s, i));
            return malformed(&sh, i, "markup declaration outside a DOCTYPE",
                             err);
        case '?':
            return icx_err_reason(err, ICX_EBADSIG,
                                  ICX_REASON_FORBIDDEN_NODE,
                                  "line %d: processing instruction is not "
                                  "allowed", line_at(s, i));
        case '/': {
            size_t e = name_end(s, i + 2, len);
            if (e == i + 2)
                return malformed(&sh, i, "end tag without a name", err);
            if (e - (i + 2) > (size_t)sh.lim.max_name)
                return over(&sh, i, err, "a name longer than %ld bytes",
                            sh.lim.max_name, "max_name_bytes");
            e = skip_s(s, e, len);
            if (e >= len || s[e] != '>')
                return malformed(&sh, i, "'>' expected at the end of an end "
                                         "tag", err);
            if (depth > 0)
                depth--;
            i = text = e + 1;
            break;
        }
        default: {
            int empty = 0;
            int rc = shape_tag(&sh, &total, i, &i, &empty, err);
            if (rc < 0)
                return rc;
            if (!empty)
                depth++;
            text = i;
        }
        }
    }
    return ICX_OK;
}
