/*
 * Incremental Server-Sent Events parser (WHATWG "event stream interpretation"). Bytes are fed as
 * they arrive from the HTTP client, in chunks of any size; complete events go to a callback. Lines
 * end in \n, \r\n or \r (a \r at the end of one chunk and a \n at the start of the next count as
 * one line end); ':' lines are comments; several data: lines join with \n. The server is not
 * trusted: one line or one event's data larger than the cap is an error, never unbounded memory.
 */
#ifndef TETHER_CLI_SSE_H
#define TETHER_CLI_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

/* Called once per dispatched event. event is "message" when the stream named none. data is
 * NUL-terminated (len excludes the NUL). Return 0 to go on, non-zero to stop the parser (that value
 * is returned by sse_feed). */
typedef int (*sse_event_cb)(void *ud, const char *event, const char *data, size_t len);

struct sse_parser {
    struct buf line;
    struct buf data;
    char event[64];
    bool have_data;
    bool skip_lf;      /* previous chunk ended in \r: a leading \n is part of that line end */
    size_t max_bytes;  /* cap for one line and for one event's data */
    sse_event_cb cb;
    void *ud;
};

/* max_bytes 0 means the default (8 MiB). */
void sse_init(struct sse_parser *p, size_t max_bytes, sse_event_cb cb, void *ud);
/* Feeds n bytes. Returns 0, -E2BIG when a line or event is over the cap, -ENOMEM, or the
 * callback's non-zero value. */
int sse_feed(struct sse_parser *p, const char *data, size_t n);
/* Forgets a partial event (used when a stream is reopened). */
void sse_reset(struct sse_parser *p);
void sse_free(struct sse_parser *p);

#endif
