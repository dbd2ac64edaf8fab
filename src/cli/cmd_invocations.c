/* `tether invocations [ls] | show ID` over /v1/invocations (docs/api.md). */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/output.h"
#include "cli/query.h"
#include "cli/reshape.h"
#include "cli/table.h"
#include "common/ids.h"
#include "common/since.h"
#include "common/tm.h"

#define COMMAND_COLUMN 48

const char invocations_usage[] =
    "usage: tether invocations [ls] [--status S] [--since DURATION|TIME] [--command TEXT]\n"
    "                          [--limit N] [-o json|table]\n"
    "       tether invocations show ID [-o json]\n"
    "\n"
    "Lists recent invocations (newest first), or shows one with its tasks and their output.\n"
    "TASKS is succeeded/total. The filters are applied by the server and combine (AND):\n"
    "      --status S      pending, running, succeeded, cancelled (the STATUS shown),\n"
    "                      done (every task finished) or failed (at least one task ended\n"
    "                      without succeeding, even while others still run)\n"
    "      --since D|T     created in the last D (90s, 15m, 1h, 7d) or at/after the RFC 3339\n"
    "                      UTC time T (2026-11-01T00:00:00Z)\n"
    "      --command TEXT  whose command text contains TEXT (case-sensitive)\n"
    "  -n, --limit N       at most N (1...1000, default 50)\n"
    "\n"
    "example: tether invocations --limit 10\n"
    "         tether invocations --status failed --since 1h\n"
    "         tether invocations --command 'systemctl restart' -o json\n"
    "         tether invocations show inv-0123456789abcdef0123 -o json\n";

enum { I_OUTPUT = 1, I_HELP, I_LIMIT, I_STATUS, I_SINCE, I_COMMAND };

const struct opt_spec invocations_specs[] = {
    { "output", 'o', true, I_OUTPUT },
    { "help", 'h', false, I_HELP },
    { "limit", 'n', true, I_LIMIT },
    { "status", 0, true, I_STATUS },
    { "since", 0, true, I_SINCE },
    { "command", 0, true, I_COMMAND },
    { NULL, 0, false, 0 },
};

/* The filters of `invocations ls`, sent as GET /v1/invocations query parameters. */
struct inv_filters {
    long long limit;
    const char *status, *since, *command;
};

static const char *const status_filters[] = {
    "pending", "running", "succeeded", "failed", "cancelled", "done", NULL,
};

/* Checks one filter option; the server checks again and has the last word. */
static int check_filter(int id, const char *val, struct inv_filters *f)
{
    int64_t since_ms;
    size_t i;

    switch (id) {
    case I_STATUS:
        for (i = 0; status_filters[i] && strcmp(status_filters[i], val); i++)
            ;
        if (!status_filters[i])
            return cli_usage("invocations", "--status: '%s' is not pending, running, "
                             "succeeded, failed, cancelled or done", val);
        f->status = val;
        return 0;
    case I_SINCE:
        if (since_parse(val, tm_now_ms(), &since_ms) != 0)
            return cli_usage("invocations", "--since: '%s' is not a duration (90s, 15m, 1h, 7d; "
                             "at most 3650d) or an RFC 3339 UTC time (2026-11-01T00:00:00Z)",
                             val);
        f->since = val;
        return 0;
    case I_COMMAND:
        if (!*val || strlen(val) > 1024)
            return cli_usage("invocations", "--command: give 1...1024 bytes of command text");
        f->command = val;
        return 0;
    }
    return 0;
}

/* First line of the command, cut to width with an ellipsis. */
static void short_command(const char *cmd, char *out, size_t n)
{
    size_t len = strcspn(cmd, "\n"), w = 0, i = 0;

    while (i < len && w < COMMAND_COLUMN - 1 && i + 4 < n) {
        i++;
        while (i < len && ((unsigned char)cmd[i] & 0xc0) == 0x80)
            i++;
        w++;
    }
    snprintf(out, n, "%.*s%s", (int)i, cmd, i < len || cmd[len] ? "…" : "");
}

