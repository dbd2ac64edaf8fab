/*
 * `tether logs TASK_OR_INVOCATION [-f] [--stream stdout|stderr]`.
 * A task: its stored bytes exactly (GET /v1/tasks/{id}/output). An invocation: every task's
 * output with "NAME | " prefixes, stdout lines to stdout and stderr lines to stderr. -f follows
 * the invocation's event stream until every task is final.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "cli/follow.h"
#include "cli/output.h"
#include "cli/view.h"
#include "common/ids.h"

const char logs_usage[] =
    "usage: tether logs TASK_OR_INVOCATION [-f] [--stream stdout|stderr]\n"
    "\n"
    "Prints the stored output of a task (tsk-…) as is, or of every task of an invocation\n"
    "(inv-…) with \"NAME | \" prefixes. -f keeps following until every task has finished.\n"
    "\n"
    "example: tether logs tsk-0123456789abcdef0123 > out.txt\n"
    "         tether logs -f inv-0123456789abcdef0123\n";

enum { L_FOLLOW = 1, L_STREAM, L_HELP };

const struct opt_spec logs_specs[] = {
    { "follow", 'f', false, L_FOLLOW },
    { "stream", 0, true, L_STREAM },
    { "help", 'h', false, L_HELP },
    { NULL, 0, false, 0 },
};

static const char *const stream_names[2] = { "stdout", "stderr" };

struct logs_ctx {
    struct follow *f;
    struct out_view view;
};

static void on_output(void *ud, size_t idx, enum out_stream s, const char *data, size_t n)
{
    struct logs_ctx *l = ud;
    view_output(&l->view, idx, l->f->tasks[idx].name, s, data, n);
}

/* Follows the invocation (only one task of it when task_id is set). */
static int logs_follow(struct cli *c, const char *inv_id, const char *task_id, json_t *tasks,
                       int only_stream)
{
    struct logs_ctx l;
    struct follow f;
    struct follow_sink sink = { on_output, NULL, &l };
    int rc;

    if (follow_init(&f, c, inv_id, tasks, task_id, &sink) != 0)
        return cli_fail("out of memory");
    l.f = &f;
    view_init(&l.view, c, task_id == NULL, only_stream, 0);
    rc = follow_run(&f);
    view_finish(&l.view);
    follow_free(&f);
    return rc;
}

/* Stored output of task idx, one stream or both in arrival order, into the view. */
static int dump_task(struct cli *c, struct out_view *v, size_t idx, const char *task_id,
                     const char *name, int stream, enum out_stream as)
{
    struct http_response r;
    char path[128];
    int rc;

    snprintf(path, sizeof path, "/v1/tasks/%s/output%s%s", task_id, stream >= 0 ? "?stream=" : "",
             stream >= 0 ? stream_names[stream] : "");
    if ((rc = cli_get_raw(c, path, &r, false)) != 0)
        return rc;
    view_output(v, idx, name, as, r.body ? r.body : "", r.len);
    http_response_free(&r);
    return 0;
}

static int logs_invocation(struct cli *c, const char *inv_id, int only_stream)
{
    struct out_view v;
    struct follow f;
    struct follow_sink none = { NULL, NULL, NULL };
    json_t *inv = NULL;
    char path[96];
    int rc;

    snprintf(path, sizeof path, "/v1/invocations/%s", inv_id);
    if ((rc = cli_api(c, "GET", path, NULL, &inv)) != 0)
        return rc;
    /* follow_init only validates and names the tasks here; nothing is streamed */
    if (follow_init(&f, c, inv_id, json_object_get(inv, "tasks"), NULL, &none) != 0) {
        json_decref(inv);
        return cli_fail("out of memory");
    }
    view_init(&v, c, true, only_stream, 0);
    for (size_t i = 0; i < f.ntasks && rc == 0; i++) {
        for (int s = 0; s < 2 && rc == 0; s++)
            if (only_stream < 0 || only_stream == s)
                rc = dump_task(c, &v, i, f.tasks[i].id, f.tasks[i].name, s, (enum out_stream)s);
        view_end_task(&v, i);
    }
    view_finish(&v);
    follow_free(&f);
    json_decref(inv);
    return rc;
}

static int logs_task(struct cli *c, const char *task_id, bool follow, int only_stream)
{
    struct out_view v;
    json_t *task = NULL, *arr;
    const char *inv_id;
    char path[96];
    int rc;

    if (!follow) {
        /* both streams in arrival order, all to stdout: the exact stored bytes */
        view_init(&v, c, false, -1, 0);
        rc = dump_task(c, &v, 0, task_id, task_id, only_stream, STREAM_STDOUT);
        view_finish(&v);
        return rc;
    }
    snprintf(path, sizeof path, "/v1/tasks/%s", task_id);
    if ((rc = cli_api(c, "GET", path, NULL, &task)) != 0)
        return rc;
    inv_id = jstr(task, "invocation_id", "");
    if (!id_valid(inv_id, ID_INVOCATION)) {
        json_decref(task);
        return cli_fail("the server sent a task without a valid invocation_id");
    }
    arr = json_array();
    json_array_append(arr, task);
    rc = logs_follow(c, inv_id, task_id, arr, only_stream);
    json_decref(arr);
    json_decref(task);
    return rc;
}

int cmd_logs(struct cli *c, int argc, char **argv)
{
    struct opt_iter it;
    const char *val, *target = NULL;
    bool follow = false;
    int id, only_stream = -1;

    opt_iter_init(&it, "logs", argc, argv, false);
    while ((id = opt_next(&it, logs_specs, &val)) != OPT_END) {
        if (id == OPT_ERROR)
            return EXIT_USAGE;
        if (id == L_HELP) {
            fputs(logs_usage, stdout);
            return 0;
        }
        if (id == L_FOLLOW)
            follow = true;
        if (id == L_STREAM) {
            if (strcmp(val, "stdout") == 0)
                only_stream = STREAM_STDOUT;
            else if (strcmp(val, "stderr") == 0)
                only_stream = STREAM_STDERR;
            else
                return cli_usage("logs", "--stream: '%s' is not stdout or stderr", val);
        }
        if (id == OPT_POSITIONAL) {
            if (target)
                return cli_usage("logs", "give one task or invocation id");
            target = val;
        }
    }
    if (!target)
        return cli_usage("logs", "give a task id (tsk-…) or an invocation id (inv-…)");
    if (id_valid(target, ID_TASK))
        return logs_task(c, target, follow, only_stream);
    if (!id_valid(target, ID_INVOCATION))
        return cli_usage("logs", "'%s' is not a task id (tsk-…) or an invocation id (inv-…)",
                         target);
    if (follow) {
        json_t *inv = NULL;
        char path[96];
        int rc;

        snprintf(path, sizeof path, "/v1/invocations/%s", target);
        if ((rc = cli_api(c, "GET", path, NULL, &inv)) != 0)
            return rc;
        rc = logs_follow(c, target, NULL, json_object_get(inv, "tasks"), only_stream);
        json_decref(inv);
        return rc;
    }
    return logs_invocation(c, target, only_stream);
}
