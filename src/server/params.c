/* Placeholders, quoting and value checks of saved-command parameters; see params.h. */
#include "server/params.h"

#include "common/utf8.h"

#include <errno.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool is_quote(char c) { return c == '\'' || c == '"'; }

/* Characters that must not come right before a placeholder, because they would change how the
 * literal that replaces it is read. sh/bash: \ escapes the opening quote, $'…' is ANSI-C
 * quoting. python3: a letter or digit makes a string prefix (f'…' evaluates {…}, r'…' keeps
 * backslashes) or a syntax error. perl: letters make quote-like operators (q'…', qx'…', s'…'),
 * sigils make variables ($' is a variable, then the value is code). NULL (unknown interpreter):
 * all of them. */
static bool bad_before(const char *interp, char c)
{
    bool word = is_name_char(c);
    bool sh = !interp || !strcmp(interp, "sh") || !strcmp(interp, "bash");
    bool py = !interp || !strcmp(interp, "python3");
    bool pl = !interp || !strcmp(interp, "perl");

    if (c == '\\' || is_quote(c))
        return true;
    if ((sh || pl) && c == '$')
        return true;
    if ((py || pl) && word)
        return true;
    return pl && (c == '@' || c == '%' || c == '&' || c == '*');
}

int params_scan(const char *cmd, size_t n, const char *interp, params_placeholder_fn fn,
                void *ud, char *err, size_t errlen)
{
    size_t i = 0;
    int rc = params_context_check(cmd, n, interp, err, errlen);

    if (rc)
        return rc;
    while (i + 1 < n) {
        if (cmd[i] != '{' || cmd[i + 1] != '{') {
            i++;
            continue;
        }
        size_t start = i + 2, j = start;
        while (j < n && is_name_char(cmd[j]))
            j++;
        if (!param_name_valid_n(cmd + start, j - start) || j + 1 >= n || cmd[j] != '}' ||
            cmd[j + 1] != '}') {
            snprintf(err, errlen, "command: the '{{' at byte %zu does not start a placeholder "
                     "{{name}} (a name is a letter or _, then letters, digits or _, at most 64; "
                     "a literal '{{' cannot appear in a saved command)", i);
            return -EINVAL;
        }
        if ((i > 0 && is_quote(cmd[i - 1])) || (j + 2 < n && is_quote(cmd[j + 2]))) {
            snprintf(err, errlen, "command: the placeholder {{%.*s}} at byte %zu is written "
                     "next to a quote; write it bare (the value is quoted for you, and quotes "
                     "around it would undo that)", (int)(j - start), cmd + start, i);
            return -EINVAL;
        }
        if (i > 0 && bad_before(interp, cmd[i - 1])) {
            snprintf(err, errlen, "command: the placeholder {{%.*s}} at byte %zu follows '%c', "
                     "which changes how %s reads the quoted value; put a space or an operator "
                     "before it", (int)(j - start), cmd + start, i, cmd[i - 1],
                     interp ? interp : "an interpreter");
            return -EINVAL;
        }
        if (fn && (rc = fn(ud, cmd + start, j - start, i)) != 0)
            return rc;
        i = j + 2;
    }
    return 0;
}

bool params_interpreter_known(const char *interp)
{
    return interp && (!strcmp(interp, "sh") || !strcmp(interp, "bash") ||
                      !strcmp(interp, "python3") || !strcmp(interp, "perl"));
}

/* POSIX sh (and bash): inside '...' every byte is literal except ', which is written '\''
 * (close, an escaped quote, reopen). */
static int quote_sh(struct buf *out, const char *v, size_t n)
{
    int rc = buf_append(out, "'", 1);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = v[i] == '\'' ? buf_append(out, "'\\''", 4) : buf_append(out, v + i, 1);
    return rc ? rc : buf_append(out, "'", 1);
}

/* Perl source is not taken byte for byte: CR LF reads as LF (and ^D/^Z may end a script), also
 * inside '...', which has no escapes for them. A value with such bytes gets a "..." literal in
 * which \ " $ @ are escaped (no interpolation) and every byte outside printable ASCII is \x{HH}:
 * each becomes the character of that code, printed as that byte. */
