/* POST /v1/invocations body validation; see invocation_body.h. */
#include "server/invocation_body.h"

#include "common/ids.h"
#include "common/jsonutil.h"
#include "common/utf8.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define COMMAND_MAX INV_COMMAND_MAX
#define ENV_MAX INV_ENV_MAX
#define ENV_VALUE_MAX INV_ENV_VALUE_MAX

static const char *const body_keys[] = {
    "command", "interpreter", "targets", "user", "workdir", "env", "timeout_s", "output_limit",
    "expires_in_s", "max_concurrency", "max_errors", "limits", NULL,
};
static const char *const limit_keys[] = { "memory_bytes", "cpu_percent", "pids", NULL };
static const char *const target_keys[] = { "agents", "tags", "cidr", "all", "exclude",
                                           "exclude_tags", NULL };
static const char *const interpreters[] = { "sh", "bash", "python3", "perl", NULL };

static int fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -EINVAL;
}

/* Array of agent references (names or ids), each checked by allowlist. */
static int check_refs(json_t *arr, const char *field, char *err, size_t errlen)
{
    size_t i;
    json_t *v;
    if (!json_is_array(arr)) {
        snprintf(err, errlen, "%s: must be an array of agent names or ids", field);
        return -EINVAL;
    }
    if (json_array_size(arr) > 10000) {
        snprintf(err, errlen, "%s: too many entries", field);
        return -EINVAL;
    }
    json_array_foreach(arr, i, v) {
        const char *s = json_string_value(v);
        if (!s || !(name_valid(s) || id_valid(s, ID_AGENT))) {
            snprintf(err, errlen, "%s[%zu]: not a valid agent name or id", field, i);
            return -EINVAL;
        }
    }
    return 0;
}

static int check_tags(json_t *v, const char *field, char *err, size_t errlen)
{
    const char *k;
    json_t *tv;
    if (!json_is_object(v)) {
        snprintf(err, errlen, "%s: must be an object", field);
        return -EINVAL;
    }
    json_object_foreach(v, k, tv) {
        if (!tag_key_valid(k) || !json_is_string(tv) || !tag_value_valid(json_string_value(tv))) {
            snprintf(err, errlen, "%s.%.64s: invalid tag", field, k);
            return -EINVAL;
        }
    }
    return 0;
}

/* "P%" with P an integer in [min_pct, 100]; *pct receives P. */
static bool parse_percent(const char *s, int64_t min_pct, int64_t *pct)
{
    size_t n = strlen(s);
    int64_t v = 0;
    if (n < 2 || n > 4 || s[n - 1] != '%')
        return false;
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < min_pct || v > 100)
        return false;
    *pct = v;
    return true;
}

/* max_concurrency (integer >= 1 or "1%".."100%") / max_errors (integer >= 0 or "0%".."100%"). */
static int parse_rate(json_t *body, const char *field, int64_t min, json_t **out, char *err,
                      size_t errlen)
{
    json_t *v = json_object_get(body, field);
    int64_t pct;
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= min &&
        json_integer_value(v) <= 1000000) {
        *out = v;
        return 0;
    }
    if (json_is_string(v) && parse_percent(json_string_value(v), min, &pct)) {
        *out = v;
        return 0;
    }
    snprintf(err, errlen, "%s: must be an integer %s or a percentage \"P%%\" (%s-100%%)", field,
             min ? ">= 1" : ">= 0", min ? "1" : "0");
    return -EINVAL;
}

int64_t inv_rate_limit(json_t *v, size_t ntasks, int64_t min, int64_t none_value)
{
    int64_t pct, n;
    if (!v || json_is_null(v))
        return none_value;
    if (json_is_integer(v))
        return json_integer_value(v);
    if (!json_is_string(v) || !parse_percent(json_string_value(v), 0, &pct))
        return none_value;
    n = ((int64_t)ntasks * pct + 99) / 100;
    return n < min ? min : n;
}

