/* `tether agents [ls] | show ID | tag ID k=v… k- | rm ID` over /v1/agents (docs/api.md). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "cli/output.h"
#include "cli/query.h"
#include "cli/table.h"
#include "common/ids.h"
#include "common/tm.h"

const char agents_usage[] =
    "usage: tether agents [ls] [--status online|offline] [--tag k=v ...] [--cidr NET]\n"
    "                     [--version V|V*] [-o json|table|wide]\n"
    "       tether agents show ID_OR_NAME [-o json]\n"
    "       tether agents tag ID_OR_NAME k=v ... [k- ...]   (k- removes tag k)\n"
    "       tether agents rm ID_OR_NAME\n"
    "\n"
    "Lists, inspects, tags and removes agents. Removing an agent revokes its token.\n"
    "Listing filters (applied by the server, all must match):\n"
    "      --status S      online or offline\n"
    "      --tag k=v       agents with this tag; repeat or use commas (all must match)\n"
    "      --cidr NET      agents with an address in NET (10.0.0.0/8, fd00::/64)\n"
    "      --version V     agents at exactly version V; V* for every version starting with V\n"
    "  -o wide             more columns: IPS, LOAD, FIRST_SEEN as well\n"
    "\n"
    "example: tether agents\n"
    "         tether agents --tag env=prod --tag role=web -o wide\n"
    "         tether agents --version '0.1*' --status online\n"
    "         tether agents tag web-1 env=prod role-\n";

enum { A_OUTPUT = 1, A_HELP, A_STATUS, A_TAG, A_CIDR, A_VERSION };

const struct opt_spec agents_specs[] = {
    { "output", 'o', true, A_OUTPUT },
    { "help", 'h', false, A_HELP },
    { "status", 0, true, A_STATUS },
    { "tag", 0, true, A_TAG },
    { "cidr", 0, true, A_CIDR },
    { "version", 0, true, A_VERSION },
    { NULL, 0, false, 0 },
};

/* The keys of the agent object that `tether agents -o json` prints (DESIGN §5.3). */
static const char *const agent_keys[] = {
    "agent_id", "name", "status", "version", "primary_ip", "ips", "tags", "first_seen",
    "last_seen", "running_tasks", "update_state", NULL,
};

static json_t *agent_public(json_t *a)
{
    json_t *o = json_object();

    for (size_t i = 0; o && agent_keys[i]; i++) {
        json_t *v = json_object_get(a, agent_keys[i]);
        json_object_set(o, agent_keys[i], v ? v : json_null());
    }
    return o;
}

struct agents_args {
    enum out_format format;
    bool wide;                  /* -o wide */
    const char *status;
    const char *cidr, *version;
    struct buf query;           /* the listing's query string, built while parsing */
    const char *pos[64];
    int npos;
    bool help;
};

/* --tag k=v[,k=v...]: checked here (exit 2 for a bad one), each pair one tag= parameter. */
static int add_tag_filter(struct agents_args *a, const char *cmd, const char *list)
{
    char item[256];
    const char *p = list;

    while (*p) {
        size_t n = strcspn(p, ",");
        const char *eq;
        if (n == 0 || n >= sizeof item)
            return cli_usage(cmd, "--tag: '%s' is not k=v with a valid key and value", list);
        memcpy(item, p, n);
        item[n] = '\0';
        eq = strchr(item, '=');
        if (!eq || eq == item)
            return cli_usage(cmd, "--tag: '%s' is not k=v with a valid key and value", item);
        item[eq - item] = '\0';
        if (!tag_key_valid(item) || !tag_value_valid(eq + 1))
            return cli_usage(cmd, "--tag: '%s=%s' is not k=v with a valid key and value", item,
                             eq + 1);
        item[eq - item] = '=';
        if (query_add(&a->query, "tag", item))
            return cli_fail("out of memory");
        p += n + (p[n] == ',');
    }
    return 0;
}

