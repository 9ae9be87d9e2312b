/*
 * cli.h - the command families of the icx program.
 *
 * Each family takes argc/argv starting at its own name ("keys", "gen", ...)
 * and returns the process exit code.  Only this folder may exit the process.
 *
 * Exit codes (README "Exit codes"):
 *   0  success
 *   1  the thing checked was refused (verification failed, config invalid,
 *      policy refused)
 *   2  usage error (unknown command, bad option)
 *   3  environment or internal failure (I/O, memory, crypto library)
 *   4  no daemon is running (commands that talk to icx serve)
 */
#ifndef ICX_CLI_H
#define ICX_CLI_H

#include <stddef.h>

#include "buf.h"
#include "mapping.h"

enum { ICX_EXIT_OK = 0, ICX_EXIT_REFUSED = 1, ICX_EXIT_USAGE = 2,
       ICX_EXIT_FAILURE = 3, ICX_EXIT_NODAEMON = 4 };

int icx_cmd_config(int argc, char **argv);
int icx_cmd_keys(int argc, char **argv);
int icx_cmd_envelope(int argc, char **argv);
int icx_cmd_translate(int argc, char **argv);
int icx_cmd_serve(int argc, char **argv);
int icx_cmd_signer(int argc, char **argv);
int icx_cmd_audit(int argc, char **argv);
/* `icx audit witness-export|witness-import|witnesses` (cmd_witness.c). */
int icx_cmd_audit_witness(int argc, char **argv);
/* store check: the start-up check of icx serve, offline (cmd_store.c). */
int icx_cmd_store(int argc, char **argv);
int icx_cmd_survey(int argc, char **argv);
int icx_cmd_submit(int argc, char **argv);
/* status, outbox, inbox, partners: read-only questions to the daemon. */
int icx_cmd_query(int argc, char **argv);
/* inbox export: accepted case payloads in a profile's domestic columns,
 * read from the store (argv[0] is "export"). */
int icx_cmd_inbox_export(int argc, char **argv);
/* inbox show ID: one received message, header and payload, read from the
 * store (argv[0] is "show"; cmd_inbox.c). */
int icx_cmd_inbox_show(int argc, char **argv);
/* lists import|reset|show|diff|history|export|status; pull PARTNER LIST */
int icx_cmd_lists(int argc, char **argv);
int icx_cmd_pull(int argc, char **argv);

/* The gateway file a command uses when it is given no -c: $ICX_CONFIG when
 * set and not empty, else ICX_CLI_DEFAULT_CONFIG.  The result lives as long
 * as the process environment is not changed. */
#define ICX_CLI_DEFAULT_CONFIG "/etc/icx/gateway.yaml"
const char *icx_cli_default_config(void);

/* A mapping profile by path, or by name under config/mappings/ (or
 * mappings/ beside CONFIG); malloc'ed. */
char *icx_cli_profile_path(const char *p, const char *config);
/* Loads the profile at ppath into *m; on refusal prints its report and
 * error and returns the exit code (ICX_EXIT_OK when loaded).  report is
 * the caller's buffer for the loader's findings. */
int icx_cli_mapping_load(icx_mapping **m, const char *ppath, icx_buf *report);

/* The payload bytes a page may take so that, signed in an envelope, it
 * fits limits.max_message_bytes: the envelope is given 32 KiB (as the
 * lists module sizes its pages), within the translation's page bounds. */
#define ICX_CLI_ENVELOPE_ROOM 32768L
size_t icx_cli_page_bytes(long max_message_bytes);

/* submit --profile: translates FILES with the profile and submits them
 * through the daemon at socket_path; fwd holds the forwarded arguments
 * (with --to).  The configuration at config gives each recipient's
 * partner-file withholding: when it does not load, or a recipient is not
 * a partner in it, nothing is sent.  Long lists go page by page
 * (cmd_submit.c). */
int icx_cli_submit_profile(const char *socket_path, const char *profile,
                           const char *config, const char *const *files,
                           int nfiles, char **fwd, int nfwd);

/* Maps an icx_rc to an exit code (EBADSIG/EPOLICY/ECONFIG/EINVAL -> 1 ...). */
int icx_cli_exit_for(int rc);
/* Prints err's message as an error and returns the exit code for rc
 * (rc < 0). */
int icx_cli_fail(int rc, const icx_err *err);
/* Prints "icx: error: <msg>" to stderr. */
void icx_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True when argv holds -h or --help. */
int icx_cli_wants_help(int argc, char **argv);

#endif
