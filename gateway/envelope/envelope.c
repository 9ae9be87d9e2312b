/*
 * envelope.c - build, sign, verify and read ICX envelopes (see envelope.h).
 *
 * Header values are read from the tree with xmlNodeGetContent (the whole
 * text of the element), never from the first text node, so a comment or
 * CDATA boundary cannot shorten a value; the parser refuses comments and
 * processing instructions anyway.  Verification reads values only from the
 * document whose single Reference URI="" xmlsec has just verified.
 *
 * Failures: ICX_EBADSIG + reason for a refused envelope, ICX_EINVAL for a
 * bad header or payload given to build, ICX_ENOMEM/ICX_ECRYPTO otherwise.
 */
#include "envelope.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "util.h"
#include "xmlnode.h"

static int is_env(xmlNodePtr n, const char *name)
{
    return icx_xn_is_ns(n, ICX_ENVELOPE_NS, name);
}

/* Which payload element each category carries. */
static const struct {
    const char *category, *ns, *name;
} category_payloads[] = {
    {"case-referral", "urn:icx:case:1", "Referral"},
    {"case-request", "urn:icx:case:1", "Request"},
    {"case-response", "urn:icx:case:1", "Response"},
    {"list-sync-request", "urn:icx:list:1", "SyncRequest"},
    {"list-update", "urn:icx:list:1", "Update"},
    {"list-update", "urn:icx:list:1", "Refusal"},
    {"list-update", "urn:icx:rrdp:1", "Notification"},
    {"survey-request", "urn:icx:survey:1", "Request"},
    {"survey-response", "urn:icx:survey:1", "Response"},
    {"receipt", "urn:icx:receipt:1", "Receipt"},
    {"audit-checkpoint", "urn:icx:witness:1", "Checkpoint"},
};

static int category_matches(const icx_header *h)
{
    for (size_t i = 0; i < sizeof category_payloads / sizeof category_payloads[0]; i++)
        if (strcmp(h->category, category_payloads[i].category) == 0 &&
            strcmp(h->payload_ns, category_payloads[i].ns) == 0 &&
            strcmp(h->payload_name, category_payloads[i].name) == 0)
            return 1;
    return 0;
}

