/* Small option iterator shared by the subcommands; see cli.h. getopt_long would reorder argv and
 * keep global state, and `tether run` must stop at the first word of the remote command. */
#include "cli/cli.h"

#include <errno.h>
#include <string.h>

void opt_iter_init(struct opt_iter *it, const char *cmd, int argc, char **argv, bool stop)
{
    memset(it, 0, sizeof *it);
    it->argc = argc;
    it->argv = argv;
    it->i = 1;
    it->stop_at_positional = stop;
    it->cmd = cmd;
}

static const struct opt_spec *find_long(const struct opt_spec *specs, const char *name, size_t n)
{
    for (; specs->long_name || specs->short_name; specs++)
        if (specs->long_name && strlen(specs->long_name) == n &&
            memcmp(specs->long_name, name, n) == 0)
            return specs;
    return NULL;
}

static const struct opt_spec *find_short(const struct opt_spec *specs, char c)
{
    for (; specs->long_name || specs->short_name; specs++)
        if (specs->short_name == c)
            return specs;
    return NULL;
}

static int take_value(struct opt_iter *it, const struct opt_spec *s, const char *inline_val,
                      const char *shown, const char **val)
{
    if (!s->has_arg) {
        if (inline_val)
            return cli_usage(it->cmd, "option %s takes no value", shown), OPT_ERROR;
        *val = NULL;
        return s->id;
    }
    if (inline_val) {
        *val = inline_val;
        return s->id;
    }
    if (it->i >= it->argc)
        return cli_usage(it->cmd, "option %s needs a value", shown), OPT_ERROR;
    *val = it->argv[it->i++];
    return s->id;
}

int opt_next(struct opt_iter *it, const struct opt_spec *specs, const char **val)
{
    const char *a;
    const struct opt_spec *s;

    *val = NULL;
    if (it->i >= it->argc)
        return OPT_END;
    a = it->argv[it->i];
    if (it->only_positionals || a[0] != '-' || a[1] == '\0') {
        if (it->stop_at_positional)
            return OPT_END;
        it->i++;
        *val = a;
        return OPT_POSITIONAL;
    }
    it->i++;
    if (strcmp(a, "--") == 0) {
        if (it->stop_at_positional)
            return OPT_END;
        it->only_positionals = true;
        return opt_next(it, specs, val);
    }
    if (a[1] == '-') {
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t n = eq ? (size_t)(eq - name) : strlen(name);
        s = find_long(specs, name, n);
        if (!s) {
            if (it->stop_at_positional)
                return cli_usage(it->cmd, "unknown option '%.*s' (put the command after --)",
                                 (int)(n + 2), a), OPT_ERROR;
            return cli_usage(it->cmd, "unknown option '%.*s'", (int)(n + 2), a), OPT_ERROR;
        }
        return take_value(it, s, eq ? eq + 1 : NULL, a, val);
    }
    s = find_short(specs, a[1]);
    if (!s) {
        if (it->stop_at_positional)
            return cli_usage(it->cmd, "unknown option '-%c' (put the command after --)", a[1]),
                   OPT_ERROR;
        return cli_usage(it->cmd, "unknown option '-%c'", a[1]), OPT_ERROR;
    }
    if (a[2] != '\0' && !s->has_arg)
        return cli_usage(it->cmd, "option -%c takes no value", a[1]), OPT_ERROR;
    return take_value(it, s, a[2] ? a + 2 : NULL, a, val);
}

int opt_format(const char *s, enum out_format *f)
{
    if (strcmp(s, "json") == 0)
        *f = OUT_JSON;
    else if (strcmp(s, "table") == 0)
        *f = OUT_TABLE;
    else
        return -EINVAL;
    return 0;
}
