/*
 * xml.c - the only caller of the libxml2 parser, and of its schema
 * reader and validator (for schemas.c, through xml_int.h).
 *
 * Every document ICX reads from a partner, a file or a peer comes through
 * icx_xml_parse().  The order of checks is deliberate: size first (before
 * any allocation proportional to the input), then bytes (xmlscan.c: UTF-8
 * only, no NUL, no BOM of another encoding, an XML declaration read whole
 * that names no other encoding), then the shape limits on the bytes
 * (xmlscan.c: attributes, namespace declarations, names, text; they
 * bound libxml2's work, which is quadratic in the attributes of one
 * element, before it starts), then the parser
 * with XML_PARSE_NONET and nothing else that loads or expands (no NOENT,
 * DTDLOAD, DTDATTR, XINCLUDE, HUGE, RECOVER).  SAX hooks stop the parser
 * at the first DOCTYPE, before its internal subset is read, at the first
 * comment, processing instruction, entity reference or XInclude element,
 * and count element depth while parsing so a deep document never becomes a
 * deep tree.  A document that is well-formed but not namespace-well-formed
 * (an undeclared prefix, an attribute twice by expanded name) is refused
 * too: libxml2 builds a tree for it, but not one every reader agrees on.
 *
 * Ownership: see xml.h.  Thread safety: parsing and validation may run on
 * any thread concurrently (each thread keeps its own parser context;
 * validation contexts are per call); icx_xml_global_init() must have run
 * once (xmlsig init does it).
 */
#include "xml.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>
#include <libxml/xmlschemas.h>

#include "xml_int.h"
#include "xmlscan.h"

struct icx_xmldoc {
    xmlDocPtr doc;
};

struct parse_state {
    int depth;
    int max_depth;
    int reason; /* why the parser was stopped by us */
    const char *what; /* FORBIDDEN_NODE: which kind */
    int line;
};

static void sax_silent(void *ctx, xmlErrorPtr error)
{
    (void)ctx;
    (void)error;
}

static void sax_doctype(void *ctx, const xmlChar *name, const xmlChar *eid,
                        const xmlChar *sid)
{
    (void)name;
    (void)eid;
    (void)sid;
    xmlParserCtxtPtr ctxt = ctx;
    struct parse_state *st = ctxt->_private;
    st->reason = ICX_REASON_DOCTYPE;
    xmlStopParser(ctxt);
}

/* Stops the parser at a node ICX never accepts, noting what and where. */
static void forbid(xmlParserCtxtPtr ctxt, const char *what)
{
    struct parse_state *st = ctxt->_private;
    if (st->reason != 0)
        return;
    st->reason = ICX_REASON_FORBIDDEN_NODE;
    st->what = what;
    st->line = ctxt->input ? ctxt->input->line : 0;
    xmlStopParser(ctxt);
}

static void sax_comment(void *ctx, const xmlChar *value)
{
    (void)value;
    forbid(ctx, "comment");
}

static void sax_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    (void)target;
    (void)data;
    forbid(ctx, "processing instruction");
}

static void sax_reference(void *ctx, const xmlChar *name)
{
    (void)name;
    forbid(ctx, "entity reference");
}

static int is_xinclude(const xmlChar *uri)
{
    return uri != NULL && uri[0] == 'h' &&
           (xmlStrEqual(uri, BAD_CAST "http://www.w3.org/2001/XInclude") ||
            xmlStrEqual(uri, BAD_CAST "http://www.w3.org/2003/XInclude"));
}

static void sax_start(void *ctx, const xmlChar *localname,
                      const xmlChar *prefix, const xmlChar *uri,
                      int nb_namespaces, const xmlChar **namespaces,
                      int nb_attributes, int nb_defaulted,
                      const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct parse_state *st = ctxt->_private;
    if (++st->depth > st->max_depth) {
        st->reason = ICX_REASON_TOO_DEEP;
        xmlStopParser(ctxt);
        return;
    }
    if (is_xinclude(uri)) {
        forbid(ctxt, "XInclude element");
        return;
    }
    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces,
                          namespaces, nb_attributes, nb_defaulted,
                          attributes);
}

