/*
 * Small crypto helpers over OpenSSL's libcrypto: randomness, SHA-256, secret tokens and
 * constant-time comparison. Tokens are "<prefix>" + 43 base64url characters (256 random bits):
 *   tak_  operator API key     tag_  agent token     tac_  activation code
 */
#ifndef TETHER_CRYPTO_H
#define TETHER_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKEN_BUF 64

int crypto_random(void *buf, size_t n);
void crypto_sha256(const void *data, size_t n, uint8_t out[32]);
/* out: 65 bytes, lowercase hex. */
void crypto_sha256_hex(const void *data, size_t n, char out[65]);
/* prefix is at most 8 characters. Returns 0 or -errno. */
int crypto_token_new(const char *prefix, char out[TOKEN_BUF]);
bool crypto_ct_equal(const void *a, const void *b, size_t n);
/* Cheap shape check before hashing: prefix + 43 base64url characters. */
bool crypto_token_shape_ok(const char *token, const char *prefix);

#endif
