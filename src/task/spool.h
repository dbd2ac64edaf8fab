/*
 * The output spool of one task (DATA/tasks/<id>/output): the shim appends one framed record per
 * read() from the command's pipes; the worker tails the file while the shim still writes it.
 * Record: 1 byte stream (1 stdout, 2 stderr), 4 bytes little-endian payload length, payload.
 */
#ifndef TETHER_TASK_SPOOL_H
#define TETHER_TASK_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_HDR 5
#define SPOOL_STDOUT 1
#define SPOOL_STDERR 2
/* The shim reads at most 64 KiB at a time; anything bigger is corruption. */
#define SPOOL_MAX_RECORD (1u << 20)

/* Appends one record with a single write(). Returns 0 or -errno. */
int spool_append(int fd, int stream, const void *data, size_t n);

struct spool_reader {
    int fd;          /* not owned */
    uint64_t pos;    /* file offset of the next record header */
};

struct spool_record {
    int stream;
    uint64_t data_off; /* file offset of the first payload byte */
    uint32_t len;
};

/* Returns 1 with rec filled and pos advanced when a complete record is in the file, 0 when none is
 * (EOF, or a record still being written), -EBADMSG on a corrupt header, or -errno. */
int spool_next(struct spool_reader *r, struct spool_record *rec);

/* Copies the payload bytes of `stream` that lie in file offsets [start, end) into out (cap bytes),
 * scanning records from the start of the file. Sets *n. Returns 0 or -errno (-ENOSPC if cap is too
 * small). Used to resend a chunk recorded in upload.log. */
int spool_read_range(int fd, int stream, uint64_t start, uint64_t end, char *out, size_t cap,
                     size_t *n);

#endif
