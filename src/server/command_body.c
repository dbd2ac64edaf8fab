/* Saved command definitions and their invocation bodies; see command_body.h. */
#include "server/command_body.h"

#include "common/jsonutil.h"
#include "server/invocation_body.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Every parameter travels as one env variable of the invocation, with its value as is. */
_Static_assert(PARAMS_MAX <= INV_ENV_MAX, "a parameter per env variable");
_Static_assert(PARAM_VALUE_MAX <= INV_ENV_VALUE_MAX, "a value fits an env value");

static const char *const def_keys[] = {
    "name", "description", "command", "interpreter", "user", "workdir", "timeout_s",
    "parameters",
    /* read-only fields of GET /v1/commands/{name}: accepted and ignored */
    "created_at", "updated_at", "created_by", "updated_by", NULL,
};
static const char *const param_keys[] = { "default", "pattern", "description", NULL };
static const char *const invoke_keys[] = { "params", "targets", "max_concurrency", "max_errors",
                                           "expires_in_s", NULL };

static int fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -EINVAL;
}

/* An optional description: a string of at most COMMAND_DESCRIPTION_MAX bytes without NUL. */
static int get_description(json_t *obj, const char *field, const char **out, char *err,
                           size_t errlen)
{
    json_t *v = json_object_get(obj, "description");
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) > COMMAND_DESCRIPTION_MAX ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        snprintf(err, errlen, "%s: must be text of at most %d bytes", field,
                 COMMAND_DESCRIPTION_MAX);
        return -EINVAL;
    }
    *out = json_string_value(v);
    return 0;
}

static const struct cmd_param *find_param(const struct cmd_def *d, const char *name, size_t len)
{
    for (size_t i = 0; i < d->nparams; i++)
        if (strlen(d->params[i].name) == len && !memcmp(d->params[i].name, name, len))
            return &d->params[i];
    return NULL;
}

static int parse_param(const char *name, json_t *v, struct cmd_param *p, char *err,
                       size_t errlen)
{
    char field[128], why[192];
    json_t *dv, *pv;

    snprintf(field, sizeof field, "parameters.%s", name);
    memset(p, 0, sizeof *p);
    p->name = name;
    if (!json_is_object(v)) {
        snprintf(err, errlen, "%s: must be an object ({} for a required parameter)", field);
        return -EINVAL;
    }
    if (jsonu_only_keys(v, param_keys, why, sizeof why)) {
        snprintf(err, errlen, "%s.%s", field, why);
        return -EINVAL;
    }
    if (get_description(v, field, &p->description, why, sizeof why)) {
        snprintf(err, errlen, "%s.%s", field, why);
        return -EINVAL;
    }
    pv = json_object_get(v, "pattern");
    if (pv && !json_is_null(pv)) {
        if (!json_is_string(pv) || strlen(json_string_value(pv)) != json_string_length(pv)) {
            snprintf(err, errlen, "%s.pattern: must be a string", field);
            return -EINVAL;
        }
        p->pattern = json_string_value(pv);
        if (params_pattern_check(p->pattern, why, sizeof why)) {
            snprintf(err, errlen, "%s.pattern: %s", field, why);
            return -EINVAL;
        }
    }
    dv = json_object_get(v, "default");
    if (dv && !json_is_null(dv)) {
        if (!json_is_string(dv)) {
            snprintf(err, errlen, "%s.default: must be a string", field);
            return -EINVAL;
        }
        p->deflt = json_string_value(dv);
        p->deflt_len = json_string_length(dv);
        if (params_value_check(p->deflt, p->deflt_len, p->pattern, why, sizeof why)) {
            snprintf(err, errlen, "%s.default: %s", field, why);
            return -EINVAL;
        }
    }
    return 0;
}

