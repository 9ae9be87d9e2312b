/*
 * config.c - gateway.yaml and partners/NAME.yaml (see config.h).
 *
 * What the keys are lives in two tables below (gateway_keys, partner_keys);
 * the generic walker in conftab.c applies them, with the value checks of
 * config_value.c (agency ids, endpoints, Z85 keys, certificates).  This
 * file adds what a table cannot say: the partner folder scan, and rules
 * that join keys or files (a hub route needs routing.hub, partner ids are
 * unique, retry bounds are ordered).  It is the top of the part.
 *
 * Relative paths resolve against the absolute directory of the file that
 * holds them; the config stores resolved paths.  Messages name files as the
 * caller passed them, so `icx config check -c config/gateway.yaml` reports
 * `config/partners/ph-nbi.yaml:12:5: ...`.
 *
 * Ownership: the loader owns everything until it hands the config out; on
 * any failure all of it is freed and *out stays NULL.  Single-threaded
 * while loading; the result is immutable.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include "conf_int.h"
#include "conftab.h"
#include "keys.h"
#include "p11.h"
#include "util.h"

/* ---- names ------------------------------------------------------------ */

static const char *const log_levels[] = {"debug", "info", "warn", "error",
                                         NULL};
static const char *const log_formats[] = {"text", "json", NULL};
static const char *const direction_names[] = {"connect", "accept", NULL};
static const char *const route_names[] = {"direct", "hub", NULL};

/* ---- a loaded config -------------------------------------------------- */

void icx_config_xml_limits(icx_xml_limits *out, const icx_config *cfg)
{
    *out = (icx_xml_limits){
        .max_bytes = (size_t)cfg->max_message_bytes,
        .max_depth = (int)cfg->max_depth,
        .max_attrs = (int)cfg->max_attrs,
        .max_ns_decls = (int)cfg->max_ns_decls,
        .max_attrs_total = cfg->max_attrs_total,
        .max_name = (int)cfg->max_name_bytes,
        .max_text = (size_t)cfg->max_text_bytes,
    };
}

const char *icx_config_audit_certs(const icx_config *cfg)
{
    return cfg->audit_certificates != NULL ? cfg->audit_certificates
                                           : cfg->certificate;
}

const icx_partner *icx_config_partner(const icx_config *cfg, const char *id)
{
    for (size_t i = 0; cfg != NULL && id != NULL && i < cfg->npartners; i++)
        if (cfg->partners[i].id != NULL && strcmp(cfg->partners[i].id, id) == 0)
            return &cfg->partners[i];
    return NULL;
}

const char *icx_partner_option(const icx_partner *p, const char *key)
{
    size_t kl = key != NULL ? strlen(key) : 0;
    for (size_t i = 0; p != NULL && kl > 0 && i < p->adapter_options.count;
         i++) {
        const char *o = p->adapter_options.items[i];
        if (strncmp(o, key, kl) == 0 && o[kl] == '=')
            return o + kl + 1;
    }
    return NULL;
}

/* ---- key tables ------------------------------------------------------- */

#define G(f) offsetof(icx_config, f)
#define P(f) offsetof(icx_partner, f)

/* store.path: a file, or a PostgreSQL URL; no other scheme. */
static int check_store_path(const char *value, const char *written,
                            char *why, size_t whylen)
{
    (void)value;
    if (strstr(written, "://") == NULL ||
        strncmp(written, "postgresql://", 13) == 0 ||
        strncmp(written, "postgres://", 11) == 0)
        return 0;
    snprintf(why, whylen, "want a file or a postgresql:// URL, got a URL "
             "of another scheme");
    return -1;
}

static const icx_conftab_key gateway_keys_keys[] = {
    {.name = "private_key", .type = ICX_CT_STRING, .offset = G(private_key),
     .required = 1, .check = icx_config_check_key_ref,
     .doc = "PEM private key file this gateway signs with (mode 0600), or "
            "an RFC 7512 pkcs11: URI of a key in a token (docs/KEYS.md)"},
    {.name = "pkcs11_module", .type = ICX_CT_PATH, .offset = G(pkcs11_module),
     .doc = "PKCS#11 module (shared object) of the token; required with a "
            "pkcs11: private_key"},
    {.name = "pin_file", .type = ICX_CT_PATH, .offset = G(pin_file),
     .check = icx_config_check_private,
     .doc = "file holding the token PIN on its first line (mode 0600)"},
    {.name = "pin_env", .type = ICX_CT_STRING, .offset = G(pin_env),
     .check = icx_config_check_env_name,
     .doc = "environment variable holding the token PIN (instead of "
            "pin_file)"},
    {.name = "certificate", .type = ICX_CT_PATH, .offset = G(certificate),
     .required = 1, .check = icx_config_check_cert,
     .doc = "PEM X.509 certificate of that key, as partners hold it"},
    {.name = "audit_certificates", .type = ICX_CT_PATH,
     .offset = G(audit_certificates), .check = icx_config_check_cert_bundle,
     .doc = "PEM file of every certificate this gateway's audit checkpoints "
            "were signed with (after a key rollover: the old and the new); "
            "default: certificate"},
    {.name = "curve_secret", .type = ICX_CT_PATH,
     .offset = G(curve_secret_file), .check = icx_config_check_private,
     .doc = "Z85 CURVE secret key file (mode 0600); required for zmq "
            "partners or listen"},
    {0}};

