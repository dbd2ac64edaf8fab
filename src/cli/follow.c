/* Following an invocation over SSE with a polling fallback; see follow.h. */
#include "cli/follow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/progress.h"
#include "cli/reshape.h"
#include "common/b64.h"
#include "common/jsonutil.h"
#include "common/tm.h"

#define FOLLOW_MAX_EVENT (4u * 1024 * 1024)
#define POLL_INTERVAL_MS 1000
#define POLL_GIVE_UP_MS (120 * 1000)

int follow_init(struct follow *f, struct cli *c, const char *inv_id, json_t *tasks,
                const char *only_task, const struct follow_sink *sink)
{
    size_t i;
    json_t *t;

    memset(f, 0, sizeof *f);
    if (!id_valid(inv_id, ID_INVOCATION) || (only_task && !id_valid(only_task, ID_TASK)))
        return -EINVAL;
    f->cli = c;
    snprintf(f->inv_id, sizeof f->inv_id, "%s", inv_id);
    if (only_task)
        snprintf(f->only_task, sizeof f->only_task, "%s", only_task);
    f->sink = *sink;
    json_array_foreach(tasks, i, t) {
        long rc = follow_update_task(f, t);
        if (rc == -ENOMEM)
            return -ENOMEM;
    }
    return 0;
}

void follow_free(struct follow *f)
{
    for (size_t i = 0; i < f->ntasks; i++)
        json_decref(f->tasks[i].obj);
    free(f->tasks);
    sse_free(&f->sse);
    memset(f, 0, sizeof *f);
}

static long find_task(struct follow *f, const char *id)
{
    for (size_t i = 0; i < f->ntasks; i++)
        if (strcmp(f->tasks[i].id, id) == 0)
            return (long)i;
    return -ENOENT;
}

long follow_update_task(struct follow *f, json_t *task)
{
    const char *id = json_string_value(json_object_get(task, "task_id"));
    const char *name = json_string_value(json_object_get(task, "name"));
    const char *status = json_string_value(json_object_get(task, "status"));
    struct follow_task *ft;
    long idx;

    if (!id || !id_valid(id, ID_TASK))
        return -EINVAL;
    if (f->only_task[0] && strcmp(id, f->only_task) != 0)
        return -ENOENT;
    idx = find_task(f, id);
    if (idx < 0) {
        ft = realloc(f->tasks, (f->ntasks + 1) * sizeof *ft);
        if (!ft)
            return -ENOMEM;
        f->tasks = ft;
        ft = &f->tasks[f->ntasks];
        memset(ft, 0, sizeof *ft);
        snprintf(ft->id, sizeof ft->id, "%s", id);
        ft->polled_bytes = -1;
        idx = (long)f->ntasks++;
    }
    ft = &f->tasks[idx];
    /* the name is shown on the operator's terminal: only an allowlisted name, else the id */
    snprintf(ft->name, sizeof ft->name, "%s", name && name_valid(name) ? name : id);
    json_decref(ft->obj);
    ft->obj = json_incref(task);
    ft->final = task_status_final(status);
    return idx;
}

static void on_task_event(struct follow *f, json_t *doc)
{
    const char *status = json_string_value(json_object_get(doc, "status"));
    const char *id = json_string_value(json_object_get(doc, "task_id"));
    long old = id ? find_task(f, id) : -ENOENT;
    const char *prev = old >= 0 ? json_string_value(json_object_get(f->tasks[old].obj, "status"))
                                : NULL;
    long idx;

    /* progress means news, not the replay a reconnect starts with */
    if (!prev || !status || strcmp(prev, status) != 0)
        f->progress = true;
    idx = follow_update_task(f, doc);
    if (idx >= 0 && f->sink.task)
        f->sink.task(f->sink.ud, (size_t)idx);
}

static void on_output_event(struct follow *f, json_t *doc)
{
    const char *id = json_string_value(json_object_get(doc, "task_id"));
    const char *stream = json_string_value(json_object_get(doc, "stream"));
    const char *data = json_string_value(json_object_get(doc, "data"));
    json_t *seqv = json_object_get(doc, "seq");
    enum out_stream s;
    struct follow_task *ft;
    long idx, n;
    char *bytes;
    size_t dlen;

    if (!id || !stream || !data || !json_is_integer(seqv))
        return;
    if (strcmp(stream, "stdout") == 0)
        s = STREAM_STDOUT;
    else if (strcmp(stream, "stderr") == 0)
        s = STREAM_STDERR;
    else
        return;
    idx = find_task(f, id);
    if (idx < 0)
        return; /* not ours (filtered) or never announced: nothing to attribute it to */
    ft = &f->tasks[idx];
    if (json_integer_value(seqv) < ft->next_seq)
        return; /* replayed after a reconnect: already delivered */
    dlen = strlen(data);
    bytes = malloc(b64_decoded_max(dlen) + 1);
    if (!bytes)
        return;
    n = b64_decode(data, dlen, bytes, b64_decoded_max(dlen) + 1);
    if (n >= 0) {
        /* a gap in seq is the server's head+tail truncation; dropped_bytes reports it */
        ft->next_seq = json_integer_value(seqv) + 1;
        ft->delivered[s] += (uint64_t)n;
        f->progress = true;
        if (n > 0)
            f->sink.output(f->sink.ud, (size_t)idx, s, bytes, (size_t)n);
    }
    free(bytes);
}