static int parse_params(json_t *obj, struct cmd_def *d, char *err, size_t errlen)
{
    const char *name;
    json_t *v;

    if (!obj || json_is_null(obj))
        return 0;
    if (!json_is_object(obj))
        return fail(err, errlen, "parameters: must be an object of name: {default, pattern, "
                                 "description}");
    if (json_object_size(obj) > PARAMS_MAX) {
        snprintf(err, errlen, "parameters: at most %d", PARAMS_MAX);
        return -EINVAL;
    }
    json_object_foreach(obj, name, v) {
        char env[sizeof PARAM_ENV_PREFIX + PARAM_NAME_MAX], other[sizeof env];
        if (!param_name_valid(name)) {
            snprintf(err, errlen, "parameters.%.64s: not a valid parameter name (a letter or _, "
                     "then letters, digits or _, at most %d)", name, PARAM_NAME_MAX);
            return -EINVAL;
        }
        /* Two names that differ only in case would share one TETHER_PARAM_ variable. */
        params_env_name(name, env, sizeof env);
        for (size_t i = 0; i < d->nparams; i++) {
            params_env_name(d->params[i].name, other, sizeof other);
            if (!strcmp(env, other)) {
                snprintf(err, errlen, "parameters.%s: same environment variable %s as '%s' "
                         "(names must differ in more than case)", name, env,
                         d->params[i].name);
                return -EINVAL;
            }
        }
        if (parse_param(name, v, &d->params[d->nparams], err, errlen))
            return -EINVAL;
        d->nparams++;
    }
    return 0;
}

struct declared_ctx {
    const struct cmd_def *d;
    char *err;
    size_t errlen;
};

static int check_declared(void *ud, const char *name, size_t len, size_t offset)
{
    struct declared_ctx *c = ud;
    if (find_param(c->d, name, len))
        return 0;
    snprintf(c->err, c->errlen, "command: placeholder {{%.*s}} (at byte %zu) is not declared in "
             "parameters", (int)len, name, offset);
    return -EINVAL;
}

/* The stored form: every field present, defaults filled in, parameters as given. */
static json_t *normalize(const struct cmd_def *d)
{
    json_t *params = json_object(), *o;

    for (size_t i = 0; params && i < d->nparams; i++) {
        const struct cmd_param *p = &d->params[i];
        json_t *po = json_object();
        if (!po || (p->deflt && json_object_set_new(po, "default",
                                                    json_stringn(p->deflt, p->deflt_len))) ||
            (p->pattern && json_object_set_new(po, "pattern", json_string(p->pattern))) ||
            (p->description &&
             json_object_set_new(po, "description", json_string(p->description))) ||
            json_object_set_new(params, p->name, po)) {
            json_decref(params);
            return NULL;
        }
    }
    if (!params)
        return NULL;
    o = json_pack("{s:s, s:s?, s:s, s:s, s:s, s:s?, s:I, s:o}", "name", d->name, "description",
                  d->description, "command", d->command, "interpreter", d->interpreter, "user",
                  d->user, "workdir", d->workdir, "timeout_s", (json_int_t)d->timeout_s,
                  "parameters", params);
    if (o && !d->description)
        json_object_set_new(o, "description", json_null());
    if (o && !d->workdir)
        json_object_set_new(o, "workdir", json_null());
    return o;
}

int cmd_def_parse(json_t *body, struct cmd_def *d, char *err, size_t errlen)
{
    struct inv_request fields;
    struct declared_ctx dc = { d, err, errlen };
    const char *name = NULL;

    memset(d, 0, sizeof *d);
    if (!json_is_object(body))
        return fail(err, errlen, "body: must be a JSON object");
    if (jsonu_only_keys(body, def_keys, err, errlen))
        return -EINVAL;
    if (jsonu_str(body, "name", &name, err, errlen) < 0)
        return -EINVAL;
    if (!name || !command_name_valid(name))
        return fail(err, errlen, "name: required, 1-64 characters: a letter or digit, then "
                                 "letters, digits, '_', '.' or '-'");
    d->name = name;
    if (get_description(body, "description", &d->description, err, errlen))
        return -EINVAL;
    /* command, interpreter, user, workdir, timeout_s: the rules of POST /v1/invocations */
    if (inv_fields_parse(body, &fields, err, errlen))
        return -EINVAL;
    d->command = fields.command;
    d->command_len = strlen(fields.command);
    d->interpreter = fields.interpreter;
    d->user = fields.user;
    d->workdir = fields.workdir;
    d->timeout_s = fields.timeout_s;
    inv_request_free(&fields);
    if (parse_params(json_object_get(body, "parameters"), d, err, errlen))
        return -EINVAL;
    if (params_scan(d->command, d->command_len, d->interpreter, check_declared, &dc, err,
                    errlen))
        return -EINVAL;
    d->normalized = normalize(d);
    if (!d->normalized)
        return fail(err, errlen, "out of memory");
    return 0;
}