static int quote_perl_escaped(struct buf *out, const unsigned char *v, size_t n)
{
    int rc = buf_append(out, "\"", 1);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (v[i] == '\\' || v[i] == '"' || v[i] == '$' || v[i] == '@')
            rc = buf_printf(out, "\\%c", v[i]);
        else if (v[i] >= 0x20 && v[i] < 0x7f)
            rc = buf_append(out, v + i, 1);
        else
            rc = buf_printf(out, "\\x{%02x}", v[i]);
    }
    return rc ? rc : buf_append(out, "\"", 1);
}

/* Perl: '...' in which only \\ and \' are escapes; values with control bytes other than
 * newline and tab take the escaped form above. */
static int quote_perl(struct buf *out, const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
            return quote_perl_escaped(out, (const unsigned char *)v, n);
    }
    int rc = buf_append(out, "'", 1);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (v[i] == '\'' || v[i] == '\\')
            rc = buf_append(out, "\\", 1);
        if (rc == 0)
            rc = buf_append(out, v + i, 1);
    }
    return rc ? rc : buf_append(out, "'", 1);
}

/* Decodes one UTF-8 sequence at s[0..n); returns its length and *cp, or 0 when invalid. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t c;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, c = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, c = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, c = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
        (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

/* Python 3: a '...' literal of printable ASCII only: \\ \' \" \n \r \t, other control bytes as
 * \xNN, every non-ASCII character as \uXXXX or \UXXXXXXXX. Pure ASCII cannot be misread
 * whatever source encoding the script declares. */
static int quote_python(struct buf *out, const char *v, size_t n)
{
    const unsigned char *s = (const unsigned char *)v;
    size_t i = 0;
    int rc = buf_append(out, "'", 1);

    while (rc == 0 && i < n) {
        uint32_t cp;
        size_t len = utf8_next(s + i, n - i, &cp);
        if (len == 0)
            return -EINVAL;
        i += len;
        if (cp == '\\' || cp == '\'' || cp == '"')
            rc = buf_printf(out, "\\%c", (char)cp);
        else if (cp == '\n')
            rc = buf_append(out, "\\n", 2);
        else if (cp == '\r')
            rc = buf_append(out, "\\r", 2);
        else if (cp == '\t')
            rc = buf_append(out, "\\t", 2);
        else if (cp < 0x20 || cp == 0x7f)
            rc = buf_printf(out, "\\x%02x", (unsigned)cp);
        else if (cp < 0x80)
            rc = buf_printf(out, "%c", (char)cp);
        else if (cp <= 0xffff)
            rc = buf_printf(out, "\\u%04x", (unsigned)cp);
        else
            rc = buf_printf(out, "\\U%08x", (unsigned)cp);
    }
    return rc ? rc : buf_append(out, "'", 1);
}

int params_quote(struct buf *out, const char *interp, const char *value, size_t n)
{
    if (!interp)
        return -EINVAL;
    if (!strcmp(interp, "sh") || !strcmp(interp, "bash"))
        return quote_sh(out, value, n);
    if (!strcmp(interp, "python3"))
        return quote_python(out, value, n);
    if (!strcmp(interp, "perl"))
        return quote_perl(out, value, n);
    return -EINVAL;
}

/* Skips the bracket expression that starts at p[i] == '['; returns the index after its ']'
 * (n when it does not end: regcomp refuses that). "]" first (after an optional "^") is a
 * member; "[:", "[." and "[=" open classes that end at ":]", ".]", "=]". */
static size_t skip_bracket(const char *p, size_t n, size_t i)
{
    i++;
    if (i < n && p[i] == '^')
        i++;
    if (i < n && p[i] == ']')
        i++;
    while (i < n && p[i] != ']') {
        if (p[i] == '[' && i + 1 < n && (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=')) {
            char close = p[i + 1];
            i += 2;
            while (i + 1 < n && !(p[i] == close && p[i + 1] == ']'))
                i++;
            i += 2;
            continue;
        }
        i++;
    }
    return i < n ? i + 1 : n;
}

/* An interval "{n}", "{n,}", "{,m}" or "{n,m}" at p[i] == '{': the copies of its atom regcomp
 * makes (m; n + 1 when unbounded), and *end after the '}'. 0 when it is not an interval. */
static uint64_t interval_copies(const char *p, size_t n, size_t i, size_t *end)
{
    uint64_t lo = 0, hi = 0;
    bool comma = false, have_lo = false, have_hi = false;

    for (i++; i < n && p[i] != '}'; i++) {
        if (p[i] == ',' && !comma) {
            comma = true;
        } else if (p[i] >= '0' && p[i] <= '9') {
            uint64_t *v = comma ? &hi : &lo;
            *v = *v > 100000 ? *v : *v * 10 + (uint64_t)(p[i] - '0');
            *(comma ? &have_hi : &have_lo) = true;
        } else {
            return 0;
        }
    }
    if (i >= n || (!have_lo && !have_hi))
        return 0;
    *end = i + 1;
    if (comma && !have_hi)
        return lo + 1;
    return comma ? hi : lo;
}

#define PATTERN_POSITIONS_MAX 1024
#define PATTERN_DEPTH_MAX 32

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a + b > PATTERN_POSITIONS_MAX ? PATTERN_POSITIONS_MAX + 1 : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    return b && a > (PATTERN_POSITIONS_MAX + 1) / b ? PATTERN_POSITIONS_MAX + 1 : a * b;
}

