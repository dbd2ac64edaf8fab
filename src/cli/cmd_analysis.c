/*
 * `tether analysis INVOCATION|COMMAND [-o json]` over GET /v1/invocations/{id}/analysis: counts
 * by status, the hosts that did not succeed, the slowest hosts and the distinct outputs (hosts
 * that printed exactly the same thing, grouped by the server). A COMMAND argument picks the
 * newest invocation whose command text contains it (GET /v1/invocations?command=…&limit=1).
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "cli/output.h"
#include "cli/query.h"
#include "cli/table.h"
#include "cli/top_view.h"
#include "common/ids.h"

const char analysis_usage[] =
    "usage: tether analysis INVOCATION|COMMAND [-o json|table]\n"
    "\n"
    "What happened across the hosts of one invocation: how many tasks ended in each status,\n"
    "the hosts that did not succeed (status, exit code, error), the 5 slowest hosts, and the\n"
    "distinct outputs: how many hosts printed exactly the same output (both streams), a few of\n"
    "their names and the text (escaped, cut after 10 lines / 1 KiB). Outputs are compared by\n"
    "the server (SHA-256 of the stored output), so thousands of hosts cost one sample each.\n"
    "\n"
    "INVOCATION is an id (inv-...). Anything else is command text: the newest invocation whose\n"
    "command contains it is analysed.\n"
    "\n"
    "example: tether analysis inv-0123456789abcdef0123\n"
    "         tether analysis 'cat /etc/os-release'\n"
    "         tether analysis inv-0123456789abcdef0123 -o json | jq '.outputs[] | .count'\n";

enum { Y_OUTPUT = 1, Y_HELP };

const struct opt_spec analysis_specs[] = {
    { "output", 'o', true, Y_OUTPUT },
    { "help", 'h', false, Y_HELP },
    { NULL, 0, false, 0 },
};

#define SAMPLE_LINES 10
#define NAMES_SHOWN 5

/* Shown in this order; any other status after them. */
static const char *const status_order[] = {
    "succeeded", "failed", "timed_out", "cancelled", "start_failed", "undetermined", "expired",
    "skipped", "running", "dispatched", "pending", NULL,
};

static void add_escaped(struct buf *b, const char *s)
{
    term_escape_cell(s, strlen(s), b);
}

static void counts_line(json_t *a, struct buf *b)
{
    json_t *counts = json_object_get(a, "counts"), *v;
    const char *k;
    bool first = true;

    buf_printf(b, "tasks       %lld", (long long)json_integer_value(json_object_get(a, "total")));
    for (size_t i = 0; status_order[i]; i++) {
        v = json_object_get(counts, status_order[i]);
        if (json_is_integer(v)) {
            buf_printf(b, "%s%lld %s", first ? ": " : ", ", (long long)json_integer_value(v),
                       status_order[i]);
            first = false;
        }
    }
    json_object_foreach(counts, k, v) {
        size_t i = 0;
        while (status_order[i] && strcmp(status_order[i], k))
            i++;
        if (status_order[i])
            continue;
        buf_printf(b, "%s%lld ", first ? ": " : ", ", (long long)json_integer_value(v));
        add_escaped(b, k);
        first = false;
    }
    buf_append_str(b, "\n");
}

static void failed_table(json_t *a, struct buf *b)
{
    static const char *const hdr[] = { "NAME", "STATUS", "EXIT", "ERROR" };
    json_t *failed = json_object_get(a, "failed"), *t;
    long long total = json_integer_value(json_object_get(a, "failed_total"));
    struct table tab;
    size_t i;

    buf_printf(b, "\nNOT SUCCEEDED (%lld)\n", total);
    if (total == 0)
        return;
    table_init(&tab, 4, hdr);
    json_array_foreach(failed, i, t) {
        char ec[48];
        fmt_exit(t, ec, sizeof ec);
        const char *row[] = { jstr(t, "name", "-"), jstr(t, "status", "-"), ec,
                              jstr(t, "error", "-") };
        table_add_row(&tab, row);
    }
    table_render(&tab, b);
    table_free(&tab);
    if ((size_t)total > json_array_size(failed))
        buf_printf(b, "… and %lld more (-o json lists up to 1000)\n",
                   total - (long long)json_array_size(failed));
}

