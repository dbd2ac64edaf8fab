/*
 * Operator routes on invocations: create (validate, resolve targets, one task per agent, kick the
 * connected agents after the commit), list, show, cancel and the SSE stream.
 */
#include "server/server.h"

#include "common/crypto.h"
#include "common/log.h"
#include "common/tm.h"
#include "server/invocation_body.h"
#include "server/list_query.h"
#include "server/taskops.h"

#include <stdlib.h>
#include <string.h>

struct agent_set {
    struct st_agent *rows;
    struct target_agent *view;
    size_t n;
};

static void agent_set_free(struct agent_set *s)
{
    for (size_t i = 0; s->view && i < s->n; i++) {
        json_decref(s->view[i].tags);
        json_decref(s->view[i].ips);
    }
    free(s->view);
    st_agent_array_free(s->rows, s->n);
}

static int agent_set_load(struct store *st, const char *tenant, struct agent_set *s)
{
    memset(s, 0, sizeof *s);
    if (store_agent_list(st, tenant, &s->rows, &s->n))
        return -1;
    s->view = calloc(s->n ? s->n : 1, sizeof *s->view);
    if (!s->view)
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        struct target_agent *v = &s->view[i];
        v->agent_id = s->rows[i].agent_id;
        v->name = s->rows[i].name;
        v->primary_ip = s->rows[i].primary_ip;
        v->tags = json_loads(s->rows[i].tags, 0, NULL);
        v->ips = json_loads(s->rows[i].ips, 0, NULL);
        if (!v->tags || !v->ips)
            return -1;
    }
    return 0;
}

static char *dump_or_null(json_t *v)
{
    return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

static int make_invocation(struct req *r, const struct inv_request *q, int64_t now,
                           size_t ntasks, const char *command_name, struct st_invocation *inv)
{
    memset(inv, 0, sizeof *inv);
    inv->max_concurrency = dump_or_null(q->max_concurrency);
    inv->max_errors = dump_or_null(q->max_errors);
    inv->concurrency_limit = inv_rate_limit(q->max_concurrency, ntasks, 1, 0);
    inv->error_limit = inv_rate_limit(q->max_errors, ntasks, 0, -1);
    if ((q->max_concurrency && !inv->max_concurrency) || (q->max_errors && !inv->max_errors))
        return -1;
    if (id_new(ID_INVOCATION, inv->invocation_id))
        return -1;
    snprintf(inv->tenant_id, sizeof inv->tenant_id, "%s", r->tenant);
    snprintf(inv->interpreter, sizeof inv->interpreter, "%s", q->interpreter);
    snprintf(inv->user, sizeof inv->user, "%s", q->user);
    snprintf(inv->created_by, sizeof inv->created_by, "%s", r->who);
    inv->command = strdup(q->command);
    inv->workdir = q->workdir ? strdup(q->workdir) : NULL;
    inv->env = json_dumps(q->env, JSON_COMPACT | JSON_SORT_KEYS);
    inv->targets = json_dumps(q->targets, JSON_COMPACT);
    json_t *limits = json_pack("{s:I, s:I, s:I}", "memory_bytes", (json_int_t)q->memory_bytes,
                               "cpu_percent", (json_int_t)q->cpu_percent, "pids",
                               (json_int_t)q->pids);
    inv->limits = limits ? json_dumps(limits, JSON_COMPACT) : NULL;
    json_decref(limits);
    inv->timeout_s = q->timeout_s;
    inv->output_limit = q->output_limit;
    inv->created_at = now;
    inv->expires_at = now + q->expires_in_s * 1000;
    inv->command_name = command_name ? strdup(command_name) : NULL;
    return inv->command && inv->env && inv->targets && inv->limits && (!q->workdir || inv->workdir)
           && (!command_name || inv->command_name) ? 0 : -1;
}

/* Inserts the invocation and its tasks and queues the kicks. */
static int persist(struct req *r, struct st_invocation *inv, const struct agent_set *s,
                   const bool *selected)
{
    struct store *st = r->srv->st;
    char hash[65], detail[160];
    int64_t kicked = 0;

    if (store_invocation_insert(st, inv))
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        if (!selected[i])
            continue;
        struct st_task t = { 0 };
        if (id_new(ID_TASK, t.task_id))
            return -1;
        snprintf(t.invocation_id, sizeof t.invocation_id, "%s", inv->invocation_id);
        snprintf(t.agent_id, sizeof t.agent_id, "%s", s->rows[i].agent_id);
        snprintf(t.tenant_id, sizeof t.tenant_id, "%s", inv->tenant_id);
        snprintf(t.status, sizeof t.status, "pending");
        t.output_limit = inv->output_limit;
        t.created_at = inv->created_at;
        t.expires_at = inv->expires_at;
        if (store_task_insert(st, &t))
            return -1;
        /* Under max_concurrency only the first wave is kicked; taskops_task_ended kicks the
         * next ones as slots free. */
        if (inv->concurrency_limit > 0 && kicked >= inv->concurrency_limit)
            continue;
        kicked++;
        if (evq_push(&r->events, EV_KICK, NULL, t.task_id, t.agent_id, 0, strdup("task")))
            return -1;
    }
    /* The command itself is never logged: its length and a hash prefix identify it. */
    crypto_sha256_hex(inv->command, strlen(inv->command), hash);
    snprintf(detail, sizeof detail, "command %zu bytes sha256:%.12s%s%s", strlen(inv->command),
             hash, inv->command_name ? " saved command " : "",
             inv->command_name ? inv->command_name : "");
    return req_audit(r, inv->created_at, "invocation.create", inv->invocation_id, detail);
}

