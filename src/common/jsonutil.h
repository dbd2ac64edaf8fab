/*
 * JSON input from the network goes through jsonu_parse: size cap, nesting depth cap, duplicate keys
 * rejected, and a message that names what was wrong. The getters check types and name the field.
 */
#ifndef TETHER_JSONUTIL_H
#define TETHER_JSONUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONU_MAX_DEPTH 16

/* Returns a new reference or NULL with err filled ("invalid JSON at line 1 column 5: ..."). */
json_t *jsonu_parse(const char *data, size_t len, size_t max_len, char *err, size_t errlen);

/* Each getter: 0 if found and of the right type, 1 if absent (out untouched), -EINVAL if wrong
 * type or out of range (err names the field). */
int jsonu_str(json_t *obj, const char *key, const char **out, char *err, size_t errlen);
int jsonu_int(json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out, char *err,
              size_t errlen);
int jsonu_bool(json_t *obj, const char *key, bool *out, char *err, size_t errlen);
/* Rejects keys of obj that are not in the NULL-terminated list; err names the first one. */
int jsonu_only_keys(json_t *obj, const char *const *allowed, char *err, size_t errlen);
/* json_dumps with compact flags; caller frees. NULL on failure. */
char *jsonu_dump(json_t *v);

#endif
