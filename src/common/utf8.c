/* UTF-8 helpers; see utf8.h. */
#include "common/utf8.h"

#include <stdint.h>

/* Length of the valid sequence at s (1..4), or 0 if invalid, or -1 if valid so far but truncated. */
static int seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    int need;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (int i = 1; i < need; i++) {
        if ((size_t)i >= n)
            return -1;
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
        /* reject overlongs and surrogates as early as the second byte allows */
        if (i == 1) {
            if (need == 3 && c == 0xe0 && s[1] < 0xa0) return 0;
            if (need == 3 && c == 0xed && s[1] > 0x9f) return 0;
            if (need == 4 && c == 0xf0 && s[1] < 0x90) return 0;
            if (need == 4 && c == 0xf4 && s[1] > 0x8f) return 0;
        }
    }
    (void)cp;
    return need;
}

size_t utf8_complete_prefix(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t start = n > 3 ? n - 3 : 0;

    for (size_t i = start; i < n; i++) {
        if ((u[i] & 0xc0) == 0x80)
            continue;
        if (seq_len(u + i, n - i) == -1)
            return i;
    }
    return n;
}

bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        int l = seq_len(u + i, n - i);
        if (l <= 0)
            return false;
        i += (size_t)l;
    }
    return true;
}

int utf8_sanitize(struct buf *out, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;

    while (i < n) {
        int l = seq_len(u + i, n - i);
        if (l > 0) {
            i += (size_t)l;
            continue;
        }
        if (buf_append(out, s + run, i - run) || buf_append(out, "\xef\xbf\xbd", 3))
            return -1;
        i++;
        run = i;
    }
    return buf_append(out, s + run, n - run);
}
