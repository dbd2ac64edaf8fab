/*
 * Line prefixer for multi-target output: every line of a task's output becomes "NAME | line",
 * stdout lines to stdout and stderr lines to stderr. Chunks arrive cut anywhere, so each stream of
 * each task keeps its partial line until the newline arrives or the task ends (prefix_flush).
 * A partial line longer than PREFIX_MAX_PARTIAL is emitted as a line of its own, so a task that
 * prints megabytes without a newline cannot grow the CLI without bound.
 */
#ifndef TETHER_CLI_PREFIX_H
#define TETHER_CLI_PREFIX_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

#define PREFIX_MAX_PARTIAL (64u * 1024)

enum out_stream { STREAM_STDOUT = 0, STREAM_STDERR = 1 };

/* Receives finished, prefixed text for one stream. */
typedef void (*prefix_sink)(void *ud, enum out_stream stream, const char *data, size_t n);

struct prefixer {
    char *name;            /* owned */
    size_t pad;            /* name is padded to this width so the bars line up */
    bool escape[2];        /* escape control characters per stream (it is a terminal) */
    struct buf partial[2];
    prefix_sink sink;
    void *ud;
};

/* Returns 0 or -ENOMEM. name is copied. */
int prefix_init(struct prefixer *p, const char *name, size_t pad, prefix_sink sink, void *ud);
void prefix_set_escape(struct prefixer *p, enum out_stream s, bool escape);
/* Returns 0 or -ENOMEM. */
int prefix_feed(struct prefixer *p, enum out_stream s, const char *data, size_t n);
/* Emits the partial lines of both streams (each with a newline added). Returns 0 or -ENOMEM. */
int prefix_flush(struct prefixer *p);
void prefix_free(struct prefixer *p);

#endif
