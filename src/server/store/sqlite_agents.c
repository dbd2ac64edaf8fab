/* SQLite backend: agents. */
#include "server/store/sqlite_int.h"

#include "common/crypto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGENT_COLS                                                                           \
    "agent_id, tenant_id, name, hostname, machine_id, os, arch, version, primary_ip, ips, "   \
    "tags, first_seen, last_seen, last_heartbeat, uptime_s, running, load1, mem_total, "     \
    "mem_available, removed"

void st_agent_free(struct st_agent *a)
{
    if (!a)
        return;
    free(a->ips);
    free(a->tags);
    a->ips = a->tags = NULL;
}

void st_agent_array_free(struct st_agent *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        st_agent_free(&a[i]);
    free(a);
}

static int read_agent(sqlite3_stmt *s, struct st_agent *a)
{
    memset(a, 0, sizeof *a);
    sq_col_copy(s, 0, a->agent_id, sizeof a->agent_id);
    sq_col_copy(s, 1, a->tenant_id, sizeof a->tenant_id);
    sq_col_copy(s, 2, a->name, sizeof a->name);
    sq_col_copy(s, 3, a->hostname, sizeof a->hostname);
    sq_col_copy(s, 4, a->machine_id, sizeof a->machine_id);
    sq_col_copy(s, 5, a->os, sizeof a->os);
    sq_col_copy(s, 6, a->arch, sizeof a->arch);
    sq_col_copy(s, 7, a->version, sizeof a->version);
    sq_col_copy(s, 8, a->primary_ip, sizeof a->primary_ip);
    a->ips = sq_col_dup(s, 9);
    a->tags = sq_col_dup(s, 10);
    a->first_seen = sqlite3_column_int64(s, 11);
    a->last_seen = sqlite3_column_int64(s, 12);
    a->last_heartbeat = sqlite3_column_int64(s, 13);
    a->uptime_s = sqlite3_column_int64(s, 14);
    a->running = sqlite3_column_int64(s, 15);
    a->load1 = sqlite3_column_double(s, 16);
    a->mem_total = sqlite3_column_int64(s, 17);
    a->mem_available = sqlite3_column_int64(s, 18);
    a->removed = sqlite3_column_int(s, 19) != 0;
    if (!a->ips || !a->tags) {
        st_agent_free(a);
        return -ENOMEM;
    }
    return 0;
}

/* Binds the fields shared by insert and update, in AGENT_COLS order from parameter 1. */
static void bind_agent(sqlite3_stmt *s, const struct st_agent *a)
{
    sq_bind_text(s, 1, a->agent_id);
    sq_bind_text(s, 2, a->tenant_id);
    sq_bind_text(s, 3, a->name);
    sq_bind_text(s, 4, a->hostname);
    sq_bind_text(s, 5, a->machine_id);
    sq_bind_text(s, 6, a->os);
    sq_bind_text(s, 7, a->arch);
    sq_bind_text(s, 8, a->version);
    sq_bind_text(s, 9, a->primary_ip);
    sq_bind_text(s, 10, a->ips ? a->ips : "[]");
    sq_bind_text(s, 11, a->tags ? a->tags : "{}");
    sqlite3_bind_int64(s, 12, a->first_seen);
    sq_bind_ts(s, 13, a->last_seen);
    sq_bind_ts(s, 14, a->last_heartbeat);
    sqlite3_bind_int64(s, 15, a->uptime_s);
    sqlite3_bind_int64(s, 16, a->running);
    sqlite3_bind_double(s, 17, a->load1);
    sqlite3_bind_int64(s, 18, a->mem_total);
    sqlite3_bind_int64(s, 19, a->mem_available);
    sqlite3_bind_int(s, 20, a->removed);
}

int store_agent_insert(struct store *st, const struct st_agent *a, const char *token_hash)
{
    sqlite3_stmt *s = sq_prep(st, "INSERT INTO agents(" AGENT_COLS ", token_hash) VALUES("
                                  "?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,"
                                  "?18,?19,?20,?21)");
    if (!s)
        return -EIO;
    bind_agent(s, a);
    sq_bind_text(s, 21, token_hash);
    return sq_done(st, s);
}

