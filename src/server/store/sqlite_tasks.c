/* SQLite backend: invocations, tasks and stored output. */
#include "server/store/sqlite_int.h"

#include "common/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INV_COLS                                                                             \
    "invocation_id, tenant_id, command, interpreter, user, workdir, env, targets, timeout_s, " \
    "output_limit, expires_at, created_at, created_by, cancel_requested, limits, "       \
    "max_concurrency, max_errors, concurrency_limit, error_limit, command_name"

#define TASK_COLS                                                                            \
    "task_id, invocation_id, agent_id, tenant_id, status, cancel_requested, exit_code, signal, " \
    "error, output_bytes, dropped_bytes, next_seq, head_bytes, tail_bytes, output_limit, "    \
    "created_at, dispatched_at, started_at, finished_at, lease_expires_at, expires_at"

void st_invocation_free(struct st_invocation *inv)
{
    if (!inv)
        return;
    free(inv->command);
    free(inv->workdir);
    free(inv->env);
    free(inv->targets);
    free(inv->limits);
    free(inv->max_concurrency);
    free(inv->max_errors);
    free(inv->command_name);
    inv->command = inv->workdir = inv->env = inv->targets = inv->limits = NULL;
    inv->max_concurrency = inv->max_errors = inv->command_name = NULL;
}

void st_invocation_array_free(struct st_invocation *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        st_invocation_free(&a[i]);
    free(a);
}

static void inv_array_free(void *a, size_t n) { st_invocation_array_free(a, n); }

static int read_invocation(sqlite3_stmt *s, void *row)
{
    struct st_invocation *v = row;
    memset(v, 0, sizeof *v);
    sq_col_copy(s, 0, v->invocation_id, sizeof v->invocation_id);
    sq_col_copy(s, 1, v->tenant_id, sizeof v->tenant_id);
    v->command = sq_col_dup(s, 2);
    sq_col_copy(s, 3, v->interpreter, sizeof v->interpreter);
    sq_col_copy(s, 4, v->user, sizeof v->user);
    v->workdir = sq_col_dup(s, 5);
    v->env = sq_col_dup(s, 6);
    v->targets = sq_col_dup(s, 7);
    v->timeout_s = sqlite3_column_int64(s, 8);
    v->output_limit = sqlite3_column_int64(s, 9);
    v->expires_at = sqlite3_column_int64(s, 10);
    v->created_at = sqlite3_column_int64(s, 11);
    sq_col_copy(s, 12, v->created_by, sizeof v->created_by);
    v->cancel_requested = sqlite3_column_int(s, 13) != 0;
    v->limits = sq_col_dup(s, 14);
    v->max_concurrency = sq_col_dup(s, 15);
    v->max_errors = sq_col_dup(s, 16);
    v->concurrency_limit = sqlite3_column_int64(s, 17);
    v->error_limit = sqlite3_column_int64(s, 18);
    v->command_name = sq_col_dup(s, 19);
    if (!v->command || !v->env || !v->targets || !v->limits ||
        (sqlite3_column_type(s, 15) != SQLITE_NULL && !v->max_concurrency) ||
        (sqlite3_column_type(s, 16) != SQLITE_NULL && !v->max_errors) ||
        (sqlite3_column_type(s, 19) != SQLITE_NULL && !v->command_name)) {
        st_invocation_free(v);
        return -ENOMEM;
    }
    return 0;
}

