/*
 * `tether run`: create an invocation, then follow it and print its output live (DESIGN §5.3).
 * One target behaves like `ssh host cmd`: raw bytes, the remote exit code. Several targets get
 * "NAME | " prefixed lines and a summary.
 *
 * On a terminal (docs/cli.md, "On a terminal"): --all or more than 50 targets asks first, offline
 * targets are named before any output, and a multi-target run keeps a progress line on stderr.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/follow.h"
#include "cli/interrupt.h"
#include "cli/output.h"
#include "cli/prefix.h"
#include "cli/progress.h"
#include "cli/reshape.h"
#include "cli/run_args.h"
#include "cli/table.h"
#include "cli/term.h"
#include "cli/view.h"
#include "common/ids.h"
#include "common/tm.h"

/* More targets than this (or --all) ask for confirmation on a terminal. */
#define CONFIRM_ABOVE 50
/* Offline targets named one by one in the notice; the rest are counted. */
#define OFFLINE_NAMED 10

struct run_ctx {
    struct follow *f;
    struct out_view view;
    struct progress progress;
};

/* Redraws the progress line from the tasks' current states. */
static void on_task(void *ud, size_t idx)
{
    struct run_ctx *r = ud;
    size_t done = 0, running = 0, failed = 0;

    (void)idx;
    for (size_t i = 0; i < r->f->ntasks; i++) {
        const char *st = jstr(r->f->tasks[i].obj, "status", "");
        if (r->f->tasks[i].final) {
            done++;
            failed += strcmp(st, "succeeded") != 0;
        } else if (!strcmp(st, "running") || !strcmp(st, "dispatched")) {
            running++;
        }
    }
    progress_update(&r->progress, done, r->f->ntasks, running, failed);
}

static void on_output(void *ud, size_t idx, enum out_stream s, const char *data, size_t n)
{
    struct run_ctx *r = ud;
    view_output(&r->view, idx, r->f->tasks[idx].name, s, data, n);
}

static int outcome_of_follow(struct follow *f, bool print)
{
    json_t *arr = json_array();
    struct buf msg = BUF_INIT;
    int code;

    for (size_t i = 0; arr && i < f->ntasks; i++)
        json_array_append(arr, f->tasks[i].obj);
    code = run_outcome_color(arr, &msg, term_color_on(stderr));
    if (print && msg.len)
        out_write(stderr, msg.data, msg.len);
    buf_free(&msg);
    json_decref(arr);
    return code;
}

static int run_live(struct cli *c, const char *inv_id, json_t *inv)
{
    struct run_ctx r;
    struct follow f;
    struct follow_sink sink = { on_output, on_task, &r };
    int rc;

    if (follow_init(&f, c, inv_id, json_object_get(inv, "tasks"), NULL, &sink) != 0)
        return cli_fail("out of memory");
    r.f = &f;
    /* "NAME | line" exactly, no padding: scripts grep for it (DESIGN §5.3) */
    view_init(&r.view, c, f.ntasks != 1, -1, 0);
    progress_init(&r.progress, f.ntasks > 1 && c->err_tty);
    view_set_progress(&r.view, &r.progress);
    interrupt_erase_line(r.progress.enabled && !term_is_dumb());
    on_task(&r, 0);
    rc = follow_run(&f);
    view_finish(&r.view);
    progress_end(&r.progress);
    interrupt_erase_line(false);
    if (rc == 0)
        rc = outcome_of_follow(&f, true);
    follow_free(&f);
    return rc;
}

static void null_output(void *ud, size_t idx, enum out_stream s, const char *d, size_t n)
{
    (void)ud; (void)idx; (void)s; (void)d; (void)n;
}

