/* `tether run` argument parsing; see run_args.h. */
#include "cli/run_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/ids.h"
#include "common/tm.h"

const char run_usage[] =
    "usage: tether run [-t HOST_OR_ID ...] [--tag k=v ...] [--cidr NET] [--all]\n"
    "                  [--exclude HOST|tag:k=v ...] [--include-file FILE] [--dry-run]\n"
    "                  [--user U] [--workdir DIR] [--timeout DURATION]\n"
    "                  [--interpreter sh|bash|python3|perl] [--env K=V ...] [--output-limit SIZE]\n"
    "                  [--memory SIZE] [--pids N] [--cpu PERCENT]\n"
    "                  [--no-wait] [--max-concurrency N|P%] [--max-errors N|P%] [-o json]\n"
    "                  [-y|--yes] [--] COMMAND...\n"
    "\n"
    "Runs COMMAND on the chosen agents and streams its output. One target: the output is\n"
    "printed as is and tether exits with the remote exit code (255 when there is none).\n"
    "Several targets: lines are prefixed with the host name, a summary follows, and the exit\n"
    "status is 0 only when every task succeeded. On a terminal, --all or more than 50 targets\n"
    "asks for confirmation first (answering no runs nothing and exits 1).\n"
    "\n"
    "  -t, --target H      agent name or id; repeat or use commas (web-1,web-2)\n"
    "      --tag k=v       only agents with this tag; repeat or use commas\n"
    "      --cidr NET      only agents with an address in NET (10.0.0.0/8)\n"
    "      --all           every agent\n"
    "      --exclude H     leave this agent out; repeat or use commas; tag:k=v leaves out\n"
    "                      the agents with that tag (several tag: items must all match)\n"
    "      --include-file F  add the agents named in F, one name or id per line, # comments\n"
    "      --dry-run       print the agents the targets select and stop (COMMAND optional)\n"
    "      --user U        run as U (default root)\n"
    "      --workdir DIR   working directory (default the user's home)\n"
    "      --timeout D     seconds or 90s/15m/2h (default 1h)\n"
    "      --interpreter I sh (default), bash, python3 or perl\n"
    "      --env K=V       environment variable; repeat\n"
    "      --output-limit S  bytes kept per task: 4M, 64M ... (default 4M)\n"
    "      --memory SIZE   memory limit per task (64M, 1G), enforced by a cgroup\n"
    "      --pids N        process limit per task (fork bombs stop there)\n"
    "      --cpu PERCENT   CPU limit per task, 100 = one core\n"
    "      --no-wait       print the invocation id and return\n"
    "      --max-concurrency N|P%  at most N tasks (or P% of them) out at once, in waves\n"
    "      --max-errors N|P%  after more than N failed tasks the pending ones are skipped\n"
    "  -o, --output FMT    json: wait, then print the result as JSON\n"
    "  -y, --yes           do not ask before running on --all or more than 50 agents\n"
    "\n"
    "example: tether run -t web-1,web-2 -- uname -a\n"
    "         tether run --tag env=prod --timeout 5m -- 'systemctl restart nginx'\n"
    "         tether run --all --exclude tag:role=db --max-concurrency 10% -- uptime\n"
    "         tether run --include-file hosts.txt --dry-run\n";

enum {
    O_TARGET = 1, O_TAG, O_CIDR, O_ALL, O_EXCLUDE, O_USER, O_WORKDIR, O_TIMEOUT, O_INTERP, O_ENV,
    O_NOWAIT, O_MAXCONC, O_MAXERR, O_OUTPUT, O_HELP, O_OUTLIMIT, O_MEMORY, O_PIDS, O_CPU,
    O_INCLUDE, O_DRYRUN, O_YES, O_PARAM,
};

const struct opt_spec run_specs[] = {
    { "target", 't', true, O_TARGET },        { "tag", 0, true, O_TAG },
    { "cidr", 0, true, O_CIDR },              { "all", 0, false, O_ALL },
    { "exclude", 0, true, O_EXCLUDE },        { "user", 'u', true, O_USER },
    { "workdir", 0, true, O_WORKDIR },        { "timeout", 0, true, O_TIMEOUT },
    { "interpreter", 0, true, O_INTERP },     { "env", 'e', true, O_ENV },
    { "no-wait", 0, false, O_NOWAIT },        { "max-concurrency", 0, true, O_MAXCONC },
    { "max-errors", 0, true, O_MAXERR },      { "output", 'o', true, O_OUTPUT },
    { "help", 'h', false, O_HELP },           { "output-limit", 0, true, O_OUTLIMIT },
    { "memory", 0, true, O_MEMORY },          { "pids", 0, true, O_PIDS },
    { "cpu", 0, true, O_CPU },                { "include-file", 0, true, O_INCLUDE },
    { "dry-run", 0, false, O_DRYRUN },        { "yes", 'y', false, O_YES },
    { NULL, 0, false, 0 },
};

