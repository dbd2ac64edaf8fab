/* Store + task state machine over a real SQLite file in a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "server/events.h"
#include "server/render.h"
#include "server/store/sqlite_int.h"
#include "server/store/store.h"
#include "server/taskops.h"

struct fx {
    char dir[64];
    char path[128];
    struct store *st;
    char agent_id[ID_BUF];
    char inv_id[ID_BUF];
};

static const char *T = STORE_DEFAULT_TENANT;

static void add_agent(struct store *st, const char *name, const char *machine, char id[ID_BUF])
{
    struct st_agent a = { 0 };
    assert_int_equal(id_new(ID_AGENT, a.agent_id), 0);
    snprintf(a.tenant_id, sizeof a.tenant_id, "%s", T);
    snprintf(a.name, sizeof a.name, "%s", name);
    snprintf(a.hostname, sizeof a.hostname, "%s", name);
    snprintf(a.machine_id, sizeof a.machine_id, "%s", machine);
    a.first_seen = 1000;
    char hash[65];
    memset(hash, 'a', 64);
    hash[64] = '\0';
    hash[0] = name[0];
    assert_int_equal(store_agent_insert(st, &a, hash), 0);
    memcpy(id, a.agent_id, ID_BUF);
}

static void add_task(struct fx *f, int64_t limit, int64_t expires_at, char id[ID_BUF])
{
    struct st_task t = { 0 };
    assert_int_equal(id_new(ID_TASK, t.task_id), 0);
    memcpy(t.invocation_id, f->inv_id, ID_BUF);
    memcpy(t.agent_id, f->agent_id, ID_BUF);
    snprintf(t.tenant_id, sizeof t.tenant_id, "%s", T);
    snprintf(t.status, sizeof t.status, "pending");
    t.output_limit = limit;
    t.created_at = 1000;
    t.expires_at = expires_at;
    assert_int_equal(store_task_insert(f->st, &t), 0);
    memcpy(id, t.task_id, ID_BUF);
}

/* An invocation of command cmd in the default tenant; the caller sets what else it needs. */
static void fill_invocation(struct st_invocation *inv, const char *cmd)
{
    memset(inv, 0, sizeof *inv);
    assert_int_equal(id_new(ID_INVOCATION, inv->invocation_id), 0);
    snprintf(inv->tenant_id, sizeof inv->tenant_id, "%s", T);
    inv->command = (char *)cmd;
    snprintf(inv->interpreter, sizeof inv->interpreter, "sh");
    snprintf(inv->user, sizeof inv->user, "root");
    snprintf(inv->created_by, sizeof inv->created_by, "admin");
    inv->timeout_s = 60;
    inv->output_limit = 100;
    inv->created_at = 1000;
    inv->expires_at = 100000;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct st_invocation inv = { 0 };
    snprintf(f->dir, sizeof f->dir, "/tmp/tether-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    assert_int_equal(store_open(f->path, &f->st), 0);
    assert_int_equal(store_tenant_ensure(f->st, T, 1), 0);
    add_agent(f->st, "web-1", "m1", f->agent_id);
    fill_invocation(&inv, "echo hi");
    assert_int_equal(store_invocation_insert(f->st, &inv), 0);
    memcpy(f->inv_id, inv.invocation_id, ID_BUF);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->st);
    fs_rm_rf(f->dir);
    free(f);
    return 0;
}

static void test_migrations_idempotent(void **state)
{
    struct fx *f = *state;
    assert_int_equal(store_schema_version(f->st), store_schema_latest());
    store_close(f->st);
    assert_int_equal(store_open(f->path, &f->st), 0);
    assert_int_equal(store_schema_version(f->st), store_schema_latest());
    assert_int_equal(store_ping(f->st), 0);
}