static int parse(struct agents_args *a, const char *cmd, int argc, char **argv)
{
    struct opt_iter it;
    const char *val;
    int id;

    memset(a, 0, sizeof *a);
    opt_iter_init(&it, cmd, argc, argv, false);
    while ((id = opt_next(&it, agents_specs, &val)) != OPT_END) {
        if (id == OPT_ERROR)
            return EXIT_USAGE;
        if (id == OPT_POSITIONAL) {
            if (a->npos == (int)(sizeof a->pos / sizeof a->pos[0]))
                return cli_usage(cmd, "too many arguments");
            a->pos[a->npos++] = val;
        } else if (id == A_HELP) {
            a->help = true;
        } else if (id == A_STATUS) {
            if (strcmp(val, "online") && strcmp(val, "offline"))
                return cli_usage(cmd, "--status: '%s' is not online or offline", val);
            a->status = val;
        } else if (id == A_TAG) {
            int rc = add_tag_filter(a, cmd, val);
            if (rc)
                return rc;
        } else if (id == A_CIDR) {
            a->cidr = val;   /* the server parses it: the same rules as tether run --cidr */
        } else if (id == A_VERSION) {
            a->version = val;
        } else if (strcmp(val, "wide") == 0) {
            a->format = OUT_TABLE;
            a->wide = true;
        } else if (opt_format(val, &a->format) != 0) {
            return cli_usage(cmd, "-o: '%s' is not json, table or wide", val);
        } else {
            a->wide = false;
        }
    }
    return 0;
}

/* GET /v1/agents with the listing filters. Returns 0 with *doc, or the exit code. */
static int fetch_agents(struct cli *c, struct agents_args *a, json_t **doc)
{
    struct buf path = BUF_INIT;
    int rc = buf_append_str(&path, "/v1/agents") ||
             (a->status && query_add(&path, "status", a->status)) ||
             (a->cidr && query_add(&path, "cidr", a->cidr)) ||
             (a->version && query_add(&path, "version", a->version));

    if (rc == 0 && a->query.len)
        rc = buf_append_str(&path, path.data && strchr(path.data, '?') ? "&" : "?") ||
             buf_append(&path, a->query.data + 1, a->query.len - 1); /* drop its own '?' */
    rc = rc ? cli_fail("out of memory") : cli_api(c, "GET", path.data, NULL, doc);
    buf_free(&path);
    return rc;
}

/* "0.42", or "-" for an agent that never sent a heartbeat. */
static void fmt_load(json_t *x, char *out, size_t n)
{
    json_t *load = json_object_get(x, "load1");
    if (json_is_number(load) && jstr(x, "last_heartbeat", NULL))
        snprintf(out, n, "%.2f", json_number_value(load));
    else
        snprintf(out, n, "-");
}

/* -o wide: op-agent "get nodes" style, every column an operator scans for. */
static void wide_row(json_t *x, struct table *t)
{
    char running[24], load[32], first[64], last[64];
    struct buf tags = BUF_INIT, ips = BUF_INIT;
    json_t *ip;
    size_t i;

    snprintf(running, sizeof running, "%lld",
             (long long)json_integer_value(json_object_get(x, "running_tasks")));
    fmt_load(x, load, sizeof load);
    fmt_relative(jstr(x, "first_seen", NULL), tm_now_ms(), first, sizeof first);
    fmt_relative(jstr(x, "last_seen", NULL), tm_now_ms(), last, sizeof last);
    fmt_tags(json_object_get(x, "tags"), &tags);
    json_array_foreach(json_object_get(x, "ips"), i, ip)
        if (json_is_string(ip))
            buf_printf(&ips, "%s%s", ips.len ? "," : "", json_string_value(ip));
    const char *row[] = { jstr(x, "name", "-"), jstr(x, "agent_id", "-"), jstr(x, "status", "-"),
                          jstr(x, "version", "-"),
                          *jstr(x, "update_state", "") ? jstr(x, "update_state", "") : "-",
                          jstr(x, "primary_ip", "-"), ips.len ? ips.data : "-", running, load,
                          first, last, tags.len ? tags.data : "-" };
    table_add_row(t, row);
    buf_free(&tags);
    buf_free(&ips);
}