/* `commands invoke`: the targeting and rate options of run, and --param. */
static const struct opt_spec invoke_specs[] = {
    { "target", 't', true, O_TARGET },        { "tag", 0, true, O_TAG },
    { "cidr", 0, true, O_CIDR },              { "all", 0, false, O_ALL },
    { "exclude", 0, true, O_EXCLUDE },        { "include-file", 0, true, O_INCLUDE },
    { "dry-run", 0, false, O_DRYRUN },        { "max-concurrency", 0, true, O_MAXCONC },
    { "max-errors", 0, true, O_MAXERR },      { "no-wait", 0, false, O_NOWAIT },
    { "output", 'o', true, O_OUTPUT },        { "help", 'h', false, O_HELP },
    { "param", 'p', true, O_PARAM },          { "yes", 'y', false, O_YES },
    { NULL, 0, false, 0 },
};

static json_t *limits_of(json_t *body)
{
    json_t *l = json_object_get(body, "limits");
    if (!l) {
        l = json_object();
        json_object_set_new(body, "limits", l);
    }
    return l;
}

static json_t *targets_of(json_t *body)
{
    json_t *t = json_object_get(body, "targets");
    if (!t) {
        t = json_object();
        json_object_set_new(body, "targets", t);
    }
    return t;
}

/* Appends each comma-separated item of list to targets[key] (an array). */
static int add_hosts(struct run_opts *o, const char *key, const char *list, const char *opt)
{
    json_t *targets = targets_of(o->body), *arr = json_object_get(targets, key);
    const char *p = list;

    if (!arr) {
        arr = json_array();
        json_object_set_new(targets, key, arr);
    }
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char item[80];

        if (n == 0 || n >= sizeof item)
            return cli_usage(o->cmd, "%s: '%s' is not a host name or agent id", opt, list);
        memcpy(item, p, n);
        item[n] = '\0';
        if (!name_valid(item) && !id_valid(item, ID_AGENT))
            return cli_usage(o->cmd, "%s: '%s' is not a host name or agent id", opt, item);
        json_array_append_new(arr, json_string(item));
        p += n + (comma ? 1 : 0);
        if (comma && !*p)
            return cli_usage(o->cmd, "%s: empty item in '%s'", opt, list);
    }
    return 0;
}

static int add_tags(struct run_opts *o, const char *list)
{
    json_t *tags = json_object_get(targets_of(o->body), "tags");
    char *copy = strdup(list), *p = copy, *item;
    int rc = 0;

    if (!copy)
        return cli_fail("out of memory");
    if (!tags) {
        tags = json_object();
        json_object_set_new(targets_of(o->body), "tags", tags);
    }
    /* tag values cannot contain ',' (ids.h), so commas always separate pairs */
    while (rc == 0 && (item = strsep(&p, ",")) != NULL) {
        char *eq = strchr(item, '=');
        if (eq)
            *eq = '\0';
        if (!eq || !tag_key_valid(item) || !tag_value_valid(eq + 1))
            rc = cli_usage(o->cmd, "--tag: '%s' is not k=v with a valid key and value", list);
        else
            json_object_set_new(tags, item, json_string(eq + 1));
    }
    free(copy);
    return rc;
}

static int add_env(struct run_opts *o, const char *pair)
{
    json_t *env = json_object_get(o->body, "env");
    const char *eq = strchr(pair, '=');
    char name[130];

    if (!eq || (size_t)(eq - pair) >= sizeof name)
        return cli_usage(o->cmd, "--env: '%s' is not NAME=VALUE", pair);
    memcpy(name, pair, (size_t)(eq - pair));
    name[eq - pair] = '\0';
    if (!env_name_valid(name))
        return cli_usage(o->cmd, "--env: '%s' is not a valid variable name", name);
    if (!env) {
        env = json_object();
        json_object_set_new(o->body, "env", env);
    }
    json_t *v = json_string(eq + 1);
    if (!v)
        return cli_usage(o->cmd, "--env: the value of %s is not valid UTF-8", name);
    json_object_set_new(env, name, v);
    return 0;
}