int store_invocation_insert(struct store *st, const struct st_invocation *v)
{
    sqlite3_stmt *s = sq_prep(st, "INSERT INTO invocations(" INV_COLS ") VALUES(?,?,?,?,?,?,?,?,"
                                  "?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, v->invocation_id);
    sq_bind_text(s, 2, v->tenant_id);
    sq_bind_text(s, 3, v->command);
    sq_bind_text(s, 4, v->interpreter);
    sq_bind_text(s, 5, v->user);
    sq_bind_text(s, 6, v->workdir);
    sq_bind_text(s, 7, v->env ? v->env : "{}");
    sq_bind_text(s, 8, v->targets ? v->targets : "{}");
    sqlite3_bind_int64(s, 9, v->timeout_s);
    sqlite3_bind_int64(s, 10, v->output_limit);
    sqlite3_bind_int64(s, 11, v->expires_at);
    sqlite3_bind_int64(s, 12, v->created_at);
    sq_bind_text(s, 13, v->created_by);
    sqlite3_bind_int(s, 14, v->cancel_requested);
    sq_bind_text(s, 15, v->limits ? v->limits : "{}");
    sq_bind_text(s, 16, v->max_concurrency);
    sq_bind_text(s, 17, v->max_errors);
    sqlite3_bind_int64(s, 18, v->concurrency_limit);
    sqlite3_bind_int64(s, 19, v->error_limit);
    sq_bind_text(s, 20, v->command_name);
    return sq_done(st, s);
}

/* One invocation row read with sql (a SELECT of INV_COLS or INV_COLS_CORE by id and tenant). */
static int invocation_by_id(struct store *st, const char *sql, const char *tenant,
                            const char *id, struct st_invocation *out)
{
    sqlite3_stmt *s = sq_prep(st, sql);
    int rc;
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, id);
    sq_bind_text(s, 2, tenant);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = read_invocation(s, out);
    else
        rc = rc == SQLITE_DONE ? -ENOENT : sq_fail(st, "invocation");
    sqlite3_reset(s);
    return rc;
}

int store_invocation_get(struct store *st, const char *tenant, const char *id,
                         struct st_invocation *out)
{
    return invocation_by_id(st, "SELECT " INV_COLS " FROM invocations WHERE invocation_id = ? "
                                "AND tenant_id = ?", tenant, id, out);
}

/* The same row without its targets: the task paths (pull, finish) need the command and the
 * limits, not a target list that may name 10 000 agents (~150 KB copied per call). The record's
 * later columns still sit behind it in the row. */
#define INV_COLS_CORE                                                                        \
    "invocation_id, tenant_id, command, interpreter, user, workdir, env, '{}', timeout_s, "   \
    "output_limit, expires_at, created_at, created_by, cancel_requested, limits, "       \
    "max_concurrency, max_errors, concurrency_limit, error_limit, command_name"

int store_invocation_core(struct store *st, const char *tenant, const char *id,
                          struct st_invocation *out)
{
    return invocation_by_id(st, "SELECT " INV_COLS_CORE " FROM invocations WHERE "
                                "invocation_id = ? AND tenant_id = ?", tenant, id, out);
}

/* ---- filtered invocation listing (GET /v1/invocations?status=&since=&command=&limit=) ---- */

#define TASKS_OF_INV "SELECT 1 FROM tasks t WHERE t.invocation_id = i.invocation_id"
#define LIVE_STATUSES "('pending', 'dispatched', 'running')"

/* Each status filter as SQL over the invocation's tasks. pending, running, succeeded and
 * cancelled match exactly what invocation_status() (render.c) derives and the STATUS column
 * shows; done and failed are wider (docs/api.md): done is every task final, failed is at least
 * one task that ended without succeeding (any final status but succeeded), even while others
 * still run. test_server_watch.c checks these against invocation_status(). */
static const struct {
    const char *status;
    const char *clause;
} inv_status_clauses[] = {
    { "pending", "EXISTS (" TASKS_OF_INV ") AND NOT EXISTS (" TASKS_OF_INV
                 " AND t.status <> 'pending')" },
    { "running", "EXISTS (" TASKS_OF_INV " AND t.status IN " LIVE_STATUSES ") AND EXISTS ("
                 TASKS_OF_INV " AND t.status <> 'pending')" },
    { "succeeded", "NOT EXISTS (" TASKS_OF_INV " AND t.status <> 'succeeded')" },
    { "cancelled", "i.cancel_requested = 1 AND NOT EXISTS (" TASKS_OF_INV " AND t.status IN "
                   LIVE_STATUSES ") AND EXISTS (" TASKS_OF_INV " AND t.status <> 'succeeded')" },
    { "done", "NOT EXISTS (" TASKS_OF_INV " AND t.status IN " LIVE_STATUSES ")" },
    { "failed", "EXISTS (" TASKS_OF_INV " AND t.status NOT IN " LIVE_STATUSES
                " AND t.status <> 'succeeded')" },
};

int store_invocation_list(struct store *st, const char *tenant, int64_t limit,
                          struct st_invocation **out, size_t *n)
{
    struct st_inv_filter none = { .limit = limit };
    return store_invocation_find(st, tenant, &none, out, n);
}

