/*
 * conf_int.h - declarations shared by the files of conf/, not by other
 * parts (they include config.h or conftab.h).
 *
 * The files, from the bottom up: conftab_tree.c (YAML tree, diagnostics),
 * conftab.c (key-table walker, string lists), config_value.c (names and
 * value checks), config.c (the tables, gateway and partner loading).  A
 * file calls only those below it; see README.md.
 */
#ifndef ICX_CONF_INT_H
#define ICX_CONF_INT_H

#include <stddef.h>

/* Buffer sizes of the tree and the walker: a diagnostic line (a value
 * check's reason gets half of it) and a dotted key name. */
#define ICX_CONFTAB_MSG_MAX 2048
#define ICX_CONFTAB_NAME_MAX 256

/* config_value.c: allowed names, NULL-terminated, in enum order. */
extern const char *const icx_config_tlp_names[];   /* enum icx_tlp */
extern const char *const icx_config_hcode_names[]; /* H0..H3 */

/* config_value.c: value checks for the key tables of config.c
 * (icx_conftab_check; icx_config_check_agency and _list_id are public in
 * config.h).  0 when fine, else -1 with the reason in why. */
int icx_config_check_listen(const char *v, const char *w, char *why,
                            size_t n);
int icx_config_check_connect(const char *v, const char *w, char *why,
                             size_t n);
int icx_config_check_z85(const char *v, const char *w, char *why, size_t n);
int icx_config_check_category(const char *v, const char *w, char *why,
                              size_t n);
int icx_config_check_field(const char *v, const char *w, char *why,
                           size_t n);
int icx_config_check_dir(const char *v, const char *w, char *why, size_t n);
int icx_config_check_adapter(const char *v, const char *w, char *why,
                             size_t n);
int icx_config_check_option(const char *v, const char *w, char *why,
                            size_t n);
/* A PEM X.509 certificate valid now, with a key of the minimum strength. */
int icx_config_check_cert(const char *v, const char *w, char *why, size_t n);
/* http:// or https://, printable ASCII without spaces, < 1024 bytes. */
int icx_config_check_http_url(const char *v, const char *w, char *why,
                              size_t n);
/* A dotted OID: digits, at least two arcs. */
int icx_config_check_oid(const char *v, const char *w, char *why, size_t n);
/* A private key file's mode, as icx serve checks it; absent is fine. */
int icx_config_check_private(const char *v, const char *w, char *why,
                             size_t n);

/* A PEM file of 1..16 X.509 certificates, each of the minimum strength. */
int icx_config_check_cert_bundle(const char *v, const char *w, char *why,
                                 size_t n);
/* keys.private_key: a pkcs11: URI must parse; a path is checked by
 * config.c once resolved. */
int icx_config_check_key_ref(const char *v, const char *w, char *why,
                             size_t n);
/* An environment variable name: [A-Za-z_][A-Za-z0-9_]*, at most 64. */
int icx_config_check_env_name(const char *v, const char *w, char *why,
                              size_t n);

#endif
