/* SQLite backend: saved commands (issue 7), one row per (tenant, name). */
#include "server/store/sqlite_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CMD_COLS "name, definition, created_at, updated_at, created_by, updated_by"

void st_command_free(struct st_command *c)
{
    if (!c)
        return;
    free(c->definition);
    c->definition = NULL;
}

void st_command_array_free(struct st_command *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++)
        st_command_free(&c[i]);
    free(c);
}

static void cmd_array_free(void *a, size_t n) { st_command_array_free(a, n); }

static int read_command(sqlite3_stmt *s, void *row)
{
    struct st_command *c = row;
    memset(c, 0, sizeof *c);
    sq_col_copy(s, 0, c->name, sizeof c->name);
    c->definition = sq_col_dup(s, 1);
    c->created_at = sqlite3_column_int64(s, 2);
    c->updated_at = sqlite3_column_int64(s, 3);
    sq_col_copy(s, 4, c->created_by, sizeof c->created_by);
    sq_col_copy(s, 5, c->updated_by, sizeof c->updated_by);
    return c->definition ? 0 : -ENOMEM;
}

int store_command_get(struct store *st, const char *tenant, const char *name,
                      struct st_command *out)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT " CMD_COLS " FROM commands WHERE tenant_id = ? AND "
                                  "name = ?");
    int rc;
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, tenant);
    sq_bind_text(s, 2, name);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = read_command(s, out);
    else
        rc = rc == SQLITE_DONE ? -ENOENT : sq_fail(st, "command");
    sqlite3_reset(s);
    return rc;
}

int store_command_put(struct store *st, const char *tenant, const char *name,
                      const char *definition, const char *who, int64_t now, bool *created)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT 1 FROM commands WHERE tenant_id = ? AND name = ?");
    int rc;

    if (!s)
        return -EIO;
    sq_bind_text(s, 1, tenant);
    sq_bind_text(s, 2, name);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sq_fail(st, "command lookup");
    *created = rc == SQLITE_DONE;
    if (*created)
        s = sq_prep(st, "INSERT INTO commands(tenant_id, name, definition, created_at, "
                        "updated_at, created_by, updated_by) VALUES(?1, ?2, ?3, ?4, ?4, ?5, ?5)");
    else
        s = sq_prep(st, "UPDATE commands SET definition = ?3, updated_at = ?4, updated_by = ?5 "
                        "WHERE tenant_id = ?1 AND name = ?2");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, tenant);
    sq_bind_text(s, 2, name);
    sq_bind_text(s, 3, definition);
    sqlite3_bind_int64(s, 4, now);
    sq_bind_text(s, 5, who);
    return sq_done(st, s);
}

int store_command_list(struct store *st, const char *tenant, struct st_command **out,
                       size_t *n)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT " CMD_COLS " FROM commands WHERE tenant_id = ? "
                                  "ORDER BY name");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, tenant);
    return sq_read_rows(st, s, read_command, sizeof **out, cmd_array_free, (void **)out, n);
}

int store_command_delete(struct store *st, const char *tenant, const char *name)
{
    sqlite3_stmt *s = sq_prep(st, "DELETE FROM commands WHERE tenant_id = ? AND name = ?");
    int rc;
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, tenant);
    sq_bind_text(s, 2, name);
    rc = sq_done(st, s);
    if (rc)
        return rc;
    return sqlite3_changes(st->db) ? 0 : -ENOENT;
}
