/* Watching work on the server: the invocation listing filters (checked against the status the
 * API shows), live task listing, agent listing filters and the analysis grouping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "server/analysis.h"
#include "server/list_query.h"
#include "server/render.h"
#include "server/store/store.h"

static const char *T = STORE_DEFAULT_TENANT;

struct fx {
    char dir[64];
    char path[128];
    struct store *st;
    char agent_id[ID_BUF];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct st_agent a = { 0 };
    char hash[65];

    snprintf(f->dir, sizeof f->dir, "/tmp/tether-watch-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    assert_int_equal(store_open(f->path, &f->st), 0);
    assert_int_equal(store_tenant_ensure(f->st, T, 1), 0);
    assert_int_equal(store_tenant_ensure(f->st, "other", 1), 0);
    assert_int_equal(id_new(ID_AGENT, a.agent_id), 0);
    snprintf(a.tenant_id, sizeof a.tenant_id, "%s", T);
    snprintf(a.name, sizeof a.name, "web-1");
    snprintf(a.machine_id, sizeof a.machine_id, "m1");
    memset(hash, 'a', 64);
    hash[64] = '\0';
    assert_int_equal(store_agent_insert(f->st, &a, hash), 0);
    memcpy(f->agent_id, a.agent_id, ID_BUF);
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

static void add_invocation(struct fx *f, const char *tenant, const char *command, int64_t created,
                           bool cancel, char id[ID_BUF])
{
    struct st_invocation inv = { 0 };
    assert_int_equal(id_new(ID_INVOCATION, inv.invocation_id), 0);
    snprintf(inv.tenant_id, sizeof inv.tenant_id, "%s", tenant);
    inv.command = (char *)command;
    snprintf(inv.interpreter, sizeof inv.interpreter, "sh");
    snprintf(inv.user, sizeof inv.user, "root");
    snprintf(inv.created_by, sizeof inv.created_by, "admin");
    inv.timeout_s = 60;
    inv.output_limit = 100;
    inv.created_at = created;
    inv.expires_at = created + 100000;
    inv.cancel_requested = cancel;
    assert_int_equal(store_invocation_insert(f->st, &inv), 0);
    memcpy(id, inv.invocation_id, ID_BUF);
}

static void add_task(struct fx *f, const char *tenant, const char *inv_id, const char *status,
                     int64_t started, char id[ID_BUF])
{
    struct st_task t = { 0 };
    assert_int_equal(id_new(ID_TASK, t.task_id), 0);
    memcpy(t.invocation_id, inv_id, ID_BUF);
    memcpy(t.agent_id, f->agent_id, ID_BUF);
    snprintf(t.tenant_id, sizeof t.tenant_id, "%s", tenant);
    snprintf(t.status, sizeof t.status, "pending");
    t.output_limit = 100;
    t.created_at = 1000;
    t.expires_at = 100000;
    assert_int_equal(store_task_insert(f->st, &t), 0);
    snprintf(t.status, sizeof t.status, "%s", status);
    t.started_at = started;
    assert_int_equal(store_task_update(f->st, &t), 0);
    if (id)
        memcpy(id, t.task_id, ID_BUF);
}

static const char *const statuses[] = {
    "pending", "dispatched", "running", "succeeded", "failed", "cancelled", "skipped",
};
#define NSTATUS (sizeof statuses / sizeof statuses[0])

struct combo {
    char id[ID_BUF];
    const char *derived;     /* invocation_status() */
    bool done, failed;
    int64_t created;
};

/* Every multiset of 1…3 task statuses, with and without a cancel request: the SQL filters must
 * pick exactly the invocations whose derived status (or done / failed rule) says so. */