static int agents_ls(struct cli *c, struct agents_args *a)
{
    static const char *const hdr[] = { "NAME", "ID", "STATUS", "VERSION", "UPDATE",
                                       "PRIMARY_IP", "RUNNING", "LAST_SEEN", "TAGS" };
    static const char *const wide_hdr[] = { "NAME", "ID", "STATUS", "VERSION", "UPDATE",
                                            "PRIMARY_IP", "IPS", "RUNNING", "LOAD",
                                            "FIRST_SEEN", "LAST_SEEN", "TAGS" };
    json_t *doc = NULL, *ag, *out = NULL;
    struct table t;
    size_t i;
    int rc;

    if ((rc = fetch_agents(c, a, &doc)) != 0)
        return rc;
    ag = json_object_get(doc, "agents");
    if (a->format == OUT_JSON) {
        out = json_array();
        for (i = 0; out && i < json_array_size(ag); i++)
            json_array_append_new(out, agent_public(json_array_get(ag, i)));
        print_json(out);
        json_decref(out);
        json_decref(doc);
        return 0;
    }
    if (a->wide) {
        table_init(&t, 12, wide_hdr);
        for (i = 0; i < json_array_size(ag); i++)
            wide_row(json_array_get(ag, i), &t);
        table_print(&t, stdout);
        table_free(&t);
        json_decref(doc);
        return 0;
    }
    table_init(&t, 9, hdr);
    for (i = 0; i < json_array_size(ag); i++) {
        json_t *x = json_array_get(ag, i);
        char running[24], seen[64];
        struct buf tags = BUF_INIT;
        json_t *rt = json_object_get(x, "running_tasks");

        snprintf(running, sizeof running, "%lld", (long long)json_integer_value(rt));
        fmt_relative(jstr(x, "last_seen", NULL), tm_now_ms(), seen, sizeof seen);
        fmt_tags(json_object_get(x, "tags"), &tags);
        const char *row[] = { jstr(x, "name", "-"), jstr(x, "agent_id", "-"),
                              jstr(x, "status", "-"), jstr(x, "version", "-"),
                              *jstr(x, "update_state", "") ? jstr(x, "update_state", "") : "-",
                              jstr(x, "primary_ip", "-"), running,
                              seen,
                              tags.len ? tags.data : "-" };
        table_add_row(&t, row);
        buf_free(&tags);
    }
    table_print(&t, stdout);
    table_free(&t);
    json_decref(doc);
    return 0;
}

static int check_ref(const char *cmd, const char *ref)
{
    if (!id_valid(ref, ID_AGENT) && !name_valid(ref))
        return cli_usage(cmd, "'%s' is not an agent id or name", ref);
    return 0;
}

static void print_agent(json_t *x)
{
    static const char *const keys[] = { "name", "agent_id", "status", "version", "hostname",
                                        "primary_ip", "os", "arch", "machine_id", "first_seen",
                                        "last_seen", "update_state", "update_target", NULL };
    struct buf b = BUF_INIT;

    for (size_t i = 0; keys[i]; i++) {
        const char *v = jstr(x, keys[i], NULL);
        if (!v)
            continue;
        buf_printf(&b, "%-14s", keys[i]);
        term_escape_cell(v, strlen(v), &b);
        buf_append_str(&b, "\n");
    }
    buf_printf(&b, "%-14s%lld\n", "running_tasks",
               (long long)json_integer_value(json_object_get(x, "running_tasks")));
    buf_printf(&b, "%-14s", "ips");
    for (size_t i = 0; i < json_array_size(json_object_get(x, "ips")); i++) {
        const char *ip = json_string_value(json_array_get(json_object_get(x, "ips"), i));
        if (ip) {
            buf_append_str(&b, i ? "," : "");
            term_escape_cell(ip, strlen(ip), &b);
        }
    }
    buf_printf(&b, "\n%-14s", "tags");
    {
        struct buf tags = BUF_INIT;
        fmt_tags(json_object_get(x, "tags"), &tags);
        term_escape_cell(tags.data ? tags.data : "", tags.len, &b);
        buf_free(&tags);
    }
    buf_append_str(&b, "\n");
    out_write(stdout, b.data, b.len);
    buf_free(&b);
}

static int agents_show(struct cli *c, struct agents_args *a)
{
    json_t *doc = NULL;
    char path[128];
    int rc;

    if (a->npos != 2)
        return cli_usage("agents show", "give one agent id or name");
    if ((rc = check_ref("agents show", a->pos[1])) != 0)
        return rc;
    snprintf(path, sizeof path, "/v1/agents/%s", a->pos[1]);
    if ((rc = cli_api(c, "GET", path, NULL, &doc)) != 0)
        return rc;
    if (a->format == OUT_JSON)
        print_json(doc);
    else
        print_agent(doc);
    json_decref(doc);
    return 0;
}

