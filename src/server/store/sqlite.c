/*
 * SQLite backend: opening, pragmas, the versioned schema, transactions, the statement cache, API
 * keys, activation codes and the audit log. Agents are in sqlite_agents.c, invocations, tasks and
 * output in sqlite_tasks.c.
 */
#include "server/store/sqlite_int.h"

#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Ordered migrations: entry i moves the schema from user_version i to i + 1. Never edit a shipped
 * entry; append a new one. */
static const char *const migrations[] = {
    "CREATE TABLE tenants(tenant_id TEXT PRIMARY KEY, name TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE api_keys(key_hash TEXT PRIMARY KEY,"
    "  tenant_id TEXT NOT NULL REFERENCES tenants(tenant_id), name TEXT NOT NULL,"
    "  role TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);"
    "CREATE TABLE activations(code_hash TEXT PRIMARY KEY,"
    "  tenant_id TEXT NOT NULL REFERENCES tenants(tenant_id), tags TEXT NOT NULL,"
    "  uses_left INTEGER NOT NULL, expires_at INTEGER NOT NULL, created_by TEXT,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE agents(agent_id TEXT PRIMARY KEY,"
    "  tenant_id TEXT NOT NULL REFERENCES tenants(tenant_id), name TEXT NOT NULL,"
    "  hostname TEXT NOT NULL, machine_id TEXT NOT NULL, token_hash TEXT, os TEXT, arch TEXT,"
    "  version TEXT, primary_ip TEXT, ips TEXT NOT NULL DEFAULT '[]',"
    "  tags TEXT NOT NULL DEFAULT '{}', first_seen INTEGER NOT NULL, last_seen INTEGER,"
    "  last_heartbeat INTEGER, uptime_s INTEGER NOT NULL DEFAULT 0,"
    "  running INTEGER NOT NULL DEFAULT 0, load1 REAL NOT NULL DEFAULT 0,"
    "  mem_total INTEGER NOT NULL DEFAULT 0, mem_available INTEGER NOT NULL DEFAULT 0,"
    "  removed INTEGER NOT NULL DEFAULT 0);"
    "CREATE UNIQUE INDEX agents_token ON agents(token_hash) WHERE token_hash IS NOT NULL;"
    "CREATE UNIQUE INDEX agents_name ON agents(tenant_id, name) WHERE removed = 0;"
    "CREATE INDEX agents_machine ON agents(tenant_id, machine_id);"
    "CREATE TABLE invocations(invocation_id TEXT PRIMARY KEY,"
    "  tenant_id TEXT NOT NULL REFERENCES tenants(tenant_id), command TEXT NOT NULL,"
    "  interpreter TEXT NOT NULL, user TEXT NOT NULL, workdir TEXT, env TEXT NOT NULL,"
    "  targets TEXT NOT NULL, timeout_s INTEGER NOT NULL, output_limit INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL, created_at INTEGER NOT NULL, created_by TEXT NOT NULL,"
    "  cancel_requested INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX invocations_created ON invocations(tenant_id, created_at);"
    "CREATE TABLE tasks(task_id TEXT PRIMARY KEY,"
    "  tenant_id TEXT NOT NULL REFERENCES tenants(tenant_id),"
    "  invocation_id TEXT NOT NULL REFERENCES invocations(invocation_id),"
    "  agent_id TEXT NOT NULL REFERENCES agents(agent_id), status TEXT NOT NULL,"
    "  cancel_requested INTEGER NOT NULL DEFAULT 0, exit_code INTEGER, signal TEXT, error TEXT,"
    "  output_bytes INTEGER NOT NULL DEFAULT 0, dropped_bytes INTEGER NOT NULL DEFAULT 0,"
    "  next_seq INTEGER NOT NULL DEFAULT 0, head_bytes INTEGER NOT NULL DEFAULT 0,"
    "  tail_bytes INTEGER NOT NULL DEFAULT 0, output_limit INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL, dispatched_at INTEGER, started_at INTEGER,"
    "  finished_at INTEGER, lease_expires_at INTEGER, expires_at INTEGER NOT NULL);"
    "CREATE INDEX tasks_pull ON tasks(agent_id, status);"
    "CREATE INDEX tasks_invocation ON tasks(invocation_id);"
    "CREATE INDEX tasks_expiry ON tasks(status, expires_at);"
    "CREATE TABLE task_output(task_id TEXT NOT NULL REFERENCES tasks(task_id),"
    "  seq INTEGER NOT NULL, part INTEGER NOT NULL, stream INTEGER NOT NULL,"
    "  data BLOB NOT NULL, PRIMARY KEY(task_id, seq, part)) WITHOUT ROWID;"
    "CREATE TABLE audit(id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, at INTEGER NOT NULL,"
    "  who TEXT NOT NULL, action TEXT NOT NULL, target TEXT, detail TEXT);",

    /* 2: every table carries its tenant, output rows too. */
    "ALTER TABLE task_output ADD COLUMN tenant_id TEXT NOT NULL DEFAULT 'default';",

    /* 3: per-task resource limits (issue 3), a JSON object like the wire form. */
    "ALTER TABLE invocations ADD COLUMN limits TEXT NOT NULL DEFAULT '{}';",

    /* 4: issue 5: the caller's role and address in every audit row; when a key was revoked. */
    "ALTER TABLE audit ADD COLUMN role TEXT;"
    "ALTER TABLE audit ADD COLUMN source TEXT;"
    "CREATE INDEX audit_tenant ON audit(tenant_id, id);"
    "ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER;",

    /* 5: issue 6: signed agent releases and the update state each agent reports. */
    "CREATE TABLE releases(tenant_id TEXT NOT NULL REFERENCES tenants(tenant_id),"
    "  version TEXT NOT NULL, os TEXT NOT NULL, arch TEXT NOT NULL, channel TEXT NOT NULL,"
    "  manifest TEXT NOT NULL, signature TEXT NOT NULL, sha256 TEXT NOT NULL,"
    "  size INTEGER NOT NULL, rollout INTEGER NOT NULL DEFAULT 0,"
    "  pushed TEXT NOT NULL DEFAULT '[]', created_at INTEGER NOT NULL,"
    "  PRIMARY KEY(tenant_id, version, os, arch, channel));"
    "CREATE TABLE agent_updates(agent_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL,"
    "  state TEXT NOT NULL, target TEXT NOT NULL DEFAULT '', updated_at INTEGER NOT NULL);",

    /* 6: issue 7: rate control. The settings as given (JSON text: 2 or "50%") and the numbers
     * they came to for this invocation's task count (0: no concurrency limit; -1: no max). */
    "ALTER TABLE invocations ADD COLUMN max_concurrency TEXT;"
    "ALTER TABLE invocations ADD COLUMN max_errors TEXT;"
    "ALTER TABLE invocations ADD COLUMN concurrency_limit INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE invocations ADD COLUMN error_limit INTEGER NOT NULL DEFAULT -1;",

    /* 7: issue 7: saved commands (the validated definition as JSON text) and, on each
     * invocation, the saved command it came from (NULL: an ad-hoc run). */
    "CREATE TABLE commands(tenant_id TEXT NOT NULL REFERENCES tenants(tenant_id),"
    "  name TEXT NOT NULL, definition TEXT NOT NULL, created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL, created_by TEXT NOT NULL, updated_by TEXT NOT NULL,"
    "  PRIMARY KEY(tenant_id, name));"
    "ALTER TABLE invocations ADD COLUMN command_name TEXT;",

    /* 8: issue 9: each output row's length, and a covering index on it, so finding the oldest
     * tail row to drop reads a small index instead of the rows' 64 KiB overflow chains (a
     * WITHOUT ROWID table keeps its blobs in the primary key's b-tree). */
    "ALTER TABLE task_output ADD COLUMN len INTEGER NOT NULL DEFAULT 0;"
    "UPDATE task_output SET len = length(data);"
    "CREATE INDEX task_output_tail ON task_output(task_id, part, seq, len);",
};

