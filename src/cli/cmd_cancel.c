/* `tether cancel INVOCATION_OR_TASK`: POST …/cancel (docs/api.md). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "cli/output.h"
#include "common/ids.h"

const char cancel_usage[] =
    "usage: tether cancel INVOCATION_OR_TASK [-o json]\n"
    "\n"
    "Cancels every unfinished task of an invocation (inv-…), or one task (tsk-…). Pending tasks\n"
    "are cancelled at once; running ones are stopped by their agent.\n"
    "\n"
    "example: tether cancel inv-0123456789abcdef0123\n";

enum { C_OUTPUT = 1, C_HELP };

const struct opt_spec cancel_specs[] = {
    { "output", 'o', true, C_OUTPUT },
    { "help", 'h', false, C_HELP },
    { NULL, 0, false, 0 },
};

static void print_cancelled(const char *target, const char *status)
{
    struct buf b = BUF_INIT;

    buf_printf(&b, "cancel requested for %s (status now ", target);
    term_escape_cell(status, strlen(status), &b);
    buf_append_str(&b, ")\n");
    out_write(stdout, b.data, b.len);
    buf_free(&b);
}

int cmd_cancel(struct cli *c, int argc, char **argv)
{
    struct opt_iter it;
    enum out_format fmt = OUT_TABLE;
    const char *val, *target = NULL;
    json_t *doc = NULL;
    char path[128];
    int id, rc;

    opt_iter_init(&it, "cancel", argc, argv, false);
    while ((id = opt_next(&it, cancel_specs, &val)) != OPT_END) {
        if (id == OPT_ERROR)
            return EXIT_USAGE;
        if (id == C_HELP) {
            fputs(cancel_usage, stdout);
            return 0;
        }
        if (id == C_OUTPUT && opt_format(val, &fmt) != 0)
            return cli_usage("cancel", "-o: '%s' is not json or table", val);
        if (id == OPT_POSITIONAL) {
            if (target)
                return cli_usage("cancel", "give one invocation or task id");
            target = val;
        }
    }
    if (!target)
        return cli_usage("cancel", "give an invocation id (inv-…) or a task id (tsk-…)");
    if (id_valid(target, ID_INVOCATION))
        snprintf(path, sizeof path, "/v1/invocations/%s/cancel", target);
    else if (id_valid(target, ID_TASK))
        snprintf(path, sizeof path, "/v1/tasks/%s/cancel", target);
    else
        return cli_usage("cancel", "'%s' is not an invocation id (inv-…) or a task id (tsk-…)",
                         target);
    if ((rc = cli_api(c, "POST", path, NULL, &doc)) != 0)
        return rc;
    if (fmt == OUT_JSON)
        print_json(doc);
    else
        print_cancelled(target, jstr(doc, "status", "?"));
    json_decref(doc);
    return 0;
}
