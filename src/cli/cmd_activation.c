/* `tether activation create`: POST /v1/activations; prints only the code so that
 * CODE=$(tether activation create) works. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/output.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/tm.h"

const char activation_usage[] =
    "usage: tether activation create [--tags k=v,...] [--uses N] [--expires DURATION] [-o json]\n"
    "\n"
    "Creates an activation code for registering agents and prints it (only it, so it can be\n"
    "captured). The agents that register with it get its tags (--tag is the same as --tags;\n"
    "both repeat). --uses 1...100000 (default 1),\n"
    "--expires 1m...365d (default 24h). The code is shown once.\n"
    "\n"
    "example: CODE=$(tether activation create --tags env=prod --uses 10 --expires 2h)\n"
    "         tether-agent register --server http://10.0.0.1:8600 --activation \"$CODE\"\n";

enum { V_OUTPUT = 1, V_HELP, V_TAGS, V_USES, V_EXPIRES };

const struct opt_spec activation_specs[] = {
    { "output", 'o', true, V_OUTPUT }, { "help", 'h', false, V_HELP },
    { "tags", 0, true, V_TAGS },       { "tag", 0, true, V_TAGS },
    { "uses", 0, true, V_USES },       { "expires", 0, true, V_EXPIRES },
    { NULL, 0, false, 0 },
};

static int add_tags(json_t *tags, const char *list)
{
    char *copy = strdup(list), *p = copy, *item;
    int rc = 0;

    if (!copy)
        return cli_fail("out of memory");
    while (rc == 0 && (item = strsep(&p, ",")) != NULL) {
        char *eq = strchr(item, '=');
        if (eq)
            *eq = '\0';
        if (!eq || !tag_key_valid(item) || !tag_value_valid(eq + 1))
            rc = cli_usage("activation create", "--tags: '%s' is not k=v,... with valid keys "
                           "and values", list);
        else
            json_object_set_new(tags, item, json_string(eq + 1));
    }
    free(copy);
    return rc;
}

static int parse_opt(json_t *body, int id, const char *val, enum out_format *fmt)
{
    char *end;
    long long uses;
    int64_t secs;

    switch (id) {
    case V_TAGS:
        if (!json_object_get(body, "tags"))
            json_object_set_new(body, "tags", json_object());
        return add_tags(json_object_get(body, "tags"), val);
    case V_USES:
        uses = strtoll(val, &end, 10);
        if (end == val || *end || uses < 1 || uses > 100000)
            return cli_usage("activation create", "--uses: '%s' must be 1...100000", val);
        json_object_set_new(body, "uses", json_integer(uses));
        return 0;
    case V_EXPIRES:
        if (tm_parse_duration(val, &secs) != 0 || secs < 60 || secs > 31536000)
            return cli_usage("activation create", "--expires: '%s' must be 1m...365d "
                             "(like 90m, 2h, 7d)", val);
        json_object_set_new(body, "expires_in_s", json_integer(secs));
        return 0;
    case V_OUTPUT:
        if (opt_format(val, fmt) != 0)
            return cli_usage("activation create", "-o: '%s' is not json or table", val);
        return 0;
    }
    return 0;
}

int cmd_activation(struct cli *c, int argc, char **argv)
{
    struct opt_iter it;
    enum out_format fmt = OUT_TABLE;
    json_t *body = json_object(), *doc = NULL;
    const char *val, *sub = NULL, *code;
    bool help = false;
    int id, rc = 0;

    opt_iter_init(&it, "activation", argc, argv, false);
    while (rc == 0 && (id = opt_next(&it, activation_specs, &val)) != OPT_END) {
        if (id == OPT_ERROR)
            rc = EXIT_USAGE;
        else if (id == V_HELP)
            help = true;
        else if (id == OPT_POSITIONAL && sub)
            rc = cli_usage("activation", "unexpected argument '%s'", val);
        else if (id == OPT_POSITIONAL)
            sub = val;
        else
            rc = parse_opt(body, id, val, &fmt);
    }
    if (rc)
        goto out;
    if (help) {
        fputs(activation_usage, stdout);
        goto out;
    }
    if (!sub || strcmp(sub, "create") != 0) {
        rc = cli_usage("activation", "the subcommand is 'create'");
        goto out;
    }
    if ((rc = cli_api(c, "POST", "/v1/activations", body, &doc)) != 0)
        goto out;
    code = jstr(doc, "activation_code", NULL);
    if (fmt == OUT_JSON) {
        print_json(doc);
    } else if (!code || !crypto_token_shape_ok(code, "tac_")) {
        rc = cli_fail("the server answered without a valid activation_code");
    } else {
        printf("%s\n", code);
    }
out:
    json_decref(doc);
    json_decref(body);
    return rc;
}
