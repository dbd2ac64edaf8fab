/*
 * Output helpers: making remote bytes safe for a terminal, relative times, tags as text.
 *
 * Remote output is hostile as far as the operator's terminal goes: escape sequences could retitle
 * the window, move the cursor or worse. When a stream is a terminal, control characters other than
 * \n \t \r, DEL, the C1 range (U+0080..U+009F) and bytes that are not UTF-8 are shown as
 * \xNN. When the stream is a pipe or a file, bytes pass through exactly.
 */
#ifndef TETHER_CLI_OUTPUT_H
#define TETHER_CLI_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/buf.h"

/* Streaming escaper: keeps an incomplete UTF-8 sequence that ends a chunk for the next one. */
struct term_escaper {
    unsigned char carry[4];
    size_t carry_len;
};

/* Appends the escaped form of in[0..n) to out. Returns 0 or -ENOMEM. */
int term_escape_feed(struct term_escaper *e, const char *in, size_t n, struct buf *out);
/* Appends what was carried (escaped, since it can no longer complete). Returns 0 or -ENOMEM. */
int term_escape_flush(struct term_escaper *e, struct buf *out);
/* One-shot escape of a complete string (for table cells and messages from the server); also
 * escapes \n \t \r so a cell stays on one line. */
int term_escape_cell(const char *in, size_t n, struct buf *out);

/* One-shot escape of complete text (a whole output line): like the streaming escaper, but an
 * incomplete sequence at the end is escaped too. Returns 0 or -ENOMEM. */
int term_escape_text(const char *in, size_t n, struct buf *out);

/* "12s ago", "5m ago", "3h ago", "4d ago"; the RFC 3339 text itself when it does not parse or
 * lies in the future by more than a minute. */
void fmt_relative(const char *rfc3339, int64_t now_ms, char *out, size_t n);
/* "k=v,k2=v2" sorted by key; "" for none. Returns 0 or -ENOMEM. */
int fmt_tags(json_t *tags, struct buf *out);
/* Display width of UTF-8 text: code points, not bytes. */
size_t utf8_width(const char *s);

/* Prints v as indented JSON and a newline on stdout. */
void print_json(json_t *v);
/* A string member or def. */
const char *jstr(json_t *obj, const char *key, const char *def);
/* A task's exit for a table cell: the exit code, else the signal's name, else "-". */
void fmt_exit(json_t *task, char *out, size_t n);

/* Writes all of data to the stream and flushes it. */
void out_write(FILE *f, const void *data, size_t n);
/* Prints text (escaped when tty) and a final newline if it has none. */
void print_text(FILE *f, bool tty, const char *s);

#endif
