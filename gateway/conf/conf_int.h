/*
 * conf_int.h - declarations shared by the files of conf/, not by other
 * parts (they include config.h or conftab.h).
 *
 * The files, from the bottom up: conftab_tree.c (YAML tree, diagnostics),
 * conftab.c (key-table walker, string lists), config.c (the tables, gateway
 * and partner loading).  A file calls only those below it.
 */
#ifndef ICX_CONF_INT_H
#define ICX_CONF_INT_H

#include <stddef.h>

/* Buffer sizes of the tree and the walker: a diagnostic line (a value
 * check's reason gets half of it) and a dotted key name. */
#define ICX_CONFTAB_MSG_MAX 2048
#define ICX_CONFTAB_NAME_MAX 256

#endif
