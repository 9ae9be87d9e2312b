/*
 * config.h - the gateway configuration: gateway.yaml and partners/NAME.yaml.
 *
 * Loading walks libyaml events so every scalar has a position; keys are
 * declared in tables (key, type, offset, required, bounds, default) and
 * unknown keys, wrong types, out-of-range values, missing required keys,
 * duplicate partner ids, anchors/aliases and unreadable or invalid
 * certificate files are errors.  All errors of one load are collected as
 * `file:line:col: key: what is wrong` lines, then the load fails.
 *
 * Ownership: icx_config_load() returns a config the caller frees with
 * icx_config_free(); partners and strings inside are owned by it and valid
 * until then.  A loaded config is immutable; a reload builds a new one.
 * Thread safety: an immutable config may be read from any thread.
 */
#ifndef ICX_CONFIG_H
#define ICX_CONFIG_H

#include <stddef.h>

#include "buf.h"
#include "conftab.h" /* icx_strlist, ICX_CONFIG_MAX_LIST */
#include "err.h"
#include "xml.h"

#define ICX_CONFIG_MAX_BYTES (1024 * 1024)
#define ICX_CONFIG_MAX_PARTNERS 256

/* TLP 2.0 labels, ordered from least to most restricted. */
enum icx_tlp { ICX_TLP_CLEAR, ICX_TLP_GREEN, ICX_TLP_AMBER,
               ICX_TLP_AMBER_STRICT, ICX_TLP_RED };
/* "CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"; -1 when unknown. */
int icx_tlp_from_name(const char *name);
const char *icx_tlp_name(int tlp);
/* "H0".."H3" -> 0..3; -1 when unknown. */
int icx_hcode_from_name(const char *name);

/* Message categories (the Category header): "case-referral", ...
 * 1 when name is one of them, else 0. */
int icx_category_known(const char *name);

enum icx_direction { ICX_DIR_CONNECT, ICX_DIR_ACCEPT };
enum icx_route { ICX_ROUTE_DIRECT, ICX_ROUTE_HUB };

typedef struct icx_partner {
    char *id;              /* required, agency id, unique */
    char *name;            /* default "" */
    char *certificate;     /* required, path (resolved against the file) */
    char *certificate_next;/* path or NULL: during a key rollover, the
                            * partner's other accepted certificate */
    char *adapter;         /* default "zmq" */
    /* zmq: */
    char *endpoint;        /* tcp://host:port; required when direction=connect */
    int direction;         /* connect|accept, default connect */
    char *curve_public_key;/* Z85, 40 chars; required for adapter zmq */
    /* policy */
    int route;             /* direct|hub, default direct */
    icx_strlist categories_in;  /* default: empty (nothing accepted) */
    icx_strlist categories_out; /* default: empty (nothing sent) */
    icx_strlist lists;     /* list ids it may pull */
    int max_tlp;           /* default AMBER */
    int max_hcode;         /* default 2 (H2) */
    icx_strlist withhold;  /* payload fields never sent to it */
    /* retries */
    long retry_initial_s;  /* default 5, 1..3600 */
    long retry_max_s;      /* default 600, 1..86400 */
    long max_age_s;        /* default 86400, 60..2592000 */
    char *source_file;     /* the partner file, for messages */
    /* filedrop: (the folder a file is found in is its transport identity) */
    char *filedrop_outbox; /* folder we write envelopes and receipts to */
    char *filedrop_inbox;  /* folder we read from; required for filedrop */
    long filedrop_poll_ms; /* inbox scan period, default 1000, 50..3600000 */
    long filedrop_answer_s;/* wait for the core's answer, default 60 */
    /* external adapters: their settings, "key=value" each */
    icx_strlist adapter_options;
    /* inbound limits (limits:): frames over them are dropped unverified,
     * the partner's own retries bring them later */
    long in_max_bytes;      /* 0: the gateway's limits.max_message_bytes */
    long in_rate;           /* messages per second, default 5000 */
    long in_burst;          /* default 10000 */
    long in_max_conns;      /* concurrent connections in, default 4 */
} icx_partner;

