/* Saved-command parameters (server/params.c). The first byte picks an interpreter, the rest is
 * a value: every value that passes params_value_check must quote into a literal that decodes
 * back to exactly the value (sh/bash: '…' with '\'' only; python3: printable ASCII with escapes;
 * perl: '…' with \\ \' or "…" with \\ \" \$ \@ \x{HH}). The same bytes are also scanned as a
 * command text (every placeholder must render) and checked as a pattern. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "server/params.h"

static const char *const interps[] = { "sh", "bash", "python3", "perl" };

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static void put_utf8(struct buf *out, uint32_t cp)
{
    unsigned char b[4];
    size_t n;
    if (cp < 0x80)
        b[0] = (unsigned char)cp, n = 1;
    else if (cp < 0x800)
        b[0] = (unsigned char)(0xc0 | (cp >> 6)), b[1] = (unsigned char)(0x80 | (cp & 0x3f)),
        n = 2;
    else if (cp < 0x10000)
        b[0] = (unsigned char)(0xe0 | (cp >> 12)), b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)),
        b[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
    else
        b[0] = (unsigned char)(0xf0 | (cp >> 18)), b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f)),
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (unsigned char)(0x80 | (cp & 0x3f)),
        n = 4;
    if (buf_append(out, b, n))
        abort();
}

/* Each decoder aborts on anything the quoting must never produce. */
static void decode_sh(const char *s, size_t n, struct buf *out)
{
    size_t i = 1;
    if (n < 2 || s[0] != '\'' || s[n - 1] != '\'')
        abort();
    while (i < n - 1) {
        if (s[i] == '\'') {   /* only as '\'' : close, escaped quote, reopen */
            if (i + 4 > n - 1 || memcmp(s + i, "'\\''", 4))
                abort();
            buf_append(out, "'", 1);
            i += 4;
            continue;
        }
        buf_append(out, s + i, 1);
        i++;
    }
    if (i != n - 1)
        abort();
}

static void decode_python(const char *s, size_t n, struct buf *out)
{
    if (n < 2 || s[0] != '\'' || s[n - 1] != '\'')
        abort();
    for (size_t i = 1; i < n - 1; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e || c == '\'' || c == '"')
            abort();   /* pure printable ASCII; quotes only escaped */
        if (c != '\\') {
            buf_append(out, s + i, 1);
            continue;
        }
        if (++i >= n - 1)
            abort();
        uint32_t cp = 0;
        int digits = 0;
        switch (s[i]) {
        case '\\': case '\'': case '"': buf_append(out, s + i, 1); continue;
        case 'n': buf_append(out, "\n", 1); continue;
        case 'r': buf_append(out, "\r", 1); continue;
        case 't': buf_append(out, "\t", 1); continue;
        case 'x': digits = 2; break;
        case 'u': digits = 4; break;
        case 'U': digits = 8; break;
        default: abort();
        }
        for (int k = 0; k < digits; k++) {
            int h = ++i < n - 1 ? hexval(s[i]) : -1;
            if (h < 0)
                abort();
            cp = cp * 16 + (uint32_t)h;
        }
        put_utf8(out, cp);
    }
}

static void decode_perl(const char *s, size_t n, struct buf *out)
{
    if (n < 2 || s[0] != s[n - 1] || (s[0] != '\'' && s[0] != '"'))
        abort();
    bool dq = s[0] == '"';
    for (size_t i = 1; i < n - 1; i++) {
        unsigned char c = (unsigned char)s[i];
        if (dq && (c < 0x20 || c > 0x7e || c == '$' || c == '@' || c == '"'))
            abort();   /* nothing interpolates, nothing is raw */
        if (!dq && c == '\'')
            abort();
        if (c != '\\') {
            buf_append(out, s + i, 1);
            continue;
        }
        if (++i >= n - 1)
            abort();
        if (!dq || s[i] != 'x') {
            if (dq ? !strchr("\\\"$@", s[i]) : (s[i] != '\\' && s[i] != '\''))
                abort();
            buf_append(out, s + i, 1);
            continue;
        }
        if (i + 4 >= n - 1 || s[i + 1] != '{' || s[i + 4] != '}' || hexval(s[i + 2]) < 0 ||
            hexval(s[i + 3]) < 0)
            abort();
        unsigned char b = (unsigned char)(hexval(s[i + 2]) * 16 + hexval(s[i + 3]));
        buf_append(out, &b, 1);
        i += 4;
    }
}

struct bindings {
    struct param_binding b[PARAMS_MAX];
    size_t n;
    bool overflow;   /* more distinct names than PARAMS_MAX */
};

static int any_binding(void *ud, const char *name, size_t len, size_t offset)
{
    struct bindings *bs = ud;
    (void)offset;
    if (!param_name_valid_n(name, len))
        abort();
    for (size_t i = 0; i < bs->n; i++)
        if (strlen(bs->b[i].name) == len && !memcmp(bs->b[i].name, name, len))
            return 0;
    bs->overflow |= bs->n == PARAMS_MAX;
    if (bs->n < PARAMS_MAX) {
        char *copy = strndup(name, len);
        if (!copy)
            abort();
        bs->b[bs->n].name = copy;
        bs->b[bs->n].value = "v'\"$";
        bs->b[bs->n].len = 4;
        bs->n++;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *interp, *v = (const char *)data + 1;
    struct buf q = BUF_INIT, back = BUF_INIT, out = BUF_INIT;
    char err[512], pattern[PARAM_PATTERN_MAX + 64];
    struct bindings bs = { .n = 0, .overflow = false };
    size_t n;

    if (size < 1)
        return 0;
    interp = interps[data[0] % 4];
    n = size - 1;
    if (params_value_check(v, n, NULL, err, sizeof err) == 0) {
        if (params_quote(&q, interp, v, n))
            abort();
        if (!strcmp(interp, "python3"))
            decode_python(q.data, q.len, &back);
        else if (!strcmp(interp, "perl"))
            decode_perl(q.data, q.len, &back);
        else
            decode_sh(q.data, q.len, &back);
        if (back.len != n || (n && memcmp(back.data, v, n)))
            abort();
    }
    /* as a command text: every placeholder found renders */
    if (params_scan(v, n, interp, any_binding, &bs, err, sizeof err) == 0 && !bs.overflow &&
        params_render(v, n, interp, bs.b, bs.n, &out, err, sizeof err))
        abort();
    for (size_t i = 0; i < bs.n; i++)
        free((char *)bs.b[i].name);
    /* as a pattern */
    if (n < sizeof pattern) {
        memcpy(pattern, v, n);
        pattern[n] = '\0';
        if (params_pattern_check(pattern, err, sizeof err) == 0)
            params_value_check("abc-123", 7, pattern, err, sizeof err);
    }
    buf_free(&q);
    buf_free(&back);
    buf_free(&out);
    return 0;
}
