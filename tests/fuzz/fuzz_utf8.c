/* UTF-8 helpers: the chunk-boundary prefix, validation and sanitising must agree. */
#include <stdint.h>
#include <stdlib.h>

#include "common/buf.h"
#include "common/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    size_t p = utf8_complete_prefix(s, size);
    struct buf out = { 0 };
    if (p > size || size - p > 3)
        abort();   /* at most an incomplete 3-byte tail is held back */
    if (utf8_valid(s, size) && p != size)
        abort();   /* valid text is never held back */
    if (utf8_sanitize(&out, s, size) == 0 && !utf8_valid(out.data, out.len))
        abort();   /* sanitised text is valid */
    if (utf8_valid(s, size) && (out.len != size))
        abort();   /* valid text passes unchanged */
    buf_free(&out);
    return 0;
}