/* --param NAME=VALUE: one parameter of a saved command; the server checks the value. */
static int add_param(struct run_opts *o, const char *pair)
{
    json_t *params = json_object_get(o->body, "params"), *v;
    const char *eq = strchr(pair, '=');
    char name[PARAM_NAME_MAX + 1];

    if (!eq)
        return cli_usage(o->cmd, "--param: '%s' is not NAME=VALUE", pair);
    if ((size_t)(eq - pair) >= sizeof name || !param_name_valid_n(pair, (size_t)(eq - pair)))
        return cli_usage(o->cmd, "--param: '%.*s' is not a parameter name (a letter or _, then "
                         "letters, digits or _)", (int)(eq - pair), pair);
    memcpy(name, pair, (size_t)(eq - pair));
    name[eq - pair] = '\0';
    if (!params) {
        params = json_object();
        json_object_set_new(o->body, "params", params);
    }
    if (json_object_get(params, name))
        return cli_usage(o->cmd, "--param: %s is given twice", name);
    v = json_string(eq + 1);
    if (!v)
        return cli_usage(o->cmd, "--param: the value of %s is not valid UTF-8", name);
    json_object_set_new(params, name, v);
    return 0;
}

static int parse_int(const char *s, long long min, long long max, long long *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* --max-concurrency / --max-errors N or P%: passed through as a number or as the "P%" string.
 * min is 1 for concurrency, 0 for errors. */
static int set_rate(struct run_opts *o, const char *key, const char *opt, long long min,
                    const char *v)
{
    size_t n = strlen(v);
    long long x;

    if (n > 1 && v[n - 1] == '%') {
        char num[16];
        if (n - 1 >= sizeof num)
            return cli_usage(o->cmd, "%s: '%s' is not N or P%%", opt, v);
        memcpy(num, v, n - 1);
        num[n - 1] = '\0';
        if (parse_int(num, min, 100, &x) != 0)
            return cli_usage(o->cmd, "%s: '%s' is not N or P%% (%lld-100%%)", opt, v, min);
        json_object_set_new(o->body, key, json_string(v));
        return 0;
    }
    if (parse_int(v, min, 1000000, &x) != 0)
        return cli_usage(o->cmd, "%s: '%s' is not N (%lld-1000000) or P%%", opt, v, min);
    json_object_set_new(o->body, key, json_integer(x));
    return 0;
}

/* --exclude tag:k=v: agents with that tag are left out (several: all must match). */
static int add_exclude_tag(struct run_opts *o, const char *kv)
{
    json_t *t = targets_of(o->body), *tags = json_object_get(t, "exclude_tags");
    const char *eq = strchr(kv, '=');
    char key[80];

    if (!eq || (size_t)(eq - kv) >= sizeof key)
        return cli_usage(o->cmd, "--exclude: 'tag:%s' is not tag:k=v", kv);
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = '\0';
    if (!tag_key_valid(key) || !tag_value_valid(eq + 1))
        return cli_usage(o->cmd, "--exclude: 'tag:%s' is not tag:k=v with a valid key and value",
                         kv);
    if (!tags) {
        tags = json_object();
        json_object_set_new(t, "exclude_tags", tags);
    }
    json_object_set_new(tags, key, json_string(eq + 1));
    return 0;
}

/* --exclude: comma-separated items, each a host name, an agent id or tag:k=v. */
static int add_exclude(struct run_opts *o, const char *list)
{
    char *copy = strdup(list), *p = copy, *item;
    int rc = 0;

    if (!copy)
        return cli_fail("out of memory");
    while (rc == 0 && (item = strsep(&p, ",")) != NULL) {
        if (!*item)
            rc = cli_usage(o->cmd, "--exclude: empty item in '%s'", list);
        else if (!strncmp(item, "tag:", 4))
            rc = add_exclude_tag(o, item + 4);
        else
            rc = add_hosts(o, "exclude", item, "--exclude");
    }
    free(copy);
    return rc;
}

/* --include-file FILE: one agent name or id per line; blank lines and '#' comments ignored. */
static int add_include_file(struct run_opts *o, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int rc = 0, count = 0, lineno = 0;

    if (!f)
        return cli_usage(o->cmd, "--include-file: cannot read '%s': %s", path, strerror(errno));
    while (rc == 0 && fgets(line, sizeof line, f)) {
        char *p = line, *end, *hash = strchr(line, '#');
        lineno++;
        if (hash)
            *hash = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        end = p + strlen(p);
        while (end > p && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' ||
                           end[-1] == '\t'))
            *--end = '\0';
        if (!*p)
            continue;
        if (strchr(p, ',') || (!name_valid(p) && !id_valid(p, ID_AGENT)))
            rc = cli_usage(o->cmd, "--include-file: %s:%d: '%s' is not a host name or agent id",
                           path, lineno, p);
        else
            rc = add_hosts(o, "agents", p, "--include-file");
        count++;
    }
    if (rc == 0 && ferror(f))
        rc = cli_usage(o->cmd, "--include-file: error reading '%s'", path);
    fclose(f);
    if (rc == 0 && count == 0)
        rc = cli_usage(o->cmd, "--include-file: no host names in '%s'", path);
    return rc;
}

