/*
 * receipt.c - build, sign and read receipts (see receipt.h).
 *
 * Receipts carry the legal basis "receipt" and the lowest handling level:
 * they hold ids and digests, never payload content.  Retention follows the
 * evidence they attest to: ten years from issue.
 *
 * Reading takes the fields from the verified envelope's tree in place (the
 * broker hands over the tree its verification parsed); libxml2 memory stays
 * inside the document (freed with it).
 */
#include "receipt.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libxml/tree.h>

#include "util.h"
#include "xmlnode.h"

/* The Receipt payload document for r, built as a tree (nothing to parse;
 * the envelope is made around it). */
static int receipt_tree(icx_xmldoc **out, const icx_receipt *r, icx_err *err)
{
    xmlDocPtr d = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = d != NULL ? xmlNewDocNode(d, NULL, BAD_CAST "Receipt",
                                                NULL)
                                : NULL;
    xmlNsPtr ns = root != NULL ? xmlNewNs(root, BAD_CAST ICX_RECEIPT_NS, NULL)
                               : NULL;
    xmlNodePtr n = NULL;
    int rc;

    *out = NULL;
    if (ns == NULL) {
        xmlFreeNode(root);
        xmlFreeDoc(d);
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    }
    xmlSetNs(root, ns);
    xmlDocSetRootElement(d, root);
    rc = icx_xml_wrap(out, d, err); /* frees d on failure */
    if (rc < 0)
        return rc;
    rc = icx_xn_add(root, "Status", r->positive ? "positive" : "negative",
                    NULL);
    if (rc == ICX_OK)
        rc = icx_xn_add(root, "RefToMessageId", r->ref_message_id, NULL);
    if (rc == ICX_OK)
        rc = icx_xn_add(root, "RefSender", r->ref_sender, NULL);
    if (rc == ICX_OK)
        rc = icx_xn_add(root, "MessageDigest", r->digest, &n);
    if (rc == ICX_OK)
        rc = icx_xn_set_attr(n, "algorithm", "sha256");
    if (rc == ICX_OK)
        rc = icx_xn_add(root, "ReceivedAt", r->received_at, NULL);
    if (rc == ICX_OK && !r->positive) {
        rc = icx_xn_add(root, "Reason",
                        r->detail[0] ? r->detail : r->reason, &n);
        if (rc == ICX_OK)
            rc = icx_xn_set_attr(n, "code", r->reason);
    }
    if (rc == ICX_OK && r->hop[0])
        rc = icx_xn_add(root, "Hop", r->hop, NULL);
    if (rc < 0) {
        icx_xml_free(out);
        return icx_err_set(err, rc, rc == ICX_EINVAL
                                        ? "receipt field is not UTF-8 XML text"
                                        : "out of memory");
    }
    return ICX_OK;
}

int icx_receipt_envelope(icx_buf *out, const icx_receipt *r, const char *self,
                         const char *to, const icx_schemas *schemas,
                         const icx_signer *signer, icx_err *err)
{
    icx_envelope_pending p = {0};
    int rc = icx_receipt_prepare(&p, r, self, to, schemas,
                                 icx_signer_ecdsa(signer), err);
    /* Signed and finished, or failed: p is released either way. */
    return rc == ICX_OK ? icx_envelope_sign_pending(out, &p, signer, err)
                        : rc;
}