/* Waits without printing, then prints the invocation in the -o json shape. */
static int run_json(struct cli *c, const char *inv_id, json_t *inv)
{
    struct follow_sink sink = { null_output, NULL, NULL };
    struct follow f;
    json_t *full = NULL, *shaped = NULL;
    struct buf msg = BUF_INIT;
    int rc;

    if (follow_init(&f, c, inv_id, json_object_get(inv, "tasks"), NULL, &sink) != 0)
        return cli_fail("out of memory");
    rc = follow_run(&f);
    follow_free(&f);
    if (rc)
        return rc;
    if ((rc = cli_get_invocation_output(c, inv_id, &full)) != 0)
        return rc;
    shaped = reshape_invocation(full);
    if (!shaped) {
        rc = cli_fail("the server sent an invocation this CLI cannot read");
        goto out;
    }
    json_dumpf(shaped, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    fflush(stdout);
    rc = run_outcome(json_object_get(shaped, "tasks"), &msg);
out:
    buf_free(&msg);
    json_decref(shaped);
    json_decref(full);
    return rc;
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : dflt;
}

/* POST /v1/targets/resolve: the agents the targets select, as the invocation would. Returns 0
 * with *res (owned by the caller) holding an "agents" array, or the exit code after printing. */
static int resolve_targets(struct cli *c, const struct run_opts *o, json_t **res)
{
    json_t *body = json_pack("{s:O}", "targets", json_object_get(o->body, "targets"));
    int rc;

    *res = NULL;
    if (!body)
        return cli_fail("out of memory");
    rc = cli_api(c, "POST", "/v1/targets/resolve", body, res);
    json_decref(body);
    if (rc)
        return rc;
    if (!json_is_array(json_object_get(*res, "agents"))) {
        json_decref(*res);
        *res = NULL;
        return cli_fail("the server sent a target list this CLI cannot read");
    }
    return 0;
}

static size_t count_offline(json_t *agents)
{
    size_t offline = 0;

    for (size_t i = 0; i < json_array_size(agents); i++)
        offline += strcmp(jstr(json_array_get(agents, i), "status", ""), "online") != 0;
    return offline;
}

/* --dry-run: the server resolves the targets exactly as it would for the invocation. */
int run_dry(struct cli *c, const struct run_opts *o)
{
    static const char *const hdr[] = { "NAME", "AGENT", "STATUS", "IP" };
    json_t *res = NULL, *agents;
    struct table t;
    int rc;

    if ((rc = resolve_targets(c, o, &res)) != 0)
        return rc;
    agents = json_object_get(res, "agents");
    if (o->format == OUT_JSON) {
        json_dumpf(res, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(res);
        return 0;
    }
    table_init(&t, 4, hdr);
    for (size_t i = 0; i < json_array_size(agents); i++) {
        json_t *a = json_array_get(agents, i);
        const char *row[] = { str_or(a, "name", "-"), str_or(a, "agent_id", "-"),
                              str_or(a, "status", "-"), str_or(a, "primary_ip", "-") };
        table_add_row(&t, row);
    }
    table_print(&t, stdout);
    table_free(&t);
    fprintf(stderr, "tether: %zu agent(s) selected, %zu offline; nothing was run (--dry-run)\n",
            json_array_size(agents), count_offline(agents));
    json_decref(res);
    return 0;
}

/* Whether a confirmation could be needed: a terminal to ask on, no --yes, and a selection that
 * is not just a few explicit names (only then is the extra resolve round trip paid). */
static bool confirm_possible(const struct run_opts *o)
{
    json_t *targets = json_object_get(o->body, "targets");
    size_t named = json_array_size(json_object_get(targets, "agents"));

    if (o->yes || isatty(STDIN_FILENO) != 1 || isatty(STDERR_FILENO) != 1)
        return false;
    if (json_is_true(json_object_get(targets, "all")) || named > CONFIRM_ABOVE)
        return true;
    return named == 0; /* tags or cidr alone select from the whole fleet */
}

/* Asks "About to run on N agents (M offline). Continue? [y/N]" when the run takes --all or more
 * than CONFIRM_ABOVE agents. Returns 0 to go on, EXIT_DECLINED (nothing created) or an error. */
static int confirm_run(struct cli *c, const struct run_opts *o)
{
    json_t *res = NULL, *agents;
    char question[160];
    size_t n;
    bool all = json_is_true(json_object_get(json_object_get(o->body, "targets"), "all"));
    int rc;

    if ((rc = resolve_targets(c, o, &res)) != 0)
        return rc;
    agents = json_object_get(res, "agents");
    n = json_array_size(agents);
    if (all || n > CONFIRM_ABOVE) {
        snprintf(question, sizeof question, "About to run on %zu agent%s (%zu offline). "
                 "Continue? [y/N] ", n, n == 1 ? "" : "s", count_offline(agents));
        if (!term_confirm(question)) {
            cli_fail("nothing run");
            rc = EXIT_DECLINED;
        }
    }
    json_decref(res);
    return rc;
}

/* "1h", "90m", "45s": the shortest exact form. */
static void fmt_duration(int64_t s, char *out, size_t n)
{
    if (s > 0 && s % 86400 == 0)
        snprintf(out, n, "%lldd", (long long)(s / 86400));
    else if (s > 0 && s % 3600 == 0)
        snprintf(out, n, "%lldh", (long long)(s / 3600));
    else if (s > 0 && s % 60 == 0)
        snprintf(out, n, "%lldm", (long long)(s / 60));
    else
        snprintf(out, n, "%llds", (long long)s);
}

/* Names the targets whose agents were offline when the invocation was created (the create
 * answer's "agent_online"; a server without it gets no notice), before any output. */
static void note_offline(json_t *inv)
{
    json_t *tasks = json_object_get(inv, "tasks"), *t;
    struct buf b = BUF_INIT, names = BUF_INIT;
    size_t i, offline = 0, total = json_array_size(tasks);
    int64_t created, expires;
    char ttl[32];

    json_array_foreach(tasks, i, t) {
        const char *name = jstr(t, "name", ""), *id = jstr(t, "task_id", "");
        if (!json_is_false(json_object_get(t, "agent_online")))
            continue;
        if (offline++ < OFFLINE_NAMED)
            buf_printf(&names, "%s%s", offline > 1 ? ", " : "",
                       name_valid(name) ? name : id_valid(id, ID_TASK) ? id : "?");
    }
    if (offline == 0)
        goto out;
    if (offline > OFFLINE_NAMED)
        buf_printf(&names, " and %zu more", offline - OFFLINE_NAMED);
    buf_printf(&b, "tether: %zu of %zu target%s %s ", offline, total, total == 1 ? "" : "s",
               offline == 1 ? "is" : "are");
    term_paint(&b, "offline", "offline", 7, term_color_on(stderr));
    buf_printf(&b, " (%s); %s until %s", names.data,
               offline == 1 ? "its task waits" : "their tasks wait",
               offline == 1 ? "it reconnects" : "they reconnect");
    if (tm_parse_rfc3339(jstr(inv, "created_at", ""), &created) == 0 &&
        tm_parse_rfc3339(jstr(inv, "expires_at", ""), &expires) == 0 && expires > created) {
        fmt_duration((expires - created + 999) / 1000, ttl, sizeof ttl);
        buf_printf(&b, " or expire%s in %s", offline == 1 ? "s" : "", ttl);
    }
    buf_append_str(&b, "\n");
    out_write(stderr, b.data, b.len);
out:
    buf_free(&names);
    buf_free(&b);
}

/* Prompts when the run could need it (see confirm_possible). */
int run_confirm(struct cli *c, const struct run_opts *o)
{
    return confirm_possible(o) ? confirm_run(c, o) : 0;
}

int run_follow(struct cli *c, const struct run_opts *o, json_t *inv)
{
    const char *inv_id = json_string_value(json_object_get(inv, "invocation_id"));
    char line[160];

    if (!inv_id || !id_valid(inv_id, ID_INVOCATION))
        return cli_fail("the server answered without a valid invocation_id");
    note_offline(inv);
    if (o->no_wait) {
        printf("%s\n", inv_id);
        return 0;
    }
    snprintf(line, sizeof line, "tether: interrupted; %s keeps running. Cancel it with: "
             "tether cancel %s", inv_id, inv_id);
    interrupt_install(line);
    return o->format == OUT_JSON ? run_json(c, inv_id, inv) : run_live(c, inv_id, inv);
}

int cmd_run(struct cli *c, int argc, char **argv)
{
    struct run_opts o;
    json_t *inv = NULL;
    int rc;

    rc = run_args_parse(&o, argc, argv);
    if (rc || o.help) {
        if (rc == 0)
            fputs(run_usage, stdout);
        goto out;
    }
    if (o.dry_run) {
        rc = run_dry(c, &o);
        goto out;
    }
    if ((rc = run_confirm(c, &o)) != 0)
        goto out;
    if ((rc = cli_api(c, "POST", "/v1/invocations", o.body, &inv)) != 0)
        goto out;
    rc = run_follow(c, &o, inv);
out:
    json_decref(inv);
    run_opts_free(&o);
    return rc;
}
