/* Options tables; see config.h. */
#include "common/config.h"
#include "common/tm.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct cfg_option *find(const struct cfg_option *tab, const char *name)
{
    for (; tab->name; tab++)
        if (strcmp(tab->name, name) == 0)
            return tab;
    return NULL;
}

int cfg_parse_bool(const char *s, bool *out)
{
    if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcasecmp(s, "on") || !strcmp(s, "1"))
        *out = true;
    else if (!strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcasecmp(s, "off") ||
             !strcmp(s, "0"))
        *out = false;
    else
        return -EINVAL;
    return 0;
}

int cfg_parse_size(const char *s, int64_t *out)
{
    char *end;
    long long v;
    int64_t mult = 1;

    if (!*s || *s == '-' || *s == '+')
        return -EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s)
        return -EINVAL;
    if (*end) {
        switch (toupper((unsigned char)*end)) {
        case 'K': mult = 1024; break;
        case 'M': mult = 1024 * 1024; break;
        case 'G': mult = 1024LL * 1024 * 1024; break;
        default: return -EINVAL;
        }
        end++;
        if (*end == 'i')
            end++;
        if (*end == 'B' || *end == 'b')
            end++;
        if (*end)
            return -EINVAL;
    }
    if (v > INT64_MAX / mult)
        return -EINVAL;
    *out = (int64_t)v * mult;
    return 0;
}

int cfg_set(const struct cfg_option *tab, void *obj, const char *name, const char *value,
            char *err, size_t errlen)
{
    const struct cfg_option *o = find(tab, name);
    char *field;
    int64_t n = 0;
    int rc = 0;

    if (!o) {
        snprintf(err, errlen, "unknown option '%.64s'", name);
        return -ENOENT;
    }
    field = (char *)obj + o->offset;
    switch (o->type) {
    case CFG_STR: {
        char *copy = strdup(value);
        if (!copy)
            return -ENOMEM;
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case CFG_BOOL: {
        bool b;
        if (cfg_parse_bool(value, &b)) {
            snprintf(err, errlen, "%s: expected yes or no, got '%.64s'", name, value);
            return -EINVAL;
        }
        *(bool *)field = b;
        return 0;
    }
    case CFG_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end)
            rc = -EINVAL;
        n = v;
        break;
    }
    case CFG_DURATION:
        rc = tm_parse_duration(value, &n);
        break;
    case CFG_SIZE:
        rc = cfg_parse_size(value, &n);
        break;
    }
    if (rc || n < o->min || n > o->max) {
        snprintf(err, errlen, "%s: '%.64s' is not valid (expected %s between %lld and %lld)", name,
                 value,
                 o->type == CFG_DURATION ? "seconds" : o->type == CFG_SIZE ? "bytes" : "a number",
                 (long long)o->min, (long long)o->max);
        return -EINVAL;
    }
    *(int64_t *)field = n;
    return 0;
}

int cfg_defaults(const struct cfg_option *tab, void *obj)
{
    char err[256];
    for (const struct cfg_option *o = tab; o->name; o++) {
        if (!o->def) {
            if (o->type == CFG_STR)
                *(char **)((char *)obj + o->offset) = NULL;
            continue;
        }
        int rc = cfg_set(tab, obj, o->name, o->def, err, sizeof err);
        if (rc)
            return rc;
    }
    return 0;
}

static char *trim(char *s)
{
    char *e;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int cfg_load_file(const struct cfg_option *tab, void *obj, const char *path, char *err,
                  size_t errlen)
{
    FILE *f = fopen(path, "re");
    char line[4096], sub[256];
    int lineno = 0, rc = 0;

    if (!f) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    while (fgets(line, sizeof line, f)) {
        char *eq, *key, *val;
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            rc = -EINVAL;
            break;
        }
        key = trim(line);
        if (!*key || *key == '#')
            continue;
        eq = strchr(key, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
            rc = -EINVAL;
            break;
        }
        *eq = '\0';
        val = trim(eq + 1);
        key = trim(key);
        rc = cfg_set(tab, obj, key, val, sub, sizeof sub);
        if (rc) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, sub);
            break;
        }
    }
    fclose(f);
    return rc;
}

int cfg_set_pair(const struct cfg_option *tab, void *obj, const char *pair, char *err,
                 size_t errlen)
{
    char key[128];
    const char *eq = strchr(pair, '=');
    if (!eq || eq == pair || (size_t)(eq - pair) >= sizeof key) {
        snprintf(err, errlen, "expected key=value, got '%.64s'", pair);
        return -EINVAL;
    }
    memcpy(key, pair, (size_t)(eq - pair));
    key[eq - pair] = '\0';
    return cfg_set(tab, obj, key, eq + 1, err, errlen);
}

void cfg_print_help(const struct cfg_option *tab, FILE *out)
{
    for (const struct cfg_option *o = tab; o->name; o++)
        fprintf(out, "  %-22s %s (default: %s)\n", o->name, o->help, o->def ? o->def : "unset");
}

void cfg_free(const struct cfg_option *tab, void *obj)
{
    for (const struct cfg_option *o = tab; o->name; o++) {
        if (o->type == CFG_STR) {
            char **p = (char **)((char *)obj + o->offset);
            free(*p);
            *p = NULL;
        }
    }
}
