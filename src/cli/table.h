/*
 * Aligned text tables for listings: a header row, then rows; every cell is escaped (it may come
 * from a hostile agent or server) and columns are padded to the widest cell. The last column is
 * not padded so lines carry no trailing blanks.
 */
#ifndef TETHER_CLI_TABLE_H
#define TETHER_CLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

#include "common/buf.h"

struct table {
    size_t ncols;
    size_t nrows;      /* including the header */
    char **cells;      /* nrows * ncols, owned */
};

/* headers: ncols strings. Returns 0 or -ENOMEM. */
int table_init(struct table *t, size_t ncols, const char *const *headers);
/* values: ncols strings (NULL shows as "-"); copied. Returns 0 or -ENOMEM. */
int table_add_row(struct table *t, const char *const *values);
/* Renders into out. Returns 0 or -ENOMEM. */
int table_render(const struct table *t, struct buf *out);
int table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

#endif
