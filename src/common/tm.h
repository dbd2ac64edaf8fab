/*
 * Time helpers. Wall-clock time (milliseconds since the epoch) is only for timestamps shown to
 * people and stored in records; every timeout, deadline and backoff uses the monotonic clock.
 */
#ifndef TETHER_TM_H
#define TETHER_TM_H

#include <stddef.h>
#include <stdint.h>

int64_t tm_now_ms(void);   /* CLOCK_REALTIME */
int64_t tm_mono_ms(void);  /* CLOCK_MONOTONIC */

/* "2026-11-22T03:05:14.123Z". buf needs 25 bytes. Returns 0 or -EINVAL. */
int tm_format_rfc3339(int64_t ms, char *buf, size_t n);
/* Accepts "YYYY-MM-DDTHH:MM:SS[.fff]Z" (and a +00:00 offset). Returns 0 or -EINVAL. */
int tm_parse_rfc3339(const char *s, int64_t *ms);
/* "90", "90s", "15m", "2h", "7d" -> seconds. Returns 0 or -EINVAL. */
int tm_parse_duration(const char *s, int64_t *secs);
/* Sleeps for ms milliseconds, restarting after signals. */
void tm_sleep_ms(int64_t ms);

#endif
