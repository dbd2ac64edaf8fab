/* Strict base64 decoding, and the round trip of whatever decodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t max = b64_decoded_max(size);
    unsigned char *out = malloc(max + 1);
    if (!out)
        return 0;
    long n = b64_decode((const char *)data, size, out, max + 1);
    if (n >= 0) {
        size_t elen = b64_encoded_len((size_t)n);
        char *enc = malloc(elen + 1);
        if (enc && b64_encode(out, (size_t)n, enc, elen + 1) == (long)elen &&
            (elen != size || memcmp(enc, data, size)))
            abort();   /* strict decoding must accept only the canonical encoding */
        free(enc);
    }
    /* A tight buffer must give -ENOSPC, never an overflow. */
    if (max > 0)
        b64_decode((const char *)data, size, out, max / 2);
    free(out);
    return 0;
}