/* Adds "agent_online" to each task of a new invocation, so the CLI can say up front which targets
 * are offline without another request (docs/api.md). An id -> state map keeps it linear for big
 * fleets. Returns 0, or -1 with o freed. */
static int mark_online(struct server *srv, json_t *o, const struct agent_set *s,
                       const bool *selected, int64_t now)
{
    json_t *online = json_object(), *t;
    size_t i;
    int rc = online ? 0 : -1;

    for (i = 0; rc == 0 && i < s->n; i++)
        if (selected[i])
            rc = json_object_set_new(online, s->rows[i].agent_id,
                                     json_boolean(agent_online(srv, &s->rows[i], now)));
    json_array_foreach(json_object_get(o, "tasks"), i, t) {
        const char *agent_id = json_string_value(json_object_get(t, "agent_id"));
        json_t *v = agent_id && rc == 0 ? json_object_get(online, agent_id) : NULL;

        if (rc == 0)
            rc = json_object_set_new(t, "agent_online", json_boolean(json_is_true(v)));
    }
    json_decref(online);
    if (rc)
        json_decref(o);
    return rc ? -1 : 0;
}

int invocation_create(struct req *r, json_t *body, const char *command_name, char *inv_id)
{
    char err[256] = "";
    struct inv_request q;
    struct agent_set set = { 0 };
    struct st_invocation inv = { 0 };
    bool *selected = NULL;
    int64_t now = tm_now_ms();
    int rc = -1;

    if (inv_request_parse(body, &q, err, sizeof err)) {
        resp_error(r, 400, "bad_request", "%s", err);
        goto out;
    }
    if (agent_set_load(r->srv->st, r->tenant, &set) ||
        !(selected = calloc(set.n ? set.n : 1, sizeof *selected))) {
        resp_error(r, 503, "unavailable", "store not readable");
        goto out;
    }
    if (targets_resolve(&q.spec, set.view, set.n, selected, err, sizeof err)) {
        resp_error(r, 400, "bad_request", "%s", err);
        goto out;
    }
    size_t ntasks = 0;
    for (size_t i = 0; i < set.n; i++)
        ntasks += selected[i];
    if (make_invocation(r, &q, now, ntasks, command_name, &inv) ||
        persist(r, &inv, &set, selected)) {
        resp_error(r, 503, "unavailable", "store not writable");
        goto out;
    }
    log_info("invocations: %s created by %s", inv.invocation_id, r->who);
    json_t *o = render_invocation_load(r->srv->st, &inv, true, false);
    if (!o || mark_online(r->srv, o, &set, selected, now) != 0) {
        resp_error(r, 503, "unavailable", "store not readable");
        goto out;
    }
    resp_json(r, 201, o);
    if (inv_id)
        snprintf(inv_id, ID_BUF, "%s", inv.invocation_id);
    rc = 0;
out:
    free(selected);
    agent_set_free(&set);
    st_invocation_free(&inv);
    inv_request_free(&q);
    return rc;
}

void h_invocation_create(struct req *r)
{
    json_t *body = req_json(r);

    if (!body)
        return;
    invocation_create(r, body, NULL, NULL);
    json_decref(body);
}

/* POST /v1/targets/resolve: the agents a `targets` object selects, without creating anything
 * (`tether run --dry-run`). Same validation and errors as POST /v1/invocations. */
