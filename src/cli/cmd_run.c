/*
 * `tether run`: create an invocation, then follow it and print its output live (DESIGN §5.3).
 * One target behaves like `ssh host cmd`: raw bytes, the remote exit code. Several targets get
 * "NAME | " prefixed lines and a summary.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/follow.h"
#include "cli/interrupt.h"
#include "cli/output.h"
#include "cli/prefix.h"
#include "cli/reshape.h"
#include "cli/run_args.h"
#include "cli/table.h"
#include "cli/view.h"
#include "common/ids.h"

struct run_ctx {
    struct follow *f;
    struct out_view view;
};

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
    code = run_outcome(arr, &msg);
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
    struct follow_sink sink = { on_output, NULL, &r };
    int rc;

    if (follow_init(&f, c, inv_id, json_object_get(inv, "tasks"), NULL, &sink) != 0)
        return cli_fail("out of memory");
    r.f = &f;
    /* "NAME | line" exactly, no padding: scripts grep for it (DESIGN §5.3) */
    view_init(&r.view, c, f.ntasks != 1, -1, 0);
    rc = follow_run(&f);
    view_finish(&r.view);
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

/* --dry-run: the server resolves the targets exactly as it would for the invocation. */
int run_dry(struct cli *c, const struct run_opts *o)
{
    static const char *const hdr[] = { "NAME", "AGENT", "STATUS", "IP" };
    json_t *body = json_pack("{s:O}", "targets", json_object_get(o->body, "targets"));
    json_t *res = NULL, *agents;
    struct table t;
    size_t offline = 0;
    int rc;

    if (!body)
        return cli_fail("out of memory");
    rc = cli_api(c, "POST", "/v1/targets/resolve", body, &res);
    json_decref(body);
    if (rc)
        return rc;
    agents = json_object_get(res, "agents");
    if (!json_is_array(agents)) {
        json_decref(res);
        return cli_fail("the server sent a target list this CLI cannot read");
    }
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
        offline += strcmp(row[2], "online") != 0;
        table_add_row(&t, row);
    }
    table_print(&t, stdout);
    table_free(&t);
    fprintf(stderr, "tether: %zu agent(s) selected, %zu offline; nothing was run (--dry-run)\n",
            json_array_size(agents), offline);
    json_decref(res);
    return 0;
}

int run_follow(struct cli *c, const struct run_opts *o, json_t *inv)
{
    const char *inv_id = json_string_value(json_object_get(inv, "invocation_id"));
    char line[160];

    if (!inv_id || !id_valid(inv_id, ID_INVOCATION))
        return cli_fail("the server answered without a valid invocation_id");
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
    if ((rc = cli_api(c, "POST", "/v1/invocations", o.body, &inv)) != 0)
        goto out;
    rc = run_follow(c, &o, inv);
out:
    json_decref(inv);
    run_opts_free(&o);
    return rc;
}
