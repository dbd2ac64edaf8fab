/* Internal to the SQLite backend: the connection, a prepared-statement cache and column helpers. */
#ifndef TETHER_SERVER_SQLITE_INT_H
#define TETHER_SERVER_SQLITE_INT_H

#include <sqlite3.h>

#include "server/store/store.h"

#define SQ_STMT_MAX 96

struct store {
    sqlite3 *db;
    struct {
        const char *sql;   /* string literal: cached by address */
        sqlite3_stmt *stmt;
    } cache[SQ_STMT_MAX];
    int ncache;
};

/* Prepared statement for this SQL literal, reset and unbound; NULL on failure (logged). */
sqlite3_stmt *sq_prep(struct store *st, const char *sql);
/* Runs a statement that returns no rows; 0 or -EIO. Resets it. */
int sq_done(struct store *st, sqlite3_stmt *s);
int sq_exec(struct store *st, const char *sql);
int sq_fail(struct store *st, const char *what);
/* Steps s to the end, growing an array of rowsz-byte rows filled by rd; shared by every list
 * query. On failure frees what was read with freefn(rows, count) and returns -ENOMEM or -EIO.
 * Resets s either way. */
typedef int (*row_reader)(sqlite3_stmt *s, void *row);
int sq_read_rows(struct store *st, sqlite3_stmt *s, row_reader rd, size_t rowsz,
                 void (*freefn)(void *, size_t), void **out, size_t *n);

void sq_bind_text(sqlite3_stmt *s, int i, const char *v);   /* NULL binds NULL */
void sq_bind_ts(sqlite3_stmt *s, int i, int64_t v);          /* 0 binds NULL */
void sq_col_copy(sqlite3_stmt *s, int i, char *dst, size_t n);
char *sq_col_dup(sqlite3_stmt *s, int i);                     /* NULL for NULL */

#endif
