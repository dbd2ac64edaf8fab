/*
 * The agent's task calls (docs/protocol.md, "Tasks"): pull with leases, start, output, finish.
 * The state machine itself is in taskops.c; this file checks input and maps results to HTTP.
 */
#include "server/server.h"

#include "common/b64.h"
#include "common/jsonutil.h"
#include "common/tm.h"
#include "server/output_body.h"
#include "server/render.h"
#include "server/taskops.h"

#include <stdlib.h>
#include <string.h>

#define OUTPUT_CHUNK_MAX 65536
#define OUTPUT_BATCH_MAX 16

static void touch_agent(struct req *r)
{
    struct st_agent a;
    if (store_agent_get(r->srv->st, r->tenant, r->agent_id, &a))
        return;
    a.last_seen = tm_now_ms();
    store_agent_update(r->srv->st, &a, NULL);
    st_agent_free(&a);
}

/* The task id from the path, checked by allowlist before any use. */
static const char *task_param(struct req *r)
{
    if (!id_valid(r->params[0], ID_TASK)) {
        resp_error(r, 404, "not_found", "no such task");
        return NULL;
    }
    return r->params[0];
}

/* Common answers of taskops codes; returns true when it answered. */
static bool answer_code(struct req *r, int rc)
{
    switch (rc) {
    case 0: return false;
    case -ENOENT: resp_error(r, 404, "not_found", "no such task"); return true;
    case TASKOPS_CANCELLED:
        resp_error(r, 409, "task_cancelled", "the task was cancelled before it started");
        return true;
    case TASKOPS_FINAL: resp_error(r, 409, "task_final", "the task is already final"); return true;
    default: resp_error(r, 503, "unavailable", "store not writable"); return true;
    }
}

void h_agent_pull(struct req *r)
{
    static const char *const keys[] = { "max", NULL };
    char err[256];
    int64_t max = 16;
    json_t *body = req_json(r), *resp = NULL;

    if (!body)
        return;
    if (jsonu_only_keys(body, keys, err, sizeof err) ||
        jsonu_int(body, "max", 1, 256, &max, err, sizeof err) < 0) {
        resp_error(r, 400, "bad_request", "%s", err);
        goto out;
    }
    touch_agent(r);
    if (taskops_pull(r->srv->st, r->agent_id, tm_now_ms(), r->srv->cfg.lease_s * 1000, max,
                     &r->events, &resp)) {
        resp_error(r, 503, "unavailable", "store not writable");
        goto out;
    }
    /* Not held for the commit: should it fail, the tasks are pending again and the agent, which
     * journals them by id, takes a repeated offer as the same task (start accepts pending). */
    r->no_commit_wait = true;
    resp_json(r, 200, resp);
out:
    json_decref(body);
}

void h_agent_start(struct req *r)
{
    static const char *const keys[] = { "started_at", NULL };
    char err[256];
    const char *id = task_param(r), *started = NULL;
    json_t *body;
    int64_t ts;

    if (!id || !(body = req_json(r)))
        return;
    if (jsonu_only_keys(body, keys, err, sizeof err) ||
        jsonu_str(body, "started_at", &started, err, sizeof err) < 0 ||
        (started && tm_parse_rfc3339(started, &ts))) {
        resp_error(r, 400, "bad_request", "%s", started ? "started_at: not an RFC 3339 time" : err);
        goto out;
    }
    if (!answer_code(r, taskops_start(r->srv->st, r->agent_id, id, tm_now_ms(), &r->events))) {
        /* Not held for the commit either: a lost "running" leaves the task dispatched, and
         * finish is accepted from any state that is not final. The shim starts meanwhile. */
        r->no_commit_wait = true;
        resp_json(r, 200, json_pack("{s:s}", "status", "running"));
    }
out:
    json_decref(body);
}

/* 409 seq_gap: the agent resends its logged chunks from next_seq. */
static void answer_seq_gap(struct req *r, int64_t next, const char *msg)
{
    resp_json(r, 409, json_pack("{s:{s:s, s:s}, s:I}", "error", "code", "seq_gap", "message", msg,
                                "next_seq", (json_int_t)next));
}