static void test_apikey_and_activation(void **state)
{
    struct fx *f = *state;
    char who[64], tenant[64], *tags = NULL;
    enum role role;
    assert_int_equal(store_apikey_insert(f->st, T, "h1", "ops", ROLE_OPERATOR, 1), 0);
    assert_int_equal(store_apikey_find(f->st, "h1", who, tenant, &role), 0);
    assert_string_equal(who, "ops");
    assert_int_equal(role, ROLE_OPERATOR);
    assert_int_equal(store_apikey_find(f->st, "nope", who, tenant, &role), -ENOENT);

    assert_int_equal(store_activation_insert(f->st, T, "c1", "{\"env\":\"prod\"}", 1, 5000, "ops",
                                             1), 0);
    assert_int_equal(store_activation_consume(f->st, "c1", 6000, tenant, &tags), -ENOENT);
    assert_int_equal(store_activation_consume(f->st, "c1", 10, tenant, &tags), 0);
    assert_string_equal(tags, "{\"env\":\"prod\"}");
    free(tags);
    /* One use only. */
    assert_int_equal(store_activation_consume(f->st, "c1", 10, tenant, &tags), -ENOENT);
}

static void test_agent_identity(void **state)
{
    struct fx *f = *state;
    struct st_agent a;
    char other[ID_BUF];
    assert_int_equal(store_agent_by_machine(f->st, T, "m1", &a), 0);
    assert_string_equal(a.agent_id, f->agent_id);
    st_agent_free(&a);
    add_agent(f->st, "db-1", "m2", other);
    assert_int_equal(store_agent_remove(f->st, T, other), 0);
    assert_int_equal(store_agent_get(f->st, T, other, &a), -ENOENT);
    /* The machine id still finds the removed identity. */
    assert_int_equal(store_agent_by_machine(f->st, T, "m2", &a), 0);
    assert_true(a.removed);
    st_agent_free(&a);
}

static void test_pull_and_lease_expiry(void **state)
{
    struct fx *f = *state;
    char t1[ID_BUF];
    json_t *resp = NULL;
    struct evq q = { 0 };
    add_task(f, 100, 100000, t1);

    assert_int_equal(taskops_pull(f->st, f->agent_id, 2000, 60000, 16, &q, &resp), 0);
    assert_int_equal(json_array_size(json_object_get(resp, "tasks")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(resp, "tasks"), 0), "command")),
                        "ZWNobyBoaQ==");
    json_decref(resp);
    assert_int_equal(q.count, 1);
    evq_clear(&q);
    /* Leased: not offered again before the lease ends... */
    assert_int_equal(taskops_pull(f->st, f->agent_id, 3000, 60000, 16, NULL, &resp), 0);
    assert_int_equal(json_array_size(json_object_get(resp, "tasks")), 0);
    json_decref(resp);
    /* ...but offered again after it. */
    assert_int_equal(taskops_pull(f->st, f->agent_id, 62001, 60000, 16, NULL, &resp), 0);
    assert_int_equal(json_array_size(json_object_get(resp, "tasks")), 1);
    json_decref(resp);
    /* Another agent never sees it. */
    assert_int_equal(taskops_start(f->st, "agt-00000000000000000000", t1, 1, NULL), -ENOENT);
}

/* A pull reads this agent's rows only, however many tasks other agents have pending: counted in
 * SQLite virtual-machine steps of the pull statement (a plan over tasks_expiry visits them all). */