int icx_receipt_prepare(icx_envelope_pending *p, const icx_receipt *given,
                        const char *self, const char *to,
                        const icx_schemas *schemas, int ecdsa, icx_err *err)
{
    icx_header h;
    icx_receipt fixed;
    const icx_receipt *r = given;
    icx_xmldoc *payload = NULL;
    time_t now = time(NULL);
    int rc;

    /* A MessageId that is not a UUID (a path, any other text read from a
     * refused envelope) cannot be referred to: the receipt says the nil
     * UUID and the sender matches it by digest, as for bytes whose
     * MessageId could not be read at all. */
    if (!icx_uuid_valid(given->ref_message_id)) {
        fixed = *given;
        snprintf(fixed.ref_message_id, sizeof fixed.ref_message_id, "%s",
                 ICX_RECEIPT_NIL_ID);
        r = &fixed;
    }
    memset(&h, 0, sizeof h);
    snprintf(h.sender, sizeof h.sender, "%s", self);
    snprintf(h.recipient, sizeof h.recipient, "%s", to);
    snprintf(h.category, sizeof h.category, "receipt");
    snprintf(h.ref_to_message_id, sizeof h.ref_to_message_id, "%s",
             r->ref_message_id);
    snprintf(h.tlp, sizeof h.tlp, "GREEN");
    snprintf(h.hcode, sizeof h.hcode, "H0");
    snprintf(h.legal_basis, sizeof h.legal_basis, "receipt");
    icx_time_format(h.retain_until, sizeof h.retain_until,
                    now + 3653L * 86400L);
    h.retain_until[10] = '\0'; /* the date part */
    rc = icx_header_stamp(&h, now, err);
    if (rc == ICX_OK)
        rc = receipt_tree(&payload, r, err);
    if (rc == ICX_OK)
        rc = icx_envelope_prepare_tree(p, &h, &payload, schemas, ecdsa, err);
    return rc;
}

/* The text of parent's child element `name` (its text and CDATA children:
 * the schema gives these fields simple content), cut to len - 1 bytes. */
static int child_text(char *dst, size_t len, xmlNodePtr parent,
                      const char *name)
{
    const xmlNode *c = icx_xn_child(parent, name);
    dst[0] = '\0';
    if (c == NULL)
        return ICX_ENOTFOUND;
    icx_xn_text(dst, len, c);
    return ICX_OK;
}

/* The envelope is already verified, so schema-valid: the Receipt is read
 * where it sits, under Envelope/Payload. */
int icx_receipt_read_tree(icx_receipt *r, icx_xmldoc *doc, icx_err *err)
{
    char status[16];

    memset(r, 0, sizeof *r);
    xmlNodePtr top = xmlDocGetRootElement(icx_xml_raw(doc));
    xmlNodePtr hdr = icx_xn_is_ns(top, ICX_ENVELOPE_NS, "Envelope")
                         ? icx_xn_elem_from(top->children) : NULL;
    xmlNodePtr pl = hdr != NULL ? icx_xn_elem_from(hdr->next) : NULL;
    xmlNodePtr root = icx_xn_is_ns(pl, ICX_ENVELOPE_NS, "Payload")
                          ? icx_xn_elem_from(pl->children) : NULL;
    if (root == NULL)
        return icx_err_set(err, ICX_EINVAL, "envelope has no payload");
    if (!icx_xn_is_ns(root, ICX_RECEIPT_NS, "Receipt"))
        return icx_err_set(err, ICX_EINVAL, "payload is not a Receipt");
    if (child_text(status, sizeof status, root, "Status") < 0 ||
        child_text(r->ref_message_id, sizeof r->ref_message_id, root,
                   "RefToMessageId") < 0 ||
        child_text(r->ref_sender, sizeof r->ref_sender, root, "RefSender") < 0 ||
        child_text(r->digest, sizeof r->digest, root, "MessageDigest") < 0 ||
        child_text(r->received_at, sizeof r->received_at, root,
                   "ReceivedAt") < 0)
        return icx_err_set(err, ICX_EINVAL, "Receipt lacks a required field");
    r->positive = strcmp(status, "positive") == 0;
    child_text(r->hop, sizeof r->hop, root, "Hop");
    const xmlNode *reason = icx_xn_child(root, "Reason");
    if (reason != NULL) {
        const char *code = icx_xn_attr(reason, "code");
        icx_xn_text(r->detail, sizeof r->detail, reason);
        if (code != NULL)
            snprintf(r->reason, sizeof r->reason, "%s", code);
    }
    if (!r->positive && r->reason[0] == '\0')
        return icx_err_set(err, ICX_EINVAL, "negative Receipt without a Reason");
    return ICX_OK;
}

int icx_receipt_read(icx_receipt *r, const char *env, size_t len,
                     const icx_xml_limits *lim, icx_err *err)
{
    icx_xmldoc *doc = NULL;
    memset(r, 0, sizeof *r);
    int rc = icx_xml_parse(&doc, env, len, lim, err);
    if (rc == ICX_OK)
        rc = icx_receipt_read_tree(r, doc, err);
    icx_xml_free(&doc);
    return rc;
}
