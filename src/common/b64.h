/* Base64 (RFC 4648 §4, padded) for output bytes on the wire, and base64url (§5, unpadded) for tokens. */
#ifndef TETHER_B64_H
#define TETHER_B64_H

#include <stddef.h>

/* Encoded length of n bytes, without the terminating NUL. */
size_t b64_encoded_len(size_t n);
/* Max decoded length of an n-character input. */
size_t b64_decoded_max(size_t n);
/* Writes a NUL-terminated string. Returns its length, or -ENOSPC. */
long b64_encode(const void *in, size_t n, char *out, size_t outsz);
/* Strict: rejects bad characters, bad padding and stray data. Returns the decoded length or -EINVAL/-ENOSPC. */
long b64_decode(const char *in, size_t n, void *out, size_t outsz);
long b64url_encode(const void *in, size_t n, char *out, size_t outsz);

#endif