static void fmt_duration(int64_t ms, char *out, size_t n)
{
    if (ms < 60000)
        snprintf(out, n, "%.1fs", (double)ms / 1000);
    else
        top_fmt_duration(ms, out, n);
}

static void slowest_table(json_t *a, struct buf *b)
{
    static const char *const hdr[] = { "NAME", "STATUS", "DURATION" };
    json_t *slow = json_object_get(a, "slowest"), *t;
    struct table tab;
    size_t i;

    if (json_array_size(slow) == 0)
        return;
    buf_append_str(b, "\nSLOWEST\n");
    table_init(&tab, 3, hdr);
    json_array_foreach(slow, i, t) {
        char d[32];
        fmt_duration(json_integer_value(json_object_get(t, "duration_ms")), d, sizeof d);
        const char *row[] = { jstr(t, "name", "-"), jstr(t, "status", "-"), d };
        table_add_row(&tab, row);
    }
    table_render(&tab, b);
    table_free(&tab);
}

/* The sample text, indented, one escaped line each, at most SAMPLE_LINES lines. */
static void sample_block(json_t *g, struct buf *b)
{
    const char *text = jstr(g, "output", ""), *p = text;
    size_t lines = 0, total = 0, len = strlen(text);

    if (len == 0) {
        buf_append_str(b, "    (no output)\n");
        return;
    }
    for (size_t i = 0; i < len; i++)
        total += text[i] == '\n';
    total += text[len - 1] != '\n';
    while (*p && lines < SAMPLE_LINES) {
        size_t n = strcspn(p, "\n");
        buf_append_str(b, "    ");
        term_escape_cell(p, n, b);
        buf_append_str(b, "\n");
        lines++;
        p += n + (p[n] == '\n');
    }
    if (json_is_true(json_object_get(g, "truncated")))
        buf_printf(b, "    … (%lld bytes in all)\n",
                   (long long)json_integer_value(json_object_get(g, "output_bytes")));
    else if (total > lines)
        buf_printf(b, "    … (%zu more lines)\n", total - lines);
}

static void outputs_block(json_t *a, struct buf *b)
{
    json_t *groups = json_object_get(a, "outputs"), *g;
    long long distinct = json_integer_value(json_object_get(a, "outputs_total"));
    long long grouped = json_integer_value(json_object_get(a, "grouped"));
    size_t i;

    buf_printf(b, "\nOUTPUTS (%lld distinct among %lld finished host%s)\n", distinct, grouped,
               grouped == 1 ? "" : "s");
    json_array_foreach(groups, i, g) {
        long long count = json_integer_value(json_object_get(g, "count"));
        json_t *names = json_object_get(g, "names"), *nm;
        size_t k;

        buf_printf(b, "%lld host%s: ", count, count == 1 ? "" : "s");
        json_array_foreach(names, k, nm) {
            if (k == NAMES_SHOWN)
                break;
            buf_append_str(b, k ? ", " : "");
            add_escaped(b, json_is_string(nm) ? json_string_value(nm) : "?");
        }
        if (count > (long long)(k < NAMES_SHOWN ? k : NAMES_SHOWN))
            buf_printf(b, ", … (+%lld)", count - (long long)(k < NAMES_SHOWN ? k : NAMES_SHOWN));
        buf_append_str(b, "\n");
        sample_block(g, b);
    }
    if (distinct > (long long)json_array_size(groups))
        buf_printf(b, "… and %lld smaller groups\n", distinct - (long long)json_array_size(groups));
}