static void sax_end(void *ctx, const xmlChar *localname,
                    const xmlChar *prefix, const xmlChar *uri)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct parse_state *st = ctxt->_private;
    st->depth--;
    xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

/* ---- one parser context per thread -------------------------------------- */

/* Creating a parser context costs about as much as parsing 2 KiB, so each
 * thread keeps one (xmlCtxtReadMemory resets it for every document).  Its
 * dictionary keeps every name and short text it has seen; past
 * PARSER_DICT_MAX entries the context is replaced, so a peer sending ever
 * new names cannot grow it without bound. */
#define PARSER_DICT_MAX 8192

static pthread_key_t parser_key;
static pthread_once_t parser_once = PTHREAD_ONCE_INIT;
static int parser_key_ok;

static void parser_free(void *p)
{
    xmlFreeParserCtxt(p);
}

static void parser_key_make(void)
{
    parser_key_ok = pthread_key_create(&parser_key, parser_free) == 0;
}

static xmlParserCtxtPtr parser_new(void)
{
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (ctxt == NULL)
        return NULL;
    ctxt->sax->internalSubset = sax_doctype;
    ctxt->sax->externalSubset = sax_doctype;
    ctxt->sax->startElementNs = sax_start;
    ctxt->sax->endElementNs = sax_end;
    ctxt->sax->comment = sax_comment;
    ctxt->sax->processingInstruction = sax_pi;
    ctxt->sax->reference = sax_reference;
    ctxt->sax->serror = sax_silent;
    ctxt->sax->warning = NULL;
    ctxt->sax->error = NULL;
    ctxt->vctxt.error = NULL;
    ctxt->vctxt.warning = NULL;
    return ctxt;
}

/* This thread's context, or a fresh one when there is none to keep. */
static xmlParserCtxtPtr parser_get(void)
{
    pthread_once(&parser_once, parser_key_make);
    xmlParserCtxtPtr ctxt = parser_key_ok ? pthread_getspecific(parser_key)
                                          : NULL;
    if (ctxt != NULL) {
        pthread_setspecific(parser_key, NULL); /* ours until parser_put */
        if (ctxt->dict == NULL || xmlDictSize(ctxt->dict) <= PARSER_DICT_MAX)
            return ctxt;
        xmlFreeParserCtxt(ctxt);
    }
    return parser_new();
}

static void parser_put(xmlParserCtxtPtr ctxt)
{
    if (ctxt == NULL)
        return;
    ctxt->_private = NULL;
    if (!parser_key_ok || pthread_getspecific(parser_key) != NULL ||
        pthread_setspecific(parser_key, ctxt) != 0)
        xmlFreeParserCtxt(ctxt);
}

void icx_xml_thread_release(void)
{
    if (!parser_key_ok)
        return;
    xmlParserCtxtPtr ctxt = pthread_getspecific(parser_key);
    pthread_setspecific(parser_key, NULL);
    xmlFreeParserCtxt(ctxt);
}