int icx_header_stamp(icx_header *h, time_t now, icx_err *err)
{
    /* Time-ordered ids: the store's indexes over them grow at their end
     * instead of touching a random page per message. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int rc = icx_uuid7(h->message_id,
                       (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, err);
    if (rc < 0)
        return rc;
    icx_time_format(h->created, sizeof h->created, now);
    return ICX_OK;
}

#define HFIELD(f) offsetof(icx_header, f), sizeof ((icx_header *)0)->f
/* The header's elements in schema order, before Handling. */
static const struct header_field {
    const char *name;
    size_t off, len;
    int required;
} header_fields[] = {
    {"MessageId", HFIELD(message_id), 1},
    {"ConversationId", HFIELD(conversation_id), 0},
    {"RefToMessageId", HFIELD(ref_to_message_id), 0},
    {"Sender", HFIELD(sender), 1},
    {"Recipient", HFIELD(recipient), 1},
    {"Created", HFIELD(created), 1},
    {"Expires", HFIELD(expires), 0},
    {"Category", HFIELD(category), 1},
};

/* Handling's attributes. */
static const struct handling_attr {
    const char *name;
    size_t off, len;
} handling_attrs[] = {
    {"tlp", HFIELD(tlp)},
    {"code", HFIELD(hcode)},
    {"legalBasis", HFIELD(legal_basis)},
    {"retainUntil", HFIELD(retain_until)},
};

static int header_value_error(icx_err *err, int rc, const char *what)
{
    if (rc == ICX_EINVAL)
        return icx_err_set(err, rc, "header: %s is not UTF-8 XML text",
                           what);
    return icx_err_set(err, rc, "out of memory");
}

/* Envelope with the Header of h and an empty Payload, made in d but not
 * attached: *env receives it (the caller attaches or frees it), *payload
 * its Payload element.  Schema validation of the whole envelope decides
 * whether the values are right; this only builds what they say. */
static int header_tree(xmlDocPtr d, const icx_header *h, xmlNodePtr *env,
                       xmlNodePtr *payload, icx_err *err)
{
    xmlNodePtr root = xmlNewDocNode(d, NULL, BAD_CAST "Envelope", NULL);
    xmlNsPtr ns = root != NULL
                      ? xmlNewNs(root, BAD_CAST ICX_ENVELOPE_NS, NULL) : NULL;
    xmlNodePtr hdr = NULL, handling = NULL;
    *env = NULL;
    if (ns == NULL) {
        xmlFreeNode(root);
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    }
    xmlSetNs(root, ns);
    int rc = icx_xn_add(root, "Header", NULL, &hdr);
    if (rc < 0)
        goto fail_mem;
    for (size_t i = 0; i < sizeof header_fields / sizeof header_fields[0];
         i++) {
        const char *v = (const char *)h + header_fields[i].off;
        if (v[0] == '\0')
            continue;
        rc = icx_xn_add(hdr, header_fields[i].name, v, NULL);
        if (rc < 0) {
            header_value_error(err, rc, header_fields[i].name);
            goto fail;
        }
    }
    rc = icx_xn_add(hdr, "Handling", NULL, &handling);
    if (rc < 0)
        goto fail_mem;
    for (size_t i = 0; i < sizeof handling_attrs / sizeof handling_attrs[0];
         i++) {
        rc = icx_xn_set_attr(handling, handling_attrs[i].name,
                             (const char *)h + handling_attrs[i].off);
        if (rc < 0) {
            header_value_error(err, rc, handling_attrs[i].name);
            goto fail;
        }
    }
    rc = icx_xn_add(root, "Payload", NULL, payload);
    if (rc < 0)
        goto fail_mem;
    *env = root;
    return ICX_OK;
fail_mem:
    header_value_error(err, rc, "");
fail:
    xmlFreeNode(root);
    return rc;
}

static int validate(const icx_schemas *schemas, icx_xmldoc *doc,
                    const char *what, icx_err *err)
{
    int rc = icx_schemas_validate(schemas, doc, err);
    if (rc < 0)
        icx_err_wrap(err, "%s is not schema-valid", what);
    return rc;
}

/* header + payload document (taken) -> a validated envelope tree in
 * *out.  The envelope is made in the payload's document around its root,
 * so the payload is neither copied nor moved between documents. */
static int build_tree(icx_xmldoc **out, const icx_header *h,
                      icx_xmldoc **payload, const icx_schemas *schemas,
                      icx_err *err)
{
    icx_xmldoc *doc = *payload;
    xmlDocPtr d = icx_xml_raw(doc);
    xmlNodePtr proot = xmlDocGetRootElement(d), env = NULL, pl = NULL;
    icx_header probe = *h;
    int rc;

    *out = NULL;
    *payload = NULL;
    snprintf(probe.payload_ns, sizeof probe.payload_ns, "%s",
             proot->ns ? (const char *)proot->ns->href : "");
    snprintf(probe.payload_name, sizeof probe.payload_name, "%s",
             (const char *)proot->name);
    if (!category_matches(&probe)) {
        rc = icx_err_set(err, ICX_EINVAL, "category %s cannot carry a "
                         "{%s}%s payload", h->category, probe.payload_ns,
                         probe.payload_name);
        goto out;
    }
    rc = header_tree(d, h, &env, &pl, err);
    if (rc < 0)
        goto out;
    xmlDocSetRootElement(d, env); /* unlinks the payload root */
    xmlAddChild(pl, proot);
    rc = validate(schemas, doc, "envelope", err);
    if (rc < 0) {
        rc = ICX_EINVAL;
        if (err != NULL)
            err->rc = rc;
        goto out;
    }
    *out = doc;
    doc = NULL;
out:
    icx_xml_free(&doc);
    return rc;
}

/* Parses a payload given as text, naming it in errors. */
static int parse_payload(icx_xmldoc **out, const char *payload,
                         size_t payload_len, size_t max, icx_err *err)
{
    icx_xml_limits lim = {.max_bytes = max, .max_depth = 64};
    int rc = icx_xml_parse(out, payload, payload_len, &lim, err);
    if (rc < 0) {
        icx_err_wrap(err, "payload");
        rc = ICX_EINVAL;
        if (err != NULL)
            err->rc = rc;
    }
    return rc;
}

int icx_envelope_build(icx_buf *out, const icx_header *h, const char *payload,
                       size_t payload_len, const icx_schemas *schemas,
                       icx_err *err)
{
    icx_xmldoc *pdoc = NULL, *doc = NULL;
    int rc = parse_payload(&pdoc, payload, payload_len, out->max, err);
    if (rc == ICX_OK)
        rc = build_tree(&doc, h, &pdoc, schemas, err);
    if (rc == ICX_OK)
        rc = icx_xml_serialize(doc, out, err);
    icx_xml_free(&doc);
    return rc;
}

int icx_envelope_build_signed(icx_buf *out, const icx_header *h,
                              const char *payload, size_t payload_len,
                              const icx_schemas *schemas,
                              const icx_signer *signer, icx_err *err)
{
    icx_envelope_pending p = {0};
    int rc = icx_envelope_prepare(&p, h, payload, payload_len, out->max,
                                  schemas, icx_signer_ecdsa(signer), err);
    /* Signed and finished, or failed: p is released either way. */
    return rc == ICX_OK ? icx_envelope_sign_pending(out, &p, signer, err)
                        : rc;
}

int icx_envelope_build_signed_tree(icx_buf *out, const icx_header *h,
                                   icx_xmldoc **payload,
                                   const icx_schemas *schemas,
                                   const icx_signer *signer, icx_err *err)
{
    icx_envelope_pending p = {0};
    int rc = icx_envelope_prepare_tree(&p, h, payload, schemas,
                                       icx_signer_ecdsa(signer), err);
    /* Signed and finished, or failed: p is released either way. */
    return rc == ICX_OK ? icx_envelope_sign_pending(out, &p, signer, err)
                        : rc;
}

int icx_envelope_prepare(icx_envelope_pending *p, const icx_header *h,
                         const char *payload, size_t payload_len,
                         size_t max_bytes, const icx_schemas *schemas,
                         int ecdsa, icx_err *err)
{
    icx_xmldoc *pdoc = NULL;
    p->doc = NULL;
    int rc = parse_payload(&pdoc, payload, payload_len, max_bytes, err);
    if (rc == ICX_OK)
        rc = icx_envelope_prepare_tree(p, h, &pdoc, schemas, ecdsa, err);
    return rc;
}

int icx_envelope_prepare_tree(icx_envelope_pending *p, const icx_header *h,
                              icx_xmldoc **payload,
                              const icx_schemas *schemas, int ecdsa,
                              icx_err *err)
{
    icx_xmldoc *doc = NULL;
    p->doc = NULL;
    int rc = build_tree(&doc, h, payload, schemas, err);
    if (rc == ICX_OK)
        rc = icx_xmlsig_prepare(doc, ecdsa, p->digest, err);
    if (rc == ICX_OK) {
        p->doc = doc;
        doc = NULL;
    }
    icx_xml_free(&doc);
    return rc;
}

int icx_envelope_finish(icx_buf *out, icx_envelope_pending *p,
                        const unsigned char *sig, size_t siglen, icx_err *err)
{
    int rc = p->doc != NULL ? ICX_OK
                            : icx_err_set(err, ICX_EINVAL,
                                          "no envelope prepared to finish");
    if (rc == ICX_OK)
        rc = icx_xmlsig_finish(p->doc, sig, siglen, err);
    if (rc == ICX_OK)
        rc = icx_xmlsig_check_added(p->doc, err);
    if (rc == ICX_OK)
        rc = icx_xml_serialize(p->doc, out, err);
    icx_envelope_pending_free(p);
    return rc;
}

int icx_envelope_sign_pending(icx_buf *out, icx_envelope_pending *p,
                              const icx_signer *signer, icx_err *err)
{
    unsigned char sig[ICX_SIG_MAX];
    size_t siglen = sizeof sig;
    int rc = icx_signer_sign_digest(sig, &siglen, signer, p->digest, err);
    if (rc == ICX_OK)
        return icx_envelope_finish(out, p, sig, siglen, err);
    icx_envelope_pending_free(p);
    return rc;
}

void icx_envelope_pending_free(icx_envelope_pending *p)
{
    if (p != NULL)
        icx_xml_free(&p->doc);
}

/* Signs with signer, or (signer NULL) adds an empty template. */
static int sign_or_template(icx_buf *out, const char *xml, size_t len,
                           const icx_schemas *schemas,
                           const icx_signer *signer, int ecdsa, icx_err *err)
{
    icx_xmldoc *doc = NULL;
    icx_xml_limits lim = {.max_bytes = out->max, .max_depth = 64};
    int rc = icx_xml_parse(&doc, xml, len, &lim, err);
    if (rc < 0)
        goto out;
    xmlNodePtr root = xmlDocGetRootElement(icx_xml_raw(doc));
    if (!is_env(root, "Envelope")) {
        rc = icx_err_set(err, ICX_EINVAL, "not an ICX envelope (root must be "
                         "{%s}Envelope)", ICX_ENVELOPE_NS);
        goto out;
    }
    for (xmlNodePtr c = root->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE &&
            xmlStrEqual(c->name, BAD_CAST "Signature")) {
            rc = icx_err_set(err, ICX_EINVAL, "envelope is already signed");
            goto out;
        }
    rc = validate(schemas, doc, "unsigned envelope", err);
    if (rc < 0)
        goto out;
    if (signer == NULL) {
        rc = icx_xmlsig_add_template(doc, ecdsa, err);
    } else {
        /* The content was validated above and signing adds only the fixed
         * signature element; the profile check confirms its shape at a
         * fraction of a second schema pass. */
        rc = icx_xmlsig_sign(doc, signer, err);
        if (rc == ICX_OK)
            rc = icx_xmlsig_check_added(doc, err);
    }
    if (rc == ICX_OK)
        rc = icx_xml_serialize(doc, out, err);
out:
    icx_xml_free(&doc);
    return rc;
}

int icx_envelope_sign(icx_buf *out, const char *xml, size_t len,
                      const icx_schemas *schemas, const icx_signer *signer,
                      icx_err *err)
{
    return sign_or_template(out, xml, len, schemas, signer, 0, err);
}

int icx_envelope_template(icx_buf *out, const char *xml, size_t len,
                          const icx_schemas *schemas, int ecdsa, icx_err *err)
{
    return sign_or_template(out, xml, len, schemas, NULL, ecdsa, err);
}

static int copy_text(char *dst, size_t dstlen, xmlNodePtr n, const char *name,
                     icx_err *err)
{
    xmlChar *v = xmlNodeGetContent(n);
    if (v == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    size_t len = strlen((const char *)v);
    int rc = ICX_OK;
    if (len >= dstlen)
        rc = icx_err_reason(err, ICX_EBADSIG, ICX_REASON_SCHEMA,
                            "Header/%s is longer than %zu bytes", name,
                            dstlen - 1);
    else
        memcpy(dst, v, len + 1);
    xmlFree(v);
    return rc;
}

static int copy_attr(char *dst, size_t dstlen, xmlNodePtr n, const char *name,
                     icx_err *err)
{
    xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
    int rc = ICX_OK;
    if (v == NULL)
        return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_SCHEMA,
                              "Handling/@%s is missing", name);
    if (strlen((const char *)v) >= dstlen)
        rc = icx_err_reason(err, ICX_EBADSIG, ICX_REASON_SCHEMA,
                            "Handling/@%s is too long", name);
    else
        memcpy(dst, v, strlen((const char *)v) + 1);
    xmlFree(v);
    return rc;
}

/* Reads the header from a parsed envelope. */
static int read_header(icx_header *h, icx_xmldoc *doc, icx_err *err)
{
    const struct header_field *fields = header_fields;
    memset(h, 0, sizeof *h);
    xmlNodePtr root = xmlDocGetRootElement(icx_xml_raw(doc));
    if (!is_env(root, "Envelope"))
        return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_SCHEMA,
                              "root is not {%s}Envelope", ICX_ENVELOPE_NS);
    xmlNodePtr hdr = icx_xn_elem_from(root->children);
    if (!is_env(hdr, "Header"))
        return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_SCHEMA,
                              "Envelope does not start with Header");
    xmlNodePtr c = icx_xn_elem_from(hdr->children);
    for (size_t i = 0; i < sizeof header_fields / sizeof header_fields[0];
         i++) {
        if (is_env(c, fields[i].name)) {
            int rc = copy_text((char *)h + fields[i].off, fields[i].len, c,
                               fields[i].name, err);
            if (rc < 0)
                return rc;
            c = icx_xn_elem_from(c->next);
        } else if (fields[i].required) {
            return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_SCHEMA,
                                  "Header/%s is missing", fields[i].name);
        }
    }
    if (!is_env(c, "Handling"))
        return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_SCHEMA,
                              "Header/Handling is missing");
    for (size_t i = 0; i < sizeof handling_attrs / sizeof handling_attrs[0];
         i++) {
        int rc = copy_attr((char *)h + handling_attrs[i].off,
                           handling_attrs[i].len, c, handling_attrs[i].name,
                           err);
        if (rc < 0)
            return rc;
    }
    xmlNodePtr pl = icx_xn_elem_from(hdr->next);
    xmlNodePtr p = is_env(pl, "Payload") ? icx_xn_elem_from(pl->children) : NULL;
    if (p != NULL && p->ns != NULL) {
        snprintf(h->payload_ns, sizeof h->payload_ns, "%s",
                 (const char *)p->ns->href);
        snprintf(h->payload_name, sizeof h->payload_name, "%s",
                 (const char *)p->name);
    }
    return ICX_OK;
}