static void test_status_filters_match_render(void **state)
{
    struct fx *f = *state;
    static struct combo combos[1000];
    size_t nc = 0;

    for (int size = 1; size <= 3; size++) {
        size_t idx[3] = { 0, 0, 0 };
        for (;;) {
            for (int cancel = 0; cancel < 2; cancel++) {
                struct combo *c = &combos[nc];
                struct st_invocation inv = { 0 };
                struct st_task tasks[3];
                char cmd[32];

                memset(tasks, 0, sizeof tasks);
                snprintf(cmd, sizeof cmd, "combo %zu", nc);
                c->created = 10000 + (int64_t)nc;
                add_invocation(f, T, cmd, c->created, cancel, c->id);
                c->done = true;
                c->failed = false;
                for (int k = 0; k < size; k++) {
                    const char *s = statuses[idx[k]];
                    add_task(f, T, c->id, s, 0, NULL);
                    snprintf(tasks[k].status, sizeof tasks[k].status, "%s", s);
                    c->done &= task_status_final(s);
                    c->failed |= task_status_final(s) && strcmp(s, "succeeded");
                }
                inv.cancel_requested = cancel;
                c->derived = invocation_status(&inv, tasks, (size_t)size);
                nc++;
            }
            /* next non-decreasing index tuple */
            int k = size - 1;
            while (k >= 0 && idx[k] == NSTATUS - 1)
                k--;
            if (k < 0)
                break;
            idx[k]++;
            for (int j = k + 1; j < size; j++)
                idx[j] = idx[k];
        }
    }
    static const char *const filters[] = { "pending", "running", "succeeded", "cancelled",
                                            "failed", "done" };
    for (size_t fi = 0; fi < sizeof filters / sizeof filters[0]; fi++) {
        struct st_inv_filter flt = { .status = filters[fi], .limit = 1000 };
        struct st_invocation *got = NULL;
        size_t n = 0, want = 0;

        assert_int_equal(store_invocation_find(f->st, T, &flt, &got, &n), 0);
        for (size_t i = 0; i < nc; i++) {
            bool expect = !strcmp(filters[fi], "done")     ? combos[i].done
                          : !strcmp(filters[fi], "failed") ? combos[i].failed
                                                           : !strcmp(combos[i].derived,
                                                                     filters[fi]);
            bool found = false;
            for (size_t j = 0; j < n; j++)
                found |= !strcmp(got[j].invocation_id, combos[i].id);
            if (expect != found)
                fail_msg("filter %s, combo %zu (derived %s): expected %d, got %d", filters[fi],
                         i, combos[i].derived, expect, found);
            want += expect;
        }
        assert_int_equal(n, want);
        /* newest first */
        for (size_t j = 1; j < n; j++)
            assert_true(got[j - 1].created_at >= got[j].created_at);
        st_invocation_array_free(got, n);
    }
    /* every derived "failed" invocation is also in status=failed (the wider rule) */
    {
        struct st_inv_filter flt = { .status = "failed", .limit = 1000 };
        struct st_invocation *got = NULL;
        size_t n = 0;
        assert_int_equal(store_invocation_find(f->st, T, &flt, &got, &n), 0);
        for (size_t i = 0; i < nc; i++) {
            bool found = false;
            if (strcmp(combos[i].derived, "failed"))
                continue;
            for (size_t j = 0; j < n; j++)
                found |= !strcmp(got[j].invocation_id, combos[i].id);
            assert_true(found);
        }
        st_invocation_array_free(got, n);
    }
    {
        struct st_inv_filter bad = { .status = "bogus", .limit = 10 };
        struct st_invocation *got = NULL;
        size_t n = 0;
        assert_int_equal(store_invocation_find(f->st, T, &bad, &got, &n), -EINVAL);
        assert_false(store_inv_status_filter_valid("bogus"));
        assert_true(store_inv_status_filter_valid("done"));
    }
}

static void test_since_command_limit_tenant(void **state)
{
    struct fx *f = *state;
    char a[ID_BUF], b[ID_BUF], c[ID_BUF], o[ID_BUF];
    struct st_invocation *got = NULL;
    size_t n = 0;

    add_invocation(f, T, "echo 'a&b=c+d' %_ \xc3\xbc", 1000, false, a);
    add_invocation(f, T, "systemctl restart nginx", 2000, false, b);
    add_invocation(f, T, "systemctl status nginx", 3000, false, c);
    add_invocation(f, "other", "systemctl restart nginx", 4000, false, o);
    add_task(f, T, b, "failed", 0, NULL);

    struct st_inv_filter all = { .limit = 50 };
    assert_int_equal(store_invocation_find(f->st, T, &all, &got, &n), 0);
    assert_int_equal(n, 3); /* never another tenant's */
    assert_string_equal(got[0].invocation_id, c);
    assert_string_equal(got[2].invocation_id, a);
    st_invocation_array_free(got, n);

    struct st_inv_filter since = { .since_ms = 2000, .limit = 50 };
    assert_int_equal(store_invocation_find(f->st, T, &since, &got, &n), 0);
    assert_int_equal(n, 2);
    st_invocation_array_free(got, n);

    /* a substring, bytes as given: LIKE wildcards and '&' are plain characters */
    struct st_inv_filter cmd = { .command = "%_", .limit = 50 };
    assert_int_equal(store_invocation_find(f->st, T, &cmd, &got, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].invocation_id, a);
    st_invocation_array_free(got, n);
    cmd.command = "a&b=c+d";
    assert_int_equal(store_invocation_find(f->st, T, &cmd, &got, &n), 0);
    assert_int_equal(n, 1);
    st_invocation_array_free(got, n);
    cmd.command = "NGINX"; /* case-sensitive */
    assert_int_equal(store_invocation_find(f->st, T, &cmd, &got, &n), 0);
    assert_int_equal(n, 0);
    st_invocation_array_free(got, n);

    /* all filters together, and the limit */
    struct st_inv_filter both = { .command = "nginx", .since_ms = 1500, .status = "failed",
                                  .limit = 50 };
    assert_int_equal(store_invocation_find(f->st, T, &both, &got, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].invocation_id, b);
    st_invocation_array_free(got, n);
    struct st_inv_filter one = { .command = "systemctl", .limit = 1 };
    assert_int_equal(store_invocation_find(f->st, T, &one, &got, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].invocation_id, c);
    st_invocation_array_free(got, n);
}

