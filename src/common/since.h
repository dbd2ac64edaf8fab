/*
 * "Since when" for listings (`tether invocations --since`, GET /v1/invocations?since=): either a
 * duration back from now ("90s", "15m", "1h", "7d", bare seconds) or an RFC 3339 UTC time
 * ("2026-11-01T00:00:00Z"). The CLI checks the text with the same function the server uses to
 * compute the bound, so both refuse the same inputs.
 */
#ifndef TETHER_SINCE_H
#define TETHER_SINCE_H

#include <stdint.h>

#define SINCE_MAX_TEXT 40          /* longer text is refused */
#define SINCE_MAX_AGE_S (3650LL * 86400) /* a duration reaches back at most ten years */

/* Sets *since_ms (milliseconds since the epoch) for text s at time now_ms. A duration must be
 * 1 s … 3650 d. Returns 0 or -EINVAL. */
int since_parse(const char *s, int64_t now_ms, int64_t *since_ms);

#endif
