/*
 * Saved commands (issue 7, docs/api.md "Saved commands"): POST /v1/commands saves or replaces a
 * definition, GET lists or shows, DELETE removes, POST /v1/commands/{name}/invoke makes an
 * invocation of it. Validation and substitution are in command_body.c and params.c; the
 * invocation itself is made by invocation_create, exactly as for POST /v1/invocations. Every
 * change and every invoke is audited (parameter names, never values).
 */
#include "server/server.h"

#include "common/crypto.h"
#include "common/jsonutil.h"
#include "common/tm.h"
#include "server/command_body.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The stored definition with its dates and authors. NULL on failure. */
static json_t *render_command(const struct st_command *c)
{
    json_t *o = json_loads(c->definition, 0, NULL);
    if (!o || !json_is_object(o) ||
        json_object_set_new(o, "created_at", render_ts(c->created_at)) ||
        json_object_set_new(o, "updated_at", render_ts(c->updated_at)) ||
        json_object_set_new(o, "created_by", json_string(c->created_by)) ||
        json_object_set_new(o, "updated_by", json_string(c->updated_by))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Loads the command named by the path; answers 404 / 503 itself. */
static int load_command(struct req *r, struct st_command *c)
{
    const char *name = r->params[0];
    int rc = -ENOENT;

    if (command_name_valid(name))
        rc = store_command_get(r->srv->st, r->tenant, name, c);
    if (rc == -ENOENT && command_name_valid(name))
        resp_error(r, 404, "not_found", "no saved command named '%s'", name);
    else if (rc == -ENOENT)
        resp_error(r, 404, "not_found", "no such saved command (not a valid command name)");
    else if (rc)
        resp_error(r, 503, "unavailable", "store not readable");
    return rc;
}

/* "N parameters: a,b,c" (names only) for the audit trail. */
static void param_names(const struct cmd_def *d, char *out, size_t n)
{
    size_t used = (size_t)snprintf(out, n, "%zu parameter%s", d->nparams,
                                   d->nparams == 1 ? "" : "s");
    for (size_t i = 0; i < d->nparams && used < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s%s", i ? "," : ": ", d->params[i].name);
}

void h_command_save(struct req *r)
{
    char err[512], hash[65], names[256], detail[400];
    struct cmd_def d;
    struct st_command c = { 0 };
    json_t *body = req_json(r), *o;
    char *text = NULL;
    bool created = false;
    int64_t now = tm_now_ms();

    if (!body)
        return;
    if (cmd_def_parse(body, &d, err, sizeof err)) {
        resp_error(r, 400, "bad_request", "%s", err);
        goto out;
    }
    text = json_dumps(d.normalized, JSON_COMPACT);
    if (!text) {
        resp_error(r, 500, "internal", "out of memory");
        goto out;
    }
    /* The command text is not logged: its length and a hash prefix identify it. */
    crypto_sha256_hex(d.command, d.command_len, hash);
    param_names(&d, names, sizeof names);
    if (store_command_put(r->srv->st, r->tenant, d.name, text, r->who, now, &created)) {
        resp_error(r, 503, "unavailable", "store not writable");
        goto out;
    }
    snprintf(detail, sizeof detail, "%s; command %zu bytes sha256:%.12s; %s",
             created ? "created" : "replaced", d.command_len, hash, names);
    if (req_audit(r, now, "command.save", d.name, detail) ||
        store_command_get(r->srv->st, r->tenant, d.name, &c)) {
        resp_error(r, 503, "unavailable", "store not writable");
        goto out;
    }
    o = render_command(&c);
    if (o)
        resp_json(r, created ? 201 : 200, o);
    else
        resp_error(r, 500, "internal", "cannot render the command");
out:
    st_command_free(&c);
    free(text);
    cmd_def_free(&d);
    json_decref(body);
}

void h_commands_list(struct req *r)
{
    struct st_command *cmds = NULL;
    size_t n = 0;
    json_t *arr;

    if (store_command_list(r->srv->st, r->tenant, &cmds, &n)) {
        resp_error(r, 503, "unavailable", "store not readable");
        return;
    }
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *o = render_command(&cmds[i]);
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    st_command_array_free(cmds, n);
    resp_json(r, 200, arr ? json_pack("{s:o}", "commands", arr) : NULL);
}

void h_command_show(struct req *r)
{
    struct st_command c;
    json_t *o;

    if (load_command(r, &c))
        return;
    o = render_command(&c);
    st_command_free(&c);
    if (o)
        resp_json(r, 200, o);
    else
        resp_error(r, 500, "internal", "cannot render the command");
}

void h_command_delete(struct req *r)
{
    struct st_command c;
    int64_t now = tm_now_ms();

    if (load_command(r, &c))
        return;
    if (store_command_delete(r->srv->st, r->tenant, c.name) ||
        req_audit(r, now, "command.remove", c.name, NULL))
        resp_error(r, 503, "unavailable", "store not writable");
    else
        resp_json(r, 200, json_pack("{s:s, s:b}", "name", c.name, "removed", 1));
    st_command_free(&c);
}

void h_command_invoke(struct req *r)
{
    char err[512], names[256], detail[400], inv_id[ID_BUF];
    struct st_command c;
    struct cmd_def d;
    json_t *stored = NULL, *body = NULL, *inv_body = NULL;
    int64_t now = tm_now_ms();

    memset(&d, 0, sizeof d);
    if (load_command(r, &c))
        return;
    body = req_json(r);
    if (!body)
        goto out;
    /* The stored text was validated when it was saved; it is checked again all the same (a
     * newer server may check more). */
    stored = jsonu_parse(c.definition, strlen(c.definition), strlen(c.definition), err,
                         sizeof err);
    if (!stored || cmd_def_parse(stored, &d, err, sizeof err)) {
        resp_error(r, 409, "invalid_command", "the saved command '%s' does not validate any "
                   "more (%s); save it again", c.name, err);
        goto out;
    }
    inv_body = cmd_invocation_body(&d, body, err, sizeof err);
    if (!inv_body) {
        resp_error(r, 400, "bad_request", "%s", err);
        goto out;
    }
    if (invocation_create(r, inv_body, d.name, inv_id))
        goto out;
    param_names(&d, names, sizeof names);
    snprintf(detail, sizeof detail, "invocation %s; %s", inv_id, names);
    if (req_audit(r, now, "command.invoke", d.name, detail))
        resp_error(r, 503, "unavailable", "store not writable");
out:
    json_decref(inv_body);
    cmd_def_free(&d);
    json_decref(stored);
    json_decref(body);
    st_command_free(&c);
}
