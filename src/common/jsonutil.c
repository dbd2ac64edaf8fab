/* JSON helpers; see jsonutil.h. */
#include "common/jsonutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Nesting depth of a JSON text, skipping strings. Jansson has no runtime depth limit. */
static int json_depth(const char *s, size_t n)
{
    int depth = 0, max = 0;
    bool in_str = false;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                max = depth;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return max;
}

json_t *jsonu_parse(const char *data, size_t len, size_t max_len, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *v;

    if (len > max_len) {
        snprintf(err, errlen, "body larger than %zu bytes", max_len);
        return NULL;
    }
    if (json_depth(data, len) > JSONU_MAX_DEPTH) {
        snprintf(err, errlen, "JSON nested deeper than %d levels", JSONU_MAX_DEPTH);
        return NULL;
    }
    v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        snprintf(err, errlen, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        return NULL;
    }
    return v;
}

int jsonu_str(json_t *obj, const char *key, const char **out, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 1;
    if (!json_is_string(v)) {
        snprintf(err, errlen, "%s: must be a string", key);
        return -EINVAL;
    }
    *out = json_string_value(v);
    if (strlen(*out) != json_string_length(v)) {
        snprintf(err, errlen, "%s: must not contain NUL", key);
        return -EINVAL;
    }
    return 0;
}

int jsonu_int(json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out, char *err,
              size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    json_int_t i;
    if (!v || json_is_null(v))
        return 1;
    if (!json_is_integer(v)) {
        snprintf(err, errlen, "%s: must be an integer", key);
        return -EINVAL;
    }
    i = json_integer_value(v);
    if (i < min || i > max) {
        snprintf(err, errlen, "%s: must be between %lld and %lld", key, (long long)min,
                 (long long)max);
        return -EINVAL;
    }
    *out = i;
    return 0;
}

int jsonu_bool(json_t *obj, const char *key, bool *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 1;
    if (!json_is_boolean(v)) {
        snprintf(err, errlen, "%s: must be true or false", key);
        return -EINVAL;
    }
    *out = json_is_true(v);
    return 0;
}

int jsonu_only_keys(json_t *obj, const char *const *allowed, char *err, size_t errlen)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v) {
        bool ok = false;
        (void)v;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, key) == 0) {
                ok = true;
                break;
            }
        if (!ok) {
            snprintf(err, errlen, "%.64s: unknown field", key);
            return -EINVAL;
        }
    }
    return 0;
}

char *jsonu_dump(json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}