/* One chunk object of the general path; err names what is wrong. */
static int chunk_slow(json_t *obj, struct output_body *o, char *err, size_t errlen)
{
    static const char *const keys[] = { "seq", "stream", "data", NULL };
    const char *stream = NULL, *data = NULL;

    o->seq = -1;
    if (!json_is_object(obj))
        return snprintf(err, errlen, "chunks: every element must be an object"), -1;
    if (jsonu_only_keys(obj, keys, err, errlen) ||
        jsonu_int(obj, "seq", 0, INT64_MAX / 2, &o->seq, err, errlen) ||
        jsonu_str(obj, "stream", &stream, err, errlen) ||
        jsonu_str(obj, "data", &data, err, errlen)) {
        if (!err[0])
            snprintf(err, errlen, "seq, stream and data are required");
        return -1;
    }
    o->stream = stream;
    o->stream_len = strlen(stream);
    o->data = data;
    o->data_len = strlen(data);
    return 0;
}

/* The general path: full JSON parse with messages that name the field. Accepts one chunk or
 * {"chunks":[…]} of at most OUTPUT_BATCH_MAX. */
static int output_body_slow(struct req *r, struct output_body *o, size_t *n, json_t **hold)
{
    char err[256] = "";
    json_t *body = req_json(r), *chunks;
    size_t i;

    if (!body)
        return -1;
    *hold = body;
    *n = 0;
    chunks = json_object_get(body, "chunks");
    if (!chunks) {
        if (chunk_slow(body, &o[0], err, sizeof err))
            goto bad;
        *n = 1;
        return 0;
    }
    if (json_object_size(body) != 1 || !json_is_array(chunks) || !json_array_size(chunks) ||
        json_array_size(chunks) > OUTPUT_BATCH_MAX) {
        snprintf(err, sizeof err, "chunks: must be the only key, an array of 1 to %d chunks",
                 OUTPUT_BATCH_MAX);
        goto bad;
    }
    for (i = 0; i < json_array_size(chunks); i++) {
        if (chunk_slow(json_array_get(chunks, i), &o[i], err, sizeof err))
            goto bad;
    }
    *n = i;
    return 0;
bad:
    resp_error(r, 400, "bad_request", "%s", err);
    return -1;
}

/* Stores one chunk. Returns 0 (stored or a duplicate), or 1 when it answered (error, gap). */
static int output_one(struct req *r, const char *id, const struct output_body *o, int64_t *next)
{
    unsigned char *raw;
    int stream, rc;
    long n;

    if (o->stream_len == 6 && !memcmp(o->stream, "stdout", 6)) {
        stream = ST_STDOUT;
    } else if (o->stream_len == 6 && !memcmp(o->stream, "stderr", 6)) {
        stream = ST_STDERR;
    } else {
        resp_error(r, 400, "bad_request", "stream: must be stdout or stderr");
        return 1;
    }
    raw = malloc(b64_decoded_max(o->data_len) + 1);
    n = raw ? b64_decode(o->data, o->data_len, raw, b64_decoded_max(o->data_len) + 1) : -ENOMEM;
    if (n < 1 || n > OUTPUT_CHUNK_MAX) {
        free(raw);
        resp_error(r, 400, "bad_request", "data: must be base64 of 1 byte to 64 KiB");
        return 1;
    }
    rc = taskops_output(r->srv->st, r->agent_id, id, o->seq, stream, raw, (size_t)n, &r->events,
                        next);
    free(raw);
    if (rc == TASKOPS_SEQ_GAP) {
        answer_seq_gap(r, *next, "seq is beyond the next expected one");
        return 1;
    }
    return answer_code(r, rc) ? 1 : 0;
}

