/*
 * Options declared once, in a table that drives defaults, parsing of "key = value" files and of
 * command-line overrides, validation and the help text (STYLE.md, "Configuration").
 */
#ifndef TETHER_CONFIG_H
#define TETHER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cfg_type {
    CFG_STR,      /* char *, owned by the struct; NULL when unset */
    CFG_INT,      /* int64_t within [min, max] */
    CFG_BOOL,     /* bool: yes/no, true/false, on/off, 1/0 */
    CFG_DURATION, /* int64_t seconds: "30", "30s", "5m", "1h", "1d", within [min, max] */
    CFG_SIZE,     /* int64_t bytes: "4096", "64K", "4M", "1G" (powers of 1024), within [min, max] */
};

struct cfg_option {
    const char *name;
    enum cfg_type type;
    const char *def;   /* default as text; NULL = unset (strings only) */
    int64_t min, max;
    size_t offset;     /* offsetof() into the config struct */
    const char *help;
};

/* Applies every default. Returns 0 or -errno. */
int cfg_defaults(const struct cfg_option *tab, void *obj);
/* Sets one option from text. Returns 0, or -EINVAL/-ENOENT with err filled. */
int cfg_set(const struct cfg_option *tab, void *obj, const char *name, const char *value,
            char *err, size_t errlen);
/* Parses "key = value" lines ('#' comments, blank lines). A missing file is -ENOENT.
 * Errors name the file and line. */
int cfg_load_file(const struct cfg_option *tab, void *obj, const char *path, char *err,
                  size_t errlen);
/* "key=value" override as given to --set. */
int cfg_set_pair(const struct cfg_option *tab, void *obj, const char *pair, char *err,
                 size_t errlen);
void cfg_print_help(const struct cfg_option *tab, FILE *out);
/* Frees the strings the struct owns. */
void cfg_free(const struct cfg_option *tab, void *obj);
int cfg_parse_size(const char *s, int64_t *out);
int cfg_parse_bool(const char *s, bool *out);

#endif