/* An upper bound of the positions glibc's regcomp builds for an ERE: it copies the atom of an
 * interval once per repetition and the atom of '+' twice, so nested repetitions multiply
 * ("((a{1000}){1000}){1000}" takes seconds and gigabytes on the server's only thread). Matching
 * costs up to value length x positions too: "(.{1,100}){100}" (10 000 positions) takes 12 s on
 * a 4 KiB value, "(.?.?.?.?.?.?.?.?.?.?){100}" (1000) 0.6 s; so the cap is 1024, room for
 * "^.{0,1000}$". -E2BIG beyond PATTERN_POSITIONS_MAX or PATTERN_DEPTH_MAX nested groups. */
static int pattern_positions(const char *p, size_t n, uint64_t *out)
{
    uint64_t sum[PATTERN_DEPTH_MAX + 1], last[PATTERN_DEPTH_MAX + 1];
    int depth = 0;
    size_t i = 0, end;

    sum[0] = last[0] = 0;
    while (i < n) {
        uint64_t atom = 1, copies;
        switch (p[i]) {
        case '\\':
            i += 2;
            break;
        case '[':
            i = skip_bracket(p, n, i);
            break;
        case '(':
            if (depth == PATTERN_DEPTH_MAX)
                return -E2BIG;
            depth++;
            sum[depth] = last[depth] = 0;
            i++;
            continue;
        case ')':
            i++;
            if (depth > 0)      /* an unmatched ')' is an ordinary character to glibc */
                atom = sat_add(sum[depth--], 1);
            break;
        case '|':
            last[depth] = 0;
            i++;
            continue;
        case '+':
        case '{':
            copies = p[i] == '+' ? 2 : interval_copies(p, n, i, &end);
            if (copies == 0) {  /* a '{' that starts no interval */
                i++;
                break;
            }
            i = p[i] == '+' ? i + 1 : end;
            /* the atom counted once already becomes `copies` of it */
            sum[depth] = sat_add(sum[depth], sat_mul(last[depth], copies - 1));
            last[depth] = sat_mul(last[depth], copies);
            continue;
        default:
            i++;
            break;
        }
        sum[depth] = sat_add(sum[depth], atom);
        last[depth] = atom;
    }
    *out = 0;
    for (int d = 0; d <= depth; d++)
        *out = sat_add(*out, sum[d]);
    return *out > PATTERN_POSITIONS_MAX ? -E2BIG : 0;
}

int params_pattern_check(const char *pattern, char *err, size_t errlen)
{
    uint64_t positions;
    size_t n = strlen(pattern);
    regex_t re;
    int rc;

    if (n == 0 || n > PARAM_PATTERN_MAX) {
        snprintf(err, errlen, "must be 1 to %d bytes (leave it out to accept any value)",
                 PARAM_PATTERN_MAX);
        return -EINVAL;
    }
    /* glibc takes \1..\9 in EREs too; they make matching exponential, and POSIX has no such
     * thing in an ERE. */
    for (size_t i = 0; i + 1 < n; i++) {
        if (pattern[i] == '\\' && pattern[i + 1] >= '1' && pattern[i + 1] <= '9') {
            snprintf(err, errlen, "back-references (\\%c) are not supported", pattern[i + 1]);
            return -EINVAL;
        }
        if (pattern[i] == '\\')
            i++;
    }
    if (pattern_positions(pattern, n, &positions)) {
        snprintf(err, errlen, "too large once compiled: repetitions multiply ({n}, + and "
                 "nested groups); at most %d positions and %d nested groups",
                 PATTERN_POSITIONS_MAX, PATTERN_DEPTH_MAX);
        return -EINVAL;
    }
    rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char why[128];
        regerror(rc, &re, why, sizeof why);
        snprintf(err, errlen, "not a valid POSIX extended regular expression: %s", why);
        return -EINVAL;
    }
    regfree(&re);
    return 0;
}