static int parse_targets(json_t *t, struct inv_request *req, char *err, size_t errlen)
{
    char sub[128];
    json_t *v;

    if (!json_is_object(t))
        return fail(err, errlen, "targets: must be an object");
    if (jsonu_only_keys(t, target_keys, sub, sizeof sub)) {
        snprintf(err, errlen, "targets.%s", sub);
        return -EINVAL;
    }
    req->targets = t;
    if ((v = json_object_get(t, "agents")) && !json_is_null(v)) {
        if (check_refs(v, "targets.agents", err, errlen))
            return -EINVAL;
        req->spec.agents = v;
    }
    if ((v = json_object_get(t, "exclude")) && !json_is_null(v)) {
        if (check_refs(v, "targets.exclude", err, errlen))
            return -EINVAL;
        req->spec.exclude = v;
    }
    if ((v = json_object_get(t, "tags")) && !json_is_null(v)) {
        if (check_tags(v, "targets.tags", err, errlen))
            return -EINVAL;
        req->spec.tags = v;
    }
    if ((v = json_object_get(t, "exclude_tags")) && !json_is_null(v)) {
        if (check_tags(v, "targets.exclude_tags", err, errlen))
            return -EINVAL;
        req->spec.exclude_tags = v;
    }
    if ((v = json_object_get(req->targets, "cidr")) && !json_is_null(v)) {
        struct cidr c;
        if (!json_is_string(v) || cidr_parse(json_string_value(v), &c))
            return fail(err, errlen, "targets.cidr: not an IPv4 or IPv6 network");
        req->spec.cidr = json_string_value(v);
    }
    if (jsonu_bool(req->targets, "all", &req->spec.all, err, errlen) < 0)
        return -EINVAL;
    return 0;
}

static int parse_env(json_t *env, char *err, size_t errlen)
{
    const char *k;
    json_t *v;
    if (!json_is_object(env))
        return fail(err, errlen, "env: must be an object");
    if (json_object_size(env) > ENV_MAX)
        return fail(err, errlen, "env: at most 64 variables");
    json_object_foreach(env, k, v) {
        if (!env_name_valid(k)) {
            snprintf(err, errlen, "env.%.64s: invalid variable name", k);
            return -EINVAL;
        }
        if (!json_is_string(v) || json_string_length(v) > ENV_VALUE_MAX ||
            memchr(json_string_value(v), '\0', json_string_length(v))) {
            snprintf(err, errlen, "env.%.64s: must be a string of at most 4096 bytes", k);
            return -EINVAL;
        }
    }
    return 0;
}

static int parse_scalars(json_t *body, struct inv_request *req, char *err, size_t errlen)
{
    json_t *v;
    if (jsonu_str(body, "command", &req->command, err, errlen) < 0)
        return -EINVAL;
    if (!req->command || !*req->command)
        return fail(err, errlen, "command: required (1 byte to 64 KiB of text)");
    v = json_object_get(body, "command");
    if (json_string_length(v) > COMMAND_MAX || memchr(req->command, '\0', json_string_length(v)))
        return fail(err, errlen, "command: must be at most 65536 bytes of text");
    if (jsonu_str(body, "interpreter", &req->interpreter, err, errlen) < 0)
        return -EINVAL;
    if (!req->interpreter)
        req->interpreter = "sh";
    bool known = false;
    for (const char *const *i = interpreters; *i; i++)
        known |= !strcmp(*i, req->interpreter);
    if (!known)
        return fail(err, errlen, "interpreter: must be sh, bash, python3 or perl");
    if (jsonu_str(body, "user", &req->user, err, errlen) < 0)
        return -EINVAL;
    if (!req->user)
        req->user = "root";
    if (!user_name_valid(req->user))
        return fail(err, errlen, "user: not a valid user name");
    if (jsonu_str(body, "workdir", &req->workdir, err, errlen) < 0)
        return -EINVAL;
    if (req->workdir && (req->workdir[0] != '/' || strlen(req->workdir) > 4096 ||
                         strstr(req->workdir, "/../") || !utf8_valid(req->workdir,
                                                                     strlen(req->workdir))))
        return fail(err, errlen, "workdir: must be an absolute path or null");
    if (jsonu_int(body, "timeout_s", 1, 86400, &req->timeout_s, err, errlen) < 0 ||
        jsonu_int(body, "output_limit", 1024, 67108864, &req->output_limit, err, errlen) < 0 ||
        jsonu_int(body, "expires_in_s", 1, 604800, &req->expires_in_s, err, errlen) < 0)
        return -EINVAL;
    return 0;
}