static void task_counts(json_t *inv, char *out, size_t n)
{
    json_t *counts = json_object_get(inv, "counts"), *v;
    const char *k;
    long long total = 0, ok = 0;

    json_object_foreach(counts, k, v) {
        total += json_integer_value(v);
        if (strcmp(k, "succeeded") == 0)
            ok = json_integer_value(v);
    }
    snprintf(out, n, "%lld/%lld", ok, total);
}

static int invocations_ls(struct cli *c, enum out_format fmt, const struct inv_filters *f)
{
    static const char *const hdr[] = { "ID", "STATUS", "CREATED", "TASKS", "COMMAND" };
    json_t *doc = NULL, *list;
    struct buf path = BUF_INIT;
    struct table t;
    char limit[24];
    int rc;

    snprintf(limit, sizeof limit, "%lld", f->limit);
    rc = buf_append_str(&path, "/v1/invocations") || query_add(&path, "limit", limit) ||
         (f->status && query_add(&path, "status", f->status)) ||
         (f->since && query_add(&path, "since", f->since)) ||
         (f->command && query_add(&path, "command", f->command));
    if (rc == 0)
        rc = cli_api(c, "GET", path.data, NULL, &doc);
    else
        rc = cli_fail("out of memory");
    buf_free(&path);
    if (rc != 0)
        return rc;
    list = json_object_get(doc, "invocations");
    if (fmt == OUT_JSON) {
        print_json(json_is_array(list) ? list : json_array());
        json_decref(doc);
        return 0;
    }
    table_init(&t, 5, hdr);
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *x = json_array_get(list, i);
        char created[64], tasks[48], cmd[COMMAND_COLUMN * 4 + 8];

        fmt_relative(jstr(x, "created_at", NULL), tm_now_ms(), created, sizeof created);
        task_counts(x, tasks, sizeof tasks);
        short_command(jstr(x, "command", ""), cmd, sizeof cmd);
        const char *row[] = { jstr(x, "invocation_id", "-"), jstr(x, "status", "-"), created,
                              tasks, cmd };
        table_add_row(&t, row);
    }
    table_print(&t, stdout);
    table_free(&t);
    json_decref(doc);
    return 0;
}

/* A rate setting as given: 2 or "50%"; nothing when the invocation has none. */
static void rate_line(struct buf *b, const char *label, json_t *v)
{
    if (json_is_integer(v))
        buf_printf(b, "\n%s%lld", label, (long long)json_integer_value(v));
    else if (json_is_string(v) && strlen(json_string_value(v)) < 8 &&
             !strpbrk(json_string_value(v), "\x1b\r\n"))
        buf_printf(b, "\n%s%s", label, json_string_value(v));
}

static void print_invocation(struct cli *c, json_t *inv)
{
    static const char *const hdr[] = { "NAME", "TASK", "STATUS", "EXIT", "STARTED", "ERROR" };
    json_t *tasks = json_object_get(inv, "tasks");
    struct buf b = BUF_INIT;
    struct table t;
    char created[64];

    fmt_relative(jstr(inv, "created_at", NULL), tm_now_ms(), created, sizeof created);
    buf_printf(&b, "invocation  %s\nstatus      ", jstr(inv, "invocation_id", "?"));
    term_escape_cell(jstr(inv, "status", "?"), strlen(jstr(inv, "status", "?")), &b);
    buf_printf(&b, "\ncreated     %s by ", created);
    term_escape_cell(jstr(inv, "created_by", "?"), strlen(jstr(inv, "created_by", "?")), &b);
    if (jstr(inv, "command_name", NULL)) {
        buf_append_str(&b, "\nsaved cmd   ");
        term_escape_cell(jstr(inv, "command_name", ""), strlen(jstr(inv, "command_name", "")),
                         &b);
    }
    rate_line(&b, "concurrency ", json_object_get(inv, "max_concurrency"));
    rate_line(&b, "max errors  ", json_object_get(inv, "max_errors"));
    buf_append_str(&b, "\ncommand     ");
    term_escape_cell(jstr(inv, "command", ""), strlen(jstr(inv, "command", "")), &b);
    buf_append_str(&b, "\n\n");
    out_write(stdout, b.data, b.len);
    buf_free(&b);

    table_init(&t, 6, hdr);
    for (size_t i = 0; i < json_array_size(tasks); i++) {
        json_t *x = json_array_get(tasks, i);
        char result[48], started[64];

        fmt_exit(x, result, sizeof result);
        fmt_relative(jstr(x, "started_at", NULL), tm_now_ms(), started, sizeof started);
        const char *row[] = { jstr(x, "name", "-"), jstr(x, "task_id", "-"),
                              jstr(x, "status", "-"), result,
                              jstr(x, "started_at", NULL) ? started : "-",
                              jstr(x, "error", "-") };
        table_add_row(&t, row);
    }
    table_print(&t, stdout);
    table_free(&t);

    for (size_t i = 0; i < json_array_size(tasks); i++) {
        json_t *x = json_array_get(tasks, i);
        const char *output = jstr(x, "output", "");
        json_t *dropped = json_object_get(x, "dropped_bytes");
        struct buf h = BUF_INIT;

        if (!*output)
            continue;
        buf_append_str(&h, "\n== ");
        term_escape_cell(jstr(x, "name", "?"), strlen(jstr(x, "name", "?")), &h);
        if (json_integer_value(dropped) > 0)
            buf_printf(&h, " (%lld bytes dropped in the middle)",
                       (long long)json_integer_value(dropped));
        buf_append_str(&h, " ==\n");
        out_write(stdout, h.data, h.len);
        buf_free(&h);
        print_text(stdout, c->out_tty, output);
    }
}

