/* Base64 codecs; see b64.h. Written out by hand so the decoder can be strict and fuzzed. */
#include "common/b64.h"

#include <errno.h>
#include <stdint.h>

static const char std_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64_encoded_len(size_t n) { return (n + 2) / 3 * 4; }
size_t b64_decoded_max(size_t n) { return n / 4 * 3 + 3; }

static long encode(const char *alpha, int pad, const void *in, size_t n, char *out, size_t outsz)
{
    const uint8_t *p = in;
    size_t o = 0, need = pad ? b64_encoded_len(n) : (n * 4 + 2) / 3;

    if (outsz < need + 1)
        return -ENOSPC;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        size_t left = n - i;
        if (left > 1)
            v |= (uint32_t)p[i + 1] << 8;
        if (left > 2)
            v |= p[i + 2];
        out[o++] = alpha[(v >> 18) & 63];
        out[o++] = alpha[(v >> 12) & 63];
        if (left > 1)
            out[o++] = alpha[(v >> 6) & 63];
        else if (pad)
            out[o++] = '=';
        if (left > 2)
            out[o++] = alpha[v & 63];
        else if (pad)
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

long b64_decode(const char *in, size_t n, void *out, size_t outsz)
{
    uint8_t *o = out;
    size_t len = 0;

    if (n % 4 != 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pads = 0;
        for (int k = 0; k < 4; k++) {
            char c = in[i + k];
            if (c == '=') {
                /* padding only in the last quantum, only at its end */
                if (i + 4 != n || k < 2)
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
        if (len + emit > outsz)
            return -ENOSPC;
        o[len++] = (uint8_t)(w >> 16);
        if (emit > 1)
            o[len++] = (uint8_t)(w >> 8);
        if (emit > 2)
            o[len++] = (uint8_t)w;
    }
    return (long)len;
}