bool store_inv_status_filter_valid(const char *status)
{
    for (size_t i = 0; i < sizeof inv_status_clauses / sizeof inv_status_clauses[0]; i++)
        if (!strcmp(inv_status_clauses[i].status, status))
            return true;
    return false;
}

/* A value bound to a numbered parameter of a filter clause. */
struct sq_arg {
    const char *text;   /* bound as text when not NULL, else num */
    int64_t num;
};

#define INV_FILTER_MAX_ARGS 8

/* Appends " AND <clause>" for each filter that f sets, with ?N placeholders whose values go to
 * args (?1 is the tenant, so args[k] is ?k+2). Input is only ever bound, never pasted into the
 * text. A new filter is one more clause here; a clause may use its ?N twice (a second column to
 * match the same text). Returns 0, -EINVAL (unknown status) or -ENOMEM. */
static int inv_filter_where(const struct st_inv_filter *f, struct buf *sql, struct sq_arg *args,
                            int *nargs)
{
    int rc = 0;

    *nargs = 0;
    if (f->since_ms > 0) {
        args[*nargs] = (struct sq_arg){ NULL, f->since_ms };
        rc |= buf_printf(sql, " AND i.created_at >= ?%d", ++*nargs + 1);
    }
    if (f->command && *f->command) {
        args[*nargs] = (struct sq_arg){ f->command, 0 };
        ++*nargs;
        /* the text anywhere in the command, or exactly the saved command it came from */
        rc |= buf_printf(sql, " AND (instr(i.command, ?%d) > 0 OR i.command_name = ?%d)",
                         *nargs + 1, *nargs + 1);
    }
    if (f->status && *f->status) {
        size_t k = 0, n = sizeof inv_status_clauses / sizeof inv_status_clauses[0];
        while (k < n && strcmp(inv_status_clauses[k].status, f->status))
            k++;
        if (k == n)
            return -EINVAL;
        rc |= buf_printf(sql, " AND (%s)", inv_status_clauses[k].clause);
    }
    return rc ? -ENOMEM : 0;
}

int store_invocation_find(struct store *st, const char *tenant, const struct st_inv_filter *f,
                          struct st_invocation **out, size_t *n)
{
    struct sq_arg args[INV_FILTER_MAX_ARGS];
    struct buf sql = BUF_INIT;
    sqlite3_stmt *s = NULL;
    int nargs = 0, rc;

    rc = buf_append_str(&sql, "SELECT " INV_COLS " FROM invocations i WHERE i.tenant_id = ?1");
    if (rc == 0)
        rc = inv_filter_where(f, &sql, args, &nargs);
    if (rc == 0 && buf_printf(&sql, " ORDER BY i.created_at DESC, i.rowid DESC LIMIT ?%d",
                              nargs + 2))
        rc = -ENOMEM;
    if (rc)
        goto out;
    /* not from the statement cache: the text varies with the filters given */
    if (sqlite3_prepare_v2(st->db, sql.data, -1, &s, NULL) != SQLITE_OK) {
        rc = sq_fail(st, "prepare invocation filter");
        goto out;
    }
    sq_bind_text(s, 1, tenant);
    for (int k = 0; k < nargs; k++) {
        if (args[k].text)
            sq_bind_text(s, k + 2, args[k].text);
        else
            sqlite3_bind_int64(s, k + 2, args[k].num);
    }
    sqlite3_bind_int64(s, nargs + 2, f->limit > 0 ? f->limit : 50);
    rc = sq_read_rows(st, s, read_invocation, sizeof **out, inv_array_free, (void **)out, n);
out:
    sqlite3_finalize(s);
    buf_free(&sql);
    return rc;
}

int store_invocation_set_cancel(struct store *st, const char *id)
{
    sqlite3_stmt *s = sq_prep(st, "UPDATE invocations SET cancel_requested = 1 "
                                  "WHERE invocation_id = ?");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, id);
    return sq_done(st, s);
}

void st_task_free(struct st_task *t)
{
    if (!t)
        return;
    free(t->error);
    t->error = NULL;
}

void st_task_array_free(struct st_task *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        st_task_free(&a[i]);
    free(a);
}

static void task_array_free(void *a, size_t n) { st_task_array_free(a, n); }

