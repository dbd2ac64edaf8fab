/* UTF-8 helpers for output handling: where a chunk may end without splitting a sequence, and a
 * lossy conversion to valid text (invalid bytes become U+FFFD) for JSON and terminals. */
#ifndef TETHER_UTF8_H
#define TETHER_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

/* Length of the longest prefix of s[0..n) that does not end inside an incomplete UTF-8 sequence.
 * Only a possibly-incomplete trailing sequence (at most 3 bytes) is held back; invalid bytes are
 * not held back. */
size_t utf8_complete_prefix(const char *s, size_t n);
bool utf8_valid(const char *s, size_t n);
/* Appends s with every invalid byte replaced by U+FFFD. Returns 0 or -ENOMEM. */
int utf8_sanitize(struct buf *out, const char *s, size_t n);

#endif
