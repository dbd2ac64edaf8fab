/* `tether apikey create --role R [--name N]` (prints only the key), `tether apikey ls [-o json]`,
 * `tether apikey revoke NAME` over /v1/apikeys (admin keys only). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "cli/list.h"
#include "cli/output.h"
#include "cli/table.h"
#include "common/crypto.h"
#include "common/ids.h"

const char apikey_usage[] =
    "usage: tether apikey create --role admin|operator|viewer [--name NAME] [-o json]\n"
    "       tether apikey ls [-o json]\n"
    "       tether apikey revoke NAME\n"
    "\n"
    "Needs an admin key. create prints only the new key (shown once, stored hashed), so\n"
    "KEY=$(tether apikey create --role viewer) works. viewer reads, operator also runs and\n"
    "cancels commands and tags agents, admin also manages keys, activations and agents.\n"
    "\n"
    "example: KEY=$(tether apikey create --role operator --name ci)\n"
    "         tether apikey ls\n"
    "         tether apikey revoke ci\n";

enum { K_OUTPUT = 1, K_HELP, K_ROLE, K_NAME };

const struct opt_spec apikey_specs[] = {
    { "output", 'o', true, K_OUTPUT }, { "help", 'h', false, K_HELP },
    { "role", 0, true, K_ROLE },       { "name", 0, true, K_NAME },
    { NULL, 0, false, 0 },
};

static int key_create(struct cli *c, const char *role, const char *name, enum out_format fmt)
{
    json_t *body, *doc = NULL;
    const char *key;
    int rc;

    if (!role)
        return cli_usage("apikey create", "--role is required (admin, operator or viewer)");
    if (strcmp(role, "admin") && strcmp(role, "operator") && strcmp(role, "viewer"))
        return cli_usage("apikey create", "--role: '%s' is not admin, operator or viewer", role);
    if (name && !name_valid(name))
        return cli_usage("apikey create", "--name: '%s' is not a valid name", name);
    body = json_pack("{s:s}", "role", role);
    if (name)
        json_object_set_new(body, "name", json_string(name));
    rc = cli_api(c, "POST", "/v1/apikeys", body, &doc);
    json_decref(body);
    if (rc)
        return rc;
    key = jstr(doc, "key", NULL);
    if (fmt == OUT_JSON)
        print_json(doc);
    else if (!key || !crypto_token_shape_ok(key, "tak_"))
        rc = cli_fail("the server answered without a valid key");
    else
        printf("%s\n", key);
    json_decref(doc);
    return rc;
}

static void key_row(json_t *k, const char **row, char scratch[LIST_SCRATCH][32])
{
    (void)scratch;
    row[0] = jstr(k, "name", "?");
    row[1] = jstr(k, "role", "?");
    row[2] = jstr(k, "created_at", "-");
    row[3] = json_is_true(json_object_get(k, "revoked")) ? jstr(k, "revoked_at", "yes") : "-";
}

static int key_list(struct cli *c, enum out_format fmt)
{
    static const char *const heads[] = { "NAME", "ROLE", "CREATED", "REVOKED" };
    return cli_list(c, "/v1/apikeys", "apikeys", fmt, heads, 4, key_row);
}

static int key_revoke(struct cli *c, const char *name)
{
    char path[128];
    if (!name || !name_valid(name))
        return cli_usage("apikey revoke", "give the NAME of a key (tether apikey ls)");
    snprintf(path, sizeof path, "/v1/apikeys/%s", name);
    int rc = cli_api(c, "DELETE", path, NULL, NULL);
    if (!rc)
        fprintf(stderr, "revoked %s\n", name);
    return rc;
}

int cmd_apikey(struct cli *c, int argc, char **argv)
{
    struct opt_iter it;
    enum out_format fmt = OUT_TABLE;
    const char *val, *sub = NULL, *arg = NULL, *role = NULL, *name = NULL;
    bool help = false;
    int id, rc = 0;

    opt_iter_init(&it, "apikey", argc, argv, false);
    while (rc == 0 && (id = opt_next(&it, apikey_specs, &val)) != OPT_END) {
        if (id == OPT_ERROR)
            rc = EXIT_USAGE;
        else if (id == K_HELP)
            help = true;
        else if (id == K_ROLE)
            role = val;
        else if (id == K_NAME)
            name = val;
        else if (id == K_OUTPUT && opt_format(val, &fmt) != 0)
            rc = cli_usage("apikey", "-o: '%s' is not json or table", val);
        else if (id == OPT_POSITIONAL && !sub)
            sub = val;
        else if (id == OPT_POSITIONAL && !arg)
            arg = val;
        else if (id == OPT_POSITIONAL)
            rc = cli_usage("apikey", "unexpected argument '%s'", val);
    }
    if (rc)
        return rc;
    if (help) {
        fputs(apikey_usage, stdout);
        return 0;
    }
    if (!sub)
        return cli_usage("apikey", "give a subcommand: create, ls or revoke");
    if (!strcmp(sub, "create") && !arg)
        return key_create(c, role, name, fmt);
    if ((!strcmp(sub, "ls") || !strcmp(sub, "list")) && !arg)
        return key_list(c, fmt);
    if (!strcmp(sub, "revoke") || !strcmp(sub, "rm"))
        return key_revoke(c, arg);
    return cli_usage("apikey", "unknown subcommand or argument '%s'", arg ? arg : sub);
}
