/* `tether audit [-o json] [--limit N] [--action A] [--who NAME]`: GET /v1/audit, newest first. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/output.h"
#include "cli/table.h"

const char audit_usage[] =
    "usage: tether audit [--limit N] [--action ACTION] [--who KEY_NAME] [-o json]\n"
    "\n"
    "Lists operator actions, newest first (admin key needed): when, who (API key name), role,\n"
    "action (invocation.create, apikey.revoke, ...), target, source address. --limit 1...1000\n"
    "(default 100). The trail cannot be changed through the API.\n"
    "\n"
    "example: tether audit --limit 20\n"
    "         tether audit --action invocation.create --who ci -o json\n";

enum { A_OUTPUT = 1, A_HELP, A_LIMIT, A_ACTION, A_WHO };

const struct opt_spec audit_specs[] = {
    { "output", 'o', true, A_OUTPUT }, { "help", 'h', false, A_HELP },
    { "limit", 'n', true, A_LIMIT },   { "action", 0, true, A_ACTION },
    { "who", 0, true, A_WHO },         { NULL, 0, false, 0 },
};

static bool word_ok(const char *s)
{
    if (!*s || strlen(s) > 63)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return false;
    return true;
}

static int print_table(json_t *arr)
{
    static const char *const heads[] = { "AT", "WHO", "ROLE", "ACTION", "TARGET", "SOURCE",
                                         "DETAIL" };
    struct table t;
    json_t *e;
    size_t i;
    int rc = 0;

    if (table_init(&t, 7, heads))
        return cli_fail("out of memory");
    json_array_foreach(arr, i, e) {
        const char *row[7] = { jstr(e, "at", "-"),     jstr(e, "who", "-"),
                               jstr(e, "role", "-"),   jstr(e, "action", "-"),
                               jstr(e, "target", "-"), jstr(e, "source", "-"),
                               jstr(e, "detail", "-") };
        if (table_add_row(&t, row))
            rc = cli_fail("out of memory");
    }
    if (!rc)
        table_print(&t, stdout);
    table_free(&t);
    return rc;
}

int cmd_audit(struct cli *c, int argc, char **argv)
{
    struct opt_iter it;
    enum out_format fmt = OUT_TABLE;
    const char *val, *action = NULL, *who = NULL;
    long limit = 100;
    char path[256], *end;
    bool help = false;
    json_t *doc = NULL, *arr;
    int id, rc = 0;

    opt_iter_init(&it, "audit", argc, argv, false);
    while (rc == 0 && (id = opt_next(&it, audit_specs, &val)) != OPT_END) {
        if (id == OPT_ERROR) {
            rc = EXIT_USAGE;
        } else if (id == A_HELP) {
            help = true;
        } else if (id == A_OUTPUT) {
            if (opt_format(val, &fmt) != 0)
                rc = cli_usage("audit", "-o: '%s' is not json or table", val);
        } else if (id == A_LIMIT) {
            limit = strtol(val, &end, 10);
            if (end == val || *end || limit < 1 || limit > 1000)
                rc = cli_usage("audit", "--limit: '%s' must be 1...1000", val);
        } else if (id == A_ACTION || id == A_WHO) {
            if (!word_ok(val))
                rc = cli_usage("audit", "'%s' is not a valid filter", val);
            *(id == A_ACTION ? &action : &who) = val;
        } else {
            rc = cli_usage("audit", "unexpected argument '%s'", val);
        }
    }
    if (rc)
        return rc;
    if (help) {
        fputs(audit_usage, stdout);
        return 0;
    }
    snprintf(path, sizeof path, "/v1/audit?limit=%ld%s%s%s%s", limit, action ? "&action=" : "",
             action ? action : "", who ? "&who=" : "", who ? who : "");
    if ((rc = cli_api(c, "GET", path, NULL, &doc)) != 0)
        return rc;
    arr = json_object_get(doc, "audit");
    if (fmt == OUT_JSON)
        print_json(arr ? arr : json_null());
    else
        rc = print_table(arr);
    json_decref(doc);
    return rc;
}
