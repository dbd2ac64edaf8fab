/* Task validation; see task_spec.h. Everything here comes from the network: allowlists only. */
#include "task/task_spec.h"
#include "common/b64.h"
#include "common/jsonutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const interpreters[] = { "sh", "bash", "python3", "perl", NULL };

int task_spec_id(json_t *task, char out[ID_BUF])
{
    const char *id = json_is_object(task) ? json_string_value(json_object_get(task, "task_id"))
                                          : NULL;
    if (!id || !id_valid(id, ID_TASK))
        return -EINVAL;
    memcpy(out, id, ID_BUF);
    return 0;
}

static int bad(char *err, size_t errlen, const char *msg, const char *field)
{
    snprintf(err, errlen, "%s: %s", field, msg);
    return -EINVAL;
}

static int parse_command(json_t *task, struct task_spec *s, char *err, size_t errlen)
{
    const char *b64 = NULL;
    long n;

    int rc = jsonu_str(task, "command", &b64, err, errlen);

    if (rc < 0)
        return rc;
    if (rc > 0)
        return bad(err, errlen, "missing", "command");
    if (strlen(b64) > b64_encoded_len(TASK_COMMAND_MAX))
        return bad(err, errlen, "longer than 64 KiB", "command");
    s->command = malloc(TASK_COMMAND_MAX + 1);
    if (!s->command)
        return -ENOMEM;
    n = b64_decode(b64, strlen(b64), s->command, TASK_COMMAND_MAX);
    if (n < 0)
        return bad(err, errlen, n == -ENOSPC ? "longer than 64 KiB" : "not valid base64",
                   "command");
    s->command[n] = '\0';
    s->command_len = (size_t)n;
    return 0;
}

static int parse_env(json_t *task, struct task_spec *s, char *err, size_t errlen)
{
    json_t *env = json_object_get(task, "env"), *v;
    const char *k;

    if (!env || json_is_null(env))
        return 0;
    if (!json_is_object(env))
        return bad(err, errlen, "must be an object", "env");
    if (json_object_size(env) > TASK_ENV_MAX)
        return bad(err, errlen, "more than 64 variables", "env");
    json_object_foreach(env, k, v) {
        if (!env_name_valid(k))
            return bad(err, errlen, "invalid variable name", "env");
        if (!json_is_string(v) || json_string_length(v) > TASK_ENV_VALUE_MAX ||
            strlen(json_string_value(v)) != json_string_length(v)) {
            snprintf(err, errlen, "env.%s: must be a string of at most 4096 bytes without NUL", k);
            return -EINVAL;
        }
    }
    s->env = json_incref(env);
    return 0;
}

static int parse_strings(json_t *task, struct task_spec *s, char *err, size_t errlen)
{
    const char *v = NULL;
    int rc, ok = 0;

    rc = jsonu_str(task, "invocation_id", &v, err, errlen);
    if (rc < 0 || (rc == 0 && !id_valid(v, ID_INVOCATION)))
        return bad(err, errlen, "not a valid invocation id", "invocation_id");
    if (rc == 0)
        memcpy(s->invocation_id, v, ID_BUF);
    v = NULL;
    if (json_object_get(task, "kind") && !json_is_null(json_object_get(task, "kind"))) {
        if (jsonu_str(task, "kind", &v, err, errlen) < 0)
            return -EINVAL;
        if (strcmp(v, "command") != 0)
            return bad(err, errlen, "only \"command\" is supported by this agent", "kind");
    }
    v = "sh";
    if (jsonu_str(task, "interpreter", &v, err, errlen) < 0)
        return -EINVAL;
    for (int i = 0; interpreters[i]; i++)
        ok |= strcmp(v, interpreters[i]) == 0;
    if (!ok)
        return bad(err, errlen, "must be one of sh, bash, python3, perl", "interpreter");
    snprintf(s->interpreter, sizeof s->interpreter, "%s", v);
    v = "root";
    if (jsonu_str(task, "user", &v, err, errlen) < 0)
        return -EINVAL;
    if (!user_name_valid(v))
        return bad(err, errlen, "not a valid user name", "user");
    snprintf(s->user, sizeof s->user, "%s", v);
    v = NULL;
    rc = jsonu_str(task, "workdir", &v, err, errlen);
    if (rc < 0)
        return -EINVAL;
    if (rc == 0) {
        if (v[0] != '/' || strlen(v) >= PATH_MAX)
            return bad(err, errlen, "must be an absolute path", "workdir");
        s->workdir = strdup(v);
        if (!s->workdir)
            return -ENOMEM;
    }
    return 0;
}