int sq_fail(struct store *st, const char *what)
{
    log_error("store: %s: %s", what, sqlite3_errmsg(st->db));
    return -EIO;
}

sqlite3_stmt *sq_prep(struct store *st, const char *sql)
{
    for (int i = 0; i < st->ncache; i++) {
        if (st->cache[i].sql == sql) {
            sqlite3_reset(st->cache[i].stmt);
            sqlite3_clear_bindings(st->cache[i].stmt);
            return st->cache[i].stmt;
        }
    }
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
        sq_fail(st, "prepare");
        return NULL;
    }
    if (st->ncache < SQ_STMT_MAX) {
        st->cache[st->ncache].sql = sql;
        st->cache[st->ncache].stmt = s;
        st->ncache++;
    } else {
        /* Never expected: the cache is sized for every statement in the backend. */
        log_error("store: statement cache full");
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

int sq_done(struct store *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return sq_fail(st, "step");
    return 0;
}

int sq_exec(struct store *st, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error("store: %s", msg ? msg : "exec failed");
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

void sq_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

void sq_bind_ts(sqlite3_stmt *s, int i, int64_t v)
{
    if (v)
        sqlite3_bind_int64(s, i, v);
    else
        sqlite3_bind_null(s, i);
}

void sq_col_copy(sqlite3_stmt *s, int i, char *dst, size_t n)
{
    const unsigned char *v = sqlite3_column_text(s, i);
    snprintf(dst, n, "%s", v ? (const char *)v : "");
}

char *sq_col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *v = sqlite3_column_text(s, i);
    return v ? strdup((const char *)v) : NULL;
}

static int migrate(struct store *st)
{
    int version = store_schema_version(st);
    int n = (int)(sizeof migrations / sizeof migrations[0]);
    char sql[64];

    if (version < 0)
        return -EIO;
    if (version > n) {
        log_error("store: schema version %d is newer than this server (%d)", version, n);
        return -EPROTO;
    }
    for (int v = version; v < n; v++) {
        if (sq_exec(st, "BEGIN IMMEDIATE"))
            return -EIO;
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        if (sq_exec(st, migrations[v]) || sq_exec(st, sql) || sq_exec(st, "COMMIT")) {
            sq_exec(st, "ROLLBACK");
            return -EIO;
        }
        log_info("store: schema migrated to version %d", v + 1);
    }
    return 0;
}

int store_open(const char *path, struct store **out)
{
    struct store *st = calloc(1, sizeof *st);
    int rc = -EIO, fd;

    if (!st)
        return -ENOMEM;
    /* Create the file ourselves so it is 0600 from the first byte. */
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        goto fail;
    }
    close(fd);
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(st->db, 5000);
    if (sq_exec(st, "PRAGMA journal_mode = WAL") || sq_exec(st, "PRAGMA synchronous = FULL") ||
        sq_exec(st, "PRAGMA foreign_keys = ON") ||
        /* Each request runs in a SAVEPOINT; keep its statement journal off the disk. */
        sq_exec(st, "PRAGMA temp_store = MEMORY") ||
        /* 32 MiB of page cache instead of SQLite's 2 MiB: a task's output window (up to 64 MiB,
         * its tail rewritten chunk by chunk) and a large fleet's rows stay in memory. Filled only
         * as pages are used. Output through one task: 85-90 -> 95-105 MB/s with 64 MiB kept,
         * 112-119 -> 140-151 MB/s with the default 4 MiB (A/B, 512 MiB, this VM). */
        sq_exec(st, "PRAGMA cache_size = -32768"))
        goto fail;
    rc = migrate(st);
    if (rc)
        goto fail;
    *out = st;
    return 0;
fail:
    if (st->db)
        log_error("store: cannot open %s: %s", path, sqlite3_errmsg(st->db));
    store_close(st);
    return rc;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->ncache; i++)
        sqlite3_finalize(st->cache[i].stmt);
    sqlite3_close(st->db);
    free(st);
}

