/*
 * DIR/upload.log: one fixed-size record per output chunk, written at offset seq * size BEFORE the
 * chunk is sent, so a restarted agent can resend exactly the chunk that may have been in flight and
 * continue after it. Not fsync'd: it only has to survive an agent restart (page cache); after a
 * machine crash the shim is gone too and the task is reported undetermined anyway.
 */
#ifndef TETHER_TASK_UPLOAD_LOG_H
#define TETHER_TASK_UPLOAD_LOG_H

#include <stdint.h>

#define UPLOAD_LOG_MAGIC 0x54484c31u /* "THL1" */

struct upload_rec {
    uint64_t seq;
    uint64_t start, end; /* spool file offsets, see chunker.h */
    uint32_t stream;
    uint32_t magic;
};

/* Opens (creates) DIR/upload.log. Returns an fd or -errno. */
int upload_log_open(const char *dir);
int upload_log_write(int fd, const struct upload_rec *r);
/* Returns 0, 1 when there is no (valid) record for seq, or -errno. */
int upload_log_read(int fd, uint64_t seq, struct upload_rec *r);
/* Finds the highest valid consecutive record. Returns 1 with *last and cursor[1..2] (end of the
 * last chunk of each stream) filled, 0 when the log is empty, or -errno. */
int upload_log_last(int fd, struct upload_rec *last, uint64_t cursor[3]);

#endif