static int read_task(sqlite3_stmt *s, void *row)
{
    struct st_task *t = row;
    memset(t, 0, sizeof *t);
    sq_col_copy(s, 0, t->task_id, sizeof t->task_id);
    sq_col_copy(s, 1, t->invocation_id, sizeof t->invocation_id);
    sq_col_copy(s, 2, t->agent_id, sizeof t->agent_id);
    sq_col_copy(s, 3, t->tenant_id, sizeof t->tenant_id);
    sq_col_copy(s, 4, t->status, sizeof t->status);
    t->cancel_requested = sqlite3_column_int(s, 5) != 0;
    t->has_exit_code = sqlite3_column_type(s, 6) != SQLITE_NULL;
    t->exit_code = sqlite3_column_int64(s, 6);
    sq_col_copy(s, 7, t->signal, sizeof t->signal);
    if (sqlite3_column_type(s, 8) != SQLITE_NULL) {
        t->error = sq_col_dup(s, 8);
        if (!t->error)
            return -ENOMEM;
    }
    t->output_bytes = sqlite3_column_int64(s, 9);
    t->dropped_bytes = sqlite3_column_int64(s, 10);
    t->next_seq = sqlite3_column_int64(s, 11);
    t->head_bytes = sqlite3_column_int64(s, 12);
    t->tail_bytes = sqlite3_column_int64(s, 13);
    t->output_limit = sqlite3_column_int64(s, 14);
    t->created_at = sqlite3_column_int64(s, 15);
    t->dispatched_at = sqlite3_column_int64(s, 16);
    t->started_at = sqlite3_column_int64(s, 17);
    t->finished_at = sqlite3_column_int64(s, 18);
    t->lease_expires_at = sqlite3_column_int64(s, 19);
    t->expires_at = sqlite3_column_int64(s, 20);
    return 0;
}

/* read_task plus the agent's name in column 21, after TASK_COLS. */
static int read_task_named(sqlite3_stmt *s, void *row)
{
    struct st_task *t = row;
    int rc = read_task(s, row);
    if (rc == 0)
        sq_col_copy(s, 21, t->agent_name, sizeof t->agent_name);
    return rc;
}

int store_task_insert(struct store *st, const struct st_task *t)
{
    sqlite3_stmt *s = sq_prep(st, "INSERT INTO tasks(task_id, invocation_id, agent_id, tenant_id,"
                                  " status, output_limit, created_at, expires_at) "
                                  "VALUES(?,?,?,?,?,?,?,?)");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, t->task_id);
    sq_bind_text(s, 2, t->invocation_id);
    sq_bind_text(s, 3, t->agent_id);
    sq_bind_text(s, 4, t->tenant_id);
    sq_bind_text(s, 5, t->status);
    sqlite3_bind_int64(s, 6, t->output_limit);
    sqlite3_bind_int64(s, 7, t->created_at);
    sqlite3_bind_int64(s, 8, t->expires_at);
    return sq_done(st, s);
}

int store_task_update(struct store *st, const struct st_task *t)
{
    sqlite3_stmt *s = sq_prep(st, "UPDATE tasks SET status=?2, cancel_requested=?3, exit_code=?4,"
                                  " signal=?5, error=?6, output_bytes=?7, dropped_bytes=?8, "
                                  "next_seq=?9, head_bytes=?10, tail_bytes=?11, dispatched_at=?12,"
                                  " started_at=?13, finished_at=?14, lease_expires_at=?15 "
                                  "WHERE task_id=?1");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, t->task_id);
    sq_bind_text(s, 2, t->status);
    sqlite3_bind_int(s, 3, t->cancel_requested);
    if (t->has_exit_code)
        sqlite3_bind_int64(s, 4, t->exit_code);
    else
        sqlite3_bind_null(s, 4);
    sq_bind_text(s, 5, t->signal[0] ? t->signal : NULL);
    sq_bind_text(s, 6, t->error);
    sqlite3_bind_int64(s, 7, t->output_bytes);
    sqlite3_bind_int64(s, 8, t->dropped_bytes);
    sqlite3_bind_int64(s, 9, t->next_seq);
    sqlite3_bind_int64(s, 10, t->head_bytes);
    sqlite3_bind_int64(s, 11, t->tail_bytes);
    sq_bind_ts(s, 12, t->dispatched_at);
    sq_bind_ts(s, 13, t->started_at);
    sq_bind_ts(s, 14, t->finished_at);
    sq_bind_ts(s, 15, t->lease_expires_at);
    return sq_done(st, s);
}

