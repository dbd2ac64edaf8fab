/* Query strings of API paths; see query.h. */
#include "cli/query.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static int append_encoded(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
        if (unreserved(*p) ? buf_append(b, p, 1) : buf_append(b, esc, 3))
            return -ENOMEM;
    }
    return 0;
}

int query_add(struct buf *path, const char *name, const char *value)
{
    bool first = !path->data || !memchr(path->data, '?', path->len);

    if (buf_append_str(path, first ? "?" : "&") || append_encoded(path, name) ||
        buf_append_str(path, "=") || append_encoded(path, value))
        return -ENOMEM;
    return 0;
}
