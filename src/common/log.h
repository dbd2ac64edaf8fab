/*
 * Process-wide logger shared by the three binaries: one line per message, written with a single
 * write() so threads never interleave, optional size-based rotation, and a last-line defence that
 * masks anything that looks like a Tether secret (API keys, agent tokens, activation codes).
 */
#ifndef TETHER_LOG_H
#define TETHER_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* path NULL or "-" logs to stderr. max_bytes 0 disables rotation. Returns 0 or -errno. */
int log_open(const char *path, enum log_level level, const char *ident, long max_bytes);
void log_close(void);
void log_set_level(enum log_level level);
int log_level_parse(const char *s, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap);

/* Masks secrets in place: every run of token characters that follows a secret prefix
 * ("tak_", "tag_", "tac_", "Bearer ") becomes "***". Exposed for tests. */
void log_redact(char *line);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
