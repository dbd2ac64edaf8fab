/*
 * Which request paths are console files, and their Content-Type (console_path.h). The allowlist
 * is deliberately narrow: the console is a handful of our own files, so a name outside
 * [A-Za-z0-9._-] or an extension we do not ship is simply not there.
 */
#include "server/console_path.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *ext;
    const char *ctype;
} content_types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".ico", "image/x-icon" },
    { ".json", "application/json" },
    { ".woff2", "font/woff2" },
};

bool console_owns_path(const char *path)
{
    if (!strcmp(path, "/healthz") || !strcmp(path, "/v1") || !strncmp(path, "/v1/", 4))
        return false;
    return true;
}

const char *console_content_type(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        return NULL;
    for (size_t i = 0; i < sizeof content_types / sizeof content_types[0]; i++) {
        if (!strcmp(dot, content_types[i].ext))
            return content_types[i].ctype;
    }
    return NULL;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

int console_path_resolve(const char *path, char *rel, size_t len, const char **ctype)
{
    const char *name, *type;
    bool segment_start = true;

    if (!path || path[0] != '/')
        return -EINVAL;
    name = path[1] ? path + 1 : "index.html";
    if (strlen(name) >= CONSOLE_NAME_MAX || strlen(name) >= len)
        return -EINVAL;
    for (const char *p = name; *p; p++) {
        if (*p == '/') {
            /* an empty segment: "//" or a leading or trailing '/' */
            if (segment_start)
                return -EINVAL;
            segment_start = true;
            continue;
        }
        if (!name_char(*p))
            return -EINVAL;
        /* "..", "." and dotfiles (.git, .env) all start with a dot */
        if (segment_start && *p == '.')
            return -EINVAL;
        segment_start = false;
    }
    if (segment_start)
        return -EINVAL;
    type = console_content_type(name);
    if (!type)
        return -EINVAL;
    snprintf(rel, len, "%s", name);
    *ctype = type;
    return 0;
}

bool console_etag_matches(const char *if_none_match, const char *etag)
{
    const char *p = if_none_match;
    size_t elen = strlen(etag);

    while (p && *p) {
        size_t n;
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        /* A weak tag matches too: If-None-Match uses the weak comparison (RFC 9110 13.1.2). */
        if (!strncmp(p, "W/", 2))
            p += 2;
        n = strcspn(p, ",");
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == elen && !memcmp(p, etag, n))
            return true;
        p += strcspn(p, ",");
    }
    return false;
}