typedef struct icx_config {
    char *path;            /* the gateway.yaml that was loaded */
    char *base_dir;        /* its directory; relative paths resolve here */
    char *id;              /* required, this gateway's agency id */
    char *private_key;     /* required: a path, or a pkcs11: URI */
    char *pkcs11_module;   /* path; required with a pkcs11: URI */
    char *pin_file;        /* path of the token PIN, or NULL */
    char *pin_env;         /* environment variable of the PIN, or NULL */
    char *certificate;     /* required path */
    char *audit_certificates; /* PEM bundle checkpoints verify with, or
                               * NULL: certificate */
    char *curve_secret_file; /* path of the CURVE key file; required for zmq */
    char *store_path;      /* default "icx.db"; or a postgresql:// URL */
    char *store_head;      /* PostgreSQL: this node's head file; or NULL */
    char *listen;          /* tcp endpoint to bind; default none */
    char *control_socket;  /* default "icx.sock" */
    char *partners_dir;    /* default "partners" */
    char *schemas_dir;     /* default: compiled-in ICX_SCHEMAS_DIR */
    char *adapters_dir;    /* default none */
    char *hub;             /* agency id of the hub, default none */
    int relay;             /* this gateway relays for others (the hub), default 0 */
    long max_message_bytes;   /* default 1 MiB, 1 KiB..64 MiB */
    long max_depth;           /* default 64, 8..256 */
    long max_attrs;           /* per element, default 64, 8..256 */
    long max_ns_decls;        /* per element, default 32, 4..256 */
    long max_attrs_total;     /* 0..10000000, default 0: 100000 per MiB
                               * of max_message_bytes */
    long max_name_bytes;      /* default 256, 32..4096 */
    long max_text_bytes;      /* default 262144, 1024..67108864 */
    long created_past_s;      /* default 900, 0..86400 */
    long created_future_s;    /* default 300, 0..3600 */
    long replay_retention_days; /* default 30, 1..3650 */
    long workers;             /* default 2, 1..64 */
    long checkpoint_every;    /* audit: default 1000, 1..1000000 */
    long checkpoint_seconds;  /* audit: default 60, 1..86400 */
    long witness_seconds;     /* audit.witness_seconds: 0 (off)..86400 */
    char *tsa_url;            /* audit.tsa.url: RFC 3161 TSA; default none */
    char *tsa_ca_file;        /* audit.tsa.ca_file: its CA (PEM); required
                               * with url */
    char *tsa_policy;         /* audit.tsa.policy: dotted OID; default any */
    long tsa_timeout_s;       /* audit.tsa.timeout_seconds: 1..120, 10 */
    long tsa_retry_s;         /* audit.tsa.retry_seconds: 1..86400, 60 */
    char *log_level;          /* default "info" */
    char *log_format;         /* "text" (default) or "json" */
    /* http: the read-only dashboard and /metrics (docs/DASHBOARD.md) */
    int http_enabled;         /* an http: section is present */
    char *http_address;       /* IP literal or "localhost", default 127.0.0.1 */
    long http_port;           /* default 8080, 0..65535 (0: any free port) */
    char *http_tls_certificate; /* PEM server certificate */
    char *http_tls_key;       /* PEM server key (mode 0600) */
    char *http_client_ca;     /* PEM CA(s) that client certificates chain to */
    long http_max_connections; /* default 16, 1..256 */
    icx_partner *partners;
    size_t npartners;
} icx_config;

/* Loads path and the partner files.  On failure *out is NULL, the return
 * is ICX_ECONFIG and errs (when not NULL) holds one line per error,
 * "file:line:col: key: what is wrong\n"; err->msg holds the first. */
int icx_config_load(icx_config **out, const char *path, icx_buf *errs,
                    icx_err *err);
void icx_config_free(icx_config **cfgp);

/* Only the control socket path of gateway.yaml (resolved), without
 * loading partners or checking certificates: commands that talk to a
 * running daemon must work while a partner file is being fixed.  *out is
 * malloc'ed; free() it. */
int icx_config_control_socket(char **out, const char *path, icx_err *err);

/* Key-table checks shared with other configuration files (conftab.h
 * check signature): a list id (lowercase letters, digits, dashes) and an
 * agency id. */
int icx_config_check_list_id(const char *v, const char *w, char *why,
                             size_t n);
int icx_config_check_agency(const char *v, const char *w, char *why,
                            size_t n);

/* The parser limits of limits: (size, depth and shape), for documents
 * from partners. */
void icx_config_xml_limits(icx_xml_limits *out, const icx_config *cfg);

/* The PEM file audit checkpoints are verified with: keys.audit_certificates
 * when set, else keys.certificate.  Borrowed, valid until
 * icx_config_free(). */
const char *icx_config_audit_certs(const icx_config *cfg);
/* 1 when address (an http.address value) is a loopback address:
 * 127.0.0.0/8, ::1 or "localhost". */
int icx_config_loopback(const char *address);

/* Partner by agency id; borrowed, valid until icx_config_free(). */
const icx_partner *icx_config_partner(const icx_config *cfg, const char *id);

/* The value of "key=value" in p->adapter_options, or NULL; borrowed, valid
 * until icx_config_free(). */
const char *icx_partner_option(const icx_partner *p, const char *key);

/* 1 when name is a built-in adapter ("zmq", "filedrop"). */
int icx_config_adapter_builtin(const char *name);

#endif
