/*
 * Aligned text tables for listings: a header row, then rows; every cell is escaped (it may come
 * from a hostile agent or server) and columns are padded to the widest cell. The last column is
 * not padded so lines carry no trailing blanks.
 *
 * Status columns are coloured when the output stream is coloured (term.h): every column headed
 * STATUS is one, and table_mark_status() marks others. Only a cell that is exactly a known status
 * word (succeeded, failed, online, ...) is coloured; the colour wraps the escaped cell and does not
 * count in the column width.
 */
#ifndef TETHER_CLI_TABLE_H
#define TETHER_CLI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/buf.h"

struct table {
    size_t ncols;
    size_t nrows;      /* including the header */
    char **cells;      /* nrows * ncols, owned */
    unsigned long long status_cols; /* bit c: column c holds status words (c < 64) */
};

/* headers: ncols strings. Returns 0 or -ENOMEM. */
int table_init(struct table *t, size_t ncols, const char *const *headers);
/* values: ncols strings (NULL shows as "-"); copied. Returns 0 or -ENOMEM. */
int table_add_row(struct table *t, const char *const *values);
/* Colours column col's status words (a column not headed STATUS). */
void table_mark_status(struct table *t, size_t col);
/* Renders into out, without colour. Returns 0 or -ENOMEM. */
int table_render(const struct table *t, struct buf *out);
/* Renders into out, with status colours when color is set. Returns 0 or -ENOMEM. */
int table_render_color(const struct table *t, struct buf *out, bool color);
/* Prints to f (stdout or stderr), coloured when term_color_on(f). */
int table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

#endif