void h_targets_resolve(struct req *r)
{
    char err[256] = "";
    struct inv_request q;
    struct agent_set set = { 0 };
    bool *selected = NULL;
    json_t *body = req_json(r), *arr = NULL;

    if (!body)
        return;
    if (inv_targets_parse(body, &q, err, sizeof err)) {
        resp_error(r, 400, "bad_request", "%s", err);
        goto out;
    }
    if (agent_set_load(r->srv->st, r->tenant, &set) ||
        !(selected = calloc(set.n ? set.n : 1, sizeof *selected)) || !(arr = json_array())) {
        resp_error(r, 503, "unavailable", "store not readable");
        goto out;
    }
    if (targets_resolve(&q.spec, set.view, set.n, selected, err, sizeof err)) {
        resp_error(r, 400, "bad_request", "%s", err);
        goto out;
    }
    for (size_t i = 0; i < set.n; i++) {
        if (!selected[i])
            continue;
        bool online = agent_online(r->srv, &set.rows[i], tm_now_ms());
        json_t *a = render_agent(&set.rows[i], online);
        if (!a || json_array_append_new(arr, a)) {
            resp_error(r, 503, "unavailable", "out of memory");
            goto out;
        }
    }
    resp_json(r, 200, json_pack("{s:O}", "agents", arr));
out:
    json_decref(arr);
    free(selected);
    agent_set_free(&set);
    inv_request_free(&q);
    json_decref(body);
}

void h_invocations_list(struct req *r)
{
    struct inv_list_query q;
    struct st_invocation *invs = NULL;
    size_t n = 0;

    if (inv_list_query_parse(r, &q))
        return;
    if (store_invocation_find(r->srv->st, r->tenant, &q.f, &invs, &n)) {
        resp_error(r, 503, "unavailable", "store not readable");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, render_invocation_load(r->srv->st, &invs[i], false, false));
    st_invocation_array_free(invs, n);
    resp_json(r, 200, arr ? json_pack("{s:o}", "invocations", arr) : NULL);
}

/* Loads the invocation named by the path; answers 404 itself. */
static int load_invocation(struct req *r, struct st_invocation *inv)
{
    int rc = -ENOENT;
    if (id_valid(r->params[0], ID_INVOCATION))
        rc = store_invocation_get(r->srv->st, r->tenant, r->params[0], inv);
    if (rc == -ENOENT)
        resp_error(r, 404, "not_found", "no such invocation");
    else if (rc)
        resp_error(r, 503, "unavailable", "store not readable");
    return rc;
}

static bool want_output(struct req *r)
{
    char arg[8];
    return req_query(r, "output", arg, sizeof arg) && (!strcmp(arg, "1") || !strcmp(arg, "true"));
}

void h_invocation_show(struct req *r)
{
    struct st_invocation inv;
    if (load_invocation(r, &inv))
        return;
    json_t *o = render_invocation_load(r->srv->st, &inv, true, want_output(r));
    st_invocation_free(&inv);
    if (o)
        resp_json(r, 200, o);
    else
        resp_error(r, 503, "unavailable", "store not readable");
}

void h_invocation_cancel(struct req *r)
{
    struct st_invocation inv;
    struct st_task *tasks = NULL;
    size_t n = 0;
    int64_t now = tm_now_ms();

    if (load_invocation(r, &inv))
        return;
    if (store_invocation_set_cancel(r->srv->st, inv.invocation_id) ||
        store_task_list_by_invocation(r->srv->st, inv.invocation_id, &tasks, &n))
        goto unavailable;
    for (size_t i = 0; i < n; i++)
        if (taskops_cancel(r->srv->st, &tasks[i], now, &r->events))
            goto unavailable;
    if (req_audit(r, now, "invocation.cancel", inv.invocation_id, NULL))
        goto unavailable;
    inv.cancel_requested = true;
    json_t *o = render_invocation(r->srv->st, &inv, tasks, n, true, false);
    if (!o)
        goto unavailable;
    resp_json(r, 200, o);
    goto out;
unavailable:
    resp_error(r, 503, "unavailable", "store not writable");
out:
    st_task_array_free(tasks, n);
    st_invocation_free(&inv);
}

void h_invocation_events(struct req *r)
{
    struct st_invocation inv;
    if (load_invocation(r, &inv))
        return;
    st_invocation_free(&inv);
    if (sse_start(r, r->params[0]))
        resp_error(r, 503, "unavailable", "store not readable");
}
