/* Strict scanner for the output body; see output_body.h. */
#include "server/output_body.h"

#include <stdbool.h>
#include <string.h>

struct scan {
    const char *p, *end;
};

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* A string of plain characters: no escapes, no controls, nothing above ASCII. For base64 only
 * the closing quote is looked for (memchr, ~10 % of the server's CPU on an output stream when it
 * was a loop): b64_decode checks every character of it anyway, and a backslash or anything else
 * that is not base64 makes the chunk a 400 there. */
static int plain_string(struct scan *s, const char **out, size_t *len, bool base64)
{
    const char *start;
    if (s->p >= s->end || *s->p != '"')
        return -1;
    start = ++s->p;
    if (base64) {
        const char *q = memchr(s->p, '"', (size_t)(s->end - s->p));
        s->p = q ? q : s->end;
    }
    while (s->p < s->end && *s->p != '"') {
        unsigned char c = (unsigned char)*s->p;
        if (c < 0x20 || c >= 0x7f || c == '\\')
            return -1;
        s->p++;
    }
    if (s->p >= s->end)
        return -1;
    *out = start;
    *len = (size_t)(s->p - start);
    s->p++;
    return 0;
}

static int number(struct scan *s, int64_t *out)
{
    int64_t v = 0;
    int digits = 0;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        if (++digits > 15 || (digits == 2 && v == 0))
            return -1;   /* too large, or a leading zero */
        v = v * 10 + (*s->p - '0');
        s->p++;
    }
    if (!digits)
        return -1;
    *out = v;
    return 0;
}

static int member(struct scan *s, struct output_body *o, unsigned *seen)
{
    const char *key;
    size_t klen;
    if (plain_string(s, &key, &klen, false))
        return -1;
    skip_ws(s);
    if (s->p >= s->end || *s->p++ != ':')
        return -1;
    skip_ws(s);
    if (klen == 3 && !memcmp(key, "seq", 3) && !(*seen & 1)) {
        *seen |= 1;
        return number(s, &o->seq);
    }
    if (klen == 6 && !memcmp(key, "stream", 6) && !(*seen & 2)) {
        *seen |= 2;
        return plain_string(s, &o->stream, &o->stream_len, false);
    }
    if (klen == 4 && !memcmp(key, "data", 4) && !(*seen & 4)) {
        *seen |= 4;
        return plain_string(s, &o->data, &o->data_len, true);
    }
    return -1;
}

/* One {"seq","stream","data"} object at s->p, all three keys, in any order. */
static int object(struct scan *s, struct output_body *out)
{
    unsigned seen = 0;

    memset(out, 0, sizeof *out);
    skip_ws(s);
    if (s->p >= s->end || *s->p++ != '{')
        return -1;
    for (int i = 0; i < 3; i++) {
        skip_ws(s);
        if (member(s, out, &seen))
            return -1;
        skip_ws(s);
        if (s->p >= s->end)
            return -1;
        if (*s->p == ',' && i < 2) {
            s->p++;
            continue;
        }
        if (*s->p != '}' || i != 2)
            return -1;
        s->p++;
    }
    return seen == 7 ? 0 : -1;
}

static bool literal(struct scan *s, const char *text)
{
    size_t n = strlen(text);
    skip_ws(s);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, text, n))
        return false;
    s->p += n;
    return true;
}

int output_body_fast(const char *body, size_t len, struct output_body *out)
{
    struct scan s = { body, body + len };

    if (object(&s, out))
        return -1;
    skip_ws(&s);
    return s.p == s.end ? 0 : -1;
}

int output_batch_fast(const char *body, size_t len, struct output_body *out, size_t max,
                      size_t *n)
{
    struct scan s = { body, body + len };

    *n = 0;
    if (!literal(&s, "{") || !literal(&s, "\"chunks\"") || !literal(&s, ":") || !literal(&s, "["))
        return -1;
    for (;;) {
        if (*n >= max || object(&s, &out[*n]))
            return -1;
        (*n)++;
        if (literal(&s, ","))
            continue;
        if (!literal(&s, "]") || !literal(&s, "}"))
            return -1;
        break;
    }
    skip_ws(&s);
    return s.p == s.end ? 0 : -1;
}
