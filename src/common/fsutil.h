/*
 * File helpers. fs_write_atomic is the only way the project replaces a file that matters
 * (journal entries, identity, results): temp file in the same directory, write, fsync, rename,
 * fsync of the directory; every return is checked.
 */
#ifndef TETHER_FSUTIL_H
#define TETHER_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Returns 0 or -errno. With durable false, the fsyncs are skipped (the rename is still atomic). */
int fs_write_atomic(const char *path, const void *data, size_t n, mode_t mode, bool durable);
/* Reads a whole file of at most max bytes into a NUL-terminated malloc'd buffer the caller frees.
 * Returns 0, -EFBIG past max, or -errno. */
int fs_read_all(const char *path, size_t max, char **out, size_t *len);
/* mkdir -p; existing directories are left as they are. Returns 0 or -errno. */
int fs_mkdir_p(const char *path, mode_t mode);
/* rm -rf without following symlinks. Returns 0 or -errno. */
int fs_rm_rf(const char *path);
/* write() until done, retrying on EINTR. Returns 0 or -errno. */
int fs_write_full(int fd, const void *data, size_t n);

#endif