static const icx_conftab_key gateway_store_keys[] = {
    {.name = "path", .type = ICX_CT_PATH_URL, .offset = G(store_path),
     .def = "icx.db", .check = check_store_path,
     .doc = "SQLite store file, or a postgresql:// URL (several nodes on "
            "one database)"},
    {.name = "head", .type = ICX_CT_PATH, .offset = G(store_head),
     .doc = "PostgreSQL store: this node's head file (the last signed "
            "checkpoint it committed)"},
    {0}};

static const icx_conftab_key gateway_endpoint_keys[] = {
    {.name = "listen", .type = ICX_CT_STRING, .offset = G(listen),
     .check = icx_config_check_listen,
     .doc = "tcp://host:port to bind for partners"},
    {.name = "control", .type = ICX_CT_PATH, .offset = G(control_socket),
     .def = "icx.sock", .doc = "local control socket of icx serve"},
    {0}};

static const icx_conftab_key gateway_path_keys[] = {
    {.name = "partners", .type = ICX_CT_PATH, .offset = G(partners_dir),
     .def = "partners", .doc = "folder of partner files (*.yaml)"},
    {.name = "schemas", .type = ICX_CT_PATH, .offset = G(schemas_dir),
     .check = icx_config_check_dir,
     .doc = "XSD folder; default: the built-in one"},
    {.name = "adapters", .type = ICX_CT_PATH, .offset = G(adapters_dir),
     .check = icx_config_check_dir,
     .doc = "folder of external adapter modules"},
    {0}};

static const icx_conftab_key gateway_routing_keys[] = {
    {.name = "hub", .type = ICX_CT_STRING, .offset = G(hub),
     .check = icx_config_check_agency, .doc = "agency id of the hub (route: hub)"},
    {.name = "relay", .type = ICX_CT_BOOL, .offset = G(relay), .def = "false",
     .doc = "this gateway relays envelopes for others (the hub)"},
    {0}};

static const icx_conftab_key gateway_limit_keys[] = {
    {.name = "max_message_bytes", .type = ICX_CT_INT,
     .offset = G(max_message_bytes), .min = 1024, .max = 67108864,
     .def = "1048576", .doc = "largest envelope accepted or built"},
    {.name = "max_depth", .type = ICX_CT_INT, .offset = G(max_depth),
     .min = 8, .max = 256, .def = "64", .doc = "deepest XML nesting accepted"},
    {.name = "max_attributes_per_element", .type = ICX_CT_INT,
     .offset = G(max_attrs), .min = 8, .max = 256, .def = "64",
     .doc = "attributes of one element (namespace declarations apart)"},
    {.name = "max_namespaces_per_element", .type = ICX_CT_INT,
     .offset = G(max_ns_decls), .min = 4, .max = 256, .def = "32",
     .doc = "namespace declarations of one element"},
    {.name = "max_attributes_total", .type = ICX_CT_INT,
     .offset = G(max_attrs_total), .min = 0, .max = 10000000, .def = "0",
     .doc = "attributes and namespace declarations in one document "
            "(0: 100,000 per MiB of max_message_bytes)"},
    {.name = "max_name_bytes", .type = ICX_CT_INT,
     .offset = G(max_name_bytes), .min = 32, .max = 4096, .def = "256",
     .doc = "longest element or attribute name"},
    {.name = "max_text_bytes", .type = ICX_CT_INT,
     .offset = G(max_text_bytes), .min = 1024, .max = 67108864,
     .def = "262144", .doc = "longest text node or attribute value"},
    {0}};

static const icx_conftab_key gateway_policy_keys[] = {
    {.name = "created_past_seconds", .type = ICX_CT_INT,
     .offset = G(created_past_s), .min = 0, .max = 2592000, .def = "172800",
     .doc = "how far in the past Created may lie (covers partners' retry "
            "max_age_seconds, so a retried message is still fresh)"},
    {.name = "created_future_seconds", .type = ICX_CT_INT,
     .offset = G(created_future_s), .min = 0, .max = 3600, .def = "300",
     .doc = "how far in the future Created may lie (clock skew)"},
    {.name = "replay_retention_days", .type = ICX_CT_INT,
     .offset = G(replay_retention_days), .min = 1, .max = 3650, .def = "30",
     .doc = "how long seen MessageIds are kept"},
    {0}};

static const icx_conftab_key gateway_tsa_keys[] = {
    {.name = "url", .type = ICX_CT_STRING, .offset = G(tsa_url),
     .check = icx_config_check_http_url,
     .doc = "http(s) URL of the RFC 3161 Time-Stamping Authority"},
    {.name = "ca_file", .type = ICX_CT_PATH, .offset = G(tsa_ca_file),
     .check = icx_config_check_cert,
     .doc = "PEM CA certificate(s) the TSA's signing certificate chains to; "
            "required with url"},
    {.name = "policy", .type = ICX_CT_STRING, .offset = G(tsa_policy),
     .check = icx_config_check_oid,
     .doc = "TSA policy OID asked for and required in replies; default: "
            "the TSA's own"},
    {.name = "timeout_seconds", .type = ICX_CT_INT,
     .offset = G(tsa_timeout_s), .min = 1, .max = 120, .def = "10",
     .doc = "longest a time-stamp request may take"},
    {.name = "retry_seconds", .type = ICX_CT_INT, .offset = G(tsa_retry_s),
     .min = 1, .max = 86400, .def = "60",
     .doc = "wait after a failed request before the next"},
    {0}};

