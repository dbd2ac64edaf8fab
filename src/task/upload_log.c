/* Upload log; see upload_log.h. */
#include "task/upload_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int upload_log_open(const char *dir)
{
    char path[PATH_MAX];
    int fd;

    if (snprintf(path, sizeof path, "%s/upload.log", dir) >= (int)sizeof path)
        return -ENAMETOOLONG;
    /* kept across restarts (no O_EXCL), but never through a symlink */
    fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    return fd < 0 ? -errno : fd;
}

int upload_log_write(int fd, const struct upload_rec *r)
{
    struct upload_rec copy = *r;
    ssize_t n;

    copy.magic = UPLOAD_LOG_MAGIC;
    n = pwrite(fd, &copy, sizeof copy, (off_t)(r->seq * sizeof copy));
    if (n < 0)
        return -errno;
    return n == (ssize_t)sizeof copy ? 0 : -EIO;
}

int upload_log_read(int fd, uint64_t seq, struct upload_rec *r)
{
    ssize_t n = pread(fd, r, sizeof *r, (off_t)(seq * sizeof *r));
    if (n < 0)
        return -errno;
    if (n != (ssize_t)sizeof *r || r->magic != UPLOAD_LOG_MAGIC || r->seq != seq ||
        (r->stream != 1 && r->stream != 2) || r->end < r->start)
        return 1;
    return 0;
}

int upload_log_last(int fd, struct upload_rec *last, uint64_t cursor[3])
{
    struct upload_rec r;
    uint64_t seq = 0;
    int rc, found = 0;

    cursor[0] = cursor[1] = cursor[2] = 0;
    while ((rc = upload_log_read(fd, seq, &r)) == 0) {
        *last = r;
        cursor[r.stream] = r.end;
        found = 1;
        seq++;
    }
    return rc < 0 ? rc : found;
}
