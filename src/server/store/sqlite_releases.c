/*
 * SQLite backend: agent releases (manifest text exactly as signed, rollout percent, pushed agent
 * ids) and the update state each agent last reported. See store.h.
 */
#include "server/store/sqlite_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REL_COLS "version, os, arch, channel, manifest, signature, sha256, size, rollout, " \
                 "pushed, created_at"

void st_release_free(struct st_release *r)
{
    free(r->manifest);
    free(r->pushed);
    r->manifest = r->pushed = NULL;
}

void st_release_array_free(struct st_release *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++)
        st_release_free(&r[i]);
    free(r);
}

int store_release_insert(struct store *st, const char *tenant, const struct st_release *r)
{
    sqlite3_stmt *s = sq_prep(st, "INSERT INTO releases(tenant_id, " REL_COLS ") "
                                  "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    int rc;

    if (!s)
        return -EIO;
    sq_bind_text(s, 1, tenant);
    sq_bind_text(s, 2, r->version);
    sq_bind_text(s, 3, r->os);
    sq_bind_text(s, 4, r->arch);
    sq_bind_text(s, 5, r->channel);
    sq_bind_text(s, 6, r->manifest);
    sq_bind_text(s, 7, r->signature);
    sq_bind_text(s, 8, r->sha256);
    sqlite3_bind_int64(s, 9, r->size);
    sqlite3_bind_int64(s, 10, r->rollout);
    sq_bind_text(s, 11, r->pushed ? r->pushed : "[]");
    sqlite3_bind_int64(s, 12, r->created_at);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_CONSTRAINT)
        return -EEXIST;
    return rc == SQLITE_DONE ? 0 : sq_fail(st, "release insert");
}

static int read_row(sqlite3_stmt *s, struct st_release *r)
{
    memset(r, 0, sizeof *r);
    sq_col_copy(s, 0, r->version, sizeof r->version);
    sq_col_copy(s, 1, r->os, sizeof r->os);
    sq_col_copy(s, 2, r->arch, sizeof r->arch);
    sq_col_copy(s, 3, r->channel, sizeof r->channel);
    r->manifest = sq_col_dup(s, 4);
    sq_col_copy(s, 5, r->signature, sizeof r->signature);
    sq_col_copy(s, 6, r->sha256, sizeof r->sha256);
    r->size = sqlite3_column_int64(s, 7);
    r->rollout = sqlite3_column_int64(s, 8);
    r->pushed = sq_col_dup(s, 9);
    r->created_at = sqlite3_column_int64(s, 10);
    return r->manifest && r->pushed ? 0 : -ENOMEM;
}

int store_release_list(struct store *st, const char *tenant, const char *os, const char *arch,
                       const char *channel, struct st_release **out, size_t *n)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT " REL_COLS " FROM releases WHERE tenant_id = ?1 AND "
                                  "(?2 IS NULL OR os = ?2) AND (?3 IS NULL OR arch = ?3) AND "
                                  "(?4 IS NULL OR channel = ?4) ORDER BY created_at DESC");
    struct st_release *arr = NULL;
    size_t cnt = 0, cap = 0;
    int rc = 0, step;

    *out = NULL;
    *n = 0;
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, tenant);
    sq_bind_text(s, 2, os);
    sq_bind_text(s, 3, arch);
    sq_bind_text(s, 4, channel);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct st_release *na = realloc(arr, ncap * sizeof *na);
            if (!na) {
                rc = -ENOMEM;
                break;
            }
            arr = na;
            cap = ncap;
        }
        rc = read_row(s, &arr[cnt]);
        cnt++;
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = sq_fail(st, "release list");
    sqlite3_reset(s);
    if (rc) {
        st_release_array_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return 0;
}

static int changed(struct store *st, int rc)
{
    if (rc)
        return rc;
    return sqlite3_changes(st->db) > 0 ? 0 : -ENOENT;
}

int store_release_set_rollout(struct store *st, const char *tenant, const char *version,
                              int64_t percent)
{
    sqlite3_stmt *s = sq_prep(st, "UPDATE releases SET rollout = ? WHERE tenant_id = ? AND "
                                  "version = ?");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, percent);
    sq_bind_text(s, 2, tenant);
    sq_bind_text(s, 3, version);
    return changed(st, sq_done(st, s));
}

int store_release_set_pushed(struct store *st, const char *tenant, const char *version,
                             const char *pushed_json)
{
    sqlite3_stmt *s = sq_prep(st, "UPDATE releases SET pushed = ? WHERE tenant_id = ? AND "
                                  "version = ?");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, pushed_json);
    sq_bind_text(s, 2, tenant);
    sq_bind_text(s, 3, version);
    return changed(st, sq_done(st, s));
}

int store_update_state_set(struct store *st, const char *tenant, const char *agent_id,
                           const char *state, const char *target, int64_t now)
{
    sqlite3_stmt *s = sq_prep(st, "INSERT INTO agent_updates(agent_id, tenant_id, state, target, "
                                  "updated_at) VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(agent_id) DO "
                                  "UPDATE SET state = ?3, target = ?4, updated_at = ?5 WHERE "
                                  "state != ?3 OR target != ?4");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, agent_id);
    sq_bind_text(s, 2, tenant);
    sq_bind_text(s, 3, state);
    sq_bind_text(s, 4, target ? target : "");
    sqlite3_bind_int64(s, 5, now);
    return sq_done(st, s);
}

int store_update_state_get(struct store *st, const char *tenant, const char *agent_id,
                           char state[128], char target[32])
{
    sqlite3_stmt *s = sq_prep(st, "SELECT state, target FROM agent_updates WHERE agent_id = ? "
                                  "AND tenant_id = ?");
    int step;

    state[0] = target[0] = '\0';
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, agent_id);
    sq_bind_text(s, 2, tenant);
    step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        sq_col_copy(s, 0, state, 128);
        sq_col_copy(s, 1, target, 32);
    }
    sqlite3_reset(s);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : sq_fail(st, "update state");
}
