/*
 * The environment a task starts with: nothing of the agent's own environment (it may hold
 * secrets), only HOME USER LOGNAME SHELL PATH, /etc/environment, then the task's env.
 */
#include "task/shim_env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TASK_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const char *shim_env_path(void)
{
    return TASK_PATH;
}

void shim_env_free(struct shim_env *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->vars[i]);
    free(e->vars);
    e->vars = NULL;
    e->n = e->cap = 0;
}

int shim_env_set(struct shim_env *e, const char *name, const char *value)
{
    size_t nlen = strlen(name), len = nlen + strlen(value) + 2;
    char *kv = malloc(len);

    if (!kv)
        return -ENOMEM;
    snprintf(kv, len, "%s=%s", name, value);
    for (size_t i = 0; i < e->n; i++) {
        if (strncmp(e->vars[i], name, nlen) == 0 && e->vars[i][nlen] == '=') {
            free(e->vars[i]);
            e->vars[i] = kv;
            return 0;
        }
    }
    if (e->n + 2 > e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        char **nv = realloc(e->vars, cap * sizeof *nv);
        if (!nv) {
            free(kv);
            return -ENOMEM;
        }
        e->vars = nv;
        e->cap = cap;
    }
    e->vars[e->n++] = kv;
    e->vars[e->n] = NULL;
    return 0;
}

static bool name_ok(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_' ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

/* Variables a shell sets for itself; a captured login environment must not pin them. */
static bool shell_internal(const char *kv, size_t nlen)
{
    static const char *const names[] = { "PWD", "OLDPWD", "SHLVL", "_", NULL };

    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == nlen && strncmp(kv, names[i], nlen) == 0)
            return true;
    return false;
}

int shim_env_parse_nul(struct shim_env *e, const char *buf, size_t len)
{
    size_t i = 0;
    int added = 0;

    while (i < len) {
        const char *kv = buf + i, *end = memchr(kv, '\0', len - i), *eq;
        size_t kvlen = end ? (size_t)(end - kv) : len - i;
        char name[256];

        i += kvlen + 1;
        if (!end)
            break; /* a cut-off last entry (the writer died mid-way) is not trusted */
        eq = memchr(kv, '=', kvlen);
        if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof name || shell_internal(kv, (size_t)(eq - kv)))
            continue;
        memcpy(name, kv, (size_t)(eq - kv));
        name[eq - kv] = '\0';
        if (!name_ok(name))
            continue;
        if (shim_env_set(e, name, eq + 1) != 0)
            return -ENOMEM;
        added++;
    }
    return added;
}

const char *shim_env_get(const struct shim_env *e, const char *name)
{
    size_t nlen = strlen(name);

    for (size_t i = 0; i < e->n; i++)
        if (strncmp(e->vars[i], name, nlen) == 0 && e->vars[i][nlen] == '=')
            return e->vars[i] + nlen + 1;
    return NULL;
}

/* KEY=value, KEY="value", KEY='value', optional "export "; comments and junk lines are skipped
 * (TAT's parser stopped at the first line without '=' — that is the bug not to copy). */
int shim_env_load_file(struct shim_env *e, const char *path)
{
    FILE *f = fopen(path, "re");
    char line[4096];
    int rc = 0;

    if (!f)
        return errno == ENOENT ? 0 : -errno;
    while (!rc && fgets(line, sizeof line, f)) {
        char *p = line, *eq, *v;
        size_t vl;
        line[strcspn(line, "\r\n")] = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "export ", 7) == 0)
            p += 7;
        if (*p == '#' || !(eq = strchr(p, '=')))
            continue;
        *eq = '\0';
        v = eq + 1;
        vl = strlen(v);
        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
            v[vl - 1] = '\0';
            v++;
        }
        if (name_ok(p) && strcmp(p, "PATH") != 0)
            rc = shim_env_set(e, p, v);
    }
    fclose(f);
    return rc;
}
