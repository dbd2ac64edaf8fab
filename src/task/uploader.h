/*
 * Uploads one task's spool as output chunks, in order, resuming from upload.log after a restart.
 * Memory is bounded (a read buffer, the chunker's two buffers, one encoded body) whatever the
 * output volume.
 */
#ifndef TETHER_TASK_UPLOADER_H
#define TETHER_TASK_UPLOADER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/http.h"
#include "task/chunker.h"
#include "task/spool.h"

struct uploader {
    struct http_client *hc;   /* not owned */
    const atomic_bool *stop;  /* not owned */
    char task_id[32];
    char dir[4096];
    int spool_fd, log_fd;
    struct spool_reader reader;
    struct chunker chunker;
    uint64_t seq;             /* next seq to send */
    uint64_t acked;           /* the server's next_seq from its last acknowledgement: output is
                               * acknowledged before the server's commit (?ack=early, D10), so
                               * finish reports it and the server checks it has them all */
    bool resend_last;         /* resume: resend the last logged chunk first */
    bool gone;                /* the server no longer wants output (task final / unknown) */
    char *rbuf;               /* spool read buffer, CHUNK_MAX: what chunker_feed is consuming */
    char *xbuf;               /* resend buffer, CHUNK_MAX, made on the first resend: a resend
                               * runs inside chunker_feed (emit), so it must not reuse rbuf */
    struct buf body;
    /* Chunks go up in batches ({"chunks":[…]}, protocol.md): one request and one server commit
     * for up to UPLOAD_BATCH_MAX of them, logged in upload.log before they are sent. */
    struct buf batch;
    size_t batch_n;
    uint64_t batch_first;     /* seq of the batch's first chunk */
    bool no_batch;            /* the server refused the batched form: one chunk per request */
};

/* Returns 0 or -errno. */
int uploader_open(struct uploader *u, struct http_client *hc, const atomic_bool *stop,
                  const char *task_id, const char *dir);
/* Sends what the spool holds now (complete UTF-8 prefixes; everything when final).
 * Returns 0, -ECANCELED when stopping, or -errno. */
int uploader_pump(struct uploader *u, bool final);
void uploader_close(struct uploader *u);
/* After finish answered seq_gap: resends the logged chunks [next, seq) that the server lost.
 * Returns 0, -ECANCELED when stopping, or -errno when they cannot be resent (the spool or the log
 * cannot give them back, or the server refuses output now). */
int uploader_resend(struct uploader *u, uint64_t next);
/* next_seq of a 409 seq_gap answer (output or finish), top level or inside "error"; -1 for any
 * other answer. */
int64_t uploader_gap_next_seq(const struct http_response *r);
/* Sleeps ms milliseconds, returning early once *stop is set. */
void uploader_sleep(const atomic_bool *stop, int64_t ms);

/* POSTs body to path until a non-retryable answer: transport errors, 5xx, 401 and 429 are retried
 * with jittered exponential backoff (0.25 s -> 30 s). Returns 0 with *r filled (the caller frees),
 * or -ECANCELED when stopping. */
int uploader_post(struct http_client *hc, const atomic_bool *stop, const char *path,
                  const char *body, size_t len, struct http_response *r);

#endif
