/*
 * Fast path for the hottest request body, POST /v1/agent/tasks/{id}/output:
 * {"seq":N,"stream":"stdout|stderr","data":"<base64>"} in any key order. jansson spends ~2 ms on a
 * 64 KiB chunk; this strict scanner takes microseconds. Anything it does not recognise exactly
 * (escapes, other keys, duplicates, other types) returns -1 and the caller falls back to the full
 * jansson path, which also produces the error message.
 */
#ifndef TETHER_SERVER_OUTPUT_BODY_H
#define TETHER_SERVER_OUTPUT_BODY_H

#include <stddef.h>
#include <stdint.h>

struct output_body {
    int64_t seq;
    const char *stream;   /* points into the body; not NUL-terminated */
    size_t stream_len;
    const char *data;     /* base64 characters only */
    size_t data_len;
};

int output_body_fast(const char *body, size_t len, struct output_body *out);
/* The batched form {"chunks":[{...},{...}]} (protocol.md): at most max objects into out, their
 * number in *n. Same strictness; -1 sends the caller to the full parser. */
int output_batch_fast(const char *body, size_t len, struct output_body *out, size_t max,
                      size_t *n);

#endif
