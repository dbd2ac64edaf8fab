/*
 * Turns the spool's records into upload chunks: one stream per chunk, at most CHUNK_MAX bytes,
 * never ending inside a UTF-8 sequence (the incomplete tail is carried to the next chunk of the
 * same stream), except on the final flush. Each chunk is described by the file offsets of its
 * stream's payload bytes [start, end) so upload.log can name it exactly: the chunk's bytes are the
 * bytes of that stream inside that range. Memory: one CHUNK_MAX buffer per stream.
 */
#ifndef TETHER_TASK_CHUNKER_H
#define TETHER_TASK_CHUNKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHUNK_MAX 65536

struct chunk {
    int stream;       /* 1 stdout, 2 stderr */
    uint64_t start, end;
    const char *data; /* valid during the callback only */
    size_t len;
};

/* Returns 0 to go on, or a negative errno that the chunker passes back to its caller. */
typedef int (*chunk_emit_fn)(void *ud, const struct chunk *c);

struct chunker_stream {
    char *buf;         /* CHUNK_MAX bytes, allocated on first use */
    size_t len;
    uint64_t offs[4];  /* file offsets of the last (up to) 4 buffered bytes, oldest first */
    size_t noffs;
};

struct chunker {
    struct chunker_stream s[3]; /* indexed by stream */
    uint64_t cursor[3];         /* per stream: end of the last emitted chunk */
    int last_stream;
    chunk_emit_fn emit;
    void *ud;
};

void chunker_init(struct chunker *c, chunk_emit_fn emit, void *ud);
void chunker_free(struct chunker *c);
/* Resume: bytes of `stream` before off were already sent and are skipped when fed again. */
void chunker_set_cursor(struct chunker *c, int stream, uint64_t off);
/* Feeds n payload bytes of one record starting at file offset off. Returns 0 or what emit
 * returned, or -ENOMEM/-EINVAL. */
int chunker_feed(struct chunker *c, int stream, uint64_t off, const char *data, size_t n);
/* Emits what is buffered: complete UTF-8 prefixes, or everything when final. */
int chunker_flush(struct chunker *c, bool final);
/* Bytes buffered and not yet emitted, all streams. */
size_t chunker_pending(const struct chunker *c);

#endif