int store_task_get(struct store *st, const char *task_id, struct st_task *out)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT " TASK_COLS " FROM tasks WHERE task_id = ?");
    int rc;
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, task_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = read_task(s, out);
    else
        rc = rc == SQLITE_DONE ? -ENOENT : sq_fail(st, "task");
    sqlite3_reset(s);
    return rc;
}

int store_task_list_by_invocation(struct store *st, const char *invocation_id,
                                  struct st_task **out, size_t *n)
{
    /* the names in the same pass: rendering 10 000 tasks asked for them one query at a time */
    sqlite3_stmt *s = sq_prep(st, "SELECT " TASK_COLS ", (SELECT name FROM agents a WHERE "
                                  "a.agent_id = tasks.agent_id) FROM tasks WHERE invocation_id = ? "
                                  "ORDER BY rowid");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, invocation_id);
    return sq_read_rows(st, s, read_task_named, sizeof **out, task_array_free, (void **)out, n);
}

int store_task_offerable(struct store *st, const char *agent_id, int64_t now, int64_t max,
                         struct st_task **out, size_t *n)
{
    /* INDEXED BY: left to itself SQLite picks tasks_expiry(status, expires_at) for this WHERE
     * and walks every pending task of every agent, so a pull cost O(fleet) and one invocation to
     * 10 000 agents O(fleet^2) (found with bench/swarm; test_pull_reads_only_own_tasks). */
    sqlite3_stmt *s = sq_prep(st, "SELECT " TASK_COLS " FROM tasks INDEXED BY tasks_pull "
                                  "WHERE agent_id = ?1 AND "
                                  "(status = 'pending' OR (status = 'dispatched' AND "
                                  "lease_expires_at <= ?2)) AND expires_at > ?2 AND "
                                  "cancel_requested = 0 ORDER BY created_at, rowid LIMIT ?3");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, agent_id);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_int64(s, 3, max);
    return sq_read_rows(st, s, read_task, sizeof **out, task_array_free, (void **)out, n);
}

int store_task_cancel_list(struct store *st, const char *agent_id, struct st_task **out,
                           size_t *n)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT " TASK_COLS " FROM tasks WHERE agent_id = ? AND "
                                  "status IN ('dispatched', 'running') AND cancel_requested = 1");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, agent_id);
    return sq_read_rows(st, s, read_task, sizeof **out, task_array_free, (void **)out, n);
}

static int count_one(struct store *st, sqlite3_stmt *s, const char *invocation_id, int64_t *n)
{
    int rc;
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, invocation_id);
    rc = sqlite3_step(s);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : sq_fail(st, "count");
}

int store_task_count_active(struct store *st, const char *invocation_id, int64_t *n)
{
    return count_one(st, sq_prep(st, "SELECT count(*) FROM tasks WHERE invocation_id = ? AND "
                                     "status IN ('dispatched', 'running')"),
                     invocation_id, n);
}

int store_task_count_unsuccessful(struct store *st, const char *invocation_id, int64_t *n)
{
    return count_one(st, sq_prep(st, "SELECT count(*) FROM tasks WHERE invocation_id = ? AND "
                                     "status IN ('failed', 'timed_out', 'start_failed', "
                                     "'undetermined', 'expired')"),
                     invocation_id, n);
}

int store_task_pending_by_invocation(struct store *st, const char *invocation_id, int64_t max,
                                     struct st_task **out, size_t *n)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT " TASK_COLS " FROM tasks WHERE invocation_id = ? AND "
                                  "status = 'pending' ORDER BY rowid LIMIT ?");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, invocation_id);
    sqlite3_bind_int64(s, 2, max);
    return sq_read_rows(st, s, read_task, sizeof **out, task_array_free, (void **)out, n);
}

int store_task_expirable(struct store *st, int64_t now, int64_t max, struct st_task **out,
                         size_t *n)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT " TASK_COLS " FROM tasks WHERE status IN ('pending', "
                                  "'dispatched') AND started_at IS NULL AND expires_at <= ? "
                                  "LIMIT ?");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, max);
    return sq_read_rows(st, s, read_task, sizeof **out, task_array_free, (void **)out, n);
}