static int set_value(struct run_opts *o, int id, const char *v)
{
    json_t *b = o->body;
    long long x;
    int64_t d;

    switch (id) {
    case O_TARGET: return add_hosts(o, "agents", v, "-t");
    case O_EXCLUDE: return add_exclude(o, v);
    case O_INCLUDE: return add_include_file(o, v);
    case O_DRYRUN: o->dry_run = true; return 0;
    case O_TAG: return add_tags(o, v);
    case O_ENV: return add_env(o, v);
    case O_PARAM: return add_param(o, v);
    case O_CIDR:
        json_object_set_new(targets_of(b), "cidr", json_string(v));
        return 0;
    case O_ALL:
        json_object_set_new(targets_of(b), "all", json_true());
        return 0;
    case O_USER:
        if (!user_name_valid(v))
            return cli_usage(o->cmd, "--user: '%s' is not a valid user name", v);
        json_object_set_new(b, "user", json_string(v));
        return 0;
    case O_WORKDIR: {
        json_t *s = v[0] == '/' ? json_string(v) : NULL;
        if (!s)
            return cli_usage(o->cmd, "--workdir: '%s' must be an absolute path", v);
        json_object_set_new(b, "workdir", s);
        return 0;
    }
    case O_TIMEOUT:
        if (tm_parse_duration(v, &d) != 0 || d < 1 || d > 86400)
            return cli_usage(o->cmd, "--timeout: '%s' must be 1s...24h (like 30, 90s, 15m, 2h)", v);
        json_object_set_new(b, "timeout_s", json_integer(d));
        return 0;
    case O_INTERP:
        if (strcmp(v, "sh") && strcmp(v, "bash") && strcmp(v, "python3") && strcmp(v, "perl"))
            return cli_usage(o->cmd, "--interpreter: '%s' is not sh, bash, python3 or perl", v);
        json_object_set_new(b, "interpreter", json_string(v));
        return 0;
    case O_OUTLIMIT:
        if (cfg_parse_size(v, &d) != 0 || d < 1024 || d > 67108864)
            return cli_usage(o->cmd, "--output-limit: '%s' must be 1K...64M", v);
        json_object_set_new(b, "output_limit", json_integer(d));
        return 0;
    case O_MEMORY:
        if (cfg_parse_size(v, &d) != 0 || d < (1 << 20) || d > (1LL << 40))
            return cli_usage(o->cmd, "--memory: '%s' must be 1M...1T (like 64M, 2G)", v);
        json_object_set_new(limits_of(b), "memory_bytes", json_integer(d));
        return 0;
    case O_PIDS:
        if (parse_int(v, 1, 4194304, &x) != 0)
            return cli_usage(o->cmd, "--pids: '%s' must be a number of processes >= 1", v);
        json_object_set_new(limits_of(b), "pids", json_integer(x));
        return 0;
    case O_CPU:
        if (parse_int(v, 1, 10000, &x) != 0)
            return cli_usage(o->cmd, "--cpu: '%s' must be a percentage of one core, 1...10000", v);
        json_object_set_new(limits_of(b), "cpu_percent", json_integer(x));
        return 0;
    case O_MAXCONC: return set_rate(o, "max_concurrency", "--max-concurrency", 1, v);
    case O_MAXERR: return set_rate(o, "max_errors", "--max-errors", 0, v);
    case O_NOWAIT: o->no_wait = true; return 0;
    case O_YES: o->yes = true; return 0;
    case O_HELP: o->help = true; return 0;
    case O_OUTPUT:
        if (opt_format(v, &o->format) != 0)
            return cli_usage(o->cmd, "-o: '%s' is not json or table", v);
        return 0;
    }
    return 0;
}