static int parse_ints(json_t *task, struct task_spec *s, char *err, size_t errlen)
{
    json_t *limits = json_object_get(task, "limits");

    s->timeout_s = 3600;
    s->output_limit = 4194304;
    s->spool_limit = 256LL << 20;
    s->kill_grace_s = 5;
    if (jsonu_int(task, "timeout_s", 1, 86400, &s->timeout_s, err, errlen) < 0)
        return -EINVAL;
    if (jsonu_int(task, "output_limit", 1024, 67108864, &s->output_limit, err, errlen) < 0)
        return -EINVAL;
    if (jsonu_int(task, "spool_limit", 0, INT64_MAX, &s->spool_limit, err, errlen) < 0)
        return -EINVAL;
    if (jsonu_int(task, "kill_grace_s", 0, 3600, &s->kill_grace_s, err, errlen) < 0)
        return -EINVAL;
    s->profile_timeout_s = 10;
    if (jsonu_int(task, "profile_timeout_s", 1, 3600, &s->profile_timeout_s, err, errlen) < 0)
        return -EINVAL;
    if (jsonu_int(task, "profile_cache_s", 0, 86400, &s->profile_cache_s, err, errlen) < 0)
        return -EINVAL;
    s->login_profile = true;
    if (jsonu_bool(task, "login_profile", &s->login_profile, err, errlen) < 0)
        return -EINVAL;
    if (json_object_get(task, "cgroups")) {
        const char *v = NULL;
        if (jsonu_str(task, "cgroups", &v, err, errlen) < 0)
            return -EINVAL;
        if (strcmp(v, "auto") != 0 && strcmp(v, "off") != 0)
            return bad(err, errlen, "must be auto or off", "cgroups");
        s->cgroups_off = strcmp(v, "off") == 0;
    }
    if (limits && !json_is_null(limits)) {
        /* the server's bounds, checked again: the journal is not trusted more than the wire */
        if (!json_is_object(limits))
            return bad(err, errlen, "must be an object", "limits");
        if (jsonu_int(limits, "memory_bytes", 0, 1LL << 40, &s->memory_bytes, err, errlen) < 0 ||
            jsonu_int(limits, "cpu_percent", 0, 10000, &s->cpu_percent, err, errlen) < 0 ||
            jsonu_int(limits, "pids", 0, 4194304, &s->pids, err, errlen) < 0)
            return -EINVAL;
        if (s->memory_bytes > 0 && s->memory_bytes < (1 << 20))
            return bad(err, errlen, "at least 1048576 (1 MiB), or 0 for none",
                       "limits.memory_bytes");
    }
    return 0;
}

/* Agent-side: the secret files the dispatcher asks the shim to cover in root tasks. */
static int parse_hide(json_t *task, struct task_spec *s, char *err, size_t errlen)
{
    json_t *a = json_object_get(task, "hide_paths"), *v;
    size_t i;

    if (!a)
        return 0;
    if (json_is_null(a)) {
        s->hide_off = true;
        return 0;
    }
    if (!json_is_array(a) || json_array_size(a) > TASK_HIDE_MAX)
        return bad(err, errlen, "must be an array of at most 8 paths", "hide_paths");
    json_array_foreach(a, i, v) {
        const char *p = json_string_value(v);
        if (!p || p[0] != '/' || strlen(p) >= PATH_MAX || strlen(p) != json_string_length(v))
            return bad(err, errlen, "must hold absolute paths", "hide_paths");
    }
    s->hide_paths = json_incref(a);
    return 0;
}

int task_spec_parse(json_t *task, struct task_spec *s, char *err, size_t errlen)
{
    int rc;

    memset(s, 0, sizeof *s);
    if (!json_is_object(task))
        return bad(err, errlen, "must be an object", "task");
    if (task_spec_id(task, s->task_id) != 0)
        return bad(err, errlen, "not a valid task id", "task_id");
    rc = parse_strings(task, s, err, errlen);
    if (!rc)
        rc = parse_ints(task, s, err, errlen);
    if (!rc)
        rc = parse_env(task, s, err, errlen);
    if (!rc)
        rc = parse_hide(task, s, err, errlen);
    if (!rc)
        rc = parse_command(task, s, err, errlen);
    if (rc)
        task_spec_free(s);
    return rc;
}

void task_spec_free(struct task_spec *s)
{
    free(s->workdir);
    free(s->command);
    json_decref(s->env);
    json_decref(s->hide_paths);
    s->workdir = s->command = NULL;
    s->env = s->hide_paths = NULL;
}
