/* The CLI's Server-Sent Events parser, fed the input in two pieces split at the first byte (so
 * chunk-boundary handling is exercised), with a small cap. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sse.h"

static int on_event(void *ud, const char *event, const char *data, size_t len)
{
    size_t *count = ud;
    /* data may hold NUL bytes from a hostile server; the contract is data[len] == '\0'. */
    if (data[len] != '\0' || strlen(event) >= 64)
        abort();
    (*count)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sse_parser p;
    size_t count = 0, cut = size ? data[0] % (size + 1) : 0;
    sse_init(&p, 4096, on_event, &count);
    if (sse_feed(&p, (const char *)data, cut) == 0)
        sse_feed(&p, (const char *)data + cut, size - cut);
    sse_free(&p);
    return 0;
}