static void test_tasks_by_status(void **state)
{
    struct fx *f = *state;
    char inv[ID_BUF], other[ID_BUF], t1[ID_BUF], t2[ID_BUF];
    struct st_task *got = NULL;
    size_t n = 0;
    int64_t count = -1;

    add_invocation(f, T, "sleep", 1000, false, inv);
    add_invocation(f, "other", "sleep", 1000, false, other);
    add_task(f, T, inv, "running", 5000, t1);
    add_task(f, T, inv, "running", 3000, t2);
    add_task(f, T, inv, "succeeded", 1000, NULL);
    add_task(f, "other", other, "running", 1000, NULL);
    assert_int_equal(store_task_list_by_status(f->st, T, "running", 10, &got, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(got[0].task_id, t2); /* running longest first */
    assert_string_equal(got[1].task_id, t1);
    st_task_array_free(got, n);
    assert_int_equal(store_task_list_by_status(f->st, T, "running", 1, &got, &n), 0);
    assert_int_equal(n, 1);
    st_task_array_free(got, n);
    assert_int_equal(store_task_count_by_status(f->st, T, "running", &count), 0);
    assert_int_equal(count, 2);
}

static struct st_agent mk_agent(const char *name, const char *version, const char *tags,
                                const char *ips)
{
    struct st_agent a = { 0 };
    snprintf(a.agent_id, sizeof a.agent_id, "agt-0000000000000000000%c", name[0]);
    snprintf(a.name, sizeof a.name, "%s", name);
    snprintf(a.version, sizeof a.version, "%s", version);
    snprintf(a.primary_ip, sizeof a.primary_ip, "10.0.0.1");
    a.tags = (char *)tags;
    a.ips = (char *)ips;
    return a;
}

static void test_agent_filter(void **state)
{
    struct st_agent web = mk_agent("web", "0.1.0", "{\"env\":\"prod\",\"role\":\"web\"}",
                                   "[\"10.0.0.1\",\"192.168.5.7\"]");
    struct st_agent db = mk_agent("db", "0.10.2", "{\"env\":\"prod\",\"role\":\"db\"}",
                                  "[\"10.0.0.1\",\"fd00::9\"]");
    struct agent_filter fl;
    char err[256];
    (void)state;

    agent_filter_init(&fl);
    assert_true(agent_filter_match(&fl, &web, false));
    assert_int_equal(agent_filter_add_tag(&fl, "env=prod", err, sizeof err), 0);
    assert_true(agent_filter_match(&fl, &web, true) && agent_filter_match(&fl, &db, true));
    assert_int_equal(agent_filter_add_tag(&fl, "role=db", err, sizeof err), 0); /* AND */
    assert_false(agent_filter_match(&fl, &web, true));
    assert_true(agent_filter_match(&fl, &db, true));
    assert_int_equal(agent_filter_add_tag(&fl, "role=db", err, sizeof err), 0); /* repeated */
    assert_true(agent_filter_match(&fl, &db, true));
    assert_int_equal(agent_filter_add_tag(&fl, "role=web", err, sizeof err), 0);
    assert_false(agent_filter_match(&fl, &db, true)); /* role=db AND role=web: nobody */
    assert_false(agent_filter_match(&fl, &web, true));
    agent_filter_free(&fl);

    agent_filter_init(&fl);
    assert_int_equal(agent_filter_set_cidr(&fl, "192.168.0.0/16", err, sizeof err), 0);
    assert_true(agent_filter_match(&fl, &web, true));
    assert_false(agent_filter_match(&fl, &db, true));
    assert_int_equal(agent_filter_set_cidr(&fl, "fd00::/64", err, sizeof err), 0);
    assert_true(agent_filter_match(&fl, &db, true));
    assert_int_equal(agent_filter_set_cidr(&fl, "10.0.0.0/33", err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "cidr"));
    agent_filter_free(&fl);

    agent_filter_init(&fl);
    assert_int_equal(agent_filter_set_version(&fl, "0.1.0", err, sizeof err), 0);
    assert_true(agent_filter_match(&fl, &web, true));
    assert_false(agent_filter_match(&fl, &db, true));
    assert_int_equal(agent_filter_set_version(&fl, "0.1*", err, sizeof err), 0);
    assert_true(agent_filter_match(&fl, &web, true));
    assert_true(agent_filter_match(&fl, &db, true)); /* a prefix: 0.10.2 starts with 0.1 */
    assert_int_equal(agent_filter_set_version(&fl, "0.1.*", err, sizeof err), 0);
    assert_true(agent_filter_match(&fl, &web, true));
    assert_false(agent_filter_match(&fl, &db, true));
    assert_int_equal(agent_filter_set_status(&fl, "online", err, sizeof err), 0);
    assert_false(agent_filter_match(&fl, &web, false));
    assert_true(agent_filter_match(&fl, &web, true));
    agent_filter_free(&fl);

    agent_filter_init(&fl);
    assert_int_equal(agent_filter_set_version(&fl, "*", err, sizeof err), -EINVAL);
    assert_int_equal(agent_filter_set_version(&fl, "1.*2", err, sizeof err), -EINVAL);
    assert_int_equal(agent_filter_set_version(&fl, "1 2", err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "version"));
    assert_int_equal(agent_filter_add_tag(&fl, "novalue", err, sizeof err), -EINVAL);
    assert_int_equal(agent_filter_add_tag(&fl, "=v", err, sizeof err), -EINVAL);
    assert_int_equal(agent_filter_add_tag(&fl, "k=v v", err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "tag"));
    assert_int_equal(agent_filter_set_status(&fl, "away", err, sizeof err), -EINVAL);
    agent_filter_free(&fl);
}

/* ---- analysis grouping ---- */

static int fake_sample(void *ud, const struct analysis_item *rep, json_t *group)
{
    int *calls = ud;
    (*calls)++;
    json_object_set_new(group, "output", json_string(rep->name));
    json_object_set_new(group, "truncated", json_false());
    return 0;
}

static struct st_task mk_task(const char *status, int64_t started, int64_t finished, int code)
{
    struct st_task t = { 0 };
    static int seq;
    snprintf(t.task_id, sizeof t.task_id, "tsk-%020d", ++seq);
    snprintf(t.agent_id, sizeof t.agent_id, "agt-%020d", seq);
    snprintf(t.status, sizeof t.status, "%s", status);
    t.started_at = started;
    t.finished_at = finished;
    t.has_exit_code = code >= 0;
    t.exit_code = code;
    return t;
}

static void test_analysis_groups(void **state)
{
    struct st_task tasks[] = {
        mk_task("succeeded", 1000, 1500, 0),   /* h2: A, 500 ms */
        mk_task("succeeded", 1000, 4000, 0),   /* h1: A, 3 s */
        mk_task("succeeded", 1000, 1100, 0),   /* h3: B */
        mk_task("failed", 1000, 2000, 1),      /* h4: C, failed */
        mk_task("running", 1000, 0, -1),       /* h5: not grouped, not timed */
        mk_task("skipped", 0, 0, -1),          /* h6: never ran */
    };
    const char *names[] = { "h2", "h1", "h3", "h4", "h5", "h6" };
    const char digest_of[] = { 'A', 'A', 'B', 'C', 0, 0 };
    struct analysis_item items[6];
    int calls = 0;
    json_t *a, *groups, *g, *failed, *slow;
    (void)state;

    memset(items, 0, sizeof items);
    for (int i = 0; i < 6; i++) {
        items[i].task = &tasks[i];
        items[i].name = names[i];
        items[i].grouped = digest_of[i] != 0;
        memset(items[i].digest, digest_of[i], sizeof items[i].digest);
        items[i].output_bytes = digest_of[i] ? 2 : 0;
    }
    a = analysis_build(items, 6, fake_sample, &calls);
    assert_non_null(a);
    assert_int_equal(json_integer_value(json_object_get(a, "total")), 6);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "counts"),
                                                        "succeeded")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "counts"),
                                                        "running")), 1);

    failed = json_object_get(a, "failed");
    assert_int_equal(json_integer_value(json_object_get(a, "failed_total")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(failed, 0), "name")),
                        "h4");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(failed, 0), "exit_code")),
                     1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(failed, 1), "name")),
                        "h6");

    slow = json_object_get(a, "slowest");
    assert_int_equal(json_array_size(slow), 4); /* only tasks with a start and an end */
    assert_string_equal(json_string_value(json_object_get(json_array_get(slow, 0), "name")),
                        "h1");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(slow, 0),
                                                        "duration_ms")), 3000);
    assert_string_equal(json_string_value(json_object_get(json_array_get(slow, 1), "name")),
                        "h4");

    groups = json_object_get(a, "outputs");
    assert_int_equal(json_integer_value(json_object_get(a, "grouped")), 4);
    assert_int_equal(json_integer_value(json_object_get(a, "outputs_total")), 3);
    assert_int_equal(json_array_size(groups), 3);
    assert_int_equal(calls, 3); /* one sample per group */
    g = json_array_get(groups, 0);
    assert_int_equal(json_integer_value(json_object_get(g, "count")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(g, "names"), 0)), "h1");
    assert_string_equal(json_string_value(json_array_get(json_object_get(g, "names"), 1)), "h2");
    assert_string_equal(json_string_value(json_object_get(g, "output")), "h1");
    assert_string_equal(json_string_value(json_object_get(g, "sha256")),
                        "4141414141414141414141414141414141414141414141414141414141414141");
    /* ties by count go by the first name */
    assert_string_equal(json_string_value(json_array_get(json_object_get(
                            json_array_get(groups, 1), "names"), 0)), "h3");
    assert_string_equal(json_string_value(json_array_get(json_object_get(
                            json_array_get(groups, 2), "names"), 0)), "h4");
    json_decref(a);

    assert_true(analysis_unsuccessful("cancelled"));
    assert_false(analysis_unsuccessful("succeeded"));
    assert_false(analysis_unsuccessful("running"));
}

