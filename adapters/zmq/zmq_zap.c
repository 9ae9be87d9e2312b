/*
 * zmq_zap.c - answers ZAP requests for the zmq adapter (see zmq_zap.h).
 *
 * Only the CURVE mechanism in domain "icx" is admitted, and only for a key
 * the lookup knows; everything else is refused and logged with the public
 * key and the address (never a secret).  A REP socket must reply before it
 * can read again, so every request read gets an answer, even a malformed
 * one.  Nothing is allocated; the request is read into zmq_msg_t parts
 * closed before returning.
 */
#include "zmq_zap.h"

#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "log.h"

#define MAX_PARTS 8 /* a CURVE request has 7 */

static int part_is(zmq_msg_t *m, const char *s)
{
    size_t len = strlen(s);
    return zmq_msg_size(m) == len && memcmp(zmq_msg_data(m), s, len) == 0;
}

int icx_zmq_zap_answer(char refused[ICX_Z85_KEY_LEN + 1], void *rep,
                       icx_zmq_zap_lookup lookup, void *arg)
{
    zmq_msg_t parts[MAX_PARTS];
    int n = 0, more = 1, was_refused = 0;
    const char *status = "400", *text = "unknown CURVE key", *user = NULL;
    char address[64] = "";
    char reqid[64] = "";
    size_t reqid_len = 0;

    refused[0] = '\0';
    while (more) {
        zmq_msg_t scratch;
        zmq_msg_t *m = n < MAX_PARTS ? &parts[n] : &scratch;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, rep, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(m);
            if (n == 0)
                return 0; /* nothing waiting */
            break;
        }
        more = zmq_msg_more(m);
        if (m == &scratch)
            zmq_msg_close(m);
        n++;
    }
    if (n >= 2 && zmq_msg_size(&parts[1]) <= sizeof reqid) {
        reqid_len = zmq_msg_size(&parts[1]);
        memcpy(reqid, zmq_msg_data(&parts[1]), reqid_len);
    }
    if (n >= 4)
        snprintf(address, sizeof address, "%.*s",
                 (int)zmq_msg_size(&parts[3]),
                 (const char *)zmq_msg_data(&parts[3]));
    if (n != 7 || !part_is(&parts[0], "1.0") ||
        !part_is(&parts[2], ICX_ZMQ_ZAP_DOMAIN) ||
        !part_is(&parts[5], "CURVE") ||
        zmq_msg_size(&parts[6]) != ICX_ZMQ_KEY_RAW) {
        text = "not an ICX CURVE request";
        icx_log_warn("zmq.refused", "address=%s reason=\"%s\"", address, text);
        goto out;
    }
    user = lookup(arg, zmq_msg_data(&parts[6]));
    if (user != NULL) {
        status = "200";
        text = "OK";
        icx_log_debug("zmq.admitted", "partner=%s address=%s", user, address);
    } else {
        zmq_z85_encode(refused, zmq_msg_data(&parts[6]), ICX_ZMQ_KEY_RAW);
        was_refused = 1;
        icx_log_warn("zmq.refused", "key=%s address=%s reason=\"%s\"",
                     refused, address, text);
    }
out:
    for (int i = 0; i < n && i < MAX_PARTS; i++)
        zmq_msg_close(&parts[i]);
    if (user == NULL)
        user = "";
    zmq_send(rep, "1.0", 3, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(rep, reqid, reqid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(rep, status, 3, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(rep, text, strlen(text), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(rep, user, strlen(user), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(rep, "", 0, ZMQ_DONTWAIT); /* no metadata */
    return was_refused;
}