int icx_envelope_verify(icx_header *h, const char *data, size_t len,
                        const icx_verify_policy *p, icx_err *err)
{
    return icx_envelope_verify_tree(h, NULL, data, len, p, err);
}

int icx_envelope_verify_tree(icx_header *h, icx_xmldoc **tree,
                             const char *data, size_t len,
                             const icx_verify_policy *p, icx_err *err)
{
    icx_xmldoc *doc = NULL;
    const icx_verkey *key;
    time_t now = p->now ? p->now : time(NULL), created, expires;
    int rc;

    memset(h, 0, sizeof *h);
    if (tree != NULL)
        *tree = NULL;
    rc = icx_xml_parse(&doc, data, len, &p->limits, err);
    if (rc < 0)
        goto out;
    /* The signature profile first: it names the exact rule broken, where
     * the schema (which encodes the same profile) would only say SCHEMA. */
    rc = icx_xmlsig_check_profile(doc, err);
    if (rc == ICX_OK)
        rc = icx_schemas_validate(p->schemas, doc, err);
    if (rc < 0) {
        /* Keep what can be read for the receipt and the audit record. */
        icx_header tmp;
        icx_err ignored;
        if (read_header(&tmp, doc, &ignored) == ICX_OK)
            *h = tmp;
        goto out;
    }
    rc = read_header(h, doc, err);
    if (rc < 0)
        goto out;
    if (!category_matches(h)) {
        rc = icx_err_reason(err, ICX_EBADSIG, ICX_REASON_CATEGORY_PAYLOAD,
                            "Category %s does not match the payload {%s}%s",
                            h->category, h->payload_ns, h->payload_name);
        goto out;
    }
    key = p->trust(p->ctx, h->sender);
    if (key == NULL) {
        rc = icx_err_reason(err, ICX_EBADSIG, ICX_REASON_UNKNOWN_SENDER,
                            "Sender %s is not a configured partner",
                            h->sender);
        goto out;
    }
    rc = icx_xmlsig_verify_checked(doc, key, err); /* profile: above */
    if (rc < 0 && err != NULL && err->reason == ICX_REASON_SIG_INVALID &&
        p->trust_next != NULL) {
        /* A key rollover: the other certificate, checked as fully. */
        const icx_verkey *next = p->trust_next(p->ctx, h->sender);
        if (next != NULL) {
            icx_err e2;
            icx_err_clear(&e2);
            if (icx_xmlsig_verify_checked(doc, next, &e2) == ICX_OK) {
                rc = ICX_OK;
                icx_err_clear(err);
                h->signer_key = 1;
            }
        }
    }
    if (rc < 0) {
        if (err != NULL && err->reason == ICX_REASON_SIG_INVALID)
            icx_err_reason(err, ICX_EBADSIG, ICX_REASON_SIG_INVALID,
                           "signature does not verify with the certificate%s "
                           "configured for the Sender %s",
                           p->trust_next != NULL &&
                                   p->trust_next(p->ctx, h->sender) != NULL
                               ? "s (certificate, certificate_next)"
                               : "",
                           h->sender);
        goto out;
    }
    if (p->recipient_ok != NULL ? !p->recipient_ok(p->ctx, h->recipient)
                                : strcmp(h->recipient, p->self) != 0) {
        rc = icx_err_reason(err, ICX_EBADSIG, ICX_REASON_WRONG_RECIPIENT,
                            "Recipient %s is not this gateway (%s)",
                            h->recipient, p->self);
        goto out;
    }
    if (icx_time_parse(&created, h->created) < 0) {
        rc = icx_err_reason(err, ICX_EBADSIG, ICX_REASON_SCHEMA,
                            "Created \"%s\" is not a UTC time", h->created);
        goto out;
    }
    if (created < now - p->created_past_s ||
        created > now + p->created_future_s) {
        rc = icx_err_reason(err, ICX_EBADSIG, ICX_REASON_CREATED_WINDOW,
                            "Created %s is outside the window (-%lds/+%lds "
                            "around now)", h->created, p->created_past_s,
                            p->created_future_s);
        goto out;
    }
    if (h->expires[0] != '\0') {
        if (icx_time_parse(&expires, h->expires) < 0 || expires <= now) {
            rc = icx_err_reason(err, ICX_EBADSIG, ICX_REASON_EXPIRED,
                                "Expires %s has passed", h->expires);
            goto out;
        }
    }
    if (tree != NULL) {
        *tree = doc;
        doc = NULL;
    }
out:
    icx_xml_free(&doc);
    return rc;
}

