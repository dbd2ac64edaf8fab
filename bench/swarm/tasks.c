/*
 * What a simulated agent does with a kick (docs/protocol.md, "Tasks"): pull, and for each task
 * start -> run -> (one output chunk) -> finish. "Run" is nothing in mode instant and /bin/true in
 * mode true (spawn.c). A kick that arrives while a pull is in flight is remembered and answered
 * with one more pull, as the real agent's dispatcher does. Heartbeats go out every heartbeat_s,
 * each agent at its own phase (main.c's wheel) so they do not arrive together.
 */
#include "swarm.h"

#include "common/jsonutil.h"
#include "common/log.h"
#include "common/tm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ERRORS_LOGGED 20

static void note_error(struct swarm *sw, const char *what, const struct sagent *a, int status,
                       const char *body, size_t len)
{
    if (sw->st.http_errors > ERRORS_LOGGED || status == -ECANCELED)
        return;   /* dropped at exit: not an error of the server's */
    log_warn("%s: %s answered %d: %.*s%s", a->name, what, status, (int)(len > 200 ? 200 : len),
             body ? body : "", sw->st.http_errors == ERRORS_LOGGED ? " (no more errors logged)" :
             "");
}

static void now_rfc3339(char out[32])
{
    if (tm_format_rfc3339(tm_now_ms(), out, 32))
        snprintf(out, 32, "1970-01-01T00:00:00.000Z");
}

static void task_end(struct stask *t)
{
    t->a->running--;
    free(t);
}

static struct hreq *task_req(struct stask *t, const char *what,
                             void (*done)(struct hreq *, int, const char *, size_t))
{
    char path[128];
    snprintf(path, sizeof path, "/v1/agent/tasks/%s/%s", t->task_id, what);
    return hreq_new("POST", path, t->a->token, done, t);
}

static void finish_done(struct hreq *r, int status, const char *body, size_t len)
{
    struct stask *t = r->user;
    struct swarm *sw = t->a->sw;

    if (status == 200) {
        sw->st.tasks_finished++;
        swarm_on_task_finished(sw);
    } else {
        sw->st.tasks_failed++;
        note_error(sw, "finish", t->a, status, body, len);
    }
    task_end(t);
}

static void finish(struct stask *t)
{
    struct swarm *sw = t->a->sw;
    struct hreq *r = task_req(t, "finish", finish_done);
    char at[32], code[16], sig[24];
    const char *status;
    int rc;

    if (!r) {
        task_end(t);
        return;
    }
    now_rfc3339(at);
    if (t->cancel && t->exit_code < 0)
        status = "cancelled";
    else
        status = t->exit_code == 0 ? "succeeded" : "failed";
    if (t->exit_code >= 0)
        snprintf(code, sizeof code, "%d", t->exit_code);
    else
        snprintf(code, sizeof code, "null");
    if (t->signo > 0)
        snprintf(sig, sizeof sig, "\"%s%s\"", "SIG", sigabbrev_np(t->signo) ?
                 sigabbrev_np(t->signo) : "KILL");
    else
        snprintf(sig, sizeof sig, "null");
    rc = buf_printf(&r->body,
                    "{\"status\":\"%s\",\"exit_code\":%s,\"signal\":%s,\"error\":null,"
                    "\"output_bytes\":%lld,\"dropped_bytes\":0,\"finished_at\":\"%s\"}",
                    status, code, sig, (long long)sw->cfg.output_bytes, at);
    if (rc) {
        hreq_free(r);
        task_end(t);
        return;
    }
    hpool_submit(sw->pool, r);
}

static void output_done(struct hreq *r, int status, const char *body, size_t len)
{
    struct stask *t = r->user;
    if (status != 200)
        note_error(t->a->sw, "output", t->a, status, body, len);
    finish(t);
}

static void after_run(struct stask *t)
{
    struct swarm *sw = t->a->sw;
    struct hreq *r;

    if (sw->cfg.output_bytes <= 0 || !sw->output_b64 || t->exit_code < 0) {
        finish(t);
        return;
    }
    r = task_req(t, "output", output_done);
    if (!r || buf_printf(&r->body, "{\"seq\":0,\"stream\":\"stdout\",\"data\":\"%s\"}",
                         sw->output_b64)) {
        hreq_free(r);
        finish(t);
        return;
    }
    hpool_submit(sw->pool, r);
}

void tasks_on_child_exit(struct stask *t)
{
    after_run(t);
}

