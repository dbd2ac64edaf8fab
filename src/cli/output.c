/* Terminal-safe output and small formatters; see output.h. */
#include "cli/output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/tm.h"

static int put_hex(struct buf *out, unsigned char c)
{
    return buf_printf(out, "\\x%02X", c);
}

/* Length of a valid UTF-8 sequence at s: 1..4, 0 invalid, -1 truncated (valid so far). */
static int seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    int need;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 2;
    else if (c >= 0xe0 && c <= 0xef)
        need = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        need = 4;
    else
        return 0;
    for (int i = 1; i < need; i++) {
        if ((size_t)i >= n)
            return -1;
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        if (i == 1 && ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
                       (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f)))
            return 0;
    }
    return need;
}

static bool keep_ascii(unsigned char c, bool cell)
{
    if (c >= 0x20 && c < 0x7f)
        return true;
    if (cell)
        return false;
    return c == '\n' || c == '\t' || c == '\r';
}

/* Escapes s[0..n); returns how many bytes were consumed (a truncated sequence at the end is left
 * unconsumed when hold is true), or -ENOMEM. */
static long escape_run(const unsigned char *s, size_t n, bool hold, bool cell, struct buf *out)
{
    size_t i = 0, plain = 0;

    while (i < n) {
        int l = seq_len(s + i, n - i);
        bool ok;

        if (l == -1 && hold)
            break;
        if (l == 1)
            ok = keep_ascii(s[i], cell);
        else if (l == 2)
            ok = !(s[i] == 0xc2 && s[i + 1] < 0xa0); /* C1 controls U+0080..U+009F */
        else
            ok = l > 0;
        if (ok) {
            i += (size_t)l;
            continue;
        }
        if (buf_append(out, s + plain, i - plain) != 0)
            return -ENOMEM;
        /* an escaped C1 control shows both of its bytes; an invalid byte shows itself */
        for (int k = 0; k < (l == 2 ? 2 : 1); k++)
            if (put_hex(out, s[i + (size_t)k]) != 0)
                return -ENOMEM;
        i += l == 2 ? 2 : 1;
        plain = i;
    }
    if (buf_append(out, s + plain, i - plain) != 0)
        return -ENOMEM;
    return (long)i;
}

int term_escape_feed(struct term_escaper *e, const char *in, size_t n, struct buf *out)
{
    const unsigned char *u = (const unsigned char *)in;
    long used;

    /* complete a carried sequence first, byte by byte, so chunk boundaries never matter */
    while (e->carry_len > 0 && n > 0) {
        e->carry[e->carry_len++] = *u++;
        n--;
        used = escape_run(e->carry, e->carry_len, true, false, out);
        if (used < 0)
            return -ENOMEM;
        memmove(e->carry, e->carry + used, e->carry_len - (size_t)used);
        e->carry_len -= (size_t)used;
    }
    if (e->carry_len > 0)
        return 0; /* input ran out while the carried sequence is still incomplete */
    used = escape_run(u, n, true, false, out);
    if (used < 0)
        return -ENOMEM;
    memcpy(e->carry, u + used, n - (size_t)used);
    e->carry_len = n - (size_t)used;
    return 0;
}

int term_escape_flush(struct term_escaper *e, struct buf *out)
{
    for (size_t i = 0; i < e->carry_len; i++)
        if (put_hex(out, e->carry[i]) != 0)
            return -ENOMEM;
    e->carry_len = 0;
    return 0;
}

int term_escape_cell(const char *in, size_t n, struct buf *out)
{
    return escape_run((const unsigned char *)in, n, false, true, out) < 0 ? -ENOMEM : 0;
}

int term_escape_text(const char *in, size_t n, struct buf *out)
{
    return escape_run((const unsigned char *)in, n, false, false, out) < 0 ? -ENOMEM : 0;
}

void fmt_relative(const char *rfc3339, int64_t now_ms, char *out, size_t n)
{
    int64_t ms, d;

    if (!rfc3339 || tm_parse_rfc3339(rfc3339, &ms) != 0) {
        snprintf(out, n, "%s", rfc3339 ? rfc3339 : "-");
        return;
    }
    d = (now_ms - ms) / 1000;
    if (d < -60)
        snprintf(out, n, "%s", rfc3339);
    else if (d < 60)
        snprintf(out, n, "%llds ago", (long long)(d < 0 ? 0 : d));
    else if (d < 3600)
        snprintf(out, n, "%lldm ago", (long long)(d / 60));
    else if (d < 86400)
        snprintf(out, n, "%lldh ago", (long long)(d / 3600));
    else
        snprintf(out, n, "%lldd ago", (long long)(d / 86400));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int fmt_tags(json_t *tags, struct buf *out)
{
    const char **keys;
    const char *k;
    json_t *v;
    size_t n = 0, i = 0;
    int rc = 0;

    if (!json_is_object(tags) || json_object_size(tags) == 0)
        return 0;
    keys = calloc(json_object_size(tags), sizeof *keys);
    if (!keys)
        return -ENOMEM;
    json_object_foreach(tags, k, v)
        keys[n++] = k;
    qsort(keys, n, sizeof *keys, cmp_str);
    for (i = 0; i < n && rc == 0; i++) {
        const char *val = json_string_value(json_object_get(tags, keys[i]));
        rc = buf_printf(out, "%s%s=%s", i ? "," : "", keys[i], val ? val : "");
    }
    free(keys);
    return rc ? -ENOMEM : 0;
}

size_t utf8_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

void out_write(FILE *f, const void *data, size_t n)
{
    if (n > 0)
        fwrite(data, 1, n, f);
    fflush(f);
}

void print_json(json_t *v)
{
    json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    fflush(stdout);
}

const char *jstr(json_t *obj, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : def;
}

void fmt_exit(json_t *task, char *out, size_t n)
{
    json_t *ec = json_object_get(task, "exit_code");
    const char *sig = jstr(task, "signal", NULL);

    if (json_is_integer(ec))
        snprintf(out, n, "%lld", (long long)json_integer_value(ec));
    else if (sig)
        snprintf(out, n, "%.32s", sig);
    else
        snprintf(out, n, "-");
}

void print_text(FILE *f, bool tty, const char *s)
{
    struct buf b = BUF_INIT;
    size_t n = strlen(s);

    if (tty)
        term_escape_text(s, n, &b);
    else
        buf_append(&b, s, n);
    if (b.len && b.data[b.len - 1] != '\n')
        buf_append_str(&b, "\n");
    out_write(f, b.data, b.len);
    buf_free(&b);
}