static int agents_tag(struct cli *c, struct agents_args *a)
{
    json_t *body = json_object(), *tags = json_object(), *doc = NULL;
    char path[128];
    int rc = 0;

    json_object_set_new(body, "tags", tags);
    if (a->npos < 3) {
        rc = cli_usage("agents tag", "give an agent and at least one k=v or k-");
        goto out;
    }
    if ((rc = check_ref("agents tag", a->pos[1])) != 0)
        goto out;
    for (int i = 2; i < a->npos; i++) {
        const char *p = a->pos[i], *eq = strchr(p, '=');
        size_t n = strlen(p);
        char key[80];

        if (!eq && n > 1 && n <= sizeof key && p[n - 1] == '-') {
            memcpy(key, p, n - 1);
            key[n - 1] = '\0';
            if (tag_key_valid(key)) {
                json_object_set_new(tags, key, json_null());
                continue;
            }
        } else if (eq && (size_t)(eq - p) < sizeof key) {
            memcpy(key, p, (size_t)(eq - p));
            key[eq - p] = '\0';
            if (tag_key_valid(key) && tag_value_valid(eq + 1)) {
                json_object_set_new(tags, key, json_string(eq + 1));
                continue;
            }
        }
        rc = cli_usage("agents tag", "'%s' is not k=v or k- with a valid key and value", p);
        goto out;
    }
    snprintf(path, sizeof path, "/v1/agents/%s", a->pos[1]);
    if ((rc = cli_api(c, "PATCH", path, body, &doc)) != 0)
        goto out;
    if (a->format == OUT_JSON) {
        print_json(doc);
    } else {
        struct buf b = BUF_INIT;
        fmt_tags(json_object_get(doc, "tags"), &b);
        const char *name = jstr(doc, "name", a->pos[1]);
        struct buf line = BUF_INIT;
        term_escape_cell(name, strlen(name), &line);
        buf_printf(&line, ": %s\n", b.len ? b.data : "(no tags)");
        out_write(stdout, line.data, line.len);
        buf_free(&line);
        buf_free(&b);
    }
out:
    json_decref(doc);
    json_decref(body);
    return rc;
}

static int agents_rm(struct cli *c, struct agents_args *a)
{
    char path[128];
    int rc;

    if (a->npos != 2)
        return cli_usage("agents rm", "give one agent id or name");
    if ((rc = check_ref("agents rm", a->pos[1])) != 0)
        return rc;
    snprintf(path, sizeof path, "/v1/agents/%s", a->pos[1]);
    if ((rc = cli_api(c, "DELETE", path, NULL, NULL)) != 0)
        return rc;
    printf("removed %s\n", a->pos[1]);
    return 0;
}

static int agents_dispatch(struct cli *c, struct agents_args *a)
{
    const char *sub = a->npos > 0 ? a->pos[0] : "ls";

    if (a->help) {
        fputs(agents_usage, stdout);
        return 0;
    }
    if (strcmp(sub, "ls") == 0 || strcmp(sub, "list") == 0) {
        if (a->npos > 1)
            return cli_usage("agents", "ls takes no arguments");
        return agents_ls(c, a);
    }
    if (a->query.len || a->cidr || a->version || a->wide)
        return cli_usage("agents", "--tag, --cidr, --version and -o wide are for listing");
    if (strcmp(sub, "show") == 0)
        return agents_show(c, a);
    if (strcmp(sub, "tag") == 0)
        return agents_tag(c, a);
    if (strcmp(sub, "rm") == 0 || strcmp(sub, "remove") == 0)
        return agents_rm(c, a);
    return cli_usage("agents", "unknown subcommand '%s' (ls, show, tag, rm)", sub);
}

int cmd_agents(struct cli *c, int argc, char **argv)
{
    struct agents_args a;
    int rc = parse(&a, "agents", argc, argv);

    if (rc == 0)
        rc = agents_dispatch(c, &a);
    buf_free(&a.query);
    return rc;
}