int icx_envelope_peek(icx_header *h, const char *data, size_t len,
                      const icx_xml_limits *lim, icx_err *err)
{
    icx_xmldoc *doc = NULL;
    int rc = icx_xml_parse(&doc, data, len, lim, err);
    if (rc == ICX_OK)
        rc = read_header(h, doc, err);
    icx_xml_free(&doc);
    return rc;
}

int icx_envelope_payload(icx_buf *out, const char *data, size_t len,
                         const icx_xml_limits *lim, icx_err *err)
{
    icx_xmldoc *doc = NULL, *pdoc = NULL;
    int rc = icx_xml_parse(&doc, data, len, lim, err);
    if (rc < 0)
        return rc;
    xmlNodePtr root = xmlDocGetRootElement(icx_xml_raw(doc));
    xmlNodePtr hdr = root ? icx_xn_elem_from(root->children) : NULL;
    xmlNodePtr pl = hdr ? icx_xn_elem_from(hdr->next) : NULL;
    xmlNodePtr p = is_env(pl, "Payload") ? icx_xn_elem_from(pl->children) : NULL;
    if (p == NULL) {
        rc = icx_err_set(err, ICX_EINVAL, "envelope has no payload");
        goto out;
    }
    xmlDocPtr nd = xmlNewDoc(BAD_CAST "1.0");
    if (nd == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    rc = icx_xml_wrap(&pdoc, nd, err);
    if (rc < 0)
        goto out;
    xmlNodePtr copy = xmlDocCopyNode(p, nd, 1);
    if (copy == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    xmlDocSetRootElement(nd, copy);
    xmlReconciliateNs(nd, copy);
    rc = icx_xml_serialize(pdoc, out, err);
out:
    icx_xml_free(&pdoc);
    icx_xml_free(&doc);
    return rc;
}

int icx_header_format(icx_buf *out, const icx_header *h, int json)
{
    static const struct { const char *key; size_t off; } f[] = {
        {"message_id", offsetof(icx_header, message_id)},
        {"conversation_id", offsetof(icx_header, conversation_id)},
        {"ref_to_message_id", offsetof(icx_header, ref_to_message_id)},
        {"sender", offsetof(icx_header, sender)},
        {"recipient", offsetof(icx_header, recipient)},
        {"created", offsetof(icx_header, created)},
        {"expires", offsetof(icx_header, expires)},
        {"category", offsetof(icx_header, category)},
        {"tlp", offsetof(icx_header, tlp)},
        {"handling_code", offsetof(icx_header, hcode)},
        {"legal_basis", offsetof(icx_header, legal_basis)},
        {"retain_until", offsetof(icx_header, retain_until)},
        {"payload", offsetof(icx_header, payload_name)},
    };
    int rc = json ? icx_buf_puts(out, "{") : ICX_OK;
    for (size_t i = 0; i < sizeof f / sizeof f[0] && rc == ICX_OK; i++) {
        const char *v = (const char *)h + f[i].off;
        if (json) {
            rc = icx_buf_printf(out, "%s\"%s\":", i ? "," : "", f[i].key);
            if (rc == ICX_OK)
                rc = icx_buf_put_json(out, v);
        } else if (v[0] != '\0') {
            rc = icx_buf_printf(out, "%-18s %s\n", f[i].key, v);
        }
    }
    if (rc == ICX_OK && json)
        rc = icx_buf_puts(out, "}\n");
    return rc;
}

int icx_envelope_names_case(const char *env, size_t len, const char *ref,
                            icx_err *err)
{
    icx_xml_limits lim = ICX_XML_DEFAULT_LIMITS;
    icx_xmldoc *doc = NULL;
    icx_buf pl;
    lim.max_bytes = len + 1;
    icx_buf_init(&pl, len + 1);
    int rc = icx_envelope_payload(&pl, env, len, &lim, err);
    if (rc == ICX_OK)
        rc = icx_xml_parse(&doc, pl.data, pl.len, &lim, err);
    if (rc < 0)
        goto out;
    const xmlNode *root = xmlDocGetRootElement(icx_xml_raw(doc));
    int found = 0;
    for (const xmlNode *n = root ? icx_xn_first(root) : NULL;
         n != NULL && !found;
         n = icx_xn_elem_from((xmlNode *)n->next)) {
        char text[128];
        if ((icx_xn_is_ns(n, "urn:icx:case:1", "CaseReference") ||
             icx_xn_is_ns(n, "urn:icx:case:1", "RefCaseReference")) &&
            strcmp(icx_xn_text(text, sizeof text, n), ref) == 0)
            found = 1;
    }
    rc = found;
out:
    icx_xml_free(&doc);
    icx_buf_free(&pl);
    return rc;
}