static void print_analysis(json_t *a)
{
    const char *cmd = jstr(a, "command", "");
    struct buf b = BUF_INIT;
    size_t line = strcspn(cmd, "\n");

    buf_printf(&b, "invocation  %s\ncommand     ", jstr(a, "invocation_id", "?"));
    term_escape_cell(cmd, line, &b);
    buf_append_str(&b, cmd[line] ? " …\nstatus      " : "\nstatus      ");
    add_escaped(&b, jstr(a, "status", "?"));
    buf_append_str(&b, "\n");
    counts_line(a, &b);
    failed_table(a, &b);
    slowest_table(a, &b);
    outputs_block(a, &b);
    out_write(stdout, b.data, b.len);
    buf_free(&b);
}

/* The newest invocation whose command contains text. 0 with id filled, or the exit code. */
static int find_by_command(struct cli *c, const char *text, char id[ID_BUF])
{
    struct buf path = BUF_INIT;
    json_t *doc = NULL, *first;
    int rc;

    if (buf_append_str(&path, "/v1/invocations") || query_add(&path, "command", text) ||
        query_add(&path, "limit", "1")) {
        buf_free(&path);
        return cli_fail("out of memory");
    }
    rc = cli_api(c, "GET", path.data, NULL, &doc);
    buf_free(&path);
    if (rc)
        return rc;
    first = json_array_get(json_object_get(doc, "invocations"), 0);
    if (!first) {
        struct buf shown = BUF_INIT;
        add_escaped(&shown, text);
        rc = cli_fail("no invocation's command contains '%s' (tether invocations lists them)",
                      shown.data ? shown.data : "");
        buf_free(&shown);
    } else if (!id_valid(jstr(first, "invocation_id", ""), ID_INVOCATION)) {
        rc = cli_fail("the server sent an invocation without a valid id");
    } else {
        snprintf(id, ID_BUF, "%s", jstr(first, "invocation_id", ""));
    }
    json_decref(doc);
    return rc;
}

int cmd_analysis(struct cli *c, int argc, char **argv)
{
    struct opt_iter it;
    enum out_format fmt = OUT_TABLE;
    const char *val, *target = NULL;
    char id[ID_BUF], path[96];
    json_t *doc = NULL;
    int opt, rc;

    opt_iter_init(&it, "analysis", argc, argv, false);
    while ((opt = opt_next(&it, analysis_specs, &val)) != OPT_END) {
        if (opt == OPT_ERROR)
            return EXIT_USAGE;
        if (opt == Y_HELP) {
            fputs(analysis_usage, stdout);
            return 0;
        }
        if (opt == Y_OUTPUT && opt_format(val, &fmt) != 0)
            return cli_usage("analysis", "-o: '%s' is not json or table", val);
        if (opt == OPT_POSITIONAL) {
            if (target)
                return cli_usage("analysis", "give one invocation id or command text (quote "
                                 "a command with spaces)");
            target = val;
        }
    }
    if (!target || !*target)
        return cli_usage("analysis", "give an invocation id (inv-…) or command text");
    if (id_valid(target, ID_INVOCATION)) {
        snprintf(id, sizeof id, "%s", target);
    } else if (strncmp(target, "inv-", 4) == 0) {
        return cli_usage("analysis", "'%s' is not an invocation id (inv- and 20 hex digits)",
                         target);
    } else if (strlen(target) > 1024) {
        return cli_usage("analysis", "command text: at most 1024 bytes");
    } else if ((rc = find_by_command(c, target, id)) != 0) {
        return rc;
    }
    snprintf(path, sizeof path, "/v1/invocations/%s/analysis", id);
    if ((rc = cli_api(c, "GET", path, NULL, &doc)) != 0)
        return rc;
    if (fmt == OUT_JSON)
        print_json(doc);
    else
        print_analysis(doc);
    json_decref(doc);
    return 0;
}