void h_agent_output(struct req *r)
{
    const char *id = task_param(r);
    const char *text = r->body.data ? r->body.data : "";
    struct output_body o[OUTPUT_BATCH_MAX];
    int64_t next = 0;
    json_t *hold = NULL;
    size_t n = 0;
    char ack[8];

    if (!id)
        return;
    if (output_body_fast(text, r->body.len, &o[0]) == 0)
        n = 1;
    else if (output_batch_fast(text, r->body.len, o, OUTPUT_BATCH_MAX, &n) != 0 &&
             output_body_slow(r, o, &n, &hold))
        goto out;
    /* in order; a chunk that fails answers for the batch, those before it stay stored (each
     * one is idempotent on its seq, so the agent's resend from next_seq is harmless) */
    for (size_t i = 0; i < n; i++)
        if (output_one(r, id, &o[i], &next))
            goto out;
    /* ?ack=early (D10): the answer does not wait for the commit, so the agent's next batch
     * travels while this one is made durable. The agent keeps every chunk until finish, which
     * says how many were acknowledged: a commit that failed after the answer shows up there as
     * a seq_gap and the agent resends. */
    if (req_query(r, "ack", ack, sizeof ack) && !strcmp(ack, "early"))
        r->no_commit_wait = true;
    resp_json(r, 200, json_pack("{s:I}", "next_seq", (json_int_t)next));
out:
    json_decref(hold);
}

static int parse_finish(json_t *body, struct task_finish *f, char *err, size_t errlen)
{
    static const char *const keys[] = { "status", "exit_code", "signal", "error", "output_bytes",
                                        "dropped_bytes", "finished_at", "next_seq", NULL };
    const char *finished = NULL;
    int64_t ts;
    int rc;

    memset(f, 0, sizeof *f);
    if (jsonu_only_keys(body, keys, err, errlen) ||
        jsonu_str(body, "status", &f->status, err, errlen))
        return snprintf(err, errlen, "%s", err[0] ? err : "status: required"), -1;
    if (!task_status_final(f->status) || !strcmp(f->status, "expired") ||
        !strcmp(f->status, "skipped"))
        return snprintf(err, errlen, "status: not a final status an agent may report"), -1;
    rc = jsonu_int(body, "exit_code", -1, 255, &f->exit_code, err, errlen);
    if (rc < 0)
        return -1;
    f->has_exit_code = rc == 0;
    if (jsonu_str(body, "signal", &f->signal, err, errlen) < 0 ||
        jsonu_str(body, "error", &f->error, err, errlen) < 0 ||
        jsonu_int(body, "output_bytes", 0, INT64_MAX / 2, &f->output_bytes, err, errlen) < 0 ||
        jsonu_int(body, "dropped_bytes", 0, INT64_MAX / 2, &f->dropped_bytes, err, errlen) < 0 ||
        jsonu_str(body, "finished_at", &finished, err, errlen) < 0)
        return -1;
    rc = jsonu_int(body, "next_seq", 0, INT64_MAX / 2, &f->next_seq, err, errlen);
    if (rc < 0)
        return -1;
    f->has_next_seq = rc == 0;
    if (f->signal && (strlen(f->signal) > 15 || strncmp(f->signal, "SIG", 3)))
        return snprintf(err, errlen, "signal: must be a signal name like SIGKILL"), -1;
    if (f->error && strlen(f->error) > 4096)
        return snprintf(err, errlen, "error: at most 4096 bytes"), -1;
    if (finished && tm_parse_rfc3339(finished, &ts))
        return snprintf(err, errlen, "finished_at: not an RFC 3339 time"), -1;
    return 0;
}

void h_agent_finish(struct req *r)
{
    char err[256] = "", status[16];
    const char *id = task_param(r);
    struct task_finish f;
    json_t *body;

    if (!id || !(body = req_json(r)))
        return;
    if (parse_finish(body, &f, err, sizeof err)) {
        resp_error(r, 400, "bad_request", "%s", err);
        goto out;
    }
    int64_t next = 0;
    int rc = taskops_finish(r->srv->st, r->agent_id, id, &f, tm_now_ms(), &r->events, status,
                            &next);
    if (rc == TASKOPS_SEQ_GAP)
        answer_seq_gap(r, next, "output chunks from next_seq have not arrived; resend them, "
                                "then finish");
    else if (!answer_code(r, rc))
        resp_json(r, 200, json_pack("{s:s}", "status", status));
out:
    json_decref(body);
}