/* Joins the remaining words with single spaces, as ssh does. */
static int set_command(struct run_opts *o, int argc, char **argv, int first)
{
    struct buf cmd = BUF_INIT;
    json_t *s;

    for (int i = first; i < argc; i++)
        if (buf_printf(&cmd, "%s%s", i > first ? " " : "", argv[i]) != 0) {
            buf_free(&cmd);
            return cli_fail("out of memory");
        }
    if (cmd.len == 0) {
        buf_free(&cmd);
        return cli_usage(o->cmd, "no command given (put it after --)");
    }
    if (cmd.len > 65536) {
        buf_free(&cmd);
        return cli_usage(o->cmd, "the command is %zu bytes; at most 65536", cmd.len);
    }
    s = json_stringn(cmd.data, cmd.len);
    buf_free(&cmd);
    if (!s)
        return cli_usage(o->cmd, "the command is not valid UTF-8 text");
    json_object_set_new(o->body, "command", s);
    return 0;
}

/* Reads options into o. With run's iterator the first plain word ends them (the command);
 * for invoke a plain word is the saved command's name. */
static int parse_options(struct run_opts *o, struct opt_iter *it, const struct opt_spec *specs)
{
    const char *val;
    int id, rc;

    while ((id = opt_next(it, specs, &val)) != OPT_END) {
        if (id == OPT_ERROR)
            return EXIT_USAGE;
        if (id == OPT_POSITIONAL) {
            if (o->name)
                return cli_usage(o->cmd, "unexpected argument '%s' (give one command name; "
                                 "parameters go in --param NAME=VALUE)", val);
            o->name = val;
            continue;
        }
        if ((rc = set_value(o, id, val)) != 0)
            return rc;
    }
    return 0;
}

static int check_targets(struct run_opts *o)
{
    json_t *targets = json_object_get(o->body, "targets");

    if (!targets || (!json_object_get(targets, "agents") && !json_object_get(targets, "tags") &&
                     !json_object_get(targets, "cidr") && !json_object_get(targets, "all")))
        return cli_usage(o->cmd, "no targets (use -t HOST, --tag k=v, --cidr NET or --all)");
    if (o->no_wait && o->format == OUT_JSON)
        return cli_usage(o->cmd, "--no-wait and -o json do not go together");
    return 0;
}

static int opts_init(struct run_opts *o, const char *cmd)
{
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    o->body = json_object();
    return o->body ? 0 : cli_fail("out of memory");
}

int run_args_parse(struct run_opts *o, int argc, char **argv)
{
    struct opt_iter it;
    int rc;

    if ((rc = opts_init(o, "run")) != 0)
        return rc;
    opt_iter_init(&it, o->cmd, argc, argv, true);
    if ((rc = parse_options(o, &it, run_specs)) != 0)
        return rc;
    if (o->help)
        return 0;
    if ((rc = check_targets(o)) != 0)
        return rc;
    if (o->dry_run && it.i >= argc)
        return 0;   /* --dry-run needs no command */
    return set_command(o, argc, argv, it.i);
}

int invoke_args_parse(struct run_opts *o, int argc, char **argv)
{
    struct opt_iter it;
    int rc;

    if ((rc = opts_init(o, "commands invoke")) != 0)
        return rc;
    opt_iter_init(&it, o->cmd, argc, argv, false);
    if ((rc = parse_options(o, &it, invoke_specs)) != 0)
        return rc;
    if (o->help)
        return 0;
    if (!o->name)
        return cli_usage(o->cmd, "give the NAME of a saved command (tether commands ls)");
    if (!command_name_valid(o->name))
        return cli_usage(o->cmd, "'%s' is not a command name", o->name);
    return check_targets(o);
}

void run_opts_free(struct run_opts *o)
{
    json_decref(o->body);
    o->body = NULL;
}