static const icx_conftab_key gateway_audit_keys[] = {
    {.name = "checkpoint_every", .type = ICX_CT_INT,
     .offset = G(checkpoint_every), .min = 1, .max = 1000000, .def = "1000",
     .doc = "records between signed checkpoints"},
    {.name = "checkpoint_seconds", .type = ICX_CT_INT,
     .offset = G(checkpoint_seconds), .min = 1, .max = 86400, .def = "60",
     .doc = "seconds between signed checkpoints"},
    {.name = "witness_seconds", .type = ICX_CT_INT,
     .offset = G(witness_seconds), .min = 0, .max = 86400, .def = "0",
     .doc = "seconds between sending the latest checkpoint to the partners "
            "with audit-checkpoint in categories_out (0: never)"},
    {.name = "tsa", .type = ICX_CT_MAPPING, .sub = gateway_tsa_keys,
     .doc = "RFC 3161 time-stamps of the checkpoints"},
    {0}};

static int check_http_address(const char *v, const char *w, char *why,
                              size_t n)
{
    unsigned char addr[sizeof(struct in6_addr)];
    (void)w;
    if (strcmp(v, "localhost") == 0 || inet_pton(AF_INET, v, addr) == 1 ||
        inet_pton(AF_INET6, v, addr) == 1)
        return 0;
    snprintf(why, n, "\"%.64s\" is not an IP address or "
             "localhost", v);
    return -1;
}

