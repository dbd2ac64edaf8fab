/* Base64 codecs; see b64.h. Written out by hand so the decoder can be strict and fuzzed. */
#include "common/b64.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

static const char std_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64_encoded_len(size_t n) { return (n + 2) / 3 * 4; }
size_t b64_decoded_max(size_t n) { return n / 4 * 3 + 3; }

static long encode(const char *alpha, int pad, const void *in, size_t n, char *out, size_t outsz)
{
    const uint8_t *p = in;
    size_t o = 0, i = 0, need = pad ? b64_encoded_len(n) : (n * 4 + 2) / 3;

    if (outsz < need + 1)
        return -ENOSPC;
    /* whole triples first, without a branch per byte: the output path encodes 1 GiB with this */
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o] = alpha[v >> 18];
        out[o + 1] = alpha[(v >> 12) & 63];
        out[o + 2] = alpha[(v >> 6) & 63];
        out[o + 3] = alpha[v & 63];
        o += 4;
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16;
        bool two = n - i > 1;
        if (two)
            v |= (uint32_t)p[i + 1] << 8;
        out[o++] = alpha[(v >> 18) & 63];
        out[o++] = alpha[(v >> 12) & 63];
        if (two)
            out[o++] = alpha[(v >> 6) & 63];
        else if (pad)
            out[o++] = '=';
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return (long)o;
}

long b64_encode(const void *in, size_t n, char *out, size_t outsz)
{
    return encode(std_alpha, 1, in, n, out, outsz);
}

long b64url_encode(const void *in, size_t n, char *out, size_t outsz)
{
    return encode(url_alpha, 0, in, n, out, outsz);
}

static int dec_char(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* dec_char as a table (built once; 0xff: not in the alphabet, '=' included) */
static uint8_t dec_table[256];

static void dec_table_init(void)
{
    for (int c = 0; c < 256; c++) {
        int v = dec_char((char)c);
        dec_table[c] = v < 0 ? 0xff : (uint8_t)v;
    }
}

/* The last quantum, which may carry padding. Returns bytes written or -errno. */
static long decode_last(const char *in, uint8_t *o, size_t room)
{
    int v[4], pads = 0;

    for (int k = 0; k < 4; k++) {
        char c = in[k];
        if (c == '=') {
            /* padding only at the end of the last quantum */
            if (k < 2)
                return -EINVAL;
            pads++;
            v[k] = 0;
            continue;
        }
        if (pads)
            return -EINVAL;
        v[k] = dec_char(c);
        if (v[k] < 0)
            return -EINVAL;
    }
    uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
    size_t emit = 3 - (size_t)pads;
    /* non-canonical encodings (stray low bits) are rejected */
    if ((pads == 1 && (w & 0xff)) || (pads == 2 && (w & 0xffff)))
        return -EINVAL;
    if (emit > room)
        return -ENOSPC;
    o[0] = (uint8_t)(w >> 16);
    if (emit > 1)
        o[1] = (uint8_t)(w >> 8);
    if (emit > 2)
        o[2] = (uint8_t)w;
    return (long)emit;
}

long b64_decode(const char *in, size_t n, void *out, size_t outsz)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    const uint8_t *u = (const uint8_t *)in;
    uint8_t *o = out;
    size_t len = 0;
    long last;

    if (n % 4 != 0)
        return -EINVAL;
    if (n == 0)
        return 0;
    pthread_once(&once, dec_table_init);
    /* every quantum but the last has no padding: a table lookup per character */
    for (size_t i = 0; i + 4 < n; i += 4) {
        uint8_t a = dec_table[u[i]], b = dec_table[u[i + 1]], c = dec_table[u[i + 2]],
                d = dec_table[u[i + 3]];
        if ((a | b | c | d) & 0x80)
            return -EINVAL;
        if (len + 3 > outsz)
            return -ENOSPC;
        uint32_t w = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
        o[len] = (uint8_t)(w >> 16);
        o[len + 1] = (uint8_t)(w >> 8);
        o[len + 2] = (uint8_t)w;
        len += 3;
    }
    last = decode_last(in + n - 4, o + len, outsz - len);
    return last < 0 ? last : (long)(len + (size_t)last);
}
