/*
 * `tether commands save FILE|- | ls | show NAME | rm NAME | invoke NAME --param k=v … [targets]`
 * over /v1/commands (docs/cli.md, docs/api.md "Saved commands"). invoke takes run's targeting
 * and rate options through run_args.c and then follows the invocation exactly like `tether run`
 * (cmd_run.c's run_follow): live output, exit codes, -o json.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/output.h"
#include "cli/run_args.h"
#include "cli/table.h"
#include "common/ids.h"
#include "common/jsonutil.h"
#include "common/tm.h"

#define COMMAND_FILE_MAX (1024 * 1024)
#define DESCRIPTION_COLUMN 60

const char commands_usage[] =
    "usage: tether commands save FILE|-\n"
    "       tether commands ls [-o json]\n"
    "       tether commands show NAME [-o json]\n"
    "       tether commands rm NAME\n"
    "       tether commands invoke NAME [--param NAME=VALUE ...] [-t HOST_OR_ID ...]\n"
    "                  [--tag k=v ...] [--cidr NET] [--all] [--exclude HOST|tag:k=v ...]\n"
    "                  [--include-file FILE] [--dry-run] [--max-concurrency N|P%]\n"
    "                  [--max-errors N|P%] [--no-wait] [-y] [-o json]\n"
    "\n"
    "Saved commands with {{parameters}}. save reads a JSON definition from FILE (- for stdin)\n"
    "and stores it under its name, replacing a command of that name:\n"
    "  {\"name\":\"greet\",\"description\":\"says hello\",\"command\":\"echo hello {{who}}\",\n"
    "   \"interpreter\":\"sh\",\"timeout_s\":60,\n"
    "   \"parameters\":{\"who\":{\"default\":\"world\",\"pattern\":\"^[a-z]+$\"}}}\n"
    "A parameter without a default is required. On invoke each {{name}} becomes the value as\n"
    "one quoted string of the interpreter (never code), and every parameter is also in the\n"
    "task's environment as TETHER_PARAM_<NAME>. Write placeholders bare, where the\n"
    "interpreter reads code: not inside quotes, comments or here-documents.\n"
    "invoke then behaves like tether run: live output, the remote exit code, -o json.\n"
    "\n"
    "  -p, --param N=V     a parameter value; repeat for each parameter\n"
    "  -y, --yes           do not ask before --all or more than 50 agents\n"
    "  targets and rates   as for tether run (see tether run --help)\n"
    "\n"
    "example: tether commands save greet.json\n"
    "         tether commands invoke greet --param who=ops -t web-1,web-2\n"
    "         tether commands invoke greet --all --max-concurrency 10% -o json\n";

enum { C_OUTPUT = 1, C_HELP };

const struct opt_spec commands_specs[] = {
    { "output", 'o', true, C_OUTPUT },
    { "help", 'h', false, C_HELP },
    { NULL, 0, false, 0 },
};

/* Reads the whole file (or stdin for "-"), at most COMMAND_FILE_MAX bytes. */
static int read_file(const char *path, struct buf *out)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    char chunk[8192];
    size_t n;
    int rc = 0;

    if (!f)
        return cli_usage("commands save", "cannot read '%s': %s", path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (out->len + n > COMMAND_FILE_MAX) {
            rc = cli_usage("commands save", "'%s' is larger than 1 MiB", path);
            break;
        }
        if (buf_append(out, chunk, n)) {
            rc = cli_fail("out of memory");
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = cli_usage("commands save", "error reading '%s'", path);
    if (f != stdin)
        fclose(f);
    return rc;
}

static int commands_save(struct cli *c, const char *path)
{
    struct buf text = BUF_INIT;
    char err[256];
    json_t *def = NULL, *doc = NULL;
    const char *name;
    long status = 0;
    int rc;

    if (!path)
        return cli_usage("commands save", "give the FILE of a command definition (- for stdin)");
    if ((rc = read_file(path, &text)) != 0)
        goto out;
    def = jsonu_parse(text.data ? text.data : "", text.len, COMMAND_FILE_MAX, err, sizeof err);
    if (!def) {
        rc = cli_usage("commands save", "%s: %s", path, err);
        goto out;
    }
    if (!json_is_object(def)) {
        rc = cli_usage("commands save", "%s: must hold a JSON object {\"name\":…,\"command\":…}",
                       path);
        goto out;
    }
    /* Everything else is the server's to check: it names the field that is wrong. */
    if ((rc = cli_api_status(c, "POST", "/v1/commands", def, &doc, &status)) != 0)
        goto out;
    name = jstr(doc, "name", "?");
    if (!command_name_valid(name)) {
        rc = cli_fail("the server answered without a valid command name");
        goto out;
    }
    if (status == 201)
        printf("saved %s (%zu parameter%s)\n", name,
               json_object_size(json_object_get(doc, "parameters")),
               json_object_size(json_object_get(doc, "parameters")) == 1 ? "" : "s");
    else
        printf("updated %s (the previous definition was replaced)\n", name);
out:
    json_decref(doc);
    json_decref(def);
    buf_free(&text);
    return rc;
}

/* "host [port]": required parameters bare, optional ones in brackets. */
static void params_summary(json_t *params, struct buf *out)
{
    const char *k;
    json_t *v;
    bool first = true;

    json_object_foreach(params, k, v) {
        bool optional = json_is_string(json_object_get(v, "default"));
        buf_printf(out, "%s%s%s%s", first ? "" : " ", optional ? "[" : "", k, optional ? "]" : "");
        first = false;
    }
    if (first)
        buf_append_str(out, "-");
}

/* The first line of text, cut at DESCRIPTION_COLUMN characters. */
static void first_line(const char *text, struct buf *out)
{
    size_t len = strcspn(text, "\n"), i = 0, w = 0;

    while (i < len && w < DESCRIPTION_COLUMN) {
        i++;
        while (i < len && ((unsigned char)text[i] & 0xc0) == 0x80)
            i++;
        w++;
    }
    buf_append(out, text, i);
    if (i < len || text[len])
        buf_append_str(out, "…");
}

static int commands_ls(struct cli *c, enum out_format fmt)
{
    static const char *const hdr[] = { "NAME", "INTERPRETER", "PARAMETERS", "UPDATED",
                                       "DESCRIPTION" };
    json_t *doc = NULL, *list, *x;
    struct table t;
    size_t i;
    int rc;

    if ((rc = cli_api(c, "GET", "/v1/commands", NULL, &doc)) != 0)
        return rc;
    list = json_object_get(doc, "commands");
    if (fmt == OUT_JSON) {
        print_json(json_is_array(list) ? list : json_array());
        json_decref(doc);
        return 0;
    }
    if (table_init(&t, 5, hdr)) {
        json_decref(doc);
        return cli_fail("out of memory");
    }
    json_array_foreach(list, i, x) {
        struct buf params = BUF_INIT, desc = BUF_INIT;
        char updated[64];

        params_summary(json_object_get(x, "parameters"), &params);
        first_line(jstr(x, "description", ""), &desc);
        fmt_relative(jstr(x, "updated_at", NULL), tm_now_ms(), updated, sizeof updated);
        const char *row[] = { jstr(x, "name", "-"), jstr(x, "interpreter", "-"), params.data,
                              updated, desc.len ? desc.data : "-" };
        rc = table_add_row(&t, row) ? cli_fail("out of memory") : 0;
        buf_free(&params);
        buf_free(&desc);
        if (rc)
            break;
    }
    if (!rc)
        table_print(&t, stdout);
    table_free(&t);
    json_decref(doc);
    return rc;
}

static int check_name(const char *cmd, const char *name)
{
    if (!name)
        return cli_usage(cmd, "give the NAME of a saved command (tether commands ls)");
    if (!command_name_valid(name))
        return cli_usage(cmd, "'%s' is not a command name", name);
    return 0;
}

static void print_field(struct buf *b, const char *label, const char *value)
{
    buf_printf(b, "%-13s", label);
    term_escape_cell(value, strlen(value), b);
    buf_append_str(b, "\n");
}

static void print_command(struct cli *c, json_t *x)
{
    static const char *const hdr[] = { "PARAMETER", "REQUIRED", "DEFAULT", "PATTERN",
                                       "DESCRIPTION" };
    json_t *params = json_object_get(x, "parameters"), *v;
    struct buf b = BUF_INIT;
    struct table t;
    char when[64], timeout[32];
    const char *k;

    print_field(&b, "name", jstr(x, "name", "?"));
    print_field(&b, "description", jstr(x, "description", "-"));
    print_field(&b, "interpreter", jstr(x, "interpreter", "?"));
    print_field(&b, "user", jstr(x, "user", "?"));
    print_field(&b, "workdir", jstr(x, "workdir", "(the user's home)"));
    snprintf(timeout, sizeof timeout, "%llds",
             (long long)json_integer_value(json_object_get(x, "timeout_s")));
    print_field(&b, "timeout", timeout);
    fmt_relative(jstr(x, "updated_at", NULL), tm_now_ms(), when, sizeof when);
    buf_printf(&b, "%-13s%s by ", "updated", when);
    term_escape_cell(jstr(x, "updated_by", "?"), strlen(jstr(x, "updated_by", "?")), &b);
    fmt_relative(jstr(x, "created_at", NULL), tm_now_ms(), when, sizeof when);
    buf_printf(&b, "\n%-13s%s by ", "created", when);
    term_escape_cell(jstr(x, "created_by", "?"), strlen(jstr(x, "created_by", "?")), &b);
    buf_append_str(&b, "\n\n");
    out_write(stdout, b.data, b.len);
    buf_free(&b);

    if (json_object_size(params) && table_init(&t, 5, hdr) == 0) {
        json_object_foreach(params, k, v) {
            const char *dflt = jstr(v, "default", NULL);
            const char *row[] = { k, dflt ? "no" : "yes", dflt ? (*dflt ? dflt : "''") : "-",
                                  jstr(v, "pattern", "-"), jstr(v, "description", "-") };
            table_add_row(&t, row);
        }
        table_print(&t, stdout);
        table_free(&t);
        fputs("\n", stdout);
    }
    fputs("command:\n", stdout);
    print_text(stdout, c->out_tty, jstr(x, "command", ""));
}

static int commands_show(struct cli *c, const char *name, enum out_format fmt)
{
    json_t *doc = NULL;
    char path[128];
    int rc;

    if ((rc = check_name("commands show", name)) != 0)
        return rc;
    snprintf(path, sizeof path, "/v1/commands/%s", name);
    if ((rc = cli_api(c, "GET", path, NULL, &doc)) != 0)
        return rc;
    if (fmt == OUT_JSON)
        print_json(doc);
    else
        print_command(c, doc);
    json_decref(doc);
    return 0;
}

static int commands_rm(struct cli *c, const char *name)
{
    char path[128];
    int rc;

    if ((rc = check_name("commands rm", name)) != 0)
        return rc;
    snprintf(path, sizeof path, "/v1/commands/%s", name);
    if ((rc = cli_api(c, "DELETE", path, NULL, NULL)) != 0)
        return rc;
    printf("removed %s\n", name);
    return 0;
}

static int commands_invoke(struct cli *c, int argc, char **argv)
{
    struct run_opts o;
    json_t *inv = NULL;
    char path[128];
    int rc = invoke_args_parse(&o, argc, argv);

    if (rc || o.help) {
        if (rc == 0)
            fputs(commands_usage, stdout);
        goto out;
    }
    snprintf(path, sizeof path, "/v1/commands/%s", o.name);
    if (o.dry_run) {
        /* the command must exist; then the agents, as tether run --dry-run lists them */
        if ((rc = cli_api(c, "GET", path, NULL, NULL)) == 0)
            rc = run_dry(c, &o);
        goto out;
    }
    if ((rc = run_confirm(c, &o)) != 0)
        goto out;
    snprintf(path, sizeof path, "/v1/commands/%s/invoke", o.name);
    if ((rc = cli_api(c, "POST", path, o.body, &inv)) != 0)
        goto out;
    rc = run_follow(c, &o, inv);
out:
    json_decref(inv);
    run_opts_free(&o);
    return rc;
}

int cmd_commands(struct cli *c, int argc, char **argv)
{
    struct opt_iter it;
    enum out_format fmt = OUT_TABLE;
    const char *val, *sub = NULL, *arg = NULL;
    bool help = false;
    int id, rc = 0;

    /* invoke has options of its own (run's); hand it everything after "invoke" */
    if (argc > 1 && strcmp(argv[1], "invoke") == 0 && c)
        return commands_invoke(c, argc - 1, argv + 1);
    opt_iter_init(&it, "commands", argc, argv, false);
    while (rc == 0 && (id = opt_next(&it, commands_specs, &val)) != OPT_END) {
        if (id == OPT_ERROR)
            rc = EXIT_USAGE;
        else if (id == C_HELP)
            help = true;
        else if (id == C_OUTPUT && opt_format(val, &fmt) != 0)
            rc = cli_usage("commands", "-o: '%s' is not json or table", val);
        else if (id == OPT_POSITIONAL && !sub)
            sub = val;
        else if (id == OPT_POSITIONAL && !arg)
            arg = val;
        else if (id == OPT_POSITIONAL)
            rc = cli_usage("commands", "unexpected argument '%s'", val);
    }
    if (rc)
        return rc;
    if (help || !c) {
        fputs(commands_usage, stdout);
        return 0;
    }
    if (!sub || !strcmp(sub, "ls") || !strcmp(sub, "list")) {
        if (arg)
            return cli_usage("commands", "ls takes no arguments");
        return commands_ls(c, fmt);
    }
    if (!strcmp(sub, "save"))
        return commands_save(c, arg);
    if (!strcmp(sub, "show"))
        return commands_show(c, arg, fmt);
    if (!strcmp(sub, "rm") || !strcmp(sub, "remove"))
        return commands_rm(c, arg);
    return cli_usage("commands", "unknown subcommand '%s' (save, ls, show, rm, invoke)", sub);
}
