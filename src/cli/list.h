/*
 * Listings shared by the subcommands: GET a collection, then print it as JSON (-o json) or as an
 * aligned table whose rows a callback fills from each element.
 */
#ifndef TETHER_CLI_LIST_H
#define TETHER_CLI_LIST_H

#include <jansson.h>
#include <stddef.h>

#include "cli/cli.h"

#define LIST_SCRATCH 4 /* per-row buffers a row callback may format numbers into */

/* Fills row[0..ncols) for item; strings must live until the next call (use scratch). */
typedef void (*list_row_fn)(json_t *item, const char **row, char scratch[LIST_SCRATCH][32]);

/* GET path, take the array at key, print it. Returns 0 or the CLI exit code of the failure. */
int cli_list(struct cli *c, const char *path, const char *key, enum out_format fmt,
             const char *const *heads, size_t ncols, list_row_fn fill);

#endif