int store_task_list_by_status(struct store *st, const char *tenant, const char *status,
                              int64_t limit, struct st_task **out, size_t *n)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT " TASK_COLS " FROM tasks WHERE status = ?2 AND "
                                  "tenant_id = ?1 ORDER BY coalesce(started_at, dispatched_at, "
                                  "created_at), rowid LIMIT ?3");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, tenant);
    sq_bind_text(s, 2, status);
    sqlite3_bind_int64(s, 3, limit);
    return sq_read_rows(st, s, read_task, sizeof **out, task_array_free, (void **)out, n);
}

int store_task_count_by_status(struct store *st, const char *tenant, const char *status,
                               int64_t *n)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT count(*) FROM tasks WHERE status = ?2 AND "
                                  "tenant_id = ?1");
    int rc;
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, tenant);
    sq_bind_text(s, 2, status);
    rc = sqlite3_step(s);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : sq_fail(st, "count");
}

int store_output_insert(struct store *st, const char *task_id, int64_t seq, int part, int stream,
                        const void *data, size_t len)
{
    sqlite3_stmt *s = sq_prep(st, "INSERT OR IGNORE INTO task_output(task_id, seq, part, stream, "
                                  "len, data, tenant_id) VALUES(?1, ?2, ?3, ?4, ?6, ?5, "
                                  "(SELECT tenant_id FROM tasks WHERE task_id = ?1))");
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, task_id);
    sqlite3_bind_int64(s, 2, seq);
    sqlite3_bind_int(s, 3, part);
    sqlite3_bind_int(s, 4, stream);
    sqlite3_bind_blob64(s, 5, len ? data : "", len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)len);
    return sq_done(st, s);
}

/* Oldest kept tail row: its seq and length. */
static int oldest_tail(struct store *st, const char *task_id, int64_t *seq, int64_t *len)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT seq, len FROM task_output WHERE task_id = ? "
                                  "AND part = 1 ORDER BY seq LIMIT 1");
    int rc;
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, task_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(s, 0);
        *len = sqlite3_column_int64(s, 1);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : sq_fail(st, "tail");
    }
    sqlite3_reset(s);
    return rc;
}

int store_output_drop_tail(struct store *st, const char *task_id, int64_t n)
{
    while (n > 0) {
        int64_t seq = 0, len = 0;
        int rc = oldest_tail(st, task_id, &seq, &len);
        if (rc)
            return rc == -ENOENT ? 0 : rc;
        sqlite3_stmt *s;
        if (len <= n) {
            s = sq_prep(st, "DELETE FROM task_output WHERE task_id = ? AND seq = ? AND part = 1");
        } else {
            s = sq_prep(st, "UPDATE task_output SET data = substr(data, ?3 + 1), len = len - ?3 "
                            "WHERE task_id = ?1 AND seq = ?2 AND part = 1");
            if (s)
                sqlite3_bind_int64(s, 3, n);
        }
        if (!s)
            return -EIO;
        sq_bind_text(s, 1, task_id);
        sqlite3_bind_int64(s, 2, seq);
        if ((rc = sq_done(st, s)))
            return rc;
        n -= len <= n ? len : n;
    }
    return 0;
}

int store_output_each(struct store *st, const char *task_id, int stream, st_chunk_cb cb, void *ud)
{
    sqlite3_stmt *s = sq_prep(st, "SELECT seq, part, stream, data FROM task_output WHERE "
                                  "task_id = ?1 AND (?2 = 0 OR stream = ?2) ORDER BY seq, part");
    int rc;
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, task_id);
    sqlite3_bind_int(s, 2, stream);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct st_chunk c = {
            .seq = sqlite3_column_int64(s, 0),
            .part = sqlite3_column_int(s, 1),
            .stream = sqlite3_column_int(s, 2),
            .data = sqlite3_column_blob(s, 3),
            .len = (size_t)sqlite3_column_bytes(s, 3),
        };
        int crc = cb(ud, &c);
        if (crc) {
            sqlite3_reset(s);
            return crc;
        }
    }
    rc = rc == SQLITE_DONE ? 0 : sq_fail(st, "output");
    sqlite3_reset(s);
    return rc;
}