int store_agent_update(struct store *st, const struct st_agent *a, const char *token_hash)
{
    sqlite3_stmt *s = sq_prep(st, "UPDATE agents SET tenant_id=?2, name=?3, hostname=?4, "
                                  "machine_id=?5, os=?6, arch=?7, version=?8, primary_ip=?9, "
                                  "ips=?10, tags=?11, first_seen=?12, last_seen=?13, "
                                  "last_heartbeat=?14, uptime_s=?15, running=?16, load1=?17, "
                                  "mem_total=?18, mem_available=?19, removed=?20, "
                                  "token_hash=coalesce(?21, token_hash) WHERE agent_id=?1");
    if (!s)
        return -EIO;
    bind_agent(s, a);
    sq_bind_text(s, 21, token_hash);
    return sq_done(st, s);
}

static int get_one(struct store *st, sqlite3_stmt *s, struct st_agent *out)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = read_agent(s, out);
    else
        rc = rc == SQLITE_DONE ? -ENOENT : sq_fail(st, "agent");
    sqlite3_reset(s);
    return rc;
}

int store_agent_get(struct store *st, const char *tenant, const char *agent_id,
                    struct st_agent *out)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT " AGENT_COLS " FROM agents WHERE agent_id = ? AND "
                                  "tenant_id = ? AND removed = 0");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, agent_id);
    sq_bind_text(s, 2, tenant);
    return get_one(st, s, out);
}

int store_agent_by_name(struct store *st, const char *tenant, const char *name,
                        struct st_agent *out)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT " AGENT_COLS " FROM agents WHERE name = ? AND "
                                  "tenant_id = ? AND removed = 0");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, name);
    sq_bind_text(s, 2, tenant);
    return get_one(st, s, out);
}

int store_agent_by_machine(struct store *st, const char *tenant, const char *machine_id,
                           struct st_agent *out)
{
    /* Prefer the live row when a removed and a live one share the machine id. */
    sqlite3_stmt *s = sq_prep(st, "SELECT " AGENT_COLS " FROM agents WHERE machine_id = ? AND "
                                  "tenant_id = ? ORDER BY removed, first_seen DESC LIMIT 1");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, machine_id);
    sq_bind_text(s, 2, tenant);
    return get_one(st, s, out);
}

int store_agent_by_token(struct store *st, const char *token_hash, struct st_agent *out)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT " AGENT_COLS ", token_hash FROM agents "
                                  "WHERE token_hash = ? AND removed = 0");
    int rc;
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, token_hash);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const char *h = (const char *)sqlite3_column_text(s, 20);
        rc = read_agent(s, out);
        /* The index lookup is an equality match already; the constant-time compare keeps the
         * final decision independent of how many bytes matched. */
        if (!rc && (!h || strlen(h) != 64 || !crypto_ct_equal(h, token_hash, 64))) {
            st_agent_free(out);
            rc = -ENOENT;
        }
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : sq_fail(st, "agent token");
    }
    sqlite3_reset(s);
    return rc;
}

static int read_agent_row(sqlite3_stmt *s, void *row)
{
    return read_agent(s, row);
}

static void agent_rows_free(void *rows, size_t n)
{
    st_agent_array_free(rows, n);
}

int store_agent_list(struct store *st, const char *tenant, struct st_agent **out, size_t *n)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT " AGENT_COLS " FROM agents WHERE tenant_id = ? AND "
                                  "removed = 0 ORDER BY name");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, tenant);
    return sq_read_rows(st, s, read_agent_row, sizeof **out, agent_rows_free, (void **)out, n);
}

int store_agent_remove(struct store *st, const char *tenant, const char *agent_id)
{
    sqlite3_stmt *s = sq_prep(st, "UPDATE agents SET removed = 1, token_hash = NULL "
                                  "WHERE agent_id = ? AND tenant_id = ?");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, agent_id);
    sq_bind_text(s, 2, tenant);
    return sq_done(st, s);
}

int store_agent_name(struct store *st, const char *agent_id, char name[64])
{
    sqlite3_stmt *s = sq_prep(st, "SELECT name FROM agents WHERE agent_id = ?");
    int rc;
    name[0] = '\0';
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, agent_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        sq_col_copy(s, 0, name, 64);
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_fail(st, "agent name");
}