static int invocations_show(struct cli *c, enum out_format fmt, const char *id)
{
    json_t *doc = NULL, *shaped;
    int rc;

    if (!id_valid(id, ID_INVOCATION))
        return cli_usage("invocations show", "'%s' is not an invocation id (inv-…)", id);
    if ((rc = cli_get_invocation_output(c, id, &doc)) != 0)
        return rc;
    if (fmt == OUT_JSON) {
        shaped = reshape_invocation(doc);
        if (!shaped)
            rc = cli_fail("the server sent an invocation this CLI cannot read");
        else
            print_json(shaped);
        json_decref(shaped);
    } else {
        print_invocation(c, doc);
    }
    json_decref(doc);
    return rc;
}

int cmd_invocations(struct cli *c, int argc, char **argv)
{
    struct opt_iter it;
    enum out_format fmt = OUT_TABLE;
    const char *val, *pos[3] = { NULL, NULL, NULL };
    struct inv_filters filters = { 50, NULL, NULL, NULL };
    int id, npos = 0;

    opt_iter_init(&it, "invocations", argc, argv, false);
    while ((id = opt_next(&it, invocations_specs, &val)) != OPT_END) {
        char *end;
        if (id == OPT_ERROR)
            return EXIT_USAGE;
        if (id == I_HELP) {
            fputs(invocations_usage, stdout);
            return 0;
        }
        if (id == I_OUTPUT && opt_format(val, &fmt) != 0)
            return cli_usage("invocations", "-o: '%s' is not json or table", val);
        if (id == I_LIMIT) {
            filters.limit = strtoll(val, &end, 10);
            if (end == val || *end || filters.limit < 1 || filters.limit > 1000)
                return cli_usage("invocations", "--limit: '%s' must be 1...1000", val);
        }
        if ((id == I_STATUS || id == I_SINCE || id == I_COMMAND) &&
            check_filter(id, val, &filters) != 0)
            return EXIT_USAGE;
        if (id == OPT_POSITIONAL) {
            if (npos == 2)
                return cli_usage("invocations", "too many arguments");
            pos[npos++] = val;
        }
    }
    if (npos == 0 || strcmp(pos[0], "ls") == 0 || strcmp(pos[0], "list") == 0) {
        if (npos > 1)
            return cli_usage("invocations", "ls takes no arguments");
        return invocations_ls(c, fmt, &filters);
    }
    if (strcmp(pos[0], "show") == 0) {
        if (npos != 2)
            return cli_usage("invocations show", "give one invocation id");
        return invocations_show(c, fmt, pos[1]);
    }
    return cli_usage("invocations", "unknown subcommand '%s' (ls, show)", pos[0]);
}