int icx_config_loopback(const char *address)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (address == NULL)
        return 0;
    if (strcmp(address, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, address, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, address, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

static const icx_conftab_key gateway_http_keys[] = {
    {.name = "address", .type = ICX_CT_STRING, .offset = G(http_address),
     .def = "127.0.0.1", .check = check_http_address,
     .doc = "IP address the dashboard binds; not loopback only with TLS "
            "and client certificates"},
    {.name = "port", .type = ICX_CT_INT, .offset = G(http_port), .min = 0,
     .max = 65535, .def = "8080", .doc = "TCP port (0: any free port)"},
    {.name = "tls_certificate", .type = ICX_CT_PATH,
     .offset = G(http_tls_certificate), .check = icx_config_check_cert,
     .doc = "PEM certificate of the dashboard (turns TLS on)"},
    {.name = "tls_key", .type = ICX_CT_PATH, .offset = G(http_tls_key),
     .check = icx_config_check_private,
     .doc = "PEM private key of that certificate (mode 0600)"},
    {.name = "client_ca", .type = ICX_CT_PATH, .offset = G(http_client_ca),
     .check = icx_config_check_cert,
     .doc = "PEM CA certificate(s); every client must present a "
            "certificate issued by one"},
    {.name = "max_connections", .type = ICX_CT_INT,
     .offset = G(http_max_connections), .min = 1, .max = 256, .def = "16",
     .doc = "connections served at once; more are refused"},
    {0}};

static const icx_conftab_key gateway_keys[] = {
    {.name = "id", .type = ICX_CT_STRING, .offset = G(id), .required = 1,
     .check = icx_config_check_agency, .doc = "this gateway's agency id"},
    {.name = "keys", .type = ICX_CT_MAPPING, .sub = gateway_keys_keys,
     .doc = "signing key, certificate, CURVE key"},
    {.name = "store", .type = ICX_CT_MAPPING, .sub = gateway_store_keys,
     .doc = "message store"},
    {.name = "endpoints", .type = ICX_CT_MAPPING, .sub = gateway_endpoint_keys,
     .doc = "network and control endpoints"},
    {.name = "paths", .type = ICX_CT_MAPPING, .sub = gateway_path_keys,
     .doc = "folders"},
    {.name = "routing", .type = ICX_CT_MAPPING, .sub = gateway_routing_keys,
     .doc = "hub and relaying"},
    {.name = "limits", .type = ICX_CT_MAPPING, .sub = gateway_limit_keys,
     .doc = "size and depth limits"},
    {.name = "policy", .type = ICX_CT_MAPPING, .sub = gateway_policy_keys,
     .doc = "verification windows"},
    {.name = "workers", .type = ICX_CT_INT, .offset = G(workers), .min = 1,
     .max = 64, .def = "2", .doc = "signing and verification threads"},
    {.name = "audit", .type = ICX_CT_MAPPING, .sub = gateway_audit_keys,
     .doc = "audit log checkpoints"},
    {.name = "log_level", .type = ICX_CT_STRING, .offset = G(log_level),
     .names = log_levels, .def = "info", .doc = "lowest level logged"},
    {.name = "log_format", .type = ICX_CT_STRING, .offset = G(log_format),
     .names = log_formats, .def = "text",
     .doc = "text (key=value) or json; --log-format overrides"},
    {.name = "http", .type = ICX_CT_MAPPING, .sub = gateway_http_keys,
     .doc = "read-only dashboard and /metrics (docs/DASHBOARD.md)"},
    {0}};

static const icx_conftab_key partner_zmq_keys[] = {
    {.name = "endpoint", .type = ICX_CT_STRING, .offset = P(endpoint),
     .check = icx_config_check_connect,
     .doc = "tcp://host:port of the partner; required for connect"},
    {.name = "direction", .type = ICX_CT_ENUM, .offset = P(direction),
     .names = direction_names, .def = "connect",
     .doc = "connect: we dial the partner; accept: it dials our listen"},
    {.name = "curve_public_key", .type = ICX_CT_STRING,
     .offset = P(curve_public_key), .check = icx_config_check_z85,
     .doc = "partner's CURVE public key, 40 characters of Z85"},
    {0}};

static const icx_conftab_key partner_filedrop_keys[] = {
    {.name = "outbox", .type = ICX_CT_PATH, .offset = P(filedrop_outbox),
     .doc = "folder we write signed envelopes and receipts to; required"},
    {.name = "inbox", .type = ICX_CT_PATH, .offset = P(filedrop_inbox),
     .doc = "folder we read the partner's files from; required"},
    {.name = "poll_ms", .type = ICX_CT_INT, .offset = P(filedrop_poll_ms),
     .min = 50, .max = 3600000, .def = "1000",
     .doc = "how often the inbox is scanned"},
    {.name = "answer_seconds", .type = ICX_CT_INT,
     .offset = P(filedrop_answer_s), .min = 1, .max = 86400, .def = "60",
     .doc = "wait for the gateway's receipt to a file before handing it "
            "over again"},
    {0}};

static const icx_conftab_key partner_limit_keys[] = {
    {.name = "max_message_bytes", .type = ICX_CT_INT, .offset = P(in_max_bytes),
     .min = 0, .max = 67108864, .def = "0",
     .doc = "largest envelope accepted from the partner (0: the gateway's)"},
    {.name = "messages_per_second", .type = ICX_CT_INT, .offset = P(in_rate),
     .min = 1, .max = 100000, .def = "5000",
     .doc = "sustained inbound rate; beyond it frames are dropped"},
    {.name = "burst", .type = ICX_CT_INT, .offset = P(in_burst), .min = 1,
     .max = 1000000, .def = "10000",
     .doc = "frames accepted at once above the rate"},
    {.name = "max_connections", .type = ICX_CT_INT, .offset = P(in_max_conns),
     .min = 1, .max = 64, .def = "4",
     .doc = "connections the partner may hold open to this gateway at once"},
    {0}};

static const icx_conftab_key partner_retry_keys[] = {
    {.name = "initial_seconds", .type = ICX_CT_INT,
     .offset = P(retry_initial_s), .min = 1, .max = 3600, .def = "5",
     .doc = "first retry delay"},
    {.name = "max_seconds", .type = ICX_CT_INT, .offset = P(retry_max_s),
     .min = 1, .max = 86400, .def = "600",
     .doc = "longest retry delay (>= initial_seconds)"},
    {.name = "max_age_seconds", .type = ICX_CT_INT, .offset = P(max_age_s),
     .min = 60, .max = 2592000, .def = "86400",
     .doc = "give up delivery after this long"},
    {0}};

static const icx_conftab_key partner_keys[] = {
    {.name = "id", .type = ICX_CT_STRING, .offset = P(id), .required = 1,
     .check = icx_config_check_agency, .doc = "partner agency id, unique"},
    {.name = "name", .type = ICX_CT_STRING, .offset = P(name), .def = "",
     .doc = "display name"},
    {.name = "certificate", .type = ICX_CT_PATH, .offset = P(certificate),
     .required = 1, .check = icx_config_check_cert,
     .doc = "partner's PEM X.509 certificate: the only key trusted for it"},
    {.name = "certificate_next", .type = ICX_CT_PATH,
     .offset = P(certificate_next), .check = icx_config_check_cert,
     .doc = "the partner's next certificate during a key rollover: "
            "envelopes verified by either certificate are accepted "
            "(docs/KEYS.md)"},
    {.name = "adapter", .type = ICX_CT_STRING, .offset = P(adapter),
     .check = icx_config_check_adapter, .def = "zmq",
     .doc = "transport: zmq, filedrop or an external module's name"},
    {.name = "zmq", .type = ICX_CT_MAPPING, .sub = partner_zmq_keys,
     .doc = "settings of the zmq adapter"},
    {.name = "filedrop", .type = ICX_CT_MAPPING, .sub = partner_filedrop_keys,
     .doc = "settings of the filedrop adapter"},
    {.name = "adapter_options", .type = ICX_CT_STRLIST,
     .offset = P(adapter_options), .check = icx_config_check_option,
     .doc = "settings of an external adapter, key=value each"},
    {.name = "route", .type = ICX_CT_ENUM, .offset = P(route),
     .names = route_names, .def = "direct",
     .doc = "direct, or hub: envelopes travel via routing.hub"},
    {.name = "categories_in", .type = ICX_CT_STRLIST,
     .offset = P(categories_in), .check = icx_config_check_category,
     .doc = "categories accepted from the partner"},
    {.name = "categories_out", .type = ICX_CT_STRLIST,
     .offset = P(categories_out), .check = icx_config_check_category,
     .doc = "categories that may be sent to the partner"},
    {.name = "lists", .type = ICX_CT_STRLIST, .offset = P(lists),
     .check = icx_config_check_list_id, .doc = "lists the partner may pull"},
    {.name = "max_tlp", .type = ICX_CT_ENUM, .offset = P(max_tlp),
     .names = icx_config_tlp_names, .def = "AMBER",
     .doc = "highest TLP label sent to the partner"},
    {.name = "max_handling", .type = ICX_CT_ENUM, .offset = P(max_hcode),
     .names = icx_config_hcode_names, .def = "H2",
     .doc = "highest handling code sent to the partner"},
    {.name = "withhold", .type = ICX_CT_STRLIST, .offset = P(withhold),
     .check = icx_config_check_field,
     .doc = "payload fields never sent to the partner"},
    {.name = "retry", .type = ICX_CT_MAPPING, .sub = partner_retry_keys,
     .doc = "delivery retries"},
    {.name = "limits", .type = ICX_CT_MAPPING, .sub = partner_limit_keys,
     .doc = "inbound limits for this partner"},
    {0}};

/* ---- loading ---------------------------------------------------------- */

static void partner_release(icx_partner *p)
{
    icx_conftab_release(p, partner_keys);
    free(p->source_file);
    p->source_file = NULL;
}

void icx_config_free(icx_config **cfgp)
{
    icx_config *cfg = *cfgp;
    if (cfg == NULL)
        return;
    icx_conftab_release(cfg, gateway_keys);
    for (size_t i = 0; i < cfg->npartners; i++)
        partner_release(&cfg->partners[i]);
    free(cfg->partners);
    free(cfg->path);
    free(cfg->base_dir);
    free(cfg);
    *cfgp = NULL;
}

/* The node of a dotted key, else the innermost mapping on its way: where a
 * message about that key should point. */
static const icx_conftab_node *spot(const icx_conftab_node *root,
                                    const char *dotted)
{
    const icx_conftab_node *n = icx_conftab_find(root, dotted);
    if (n != NULL)
        return n;
    const char *dot = strrchr(dotted, '.');
    if (dot != NULL) {
        char parent[128];
        snprintf(parent, sizeof parent, "%.*s", (int)(dot - dotted), dotted);
        n = icx_conftab_find(root, parent);
        if (n != NULL && n->kind == ICX_CN_MAP)
            return n;
    }
    return root;
}

/* A key with no usable value and no message about it yet. */
static int unset(const icx_conftab_node *root, const char *dotted)
{
    const icx_conftab_node *n = icx_conftab_find(root, dotted);
    return n == NULL || icx_conftab_is_empty(n);
}

/* filedrop: both folders, and an inbox no other partner reads from: the
 * folder a file is found in is the identity of its sender. */
static void check_filedrop(icx_config *cfg, size_t idx,
                           const icx_conftab_node *root, icx_conftab_file *f)
{
    const icx_partner *p = &cfg->partners[idx];
    if (p->filedrop_outbox == NULL && unset(root, "filedrop.outbox"))
        icx_conftab_error(f, spot(root, "filedrop.outbox"), "filedrop.outbox",
                          "required when adapter is filedrop");
    if (p->filedrop_inbox == NULL && unset(root, "filedrop.inbox"))
        icx_conftab_error(f, spot(root, "filedrop.inbox"), "filedrop.inbox",
                          "required when adapter is filedrop");
    if (p->filedrop_inbox == NULL)
        return;
    if (p->filedrop_outbox != NULL &&
        strcmp(p->filedrop_inbox, p->filedrop_outbox) == 0)
        icx_conftab_error(f, spot(root, "filedrop.inbox"), "filedrop.inbox",
                          "is also filedrop.outbox");
    for (size_t i = 0; i < idx; i++) {
        const icx_partner *o = &cfg->partners[i];
        if (o->adapter != NULL && strcmp(o->adapter, "filedrop") == 0 &&
            o->filedrop_inbox != NULL &&
            strcmp(o->filedrop_inbox, p->filedrop_inbox) == 0) {
            icx_conftab_error(f, spot(root, "filedrop.inbox"),
                              "filedrop.inbox",
                              "also the inbox of partner %s (in %s); the "
                              "folder is the sender's identity",
                              o->id ? o->id : "?", o->source_file);
            break;
        }
    }
}

/* An external adapter: the module must be where the registry looks. */
static void check_module(icx_config *cfg, const icx_partner *p,
                         const icx_conftab_node *root, icx_conftab_file *f)
{
    struct stat st;
    char path[PATH_MAX];
    if (cfg->adapters_dir == NULL) {
        icx_conftab_error(f, spot(root, "adapter"), "adapter",
                          "\"%s\" is not built in (zmq|filedrop) and "
                          "paths.adapters is not set in gateway.yaml",
                          p->adapter);
        return;
    }
    snprintf(path, sizeof path, "%s/icx_adapter_%s.so", cfg->adapters_dir,
             p->adapter);
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        icx_conftab_error(f, spot(root, "adapter"), "adapter",
                          "no module icx_adapter_%s.so in paths.adapters "
                          "(%s)", p->adapter, cfg->adapters_dir);
}

static void check_partner(icx_config *cfg, size_t idx,
                          const icx_conftab_node *root, icx_conftab_file *f)
{
    icx_partner *p = &cfg->partners[idx];

    if (p->id != NULL) {
        for (size_t i = 0; i < idx; i++) {
            if (cfg->partners[i].id != NULL &&
                strcmp(cfg->partners[i].id, p->id) == 0) {
                icx_conftab_error(f, spot(root, "id"), "id",
                                  "duplicate partner id \"%s\" (also in %s)",
                                  p->id, cfg->partners[i].source_file);
                break;
            }
        }
        if (cfg->id != NULL && strcmp(cfg->id, p->id) == 0)
            icx_conftab_error(f, spot(root, "id"), "id",
                              "\"%s\" is this gateway's own id", p->id);
    }
    if (p->adapter != NULL && strcmp(p->adapter, "zmq") == 0) {
        if (p->curve_public_key == NULL && unset(root, "zmq.curve_public_key"))
            icx_conftab_error(f, spot(root, "zmq.curve_public_key"),
                              "zmq.curve_public_key",
                              "required when adapter is zmq");
        if (p->direction == ICX_DIR_CONNECT && p->endpoint == NULL &&
            unset(root, "zmq.endpoint"))
            icx_conftab_error(f, spot(root, "zmq.endpoint"), "zmq.endpoint",
                              "required when direction is connect");
        if (p->direction == ICX_DIR_ACCEPT && cfg->listen == NULL)
            icx_conftab_error(f, spot(root, "zmq.direction"), "zmq.direction",
                              "accept needs endpoints.listen in gateway.yaml");
    }
    if (p->certificate != NULL && p->certificate_next != NULL) {
        char a[65], b[65];
        icx_err e;
        icx_err_clear(&e);
        if (icx_keys_cert_fingerprint(a, p->certificate, &e) == ICX_OK &&
            icx_keys_cert_fingerprint(b, p->certificate_next, &e) == ICX_OK &&
            strcmp(a, b) == 0)
            icx_conftab_error(f, spot(root, "certificate_next"),
                              "certificate_next", "the same certificate as "
                              "certificate (sha256 %s); name the partner's "
                              "new one, or remove the key", a);
    }
    if (p->adapter != NULL && strcmp(p->adapter, "filedrop") == 0)
        check_filedrop(cfg, idx, root, f);
    else if (p->adapter != NULL && !icx_config_adapter_builtin(p->adapter))
        check_module(cfg, p, root, f);
    if (p->route == ICX_ROUTE_HUB) {
        if (cfg->hub == NULL)
            icx_conftab_error(f, spot(root, "route"), "route",
                              "hub needs routing.hub in gateway.yaml");
        else if (p->id != NULL && strcmp(p->id, cfg->hub) == 0)
            icx_conftab_error(f, spot(root, "route"), "route",
                              "hub, but this partner is the hub");
    }
    if (p->retry_max_s < p->retry_initial_s)
        icx_conftab_error(f, spot(root, "retry.max_seconds"),
                          "retry.max_seconds",
                          "%ld is less than retry.initial_seconds (%ld)",
                          p->retry_max_s, p->retry_initial_s);
}

static int yaml_name(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 5 &&
           strcmp(d->d_name + n - 5, ".yaml") == 0;
}

/* Loads every partners/NAME.yaml.  disp_dir names the folder in messages. */
static int load_partners(icx_config *cfg, const icx_conftab_node *groot,
                         const char *disp_dir, icx_conftab_file *gf)
{
    struct dirent **names = NULL;
    int n = 0, rc = ICX_OK;
    const icx_conftab_node *at = icx_conftab_find(groot, "paths.partners");
    int explicit = at != NULL && !icx_conftab_is_empty(at);

    if (cfg->partners_dir == NULL)
        return ICX_OK; /* its value was refused and reported */
    n = scandir(cfg->partners_dir, &names, yaml_name, alphasort);
    if (n < 0) {
        if (errno == ENOMEM)
            return ICX_ENOMEM;
        if (errno != ENOENT || explicit)
            icx_conftab_error(gf, spot(groot, "paths.partners"),
                              "paths.partners", "cannot list \"%s\": %s",
                              disp_dir, strerror(errno));
        return ICX_OK;
    }
    if (n > ICX_CONFIG_MAX_PARTNERS) {
        icx_conftab_error(gf, spot(groot, "paths.partners"), "paths.partners",
                          "%d partner files, limit is %d", n,
                          ICX_CONFIG_MAX_PARTNERS);
        goto out;
    }
    if (n > 0) {
        cfg->partners = calloc((size_t)n, sizeof *cfg->partners);
        if (cfg->partners == NULL) {
            rc = ICX_ENOMEM;
            goto out;
        }
    }
    for (int i = 0; i < n && rc == ICX_OK; i++) {
        icx_partner *p = &cfg->partners[cfg->npartners++];
        icx_conftab_node *root = NULL;
        char *file = NULL;
        size_t dl = strlen(disp_dir), len;

        len = dl + 1 + strlen(names[i]->d_name) + 1;
        p->source_file = malloc(len);
        file = icx_conftab_resolve(cfg->partners_dir, names[i]->d_name);
        if (p->source_file == NULL || file == NULL) {
            free(file);
            rc = ICX_ENOMEM;
            break;
        }
        snprintf(p->source_file, len, "%s%s%s", disp_dir,
                 dl == 0 || disp_dir[dl - 1] == '/' ? "" : "/",
                 names[i]->d_name);
        icx_conftab_file pf = {.display = p->source_file,
                               .base_dir = cfg->partners_dir,
                               .index = i + 1,
                               .diag = gf->diag};
        rc = icx_conftab_parse(&root, file, ICX_CONFIG_MAX_BYTES, &pf);
        if (rc == ICX_OK && root != NULL) {
            rc = icx_conftab_apply(p, partner_keys, root, &pf);
            if (rc == ICX_OK)
                check_partner(cfg, cfg->npartners - 1, root, &pf);
        }
        icx_conftab_node_free(&root);
        free(file);
    }
out:
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* keys.private_key is a key file (resolved against the file, mode rule)
 * or a pkcs11: URI (its module and one PIN source then required).  The
 * token itself is opened by `icx config check` and `icx serve`, not by
 * every command that loads the configuration. */
static int check_signing_key(icx_config *cfg, const icx_conftab_node *root,
                             icx_conftab_file *f)
{
    const icx_conftab_node *at = spot(root, "keys.private_key");
    char why[ICX_CONFTAB_MSG_MAX / 2];
    if (cfg->private_key == NULL)
        return ICX_OK;
    if (!icx_p11_uri_is(cfg->private_key)) {
        char *p = icx_conftab_resolve(f->base_dir, cfg->private_key);
        if (p == NULL)
            return ICX_ENOMEM;
        free(cfg->private_key);
        cfg->private_key = p;
        if (icx_config_check_private(p, at->text, why, sizeof why) < 0)
            icx_conftab_error(f, at, "keys.private_key", "%s", why);
        if (cfg->pkcs11_module != NULL || cfg->pin_file != NULL ||
            cfg->pin_env != NULL)
            icx_conftab_error(f, spot(root, cfg->pkcs11_module != NULL
                                                ? "keys.pkcs11_module"
                                            : cfg->pin_file != NULL
                                                ? "keys.pin_file"
                                                : "keys.pin_env"),
                              cfg->pkcs11_module != NULL ? "keys.pkcs11_module"
                              : cfg->pin_file != NULL    ? "keys.pin_file"
                                                         : "keys.pin_env",
                              "only for a key in a token (keys.private_key: "
                              "pkcs11:...)");
        return ICX_OK;
    }
    icx_p11_uri u;
    icx_err e;
    icx_err_clear(&e);
    if (icx_p11_uri_parse(&u, cfg->private_key, &e) < 0)
        return ICX_OK; /* said by the key's check */
    if (cfg->pkcs11_module == NULL)
        icx_conftab_error(f, at, "keys.pkcs11_module", "required when "
                          "keys.private_key is a pkcs11: URI (the token's "
                          "module, e.g. /usr/lib/softhsm/libsofthsm2.so)");
    int sources = (cfg->pin_file != NULL) + (cfg->pin_env != NULL) +
                  (u.pin_source[0] != '\0');
    if (sources == 0)
        icx_conftab_error(f, at, "keys.pin_file", "a key in a token needs "
                          "its PIN: set keys.pin_file (mode 0600) or "
                          "keys.pin_env");
    else if (sources > 1)
        icx_conftab_error(f, at, "keys.pin_file", "more than one PIN source "
                          "(keys.pin_file, keys.pin_env, pin-source in the "
                          "URI); keep one");
    if (u.pin_source[0] != '\0' &&
        icx_config_check_private(u.pin_source, u.pin_source, why,
                                 sizeof why) < 0)
        icx_conftab_error(f, at, "keys.private_key", "pin-source %s", why);
    return ICX_OK;
}

/* The dashboard: on when http: is present; off loopback only with TLS
 * and required client certificates (all three files or none). */
static void check_http(icx_config *cfg, const icx_conftab_node *root,
                       icx_conftab_file *f)
{
    const icx_conftab_node *h = icx_conftab_find(root, "http");
    cfg->http_enabled = h != NULL;
    if (!cfg->http_enabled)
        return;
    int tls = (cfg->http_tls_certificate != NULL) +
              (cfg->http_tls_key != NULL) + (cfg->http_client_ca != NULL);
    if (tls != 0 && tls != 3)
        icx_conftab_error(f, spot(root, "http.tls_certificate"),
                          "http.tls_certificate",
                          "TLS needs http.tls_certificate, http.tls_key and "
                          "http.client_ca together");
    else if (tls == 0 && !icx_config_loopback(cfg->http_address))
        icx_conftab_error(f, spot(root, "http.address"), "http.address",
                          "%s is not a loopback address: set "
                          "http.tls_certificate, http.tls_key and "
                          "http.client_ca (client certificates required) or "
                          "bind 127.0.0.1", cfg->http_address);
}

static void check_gateway(icx_config *cfg, const icx_conftab_node *root,
                          icx_conftab_file *f)
{
    int zmq = cfg->listen != NULL;
    for (size_t i = 0; i < cfg->npartners; i++)
        if (cfg->partners[i].adapter != NULL &&
            strcmp(cfg->partners[i].adapter, "zmq") == 0)
            zmq = 1;
    if (zmq && cfg->curve_secret_file == NULL && unset(root, "keys.curve_secret"))
        icx_conftab_error(f, spot(root, "keys.curve_secret"),
                          "keys.curve_secret",
                          "required when endpoints.listen is set or a "
                          "partner uses adapter zmq");
    /* A replayed envelope must meet the replay cache before it can pass the
     * freshness window, so the cache outlives the window. */
    if (cfg->replay_retention_days * 86400L <= cfg->created_past_s)
        icx_conftab_error(f, spot(root, "policy.replay_retention_days"),
                          "policy.replay_retention_days",
                          "%ld days do not outlast policy.created_past_seconds "
                          "(%ld s); replays could pass unnoticed",
                          cfg->replay_retention_days, cfg->created_past_s);
    if (!unset(root, "audit.tsa.url") && cfg->tsa_ca_file == NULL &&
        unset(root, "audit.tsa.ca_file"))
        icx_conftab_error(f, spot(root, "audit.tsa.ca_file"),
                          "audit.tsa.ca_file", "required when audit.tsa.url "
                          "is set: replies are checked against it");
    check_http(cfg, root, f);
    if (cfg->hub != NULL) {
        if (cfg->id != NULL && strcmp(cfg->hub, cfg->id) == 0)
            icx_conftab_error(f, spot(root, "routing.hub"), "routing.hub",
                              "\"%s\" is this gateway's own id", cfg->hub);
        else if (icx_config_partner(cfg, cfg->hub) == NULL)
            icx_conftab_error(f, spot(root, "routing.hub"), "routing.hub",
                              "no partner file has id \"%s\"", cfg->hub);
    }
}

/* Absolute directory of path (which need not exist yet). */
static char *abs_dir_of(const char *path)
{
    char dir[PATH_MAX];
    char real[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (realpath(dir, real) != NULL)
        return strdup(real);
    return strdup(dir);
}

/* Applies the gateway table to root, then loads and checks the partners.
 * Returns ICX_ENOMEM or ICX_OK; problems are diagnostics. */
static int load_tree(icx_config *cfg, const icx_conftab_node *root,
                     const char *path, icx_conftab_file *gf)
{
    char *disp_dir = NULL;
    int rc = icx_conftab_apply(cfg, gateway_keys, root, gf);
    if (rc < 0)
        goto out;

    /* Partner files are named in messages the way path was given. */
    const icx_conftab_node *pn = icx_conftab_find(root, "paths.partners");
    const char *written = pn != NULL && pn->kind == ICX_CN_SCALAR &&
                                  !icx_conftab_is_empty(pn)
                              ? pn->text
                              : "partners";
    const char *slash = strrchr(path, '/');
    if (written[0] == '/' || slash == NULL) {
        disp_dir = strdup(written);
    } else {
        int dl = (int)(slash - path);
        size_t len = (size_t)dl + 1 + strlen(written) + 1;
        disp_dir = malloc(len);
        if (disp_dir != NULL)
            snprintf(disp_dir, len, "%.*s/%s", dl, path, written);
    }
    if (disp_dir == NULL) {
        rc = ICX_ENOMEM;
        goto out;
    }
    rc = load_partners(cfg, root, disp_dir, gf);
    if (rc < 0)
        goto out;
    rc = check_signing_key(cfg, root, gf);
    if (rc < 0)
        goto out;
    check_gateway(cfg, root, gf);
out:
    free(disp_dir);
    return rc;
}

int icx_config_load(icx_config **out, const char *path, icx_buf *errs,
                    icx_err *err)
{
    icx_config *cfg = NULL;
    icx_conftab_diag diag = {0};
    icx_conftab_node *root = NULL;
    int rc = ICX_OK;

    *out = NULL;
    cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL) {
        rc = ICX_ENOMEM;
        goto out;
    }
    cfg->path = strdup(path);
    cfg->base_dir = abs_dir_of(path);
    if (cfg->path == NULL || cfg->base_dir == NULL) {
        rc = ICX_ENOMEM;
        goto out;
    }
    icx_conftab_file gf = {.display = path, .base_dir = cfg->base_dir,
                           .index = 0, .diag = &diag};
    rc = icx_conftab_parse(&root, path, ICX_CONFIG_MAX_BYTES, &gf);
    if (rc == ICX_OK && root != NULL)
        rc = load_tree(cfg, root, path, &gf);
    if (rc < 0 || diag.oom) {
        rc = ICX_ENOMEM;
        goto out;
    }
    if (icx_conftab_diag_emit(&diag, errs, err) > 0) {
        rc = ICX_ECONFIG;
        goto out;
    }
    *out = cfg;
    cfg = NULL;
out:
    if (rc == ICX_ENOMEM)
        icx_err_set(err, ICX_ENOMEM, "%s: out of memory while loading", path);
    icx_config_free(&cfg);
    icx_conftab_node_free(&root);
    icx_conftab_diag_free(&diag);
    return rc;
}

int icx_config_control_socket(char **out, const char *path, icx_err *err)
{
    icx_conftab_diag diag = {0};
    icx_conftab_node *root = NULL;
    char *dir = abs_dir_of(path);
    int rc = ICX_OK;
    *out = NULL;
    if (dir == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    icx_conftab_file gf = {.display = path, .base_dir = dir, .index = 0,
                           .diag = &diag};
    rc = icx_conftab_parse(&root, path, ICX_CONFIG_MAX_BYTES, &gf);
    if (rc == ICX_OK && root == NULL)
        rc = ICX_ECONFIG;
    if (rc == ICX_OK) {
        const icx_conftab_node *n = icx_conftab_find(root, "endpoints.control");
        const char *p = n != NULL && n->kind == ICX_CN_SCALAR &&
                                !icx_conftab_is_empty(n)
                            ? n->text
                            : "icx.sock";
        *out = icx_conftab_resolve(dir, p);
        if (*out == NULL)
            rc = ICX_ENOMEM;
    }
    if (rc < 0)
        icx_err_set(err, rc == ICX_ENOMEM ? ICX_ENOMEM : ICX_ECONFIG,
                    "%s: cannot read endpoints.control (run icx config check "
                    "-c %s)", path, path);
    icx_conftab_node_free(&root);
    icx_conftab_diag_free(&diag);
    free(dir);
    return rc < 0 ? (rc == ICX_ENOMEM ? ICX_ENOMEM : ICX_ECONFIG) : ICX_OK;
}