int store_schema_latest(void)
{
    return (int)(sizeof migrations / sizeof migrations[0]);
}

int store_schema_version(struct store *st)
{
    sqlite3_stmt *s = sq_prep(st, "PRAGMA user_version");
    int v = -1;
    if (s && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    if (s)
        sqlite3_reset(s);
    return v;
}

int store_begin(struct store *st) { return sq_exec(st, "BEGIN IMMEDIATE"); }
int store_commit(struct store *st) { return sq_exec(st, "COMMIT"); }
int store_rollback(struct store *st) { return sq_exec(st, "ROLLBACK"); }
int store_savepoint(struct store *st) { return sq_exec(st, "SAVEPOINT req"); }
int store_release(struct store *st) { return sq_exec(st, "RELEASE req"); }

int store_rollback_to(struct store *st)
{
    int rc = sq_exec(st, "ROLLBACK TO req");
    return rc ? rc : sq_exec(st, "RELEASE req");
}

int store_ping(struct store *st)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT 1");
    if (!s)
        return -EIO;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : sq_fail(st, "ping");
}

int store_tenant_ensure(struct store *st, const char *tenant_id, int64_t now)
{
    sqlite3_stmt *s = sq_prep(st, "INSERT OR IGNORE INTO tenants(tenant_id, name, created_at) "
                                  "VALUES(?1, ?1, ?2)");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, tenant_id);
    sqlite3_bind_int64(s, 2, now);
    return sq_done(st, s);
}

const char *role_name(enum role r)
{
    switch (r) {
    case ROLE_ADMIN: return "admin";
    case ROLE_OPERATOR: return "operator";
    case ROLE_VIEWER: return "viewer";
    default: return "none";
    }
}

