/*
 * broker_int.h - state shared by the broker's files (broker.c: loop and
 * lifecycle; broker_core.c: the services they share; broker_policy.c:
 * next hops and egress policy; broker_jobs.c: work done on the pool;
 * broker_in.c: inbound envelopes and receipts; broker_out.c: retries and
 * sending; broker_queue.c: signing and queueing new messages;
 * broker_ctl.c: control requests; broker_net.c: adapters, what they
 * report and the inbound limits).  Not a public interface.
 *
 * Everything here is owned by the loop thread except struct icx_gen, which
 * workers read through the reference their job holds.
 */
#ifndef ICX_BROKER_INT_H
#define ICX_BROKER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "adapter.h"
#include "broker.h"
#include "config.h"
#include "control.h"
#include "envelope.h"
#include "keys.h"
#include "pool.h"
#include "stamper.h"
#include "receipt.h"
#include "signerproc.h"
#include "store.h"
#include "trust.h"
#include "turn.h"

/* A configuration generation: replaced whole on SIGHUP; a job keeps the
 * generation it started with alive through its reference. */
struct icx_gen {
    atomic_int refs;
    icx_config *cfg;
    icx_trust *trust;
};

enum bjob_type { BJOB_VERIFY, BJOB_SIGN, BJOB_RECEIPT };

struct ctl_pending;

struct bjob {
    icx_job base;
    int type;
    struct icx_broker *b;
    struct icx_gen *gen;
    /* VERIFY input */
    char peer[32];
    int kind;
    char *data;
    size_t len;
    /* VERIFY output */
    int rc;
    icx_err err;
    icx_header h;
    char sha256[65];
    int sig_ok;            /* the signature verified (policy may still refuse) */
    icx_receipt rcpt;      /* for kind RECEIPT */
    /* SIGN input: header and payload (borrowed from the control request) */
    struct ctl_pending *ctl;
    int index;
    const char *payload;
    size_t payload_len;
    /* RECEIPT input: the receipt to sign, sent to `to` */
    icx_receipt r;
    char to[32];
    /* SIGN / RECEIPT output, and VERIFY's receipt for kind ENVELOPE */
    char *out;
    size_t out_len;
    /* A receipt that could not be built (VERIFY of an envelope, RECEIPT):
     * receipt_rc < 0 and why; the loop logs and audits it. */
    int receipt_rc;
    icx_err receipt_err;
    /* Signatures asked again because the signer process died (ICX_EAGAIN);
     * the loop audits them. */
    int sign_retries;
};

/* Attempts at one signature while the signer process restarts. */
#define ICX_SIGN_TRIES 4

#define ICX_MAX_ADAPTERS 8

struct peer_state {
    char id[32];
    int connected;
    int64_t last_contact;
    /* inbound limits: token bucket and what was dropped since the last
     * record of it */
    double tokens;
    int64_t refill_ms;
    uint64_t dropped_rate, dropped_size, dropped_conns, dropped_frames;
    int64_t limit_noted, conns_noted, frames_noted;
    /* envelopes from this peer rejected since the start, by reason */
    uint64_t rejected[ICX_REASON__COUNT];
};

struct ctl_pending {
    int fd;
    int remaining;          /* signing jobs not yet back */
    int failed;
    int internal;           /* failures that were not the input's fault */
    char **why;             /* [n]: why message i was not built (NULL: it
                             * was); an icx_err message, no payload value */
    int per_payload;        /* messages per payload (recipients) */
    icx_ctl_request req;
    icx_header *headers;    /* one per (blob, recipient) */
    char (*hops)[32];
    char **signed_env;
    size_t *signed_len;
    char (*signed_sha)[65]; /* SHA-256 of each, computed by its worker */
    char **payloads;        /* internal producers: owned payloads */
    size_t *payload_lens;
    const char *origin;     /* the operator's --user ("-" when none)
                             * or the producing module */
    int n;
    icx_buf text;
    int json;
    struct ctl_pending *next;
};

typedef struct icx_broker {
    struct icx_gen *gen;
    const char *config_path;
    icx_adapter_find_fn find_adapter;
    const icx_hook *hooks;
    size_t nhooks;
    const icx_tick *ticks;
    size_t nticks;
    int64_t next_tick;
    icx_signer *signer;     /* remote: the key is in the signer process */
    icx_signer_remote *signer_remote; /* signer's, borrowed */
    int64_t next_signer_check;        /* icx_signer_remote_check, 1/s */
    const icx_service *services;
    size_t nservices;
    size_t services_started;
    icx_service_env svc_env;
    pthread_mutex_t svc_mu;           /* guards svc_gen (services' threads) */
    struct icx_gen *svc_gen;          /* the generation config_hold lends */
    int64_t next_observe;
    icx_schemas *schemas;
    icx_store *store;
    char curve_pub[ICX_Z85_KEY_LEN + 1];
    char curve_sec[ICX_Z85_KEY_LEN + 1];
    void *zctx;
    /* One slot per adapter used by a partner (zmq also when listening);
     * the adapter keeps a pointer to its env, so it lives here. */
    struct adapter_slot {
        const icx_adapter_ops *ops;
        void *state;
        icx_adapter_env env;
        size_t first_item, nitems; /* its pollitems in this turn */
    } slots[ICX_MAX_ADAPTERS];
    int nslots;
    icx_pool *pool;
    int ctl_fd;
    int sig_fd;
    int lock_fd;            /* the single-instance lock (pidlock.h) */
    icx_turn *turn;         /* the loop's transaction and post-commit actions */
    struct bjob **held;     /* results taken while the committer has the store */
    size_t nheld, capheld;
    struct ctl_pending *pending;
    struct peer_state *peers;
    size_t npeers;
    int64_t next_scan;
    icx_stamper *stamper;   /* started when audit.tsa.url is first set */
    int64_t witness_next;   /* next round of audit-checkpoint messages */
    int64_t stamp_next;     /* no time-stamp request before this time */
    uint64_t stamp_refused; /* checkpoint whose refusal was audited... */
    char stamp_refused_why[200]; /* ...and why (once per both) */
    uint64_t cp_size;       /* audit records covered by the last checkpoint */
    int64_t cp_time;
    int64_t started_at;     /* when this daemon began serving (health) */
    int stopping;
    uint64_t frames_in;
} icx_broker;

