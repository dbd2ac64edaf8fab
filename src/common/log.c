/*
 * Logger. Lines look like "2026-11-22T03:05:14.123Z INFO  agent[123]: message". Rotation keeps one
 * previous file (path.1), checked before each write against the size we have written ourselves.
 */
#include "common/log.h"
#include "common/tm.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = 2;
static char log_path[4096];
static char log_ident[32] = "tether";
static enum log_level log_threshold = LOG_INFO;
static long log_max_bytes;
static long log_written;

static const char *const level_names[] = { "ERROR", "WARN ", "INFO ", "DEBUG" };

int log_open(const char *path, enum log_level level, const char *ident, long max_bytes)
{
    int fd = 2;
    struct stat st;

    if (path && strcmp(path, "-") != 0) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0)
            return -errno;
    }
    pthread_mutex_lock(&log_lock);
    if (log_fd > 2)
        close(log_fd);
    log_fd = fd;
    log_threshold = level;
    log_max_bytes = max_bytes;
    log_written = (fd > 2 && fstat(fd, &st) == 0) ? (long)st.st_size : 0;
    snprintf(log_path, sizeof log_path, "%s", fd > 2 ? path : "");
    if (ident)
        snprintf(log_ident, sizeof log_ident, "%s", ident);
    pthread_mutex_unlock(&log_lock);
    return 0;
}

void log_close(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_fd > 2)
        close(log_fd);
    log_fd = 2;
    log_path[0] = '\0';
    pthread_mutex_unlock(&log_lock);
}

void log_set_level(enum log_level level)
{
    pthread_mutex_lock(&log_lock);
    log_threshold = level;
    pthread_mutex_unlock(&log_lock);
}

int log_level_parse(const char *s, enum log_level *out)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

static int is_token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.' || c == '+' || c == '/' || c == '=';
}

void log_redact(char *line)
{
    static const char *const prefixes[] = { "tak_", "tag_", "tac_", "Bearer " };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t plen = strlen(prefixes[i]);
        char *p = line;
        while ((p = strstr(p, prefixes[i])) != NULL) {
            char *start = p + plen, *end = start;
            while (*end && is_token_char(*end))
                end++;
            if (end - start >= 3) {
                memmove(start + 3, end, strlen(end) + 1);
                memcpy(start, "***", 3);
            }
            p = start;
        }
    }
}

static void rotate_locked(void)
{
    char old[4200];
    int fd;

    snprintf(old, sizeof old, "%s.1", log_path);
    if (rename(log_path, old) != 0)
        return;
    fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    close(log_fd);
    log_fd = fd;
    log_written = 0;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
    char line[2048], ts[40];
    int n, m;

    if (level > log_threshold)
        return;
    tm_format_rfc3339(tm_now_ms(), ts, sizeof ts);
    n = snprintf(line, sizeof line, "%s %s %s[%d]: ", ts, level_names[level], log_ident,
                 (int)getpid());
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    if (m < 0)
        return;
    n = (int)strlen(line);
    for (int i = 0; i < n; i++) /* one message, one line */
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    log_redact(line);
    n = (int)strlen(line);
    line[n++] = '\n';

    pthread_mutex_lock(&log_lock);
    if (log_fd > 2 && log_max_bytes > 0 && log_written + n > log_max_bytes)
        rotate_locked();
    if (write(log_fd, line, (size_t)n) == n)
        log_written += n;
    pthread_mutex_unlock(&log_lock);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}