int icx_xml_parse(icx_xmldoc **out, const char *data, size_t len,
                  const icx_xml_limits *lim, icx_err *err)
{
    int rc = ICX_OK;
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    struct parse_state st = {0};
    size_t body = 0;

    *out = NULL;
    if (data == NULL || len == 0)
        return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_EMPTY,
                              "empty document");
    if (len > lim->max_bytes)
        return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_TOO_LARGE,
                              "document is %zu bytes, limit is %zu", len,
                              lim->max_bytes);
    if (len > INT32_MAX)
        return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_TOO_LARGE,
                              "document too large");
    if (icx_xmlscan_bytes(&body, data, len, err) < 0 ||
        icx_xmlscan_shape(data, len, body, lim, err) < 0)
        return ICX_EBADSIG;

    ctxt = parser_get();
    if (ctxt == NULL)
        return icx_err_set(err, ICX_ENOMEM, "cannot create XML parser");
    st.max_depth = lim->max_depth > 0 && lim->max_depth <= 256
                       ? lim->max_depth : 256;
    ctxt->_private = &st;
    /* No encoding given: the bytes are UTF-8 and the declaration, if
     * any, says so (xmlscan.c), so libxml2 reads them as they are. */
    doc = xmlCtxtReadMemory(ctxt, data, (int)len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOCDATA |
                                XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (st.reason == ICX_REASON_DOCTYPE) {
        rc = icx_err_reason(err, ICX_EBADSIG, ICX_REASON_DOCTYPE,
                            "line %d: DOCTYPE is not allowed",
                            ctxt->input ? ctxt->input->line : 0);
        goto out;
    }
    if (st.reason == ICX_REASON_FORBIDDEN_NODE) {
        rc = icx_err_reason(err, ICX_EBADSIG, ICX_REASON_FORBIDDEN_NODE,
                            "line %d: %s is not allowed", st.line, st.what);
        goto out;
    }
    if (st.reason == ICX_REASON_TOO_DEEP) {
        rc = icx_err_reason(err, ICX_EBADSIG, ICX_REASON_TOO_DEEP,
                            "line %d: nesting deeper than %d elements",
                            ctxt->input ? ctxt->input->line : 0,
                            st.max_depth);
        goto out;
    }
    /* Namespace errors (an undeclared prefix, one attribute twice under
     * two prefixes of one namespace) leave libxml2 with a tree all the
     * same; a document signatures are checked on must have one reading. */
    if (doc == NULL || !ctxt->wellFormed || !ctxt->nsWellFormed) {
        xmlErrorPtr e = xmlCtxtGetLastError(ctxt);
        char msg[256] = "not well-formed";
        if (e != NULL && e->message != NULL) {
            snprintf(msg, sizeof msg, "%s", e->message);
            size_t m = strlen(msg);
            while (m > 0 && (msg[m - 1] == '\n' || msg[m - 1] == ' '))
                msg[--m] = '\0';
        }
        rc = icx_err_reason(err, ICX_EBADSIG, ICX_REASON_MALFORMED,
                            "line %d: %s", e ? e->line : 0, msg);
        goto out;
    }
    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        rc = icx_err_reason(err, ICX_EBADSIG, ICX_REASON_DOCTYPE,
                            "DOCTYPE is not allowed");
        goto out;
    }
    *out = calloc(1, sizeof **out);
    if (*out == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    (*out)->doc = doc;
    doc = NULL;
out:
    if (doc != NULL)
        xmlFreeDoc(doc);
    parser_put(ctxt);
    return rc;
}

int icx_xml_read_schema(icx_xmldoc **out, const char *path, icx_err *err)
{
    *out = NULL;
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (ctxt == NULL)
        return icx_err_set(err, ICX_ENOMEM, "cannot create XML parser");
    xmlDocPtr doc = xmlCtxtReadFile(ctxt, path, NULL,
                                    XML_PARSE_NONET | XML_PARSE_NOCDATA |
                                        XML_PARSE_NOERROR |
                                        XML_PARSE_NOWARNING);
    int rc = ICX_OK;
    if (doc == NULL || !ctxt->wellFormed || doc->intSubset != NULL) {
        xmlErrorPtr e = xmlCtxtGetLastError(ctxt);
        rc = icx_err_set(err, ICX_ECONFIG, "%s:%d: cannot read schema: %s",
                         path, e ? e->line : 0,
                         e && e->message ? e->message : "DOCTYPE or I/O error");
    } else if ((*out = calloc(1, sizeof **out)) == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
    } else {
        (*out)->doc = doc;
        doc = NULL;
    }
    if (doc != NULL)
        xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return rc;
}