void cmd_def_free(struct cmd_def *d)
{
    json_decref(d->normalized);
    d->normalized = NULL;
}

/* Fills b (d->nparams entries) with the value each parameter takes: given, else its default. */
static int bind_params(const struct cmd_def *d, json_t *given, struct param_binding *b,
                       char *err, size_t errlen)
{
    const char *key;
    json_t *v;

    if (given && !json_is_null(given) && !json_is_object(given))
        return fail(err, errlen, "params: must be an object of name: \"value\"");
    if (given && json_is_object(given)) {
        json_object_foreach(given, key, v) {
            if (find_param(d, key, strlen(key)))
                continue;
            if (param_name_valid(key))
                snprintf(err, errlen, "params: unknown parameter '%s' (not declared by '%s')",
                         key, d->name);
            else
                snprintf(err, errlen, "params: unknown parameter (not a valid parameter name)");
            return -EINVAL;
        }
    }
    for (size_t i = 0; i < d->nparams; i++) {
        const struct cmd_param *p = &d->params[i];
        char why[192];
        v = json_is_object(given) ? json_object_get(given, p->name) : NULL;
        b[i].name = p->name;
        if (!v || json_is_null(v)) {
            if (!p->deflt) {
                snprintf(err, errlen, "params: missing required parameter '%s'", p->name);
                return -EINVAL;
            }
            b[i].value = p->deflt;
            b[i].len = p->deflt_len;
            continue;
        }
        if (!json_is_string(v)) {
            snprintf(err, errlen, "params: '%s' must be a string", p->name);
            return -EINVAL;
        }
        b[i].value = json_string_value(v);
        b[i].len = json_string_length(v);
        if (params_value_check(b[i].value, b[i].len, p->pattern, why, sizeof why)) {
            snprintf(err, errlen, "params: '%s' %s", p->name, why);
            return -EINVAL;
        }
    }
    return 0;
}

static json_t *env_of(const struct param_binding *b, size_t n)
{
    json_t *env = json_object();
    for (size_t i = 0; env && i < n; i++) {
        char name[sizeof PARAM_ENV_PREFIX + PARAM_NAME_MAX];
        params_env_name(b[i].name, name, sizeof name);
        if (json_object_set_new(env, name, json_stringn(b[i].value, b[i].len))) {
            json_decref(env);
            return NULL;
        }
    }
    return env;
}

json_t *cmd_invocation_body(const struct cmd_def *d, json_t *invoke, char *err, size_t errlen)
{
    static const char *const passed[] = { "targets", "max_concurrency", "max_errors",
                                          "expires_in_s", NULL };
    struct param_binding b[PARAMS_MAX];
    struct buf cmd = BUF_INIT;
    json_t *body = NULL, *env = NULL;

    if (!json_is_object(invoke)) {
        fail(err, errlen, "body: must be a JSON object");
        return NULL;
    }
    if (jsonu_only_keys(invoke, invoke_keys, err, errlen) ||
        bind_params(d, json_object_get(invoke, "params"), b, err, errlen))
        return NULL;
    if (params_render(d->command, d->command_len, d->interpreter, b, d->nparams, &cmd, err,
                      errlen))
        goto out;
    if (cmd.len > INV_COMMAND_MAX) {
        snprintf(err, errlen, "command: %zu bytes once the parameters are substituted; at most "
                 "%d", cmd.len, INV_COMMAND_MAX);
        goto out;
    }
    env = env_of(b, d->nparams);
    body = env ? json_pack("{s:s%, s:s, s:s, s:I, s:O}", "command", cmd.data ? cmd.data : "",
                           cmd.len, "interpreter", d->interpreter, "user", d->user, "timeout_s",
                           (json_int_t)d->timeout_s, "env", env)
               : NULL;
    if (body && d->workdir && json_object_set_new(body, "workdir", json_string(d->workdir)))
        goto oom;
    for (size_t i = 0; body && passed[i]; i++) {
        json_t *v = json_object_get(invoke, passed[i]);
        if (v && json_object_set(body, passed[i], v))
            goto oom;
    }
    if (!body)
        goto oom;
    goto out;
oom:
    json_decref(body);
    body = NULL;
    fail(err, errlen, "out of memory");
out:
    json_decref(env);
    buf_free(&cmd);
    return body;
}