/* Many distinct outputs: only the largest ANALYSIS_GROUPS come back, every task still counted. */
static void test_analysis_many_groups(void **state)
{
    enum { N = 60 };
    struct st_task tasks[N];
    struct analysis_item items[N];
    char names[N][16];
    int calls = 0;
    (void)state;

    memset(items, 0, sizeof items);
    for (int i = 0; i < N; i++) {
        tasks[i] = mk_task("succeeded", 1000, 1000 + i, 0);
        snprintf(names[i], sizeof names[i], "h%02d", i);
        items[i].task = &tasks[i];
        items[i].name = names[i];
        items[i].grouped = true;
        /* hosts 0..9 share one output, the others are all different */
        items[i].digest[0] = (unsigned char)(i < 10 ? 0 : i);
    }
    json_t *a = analysis_build(items, N, fake_sample, &calls);
    assert_non_null(a);
    assert_int_equal(json_integer_value(json_object_get(a, "outputs_total")), 51);
    assert_int_equal(json_array_size(json_object_get(a, "outputs")), ANALYSIS_GROUPS);
    assert_int_equal(calls, ANALYSIS_GROUPS);
    json_t *big = json_array_get(json_object_get(a, "outputs"), 0);
    assert_int_equal(json_integer_value(json_object_get(big, "count")), 10);
    assert_int_equal(json_array_size(json_object_get(big, "names")), ANALYSIS_GROUP_NAMES);
    assert_int_equal(json_array_size(json_object_get(a, "slowest")), ANALYSIS_SLOWEST);
    assert_string_equal(json_string_value(json_object_get(json_array_get(
                            json_object_get(a, "slowest"), 0), "name")), "h59");
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status_filters_match_render, setup, teardown),
        cmocka_unit_test_setup_teardown(test_since_command_limit_tenant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tasks_by_status, setup, teardown),
        cmocka_unit_test(test_agent_filter),
        cmocka_unit_test(test_analysis_groups),
        cmocka_unit_test(test_analysis_many_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