/* The files below call only the files listed before them (README.md).
 * Shared state is the struct above; each file's functions, bottom up: */

/* broker_policy.c: pure functions of a configuration */
int icx_broker_egress_check(const icx_config *cfg, const icx_header *h,
                            char *why, size_t whylen);
const char *icx_broker_next_hop(const icx_config *cfg, const char *recipient);

/* broker_jobs.c: run on the pool (several jobs at once: one request to
 * the signer for all their signatures) */
void icx_bjob_run(icx_job *job, void *ctx);
void icx_bjob_run_many(icx_job **jobs, int n, void *ctx);

/* broker_core.c */
int64_t icx_broker_now(void);
struct icx_gen *icx_gen_ref(struct icx_gen *g);
void icx_gen_unref(struct icx_gen **gp);
int icx_broker_tx(icx_broker *b);          /* opens the loop transaction */
void icx_broker_tx_fail(icx_broker *b);    /* a call inside it failed */
int icx_broker_tx_failed(const icx_broker *b);
void icx_broker_audit(icx_broker *b, const char *event, const char *msgid,
                      const char *partner, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void icx_broker_post_send(icx_broker *b, const char *partner, int kind,
                          const char *data, size_t len);
void icx_broker_post_reply(icx_broker *b, int fd, int code, const char *text,
                           size_t len);
/* A control client's answer after the commit; frees text.  fd < 0 (a
 * message produced inside the daemon): a failure is logged instead. */
void icx_broker_reply(icx_broker *b, int fd, int code, icx_buf *text);
/* A control client's answer at once, then closed (fd < 0: logged). */
void icx_broker_reply_now(int fd, int code, const char *msg);
int icx_broker_submit_job(icx_broker *b, struct bjob *j);
void icx_bjob_free(struct bjob *j);

/* broker_net.c */
int icx_broker_adapters_open(icx_broker *b, icx_err *err);
/* Opens again after a reload, waiting out a listen address still held. */
int icx_broker_adapters_reopen(icx_broker *b, icx_err *err);
void icx_broker_adapters_close(icx_broker *b);
/* The endpoint a listening adapter bound, or NULL. */
const char *icx_broker_endpoint(icx_broker *b);
/* Sends through the partner's adapter (ICX_SEND_ERROR when unknown). */
int icx_broker_send(icx_broker *b, const char *partner, int kind,
                    const char *data, size_t len, icx_err *err);
int icx_broker_connected(icx_broker *b, const char *partner);
/* The partner's adapter may re-attempt it now (its retry is due). */
void icx_broker_try_resume(icx_broker *b, const char *partner);
/* The partner's counters (added on first use; NULL when out of memory). */
struct peer_state *icx_broker_peer(icx_broker *b, const char *id);

/* broker_out.c */
void icx_broker_scan(icx_broker *b, int64_t now);

/* broker_queue.c */
/* Hands every message of p to the signers and keeps p pending until the
 * last is back (ICX_EAGAIN: none could be handed; p is still the
 * caller's).  Message i carries payload i / per_payload. */
int icx_broker_pending_sign(icx_broker *b, struct ctl_pending *p,
                            int per_payload);
void icx_broker_pending_free(struct ctl_pending *p);
/* A signature is back; the last one of a request queues it. */
void icx_broker_signed(icx_broker *b, struct bjob *j);
/* Queues messages produced inside the daemon (hooks): egress policy,
 * signing on the pool, queued after commit.  Takes the payloads. */
/* broker_witness.c: partners witnessing each other's logs. */
void icx_broker_witness_tick(icx_broker *b, int64_t now);
void icx_broker_witness_inbound(icx_broker *b, const icx_header *h,
                                const char *data, size_t len);
void icx_broker_enqueue(icx_broker *b, icx_outmsg *msgs, size_t n,
                        const char *origin);
void icx_broker_ctl_abort_all(icx_broker *b);

/* broker_ctl.c */
void icx_broker_control(icx_broker *b, int fd);

/* broker_in.c */
void icx_broker_inbound(icx_broker *b, struct bjob *j);
void icx_broker_receipt_signed(icx_broker *b, struct bjob *j);
/* The hook environment of the current turn. */
icx_hook_env icx_broker_hook_env(icx_broker *b);

/* broker_audit.c: a signed checkpoint when one is due (force: whenever
 * there is anything new, at shutdown); the time-stamp thread's next step. */
void icx_broker_checkpoint(icx_broker *b, int force);
/* Signs c (its size and root set by the caller) as this gateway's, now. */
int icx_broker_sign_checkpoint(icx_broker *b, icx_checkpoint *c,
                               icx_err *err);
void icx_broker_stamp_step(icx_broker *b, int64_t now);

#endif
