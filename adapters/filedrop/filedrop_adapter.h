/*
 * filedrop_adapter.h - the built-in "filedrop" transport: signed envelopes
 * and receipts as files in folders, for partners that only move files (a
 * folder synchronized over SFTP, removable media for an air-gapped
 * network).
 *
 * icx_adapter_filedrop is the ops table (adapter.h).  The folder layout,
 * the file names and the trust assumption are in adapters/README.md and
 * docs/PARTNERS.md; the partner keys in config/README.md (filedrop.*).
 */
#ifndef ICX_FILEDROP_ADAPTER_H
#define ICX_FILEDROP_ADAPTER_H

#include "adapter.h"

extern const icx_adapter_ops icx_adapter_filedrop;

/* Files handed to the core and not yet answered, per partner: the scan
 * hands over no more until answers come (the core's pool stays fed, not
 * flooded). */
#define ICX_FILEDROP_MAX_PENDING 64
/* Hand-overs of one file without an answer (a receipt) before it goes to
 * rejected/: the core drops a frame it cannot take now (stopping, pool
 * full) and answers nothing to bytes without a MessageId. */
#define ICX_FILEDROP_MAX_HANDOVERS 3
/* A file that does not end like an XML document (or is empty) and was
 * modified less than this many seconds ago is taken to be still in
 * writing by a tool that ignores the temporary-name rule, and left alone;
 * older, it is rejected as incomplete. */
#define ICX_FILEDROP_SETTLE_S 30

/* Subfolders of the inbox that handled files are moved to. */
#define ICX_FILEDROP_PROCESSED "processed"
#define ICX_FILEDROP_REJECTED "rejected"
/* Name suffixes: a receipt file, and the reason beside a rejected file. */
#define ICX_FILEDROP_RECEIPT_SUFFIX ".receipt.xml"
#define ICX_FILEDROP_REASON_SUFFIX ".reason"

#endif
