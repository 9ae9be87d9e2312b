/*
 * broker_policy.c - where an outbound message goes next and whether it
 * may go there at all: the next hop (the hub for a partner routed through
 * it) and the egress policy of the recipient's partner file (categories,
 * TLP, handling code).
 *
 * Pure functions of a configuration generation: no broker state, so both
 * the loop (submissions, hook answers) and the workers (relaying at a hub)
 * use them.  The lowest of the broker's files: calls none of the others.
 * A refusal returns ICX_EPOLICY with a reason naming the partner file and
 * field.
 */
#include <stdio.h>

#include "broker_int.h"

const char *icx_broker_next_hop(const icx_config *cfg, const char *recipient)
{
    const icx_partner *p = icx_config_partner(cfg, recipient);
    if (p != NULL && p->route == ICX_ROUTE_HUB && cfg->hub != NULL)
        return cfg->hub;
    return recipient;
}

int icx_broker_egress_check(const icx_config *cfg, const icx_header *h,
                            char *why, size_t whylen)
{
    const icx_partner *p = icx_config_partner(cfg, h->recipient);
    if (p == NULL) {
        snprintf(why, whylen, "%s is not a configured partner", h->recipient);
        return ICX_EPOLICY;
    }
    if (!icx_strlist_has(&p->categories_out, h->category)) {
        snprintf(why, whylen, "category %s may not be sent to %s (partner "
                 "file %s: categories_out)", h->category, p->id,
                 p->source_file ? p->source_file : "?");
        return ICX_EPOLICY;
    }
    int tlp = icx_tlp_from_name(h->tlp), hc = icx_hcode_from_name(h->hcode);
    if (tlp < 0 || tlp > p->max_tlp) {
        snprintf(why, whylen, "handling TLP:%s is above TLP:%s, the highest "
                 "%s may receive (partner file %s: max_tlp)", h->tlp,
                 icx_tlp_name(p->max_tlp), p->id,
                 p->source_file ? p->source_file : "?");
        return ICX_EPOLICY;
    }
    if (hc < 0 || hc > p->max_hcode) {
        snprintf(why, whylen, "handling code %s is above H%d, the highest %s "
                 "may receive (partner file %s: max_handling)", h->hcode,
                 p->max_hcode, p->id, p->source_file ? p->source_file : "?");
        return ICX_EPOLICY;
    }
    return ICX_OK;
}