static void test_pull_reads_only_own_tasks(void **state)
{
    struct fx *f = *state;
    char web1[ID_BUF], mine[ID_BUF], other[ID_BUF], id[ID_BUF];
    struct st_task *tasks = NULL;
    sqlite3_stmt *pull = NULL;
    size_t n = 0;
    int steps;

    memcpy(web1, f->agent_id, ID_BUF);
    add_task(f, 100, 100000, mine);
    add_agent(f->st, "busy", "m2", other);
    memcpy(f->agent_id, other, ID_BUF);
    assert_int_equal(store_begin(f->st), 0);
    for (int i = 0; i < 3000; i++)
        add_task(f, 100, 100000, id);
    assert_int_equal(store_commit(f->st), 0);
    /* The first call prepares the statement (cached by its SQL); the second is measured. */
    assert_int_equal(store_task_offerable(f->st, web1, 2000, 16, &tasks, &n), 0);
    st_task_array_free(tasks, n);
    for (int i = 0; i < f->st->ncache; i++)
        if (strstr(f->st->cache[i].sql, "lease_expires_at <=") &&
            strstr(f->st->cache[i].sql, "LIMIT ?3"))
            pull = f->st->cache[i].stmt;
    assert_non_null(pull);
    sqlite3_stmt_status(pull, SQLITE_STMTSTATUS_VM_STEP, 1);
    assert_int_equal(store_task_offerable(f->st, web1, 2000, 16, &tasks, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(tasks[0].task_id, mine);
    st_task_array_free(tasks, n);
    steps = sqlite3_stmt_status(pull, SQLITE_STMTSTATUS_VM_STEP, 0);
    print_message("pull of 1 task beside 3000 of another agent: %d VM steps\n", steps);
    assert_in_range(steps, 1, 300);
}

/* The tasks of an invocation come with their agents' names (one query, not one per task), also
 * for a removed agent, like store_agent_name. */
static void test_task_list_names_agents(void **state)
{
    struct fx *f = *state;
    char web1[ID_BUF], db1[ID_BUF], id[ID_BUF];
    struct st_task *tasks = NULL;
    size_t n = 0;

    memcpy(web1, f->agent_id, ID_BUF);
    add_task(f, 100, 100000, id);
    add_agent(f->st, "db-1", "m2", db1);
    memcpy(f->agent_id, db1, ID_BUF);
    add_task(f, 100, 100000, id);
    assert_int_equal(store_task_list_by_invocation(f->st, f->inv_id, &tasks, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(tasks[0].agent_id, web1);
    assert_string_equal(tasks[0].agent_name, "web-1");
    assert_string_equal(tasks[1].agent_name, "db-1");
    st_task_array_free(tasks, n);
    assert_int_equal(store_agent_remove(f->st, T, db1), 0);
    assert_int_equal(store_task_list_by_invocation(f->st, f->inv_id, &tasks, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(tasks[0].agent_name, "web-1");
    assert_string_equal(tasks[1].agent_name, "db-1");
    st_task_array_free(tasks, n);
}

static void test_expiry(void **state)
{
    struct fx *f = *state;
    char t1[ID_BUF];
    int64_t n = 0;
    struct st_task t;
    json_t *resp;
    add_task(f, 100, 5000, t1);
    assert_int_equal(taskops_expire(f->st, 4000, 100, NULL, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(taskops_pull(f->st, f->agent_id, 6000, 60000, 16, NULL, &resp), 0);
    assert_int_equal(json_array_size(json_object_get(resp, "tasks")), 0);
    json_decref(resp);
    assert_int_equal(taskops_expire(f->st, 6000, 100, NULL, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_task_get(f->st, t1, &t), 0);
    assert_string_equal(t.status, "expired");
    st_task_free(&t);
}

static int collect(void *ud, const struct st_chunk *c)
{
    struct buf *b = ud;
    return buf_append(b, c->data, c->len);
}

static void test_output_head_tail(void **state)
{
    struct fx *f = *state;
    char t1[ID_BUF];
    int64_t next = -1;
    struct st_task t;
    struct buf all = BUF_INIT;
    char chunk[30];

    add_task(f, 100, 100000, t1);   /* head 50, tail 50 */
    assert_int_equal(taskops_start(f->st, f->agent_id, t1, 10, NULL), 0);
    assert_int_equal(taskops_start(f->st, f->agent_id, t1, 11, NULL), 0);   /* idempotent */
    for (int i = 0; i < 10; i++) {
        memset(chunk, 'a' + i, sizeof chunk);
        assert_int_equal(taskops_output(f->st, f->agent_id, t1, i, ST_STDOUT, chunk, sizeof chunk,
                                        NULL, &next), 0);
        assert_int_equal(next, i + 1);
    }
    /* A duplicate is acknowledged, a gap refused with the next expected seq. */
    assert_int_equal(taskops_output(f->st, f->agent_id, t1, 3, ST_STDOUT, "x", 1, NULL, &next), 0);
    assert_int_equal(next, 10);
    assert_int_equal(taskops_output(f->st, f->agent_id, t1, 12, ST_STDOUT, "x", 1, NULL, &next),
                     TASKOPS_SEQ_GAP);
    assert_int_equal(next, 10);

    assert_int_equal(store_task_get(f->st, t1, &t), 0);
    assert_int_equal(t.output_bytes, 300);
    assert_int_equal(t.dropped_bytes, 200);
    st_task_free(&t);
    assert_int_equal(store_output_each(f->st, t1, 0, collect, &all), 0);
    assert_int_equal(all.len, 100);
    /* Head: 30 'a' + 20 'b'; tail: the last 50 bytes: 20 'i' + 30 'j'. */
    assert_memory_equal(all.data, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbbbbb", 50);
    assert_memory_equal(all.data + 50, "iiiiiiiiiiiiiiiiiiiijjjjjjjjjjjjjjjjjjjjjjjjjjjjjj", 50);
    buf_free(&all);
}

static void test_finish_idempotent(void **state)
{
    struct fx *f = *state;
    char t1[ID_BUF], status[16];
    int64_t next = -1;
    struct task_finish ok = { .status = "succeeded", .has_exit_code = true, .exit_code = 0 };
    struct task_finish bad = { .status = "failed", .has_exit_code = true, .exit_code = 1 };
    add_task(f, 100, 100000, t1);
    assert_int_equal(taskops_start(f->st, f->agent_id, t1, 10, NULL), 0);
    assert_int_equal(taskops_finish(f->st, f->agent_id, t1, &ok, 20, NULL, status, &next), 0);
    assert_string_equal(status, "succeeded");
    assert_int_equal(taskops_finish(f->st, f->agent_id, t1, &bad, 30, NULL, status, &next), 0);
    assert_string_equal(status, "succeeded");
    assert_int_equal(taskops_start(f->st, f->agent_id, t1, 40, NULL), TASKOPS_FINAL);
}

/* Output is acknowledged before its commit (D10): finish says how many chunks were acknowledged,
 * and a server that has fewer answers seq_gap with its own count and changes nothing. */
static void test_finish_checks_acknowledged_output(void **state)
{
    struct fx *f = *state;
    char t1[ID_BUF], status[16];
    struct task_finish done = { .status = "succeeded", .has_exit_code = true, .exit_code = 0,
                                .has_next_seq = true, .next_seq = 3 };
    struct st_task got;
    int64_t next = -1;

    add_task(f, 1000, 100000, t1);
    assert_int_equal(taskops_start(f->st, f->agent_id, t1, 10, NULL), 0);
    for (int64_t seq = 0; seq < 2; seq++) {
        assert_int_equal(taskops_output(f->st, f->agent_id, t1, seq, ST_STDOUT, "ab", 2, NULL,
                                        &next), 0);
        assert_int_equal(next, seq + 1);
    }
    next = -1;
    assert_int_equal(taskops_finish(f->st, f->agent_id, t1, &done, 20, NULL, status, &next),
                     TASKOPS_SEQ_GAP);
    assert_int_equal(next, 2);
    assert_int_equal(store_task_get(f->st, t1, &got), 0);
    assert_string_equal(got.status, "running");
    st_task_free(&got);
    /* the resent chunk arrives; the same finish is taken */
    assert_int_equal(taskops_output(f->st, f->agent_id, t1, 2, ST_STDOUT, "cd", 2, NULL, &next),
                     0);
    assert_int_equal(taskops_finish(f->st, f->agent_id, t1, &done, 30, NULL, status, &next), 0);
    assert_string_equal(status, "succeeded");
    /* fewer than stored (chunks the agent sent but never saw acknowledged) or none: taken */
    char t2[ID_BUF];
    add_task(f, 1000, 100000, t2);
    assert_int_equal(taskops_output(f->st, f->agent_id, t2, 0, ST_STDOUT, "ab", 2, NULL, &next),
                     0);
    done.next_seq = 0;
    assert_int_equal(taskops_finish(f->st, f->agent_id, t2, &done, 40, NULL, status, &next), 0);
    /* a final task answers its status again, whatever next_seq says */
    done.next_seq = 99;
    assert_int_equal(taskops_finish(f->st, f->agent_id, t2, &done, 50, NULL, status, &next), 0);
    assert_string_equal(status, "succeeded");
}

static void test_cancel_before_start(void **state)
{
    struct fx *f = *state;
    char t1[ID_BUF];
    struct st_task t;
    struct evq q = { 0 };
    add_task(f, 100, 100000, t1);
    assert_int_equal(store_task_get(f->st, t1, &t), 0);
    assert_int_equal(taskops_cancel(f->st, &t, 50, &q), 0);
    assert_string_equal(t.status, "cancelled");
    st_task_free(&t);
    evq_clear(&q);
    assert_int_equal(taskops_start(f->st, f->agent_id, t1, 60, NULL), TASKOPS_CANCELLED);
}

/* A second invocation with rate settings; later add_task calls attach to it. */
static void use_rated_invocation(struct fx *f, int64_t conc, int64_t errs)
{
    struct st_invocation inv, got;
    fill_invocation(&inv, "false");
    inv.max_concurrency = "\"50%\"";
    inv.concurrency_limit = conc;
    inv.error_limit = errs;
    assert_int_equal(store_invocation_insert(f->st, &inv), 0);
    assert_int_equal(store_invocation_get(f->st, T, inv.invocation_id, &got), 0);
    assert_string_equal(got.max_concurrency, "\"50%\"");
    assert_null(got.max_errors);
    assert_int_equal(got.concurrency_limit, conc);
    assert_int_equal(got.error_limit, errs);
    st_invocation_free(&got);
    memcpy(f->inv_id, inv.invocation_id, ID_BUF);
}

static size_t pull_count(struct fx *f, int64_t now)
{
    json_t *resp = NULL;
    assert_int_equal(taskops_pull(f->st, f->agent_id, now, 60000, 16, NULL, &resp), 0);
    size_t n = json_array_size(json_object_get(resp, "tasks"));
    json_decref(resp);
    return n;
}

static void test_rate_control(void **state)
{
    struct fx *f = *state;
    char t[3][ID_BUF], status[16];
    struct task_finish bad = { .status = "failed", .has_exit_code = true, .exit_code = 1 };
    struct task_finish ok = { .status = "succeeded", .has_exit_code = true, .exit_code = 0 };
    struct st_task got;
    int64_t next = -1;
    struct evq q = { 0 };

    /* max_concurrency 1: one task out at a time; a success kicks the next one's agent */
    use_rated_invocation(f, 1, -1);
    for (int i = 0; i < 3; i++)
        add_task(f, 100, 100000, t[i]);
    assert_int_equal(pull_count(f, 2000), 1);
    assert_int_equal(pull_count(f, 2001), 0);
    assert_int_equal(taskops_start(f->st, f->agent_id, t[0], 2100, NULL), 0);
    assert_int_equal(taskops_finish(f->st, f->agent_id, t[0], &ok, 2200, &q, status, &next), 0);
    assert_int_equal(q.count, 2);   /* the task event and one kick */
    evq_clear(&q);
    assert_int_equal(pull_count(f, 2300), 1);

    /* max_errors 0: the first failure skips every pending task */
    use_rated_invocation(f, 1, 0);
    for (int i = 0; i < 3; i++)
        add_task(f, 100, 100000, t[i]);
    assert_int_equal(taskops_finish(f->st, f->agent_id, t[0], &bad, 3000, &q, status, &next), 0);
    evq_clear(&q);
    for (int i = 1; i < 3; i++) {
        assert_int_equal(store_task_get(f->st, t[i], &got), 0);
        assert_string_equal(got.status, "skipped");
        assert_string_equal(got.error, "max_errors reached");
        st_task_free(&got);
    }
}

/* Saved commands: insert vs replace, per-tenant names, listing by name, delete; invocations
 * record the command they came from (NULL for ad-hoc ones). */
static void test_saved_commands(void **state)
{
    struct fx *f = *state;
    struct st_command c, *list = NULL;
    struct st_invocation inv = { 0 }, got;
    size_t n = 0;
    bool created = false;

    assert_int_equal(store_tenant_ensure(f->st, "other", 1), 0);
    assert_int_equal(store_command_get(f->st, T, "b", &c), -ENOENT);
    assert_int_equal(store_command_put(f->st, T, "b", "{\"v\":1}", "alice", 10, &created), 0);
    assert_true(created);
    assert_int_equal(store_command_put(f->st, T, "a", "{\"v\":0}", "alice", 11, &created), 0);
    assert_int_equal(store_command_put(f->st, "other", "b", "{\"v\":9}", "eve", 12, &created), 0);
    assert_true(created);
    assert_int_equal(store_command_put(f->st, T, "b", "{\"v\":2}", "bob", 20, &created), 0);
    assert_false(created);
    assert_int_equal(store_command_get(f->st, T, "b", &c), 0);
    assert_string_equal(c.definition, "{\"v\":2}");
    assert_int_equal(c.created_at, 10);
    assert_int_equal(c.updated_at, 20);
    assert_string_equal(c.created_by, "alice");
    assert_string_equal(c.updated_by, "bob");
    st_command_free(&c);
    assert_int_equal(store_command_list(f->st, T, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "a");
    assert_string_equal(list[1].name, "b");
    st_command_array_free(list, n);
    assert_int_equal(store_command_delete(f->st, T, "b"), 0);
    assert_int_equal(store_command_delete(f->st, T, "b"), -ENOENT);
    assert_int_equal(store_command_get(f->st, "other", "b", &c), 0);   /* the other tenant's */
    st_command_free(&c);

    assert_int_equal(store_invocation_get(f->st, T, f->inv_id, &got), 0);
    assert_null(got.command_name);
    st_invocation_free(&got);
    assert_int_equal(id_new(ID_INVOCATION, inv.invocation_id), 0);
    snprintf(inv.tenant_id, sizeof inv.tenant_id, "%s", T);
    inv.command = "echo 'x'";
    inv.command_name = "a";
    snprintf(inv.interpreter, sizeof inv.interpreter, "sh");
    snprintf(inv.user, sizeof inv.user, "root");
    snprintf(inv.created_by, sizeof inv.created_by, "admin");
    inv.timeout_s = 60;
    inv.output_limit = 100;
    inv.created_at = 2000;
    inv.expires_at = 100000;
    assert_int_equal(store_invocation_insert(f->st, &inv), 0);
    assert_int_equal(store_invocation_get(f->st, T, inv.invocation_id, &got), 0);
    assert_string_equal(got.command_name, "a");
    json_t *o = render_invocation(f->st, &got, NULL, 0, false, false);
    assert_string_equal(json_string_value(json_object_get(o, "command_name")), "a");
    json_decref(o);
    st_invocation_free(&got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrations_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apikey_and_activation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agent_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_and_lease_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_reads_only_own_tasks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_list_names_agents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_control, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_head_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finish_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finish_checks_acknowledged_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_before_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_saved_commands, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