static void start_done(struct hreq *r, int status, const char *body, size_t len)
{
    struct stask *t = r->user;
    struct swarm *sw = t->a->sw;

    if (status == 409) {   /* cancelled before it started, or already final: do not run it */
        sw->st.tasks_rejected++;
        task_end(t);
        return;
    }
    if (status != 200) {
        note_error(sw, "start", t->a, status, body, len);
        sw->st.tasks_failed++;
        task_end(t);
        return;
    }
    sw->st.tasks_started++;
    if (!strcmp(sw->cfg.mode, "true")) {
        spawner_run(sw->sp, t);
        return;
    }
    t->exit_code = 0;
    after_run(t);
}

static void start_task(struct sagent *a, const char *task_id)
{
    struct stask *t = calloc(1, sizeof *t);
    struct hreq *r;
    char at[32];

    if (!t)
        return;
    t->a = a;
    snprintf(t->task_id, sizeof t->task_id, "%s", task_id);
    a->running++;
    r = task_req(t, "start", start_done);
    now_rfc3339(at);
    if (!r || buf_printf(&r->body, "{\"started_at\":\"%s\"}", at)) {
        hreq_free(r);
        task_end(t);
        return;
    }
    hpool_submit(a->sw->pool, r);
}

static void pull(struct sagent *a);

static void pull_done(struct hreq *r, int status, const char *body, size_t len)
{
    struct sagent *a = r->user;
    struct swarm *sw = a->sw;
    char err[128];
    json_t *j = NULL, *tasks, *cancel, *v;
    size_t i, ntasks = 0;

    a->pulling = false;
    if (status != 200) {
        note_error(sw, "pull", a, status, body, len);
        goto out;
    }
    j = jsonu_parse(body, len, 64 * 1024 * 1024, err, sizeof err);
    tasks = j ? json_object_get(j, "tasks") : NULL;
    json_array_foreach(tasks, i, v) {
        const char *id = json_string_value(json_object_get(v, "task_id"));
        if (id && id_valid(id, ID_TASK)) {
            start_task(a, id);
            ntasks++;
        }
    }
    cancel = j ? json_object_get(j, "cancel") : NULL;
    json_array_foreach(cancel, i, v) {
        const char *id = json_string_value(v);
        if (id && id_valid(id, ID_TASK))
            spawner_cancel(sw->sp, id);
    }
    if (ntasks > 0 && a->kick_ms) {
        /* A kick that brought work: the "tasks" line reports when the first and last came. */
        sw->window_kicks++;
        if (!sw->window_first_kick_ms || a->kick_ms < sw->window_first_kick_ms)
            sw->window_first_kick_ms = a->kick_ms;
        if (a->kick_ms > sw->window_last_kick_ms)
            sw->window_last_kick_ms = a->kick_ms;
        a->kick_ms = 0;
    }
out:
    json_decref(j);
    if ((a->pull_again || (int64_t)ntasks >= sw->cfg.pull_max) && !sw->exiting) {
        a->pull_again = false;
        pull(a);
    }
}

static void pull(struct sagent *a)
{
    struct swarm *sw = a->sw;
    struct hreq *r = hreq_new("POST", "/v1/agent/tasks/pull", a->token, pull_done, a);

    if (!r || buf_printf(&r->body, "{\"max\":%lld}", (long long)sw->cfg.pull_max)) {
        hreq_free(r);
        return;
    }
    a->pulling = true;
    sw->st.pulls++;
    hpool_submit(sw->pool, r);
}

void tasks_on_kick(struct sagent *a)
{
    if (a->sw->exiting)
        return;
    if (a->pulling) {
        a->pull_again = true;
        return;
    }
    pull(a);
}

static void heartbeat_done(struct hreq *r, int status, const char *body, size_t len)
{
    struct sagent *a = r->user;
    if (status != 200)
        note_error(a->sw, "heartbeat", a, status, body, len);
}

void heartbeat_send(struct sagent *a)
{
    struct swarm *sw = a->sw;
    struct hreq *r;
    char ip[20];

    if (sw->exiting || !a->agent_id[0])
        return;
    r = hreq_new("POST", "/v1/agent/heartbeat", a->token, heartbeat_done, a);
    snprintf(ip, sizeof ip, "10.%d.%d.%d", 100 + a->idx / 65536, (a->idx / 256) % 256,
             a->idx % 256);
    if (!r || buf_printf(&r->body,
                         "{\"version\":\"%s\",\"uptime_s\":%lld,\"running\":%d,\"load1\":0.0,"
                         "\"mem_total\":1073741824,\"mem_available\":805306368,"
                         "\"ips\":[\"%s\"],\"primary_ip\":\"%s\"}",
                         TETHER_VERSION, (long long)((tm_mono_ms() - sw->started_mono) / 1000),
                         a->running, ip, ip)) {
        hreq_free(r);
        return;
    }
    sw->st.heartbeats++;
    hpool_submit(sw->pool, r);
}