void icx_xml_free(icx_xmldoc **docp)
{
    if (docp == NULL || *docp == NULL)
        return;
    if ((*docp)->doc != NULL)
        xmlFreeDoc((*docp)->doc);
    free(*docp);
    *docp = NULL;
}

void *icx_xml_raw(icx_xmldoc *doc) { return doc->doc; }

int icx_xml_wrap(icx_xmldoc **out, void *xmldoc, icx_err *err)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL) {
        xmlFreeDoc(xmldoc);
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    }
    (*out)->doc = xmldoc;
    return ICX_OK;
}

struct sink {
    icx_buf *out;
    int rc;
};

static int sink_write(void *ctx, const char *data, int len)
{
    struct sink *k = ctx;
    if (k->rc == ICX_OK)
        k->rc = icx_buf_append(k->out, data, (size_t)len);
    return k->rc == ICX_OK ? len : -1;
}

static int sink_close(void *ctx)
{
    (void)ctx;
    return 0;
}

/* Writes straight into out (the text is UTF-8 inside libxml2, so no
 * encoder): one copy instead of a growing memory dump copied again. */
int icx_xml_serialize(icx_xmldoc *doc, icx_buf *out, icx_err *err)
{
    struct sink k = {out, ICX_OK};
    size_t start = out->len;
    xmlOutputBufferPtr ob = xmlOutputBufferCreateIO(sink_write, sink_close,
                                                    &k, NULL);
    if (ob == NULL)
        return icx_err_set(err, ICX_ENOMEM, "cannot serialize document");
    int n = xmlSaveFileTo(ob, doc->doc, "UTF-8"); /* frees ob */
    if (k.rc < 0 || n < 0) {
        out->len = start;
        if (out->data != NULL)
            out->data[start] = '\0';
        if (k.rc < 0)
            return icx_err_set(err, k.rc, "serialized document exceeds %zu "
                               "bytes", out->max);
        return icx_err_set(err, ICX_ENOMEM, "cannot serialize document");
    }
    return ICX_OK;
}

/* ---- libxml2's schema validator, for schemas.c -------------------------- */

struct icx_xml_xsd {
    xmlSchemaPtr schema;
};

struct first_error {
    int set;
    int line;
    int redact;      /* a validation error: withhold the document's values */
    char msg[384];
};

/* libxml2's validation messages quote the offending value ("'v' is not a
 * valid value of the atomic type 'xs:date'", "The value 'v' is not
 * accepted by the pattern ..."): inside a payload that is case content,
 * which never goes into an error a log or a client may show.  Errors on
 * the envelope's header and signature (their namespaces) keep their
 * values: those are the gateway's own metadata.  Otherwise a quoted token
 * is kept only when the word before it says it names the schema's
 * vocabulary (an element, attribute, type, facet, pattern, keyref,
 * constraint or length) or it sits in the schema's enumeration set
 * ("{'a', 'b'}"); any other is replaced.  Stricter than needed rather
 * than looser: an unknown message shape loses its quoted words, never
 * leaks them. */
