/* Crypto helpers; see crypto.h. */
#include "common/crypto.h"
#include "common/b64.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

int crypto_random(void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = getrandom((char *)buf + done, n - done, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        done += (size_t)r;
    }
    return 0;
}

void crypto_sha256(const void *data, size_t n, uint8_t out[32])
{
    unsigned int len = 32;
    EVP_Digest(data, n, out, &len, EVP_sha256(), NULL);
}

void crypto_sha256_hex(const void *data, size_t n, char out[65])
{
    uint8_t d[32];
    crypto_sha256(data, n, d);
    for (int i = 0; i < 32; i++)
        snprintf(out + i * 2, 3, "%02x", d[i]);
}

int crypto_token_new(const char *prefix, char out[TOKEN_BUF])
{
    uint8_t rnd[32];
    char enc[48];
    int rc = crypto_random(rnd, sizeof rnd);
    if (rc)
        return rc;
    if (b64url_encode(rnd, sizeof rnd, enc, sizeof enc) < 0)
        return -EINVAL;
    snprintf(out, TOKEN_BUF, "%.8s%s", prefix, enc);
    OPENSSL_cleanse(rnd, sizeof rnd);
    return 0;
}

bool crypto_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

bool crypto_token_shape_ok(const char *token, const char *prefix)
{
    size_t plen = strlen(prefix);
    if (!token || strncmp(token, prefix, plen) != 0 || strlen(token) != plen + 43)
        return false;
    for (const char *p = token + plen; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}