int follow_on_event(struct follow *f, const char *event, const char *data, size_t len)
{
    char err[128];
    json_t *doc;

    if (strcmp(event, "end") == 0) {
        f->ended = true;
        return 1;
    }
    if (strcmp(event, "task") != 0 && strcmp(event, "output") != 0)
        return 0; /* newer servers may send more kinds */
    doc = jsonu_parse(data, len, FOLLOW_MAX_EVENT, err, sizeof err);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return 0;
    }
    if (event[0] == 't')
        on_task_event(f, doc);
    else
        on_output_event(f, doc);
    json_decref(doc);
    return 0;
}

static int sse_cb(void *ud, const char *event, const char *data, size_t len)
{
    return follow_on_event(ud, event, data, len);
}

static int stream_cb(void *ud, const char *data, size_t n)
{
    struct follow *f = ud;
    return sse_feed(&f->sse, data, n) != 0;
}

/* One attempt at the event stream. Returns 0 when it ran (ended or broke), EXIT_API when the key
 * was refused (polling would fail the same way). */
static int stream_once(struct follow *f)
{
    struct http_client *h = cli_http(f->cli);
    struct http_response r;
    char path[128];
    int rc;

    if (!h)
        return EXIT_API;
    sse_free(&f->sse);
    sse_init(&f->sse, FOLLOW_MAX_EVENT, sse_cb, f);
    f->progress = false;
    snprintf(path, sizeof path, "/v1/invocations/%s/events", f->inv_id);
    rc = http_stream(h, path, stream_cb, f, &r);
    if (rc == 0 && r.status == 401) {
        cli_report(f->cli, rc, &r);
        http_response_free(&r);
        return EXIT_API;
    }
    http_response_free(&r);
    return 0;
}

/* Polling mode: delivers stored bytes past what was already delivered, stream by stream. */
static int fetch_missing(struct follow *f, size_t idx)
{
    static const char *const names[2] = { "stdout", "stderr" };
    struct follow_task *ft = &f->tasks[idx];

    for (int s = 0; s < 2; s++) {
        struct http_response r;
        char path[128];

        snprintf(path, sizeof path, "/v1/tasks/%s/output?stream=%s", ft->id, names[s]);
        if (cli_get_raw(f->cli, path, &r, true) != 0)
            return -EIO;
        if (r.len > ft->delivered[s]) {
            f->sink.output(f->sink.ud, idx, (enum out_stream)s, r.body + ft->delivered[s],
                           r.len - ft->delivered[s]);
            ft->delivered[s] = r.len;
        }
        http_response_free(&r);
    }
    return 0;
}

/* One poll. Returns 1 when every task is final and drained, 0 to poll again, -EIO on a transport
 * or server failure (retry), EXIT_API on a definite refusal (already printed). */
static int poll_once(struct follow *f)
{
    char path[128], err[256];
    json_t *inv = NULL, *t;
    long status;
    size_t i;
    bool done = true;

    snprintf(path, sizeof path, "/v1/invocations/%s", f->inv_id);
    if (cli_api_quiet(f->cli, "GET", path, NULL, &inv, &status, err, sizeof err) != 0) {
        if (status == 0 || status >= 500)
            return -EIO;
        return cli_fail("%s", err), EXIT_API;
    }
    json_array_foreach(json_object_get(inv, "tasks"), i, t)
        on_task_event(f, t);
    json_decref(inv);
    for (i = 0; i < f->ntasks; i++) {
        struct follow_task *ft = &f->tasks[i];
        json_t *ob = json_object_get(ft->obj, "output_bytes");
        int64_t bytes = json_is_integer(ob) ? json_integer_value(ob) : -2;
        bool final = ft->final;

        /* the status was read before the output: a task final here has all of its output stored */
        if (bytes != ft->polled_bytes || bytes == -2) {
            if (fetch_missing(f, i) != 0)
                return -EIO;
            ft->polled_bytes = bytes;
        }
        if (!final)
            done = false;
    }
    return done ? 1 : 0;
}

static int poll_until_done(struct follow *f)
{
    int64_t last_ok = tm_mono_ms();
    int rc;

    progress_hide_active();
    if (!f->quiet)
        fprintf(stderr, "tether: the event stream from %s failed; polling for results\n",
                f->cli->server);
    for (;;) {
        rc = poll_once(f);
        if (rc == 1) {
            f->ended = true;
            return 0;
        }
        if (rc == EXIT_API)
            return EXIT_API;
        if (rc == 0)
            last_ok = tm_mono_ms();
        else if (tm_mono_ms() - last_ok > POLL_GIVE_UP_MS)
            return cli_fail("lost the server at %s while waiting; output may be incomplete "
                            "(see it later with: tether logs %s)", f->cli->server, f->inv_id);
        tm_sleep_ms(POLL_INTERVAL_MS);
    }
}

int follow_run(struct follow *f)
{
    /* A reconnect replays the stored state, so it is cheap to retry; but a server that keeps
     * closing the stream early (a proxy with a read timeout) must not make us loop forever. */
    for (int attempt = 0; !f->ended; attempt++) {
        if (attempt >= 3)
            return poll_until_done(f);
        if (attempt > 0)
            tm_sleep_ms(250 * attempt);
        if (stream_once(f) != 0)
            return EXIT_API;
        if (f->progress && attempt > 0)
            attempt = 0; /* it was working again: start counting afresh */
    }
    return 0;
}
