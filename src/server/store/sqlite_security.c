/*
 * SQLite backend: listing and revoking API keys, and the audit trail (insert and list only; the
 * store offers no way to change or delete an audit row).
 */
#include "server/store/sqlite_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int store_audit_add(struct store *st, const struct st_audit *a)
{
    sqlite3_stmt *s = sq_prep(st, "INSERT INTO audit(tenant_id, at, who, action, target, detail,"
                                  " role, source) VALUES(?,?,?,?,?,?,?,?)");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, a->tenant);
    sqlite3_bind_int64(s, 2, a->at);
    sq_bind_text(s, 3, a->who);
    sq_bind_text(s, 4, a->action);
    sq_bind_text(s, 5, a->target);
    sq_bind_text(s, 6, a->detail);
    sq_bind_text(s, 7, a->role);
    sq_bind_text(s, 8, a->source);
    return sq_done(st, s);
}

void st_audit_array_free(struct st_audit *a, size_t n)
{
    if (!a)
        return;
    for (size_t i = 0; i < n; i++) {
        free((char *)a[i].tenant);
        free((char *)a[i].who);
        free((char *)a[i].role);
        free((char *)a[i].action);
        free((char *)a[i].target);
        free((char *)a[i].detail);
        free((char *)a[i].source);
    }
    free(a);
}

int store_audit_list(struct store *st, const char *tenant, const char *action, const char *who,
                     int64_t limit, struct st_audit **out, size_t *n)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT id, at, tenant_id, who, role, action, target, detail,"
                                  " source FROM audit WHERE tenant_id = ?1"
                                  " AND (?2 IS NULL OR action = ?2) AND (?3 IS NULL OR who = ?3)"
                                  " ORDER BY id DESC LIMIT ?4");
    struct st_audit *rows = NULL;
    size_t cnt = 0, cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, tenant);
    sq_bind_text(s, 2, action);
    sq_bind_text(s, 3, who);
    sqlite3_bind_int64(s, 4, limit);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            struct st_audit *nr = realloc(rows, ncap * sizeof *nr);
            if (!nr) {
                rc = -ENOMEM;
                goto fail;
            }
            rows = nr;
            cap = ncap;
        }
        struct st_audit *a = &rows[cnt++];
        memset(a, 0, sizeof *a);
        a->id = sqlite3_column_int64(s, 0);
        a->at = sqlite3_column_int64(s, 1);
        a->tenant = sq_col_dup(s, 2);
        a->who = sq_col_dup(s, 3);
        a->role = sq_col_dup(s, 4);
        a->action = sq_col_dup(s, 5);
        a->target = sq_col_dup(s, 6);
        a->detail = sq_col_dup(s, 7);
        a->source = sq_col_dup(s, 8);
    }
    if (rc != SQLITE_DONE) {
        rc = sq_fail(st, "audit list");
        goto fail;
    }
    sqlite3_reset(s);
    *out = rows;
    *n = cnt;
    return 0;
fail:
    sqlite3_reset(s);
    st_audit_array_free(rows, cnt);
    return rc;
}

static int read_apikey(sqlite3_stmt *s, void *row)
{
    struct st_apikey *k = row;
    memset(k, 0, sizeof *k);
    sq_col_copy(s, 0, k->name, sizeof k->name);
    k->role = role_parse((const char *)sqlite3_column_text(s, 1));
    k->created_at = sqlite3_column_int64(s, 2);
    k->revoked = sqlite3_column_int64(s, 3) != 0;
    k->revoked_at = sqlite3_column_int64(s, 4);
    return 0;
}

static void apikey_rows_free(void *rows, size_t n)
{
    (void)n;
    free(rows);
}

int store_apikey_list(struct store *st, const char *tenant, struct st_apikey **out, size_t *n)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT name, role, created_at, revoked, revoked_at FROM api_keys"
                                  " WHERE tenant_id = ? ORDER BY created_at, rowid");
    *out = NULL;
    *n = 0;
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, tenant);
    return sq_read_rows(st, s, read_apikey, sizeof **out, apikey_rows_free, (void **)out, n);
}

int store_apikey_revoke(struct store *st, const char *tenant, const char *name, int64_t now)
{
    sqlite3_stmt *s = sq_prep(st, "UPDATE api_keys SET revoked = 1, revoked_at = ?3"
                                  " WHERE tenant_id = ?1 AND name = ?2 AND revoked = 0");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, tenant);
    sq_bind_text(s, 2, name);
    sqlite3_bind_int64(s, 3, now);
    int rc = sq_done(st, s);
    if (rc)
        return rc;
    return sqlite3_changes(st->db) > 0 ? 0 : -ENOENT;
}