enum role role_parse(const char *s)
{
    if (!s)
        return ROLE_NONE;
    if (!strcmp(s, "admin"))
        return ROLE_ADMIN;
    if (!strcmp(s, "operator"))
        return ROLE_OPERATOR;
    if (!strcmp(s, "viewer"))
        return ROLE_VIEWER;
    return ROLE_NONE;
}

int store_apikey_insert(struct store *st, const char *tenant, const char *hash_hex,
                        const char *name, enum role role, int64_t now)
{
    sqlite3_stmt *s = sq_prep(st, "INSERT INTO api_keys(key_hash, tenant_id, name, role, "
                                  "created_at) VALUES(?, ?, ?, ?, ?)");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, hash_hex);
    sq_bind_text(s, 2, tenant);
    sq_bind_text(s, 3, name);
    sq_bind_text(s, 4, role_name(role));
    sqlite3_bind_int64(s, 5, now);
    return sq_done(st, s);
}

int store_apikey_find(struct store *st, const char *hash_hex, char name[64], char tenant[64],
                      enum role *role)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT name, tenant_id, role FROM api_keys "
                                  "WHERE key_hash = ? AND revoked = 0");
    int rc;
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, hash_hex);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        sq_col_copy(s, 0, name, 64);
        sq_col_copy(s, 1, tenant, 64);
        *role = role_parse((const char *)sqlite3_column_text(s, 2));
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : sq_fail(st, "apikey");
    }
    sqlite3_reset(s);
    return rc;
}

int store_apikey_count(struct store *st, const char *name, int64_t *count)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT count(*) FROM api_keys WHERE name = ? AND revoked = 0");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, name);
    int rc = sqlite3_step(s);
    *count = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : sq_fail(st, "apikey count");
}

int store_activation_insert(struct store *st, const char *tenant, const char *hash_hex,
                            const char *tags_json, int64_t uses, int64_t expires_at,
                            const char *created_by, int64_t now)
{
    sqlite3_stmt *s = sq_prep(st, "INSERT INTO activations(code_hash, tenant_id, tags, uses_left,"
                                  " expires_at, created_by, created_at) VALUES(?,?,?,?,?,?,?)");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, hash_hex);
    sq_bind_text(s, 2, tenant);
    sq_bind_text(s, 3, tags_json);
    sqlite3_bind_int64(s, 4, uses);
    sqlite3_bind_int64(s, 5, expires_at);
    sq_bind_text(s, 6, created_by);
    sqlite3_bind_int64(s, 7, now);
    return sq_done(st, s);
}

int store_activation_consume(struct store *st, const char *hash_hex, int64_t now,
                             char tenant[64], char **tags_json)
{
    sqlite3_stmt *s = sq_prep(st, "UPDATE activations SET uses_left = uses_left - 1 "
                                  "WHERE code_hash = ? AND uses_left > 0 AND expires_at > ? "
                                  "RETURNING tenant_id, tags");
    int rc;
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, hash_hex);
    sqlite3_bind_int64(s, 2, now);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        sq_col_copy(s, 0, tenant, 64);
        *tags_json = sq_col_dup(s, 1);
        rc = *tags_json ? 0 : -ENOMEM;
        /* Step to the end so the UPDATE completes before the reset. */
        sqlite3_step(s);
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : sq_fail(st, "activation");
    }
    sqlite3_reset(s);
    return rc;
}

int store_audit(struct store *st, const char *tenant, int64_t now, const char *who,
                const char *action, const char *target, const char *detail)
{
    struct st_audit a = { .tenant = tenant, .at = now, .who = who, .action = action,
                          .target = target, .detail = detail };
    return store_audit_add(st, &a);
}

int store_audit_count(struct store *st, int64_t *count)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT count(*) FROM audit");
    if (!s)
        return -EIO;
    int rc = sqlite3_step(s);
    *count = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : -EIO;
}

int sq_read_rows(struct store *st, sqlite3_stmt *s, row_reader rd, size_t rowsz,
                     void (*freefn)(void *, size_t), void **out, size_t *n)
{
    char *arr = NULL;
    size_t cnt = 0, cap = 0;
    int rc;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char *na = realloc(arr, ncap * rowsz);
            if (!na) {
                rc = -ENOMEM;
                goto out;
            }
            arr = na;
            cap = ncap;
        }
        if (rd(s, arr + cnt * rowsz)) {
            rc = -ENOMEM;
            goto out;
        }
        cnt++;
    }
    rc = rc == SQLITE_DONE ? 0 : sq_fail(st, "list");
out:
    sqlite3_reset(s);
    if (rc) {
        freefn(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return 0;
}