/* Whether the whole of value (NUL-terminated, n bytes) is one match of pattern. The engine's
 * leftmost-longest match must cover every byte: a pattern cannot escape an anchor we would
 * have added around it (like "a)|(b"), because we add none. */
static int whole_match(const char *pattern, const char *value, size_t n, bool *matched)
{
    regex_t re;
    regmatch_t m[1];

    *matched = false;
    if (regcomp(&re, pattern, REG_EXTENDED))
        return -EINVAL;
    if (regexec(&re, value, 1, m, 0) == 0 && m[0].rm_so == 0 && (size_t)m[0].rm_eo == n)
        *matched = true;
    regfree(&re);
    return 0;
}

int params_value_check(const char *value, size_t n, const char *pattern, char *err,
                       size_t errlen)
{
    bool matched;
    char *copy;
    int rc;

    if (n > PARAM_VALUE_MAX) {
        snprintf(err, errlen, "is %zu bytes; at most %d", n, PARAM_VALUE_MAX);
        return -EINVAL;
    }
    if (memchr(value, '\0', n)) {
        snprintf(err, errlen, "contains a NUL byte");
        return -EINVAL;
    }
    if (!utf8_valid(value, n)) {
        snprintf(err, errlen, "is not valid UTF-8");
        return -EINVAL;
    }
    if (!pattern)
        return 0;
    copy = malloc(n + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, value, n);
    copy[n] = '\0';
    rc = whole_match(pattern, copy, n, &matched);
    free(copy);
    if (rc || !matched) {
        snprintf(err, errlen, "does not match the pattern %.128s", pattern);
        return -EINVAL;
    }
    return 0;
}

void params_env_name(const char *name, char *out, size_t outlen)
{
    size_t p = strlen(PARAM_ENV_PREFIX), i;

    snprintf(out, outlen, "%s", PARAM_ENV_PREFIX);
    for (i = 0; name[i] && p + i + 1 < outlen; i++)
        out[p + i] = name[i] >= 'a' && name[i] <= 'z' ? (char)(name[i] - 'a' + 'A') : name[i];
    if (p + i < outlen)
        out[p + i] = '\0';
}

struct render_ctx {
    const char *cmd;
    size_t last;             /* cmd bytes before this offset are written */
    const char *interp;
    const struct param_binding *b;
    size_t nb;
    struct buf *out;
    char *err;
    size_t errlen;
};

static int render_one(void *ud, const char *name, size_t len, size_t offset)
{
    struct render_ctx *r = ud;
    const struct param_binding *hit = NULL;
    int rc;

    for (size_t i = 0; i < r->nb && !hit; i++)
        if (strlen(r->b[i].name) == len && !memcmp(r->b[i].name, name, len))
            hit = &r->b[i];
    if (!hit) {
        snprintf(r->err, r->errlen, "command: placeholder {{%.*s}} has no value", (int)len, name);
        return -EINVAL;
    }
    rc = buf_append(r->out, r->cmd + r->last, offset - r->last);
    if (rc == 0)
        rc = params_quote(r->out, r->interp, hit->value, hit->len);
    if (rc == -EINVAL)
        snprintf(r->err, r->errlen, "params: '%s' cannot be quoted for %s", hit->name, r->interp);
    r->last = offset + len + 4;
    return rc;
}

int params_render(const char *cmd, size_t n, const char *interp,
                  const struct param_binding *b, size_t nb, struct buf *out, char *err,
                  size_t errlen)
{
    struct render_ctx r = { cmd, 0, interp, b, nb, out, err, errlen };
    int rc;

    if (!params_interpreter_known(interp)) {
        snprintf(err, errlen, "interpreter: must be sh, bash, python3 or perl");
        return -EINVAL;
    }
    rc = params_scan(cmd, n, interp, render_one, &r, err, errlen);
    if (rc == 0)
        rc = buf_append(out, cmd + r.last, n - r.last);
    if (rc == -ENOMEM)
        snprintf(err, errlen, "out of memory");
    return rc;
}