/* limits{memory_bytes 1 MiB..1 TiB, cpu_percent 1..100*ncpu (capped at 10000), pids 1..4194304};
 * absent or 0 means no limit. */
static int parse_limits(json_t *l, struct inv_request *req, char *err, size_t errlen)
{
    char sub[128];
    if (!json_is_object(l))
        return fail(err, errlen, "limits: must be an object");
    if (jsonu_only_keys(l, limit_keys, sub, sizeof sub)) {
        snprintf(err, errlen, "limits.%s", sub);
        return -EINVAL;
    }
    if (jsonu_int(l, "memory_bytes", 0, 1LL << 40, &req->memory_bytes, sub, sizeof sub) < 0 ||
        jsonu_int(l, "cpu_percent", 0, 10000, &req->cpu_percent, sub, sizeof sub) < 0 ||
        jsonu_int(l, "pids", 0, 4194304, &req->pids, sub, sizeof sub) < 0) {
        snprintf(err, errlen, "limits.%s", sub);
        return -EINVAL;
    }
    if (req->memory_bytes && req->memory_bytes < (1 << 20))
        return fail(err, errlen, "limits.memory_bytes: at least 1048576 (1 MiB), or 0 for none");
    return 0;
}

static void request_defaults(struct inv_request *req)
{
    memset(req, 0, sizeof *req);
    req->timeout_s = 3600;
    req->output_limit = 4194304;
    req->expires_in_s = 3600;
}

int inv_fields_parse(json_t *body, struct inv_request *req, char *err, size_t errlen)
{
    request_defaults(req);
    if (!json_is_object(body))
        return fail(err, errlen, "body: must be a JSON object");
    return parse_scalars(body, req, err, errlen);
}

int inv_request_parse(json_t *body, struct inv_request *req, char *err, size_t errlen)
{
    json_t *v;

    request_defaults(req);
    if (!json_is_object(body))
        return fail(err, errlen, "body: must be a JSON object");
    if (jsonu_only_keys(body, body_keys, err, errlen))
        return -EINVAL;
    if (parse_rate(body, "max_concurrency", 1, &req->max_concurrency, err, errlen) ||
        parse_rate(body, "max_errors", 0, &req->max_errors, err, errlen))
        return -EINVAL;
    if (parse_scalars(body, req, err, errlen))
        return -EINVAL;
    v = json_object_get(body, "env");
    if (v && !json_is_null(v)) {
        if (parse_env(v, err, errlen))
            return -EINVAL;
        req->env = v;
    } else {
        req->empty_env = json_object();
        req->env = req->empty_env;
    }
    v = json_object_get(body, "limits");
    if (v && !json_is_null(v) && parse_limits(v, req, err, errlen))
        return -EINVAL;
    v = json_object_get(body, "targets");
    if (!v || json_is_null(v))
        return fail(err, errlen, "targets: required");
    return parse_targets(v, req, err, errlen);
}

int inv_targets_parse(json_t *body, struct inv_request *req, char *err, size_t errlen)
{
    static const char *const keys[] = { "targets", NULL };
    json_t *v;

    memset(req, 0, sizeof *req);
    if (!json_is_object(body))
        return fail(err, errlen, "body: must be a JSON object");
    if (jsonu_only_keys(body, keys, err, errlen))
        return -EINVAL;
    v = json_object_get(body, "targets");
    if (!v || json_is_null(v))
        return fail(err, errlen, "targets: required");
    return parse_targets(v, req, err, errlen);
}

void inv_request_free(struct inv_request *req)
{
    json_decref(req->empty_env);
    req->empty_env = NULL;
}