static void redact_values(char *msg, size_t size)
{
    static const char *const keep[] = {"Element", "attribute", "type",
                                       "facet", "pattern", "of", "keyref",
                                       "constraint"};
    static const char withheld[] = "'(value withheld)'";
    static const char *const metadata[] = {
        "Element '{urn:icx:envelope:1}",
        "Element '{http://www.w3.org/2000/09/xmldsig#}"};
    for (size_t k = 0; k < sizeof metadata / sizeof metadata[0]; k++)
        if (strncmp(msg, metadata[k], strlen(metadata[k])) == 0)
            return;
    char out[384];
    size_t o = 0, i = 0, len = strlen(msg);
    int in_set = 0;
    while (i < len && o + 1 < sizeof out) {
        if (msg[i] != '\'') {
            if (msg[i] == '{')
                in_set = 1;
            else if (msg[i] == '}')
                in_set = 0;
            out[o++] = msg[i++];
            continue;
        }
        size_t end = i + 1;
        while (end < len && msg[end] != '\'')
            end++;
        size_t w = i;
        while (w > 0 && msg[w - 1] == ' ')
            w--;
        size_t ws = w;
        while (ws > 0 && ((msg[ws - 1] >= 'a' && msg[ws - 1] <= 'z') ||
                          (msg[ws - 1] >= 'A' && msg[ws - 1] <= 'Z')))
            ws--;
        int named = in_set;
        for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++)
            if (w - ws == strlen(keep[k]) &&
                memcmp(msg + ws, keep[k], w - ws) == 0)
                named = 1;
        size_t stop = end < len ? end + 1 : len;
        if (named) {
            size_t n = stop - i;
            if (o + n >= sizeof out)
                n = sizeof out - 1 - o;
            memcpy(out + o, msg + i, n);
            o += n;
        } else {
            size_t n = sizeof withheld - 1;
            if (o + n >= sizeof out)
                n = sizeof out - 1 - o;
            memcpy(out + o, withheld, n);
            o += n;
        }
        i = stop;
    }
    out[o] = '\0';
    snprintf(msg, size, "%s", out);
}

static void keep_first_error(void *ctx, xmlErrorPtr e)
{
    struct first_error *fe = ctx;
    if (fe->set || e == NULL)
        return;
    fe->set = 1;
    fe->line = e->line;
    snprintf(fe->msg, sizeof fe->msg, "%s", e->message ? e->message : "?");
    size_t m = strlen(fe->msg);
    while (m > 0 && (fe->msg[m - 1] == '\n' || fe->msg[m - 1] == ' '))
        fe->msg[--m] = '\0';
    if (fe->redact)
        redact_values(fe->msg, sizeof fe->msg);
}

int icx_xml_xsd_load(icx_xml_xsd **out, const char *path, icx_err *err)
{
    int rc = ICX_OK;
    struct first_error fe = {0};
    xmlSchemaParserCtxtPtr pctxt = NULL;
    xmlSchemaPtr schema = NULL;

    *out = NULL;
    pctxt = xmlSchemaNewParserCtxt(path);
    if (pctxt == NULL)
        return icx_err_set(err, ICX_ENOMEM, "%s: cannot create schema parser",
                           path);
    xmlSchemaSetParserStructuredErrors(pctxt, keep_first_error, &fe);
    schema = xmlSchemaParse(pctxt);
    if (schema == NULL) {
        rc = icx_err_set(err, ICX_ECONFIG, "%s: cannot load schemas: %s",
                         path, fe.set ? fe.msg : "unknown error");
        goto out;
    }
    *out = calloc(1, sizeof **out);
    if (*out == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    (*out)->schema = schema;
    schema = NULL;
out:
    if (schema != NULL)
        xmlSchemaFree(schema);
    xmlSchemaFreeParserCtxt(pctxt);
    return rc;
}

void icx_xml_xsd_free(icx_xml_xsd **xp)
{
    if (xp == NULL || *xp == NULL)
        return;
    xmlSchemaFree((*xp)->schema);
    free(*xp);
    *xp = NULL;
}

int icx_xml_xsd_validate(const icx_xml_xsd *x, icx_xmldoc *doc, icx_err *err)
{
    struct first_error fe = {.redact = 1};
    xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt(x->schema);
    if (v == NULL)
        return icx_err_set(err, ICX_ENOMEM, "cannot create validator");
    xmlSchemaSetValidStructuredErrors(v, keep_first_error, &fe);
    int r = xmlSchemaValidateDoc(v, doc->doc);
    xmlSchemaFreeValidCtxt(v);
    if (r == 0)
        return ICX_OK;
    if (r < 0)
        return icx_err_set(err, ICX_ERROR, "schema validation failed "
                                           "internally");
    return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_SCHEMA, "line %d: %s",
                          fe.line, fe.set ? fe.msg : "not valid");
}
