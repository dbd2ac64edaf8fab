/* Spool record framing; see spool.h. */
#include "task/spool.h"
#include "common/fsutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int spool_append(int fd, int stream, const void *data, size_t n)
{
    char stackbuf[SPOOL_HDR + 4096];
    char *rec = stackbuf;
    int rc;

    if (n == 0 || n > SPOOL_MAX_RECORD || (stream != SPOOL_STDOUT && stream != SPOOL_STDERR))
        return -EINVAL;
    if (n > 4096) {
        rec = malloc(SPOOL_HDR + n);
        if (!rec)
            return -ENOMEM;
    }
    rec[0] = (char)stream;
    rec[1] = (char)(n & 0xff);
    rec[2] = (char)((n >> 8) & 0xff);
    rec[3] = (char)((n >> 16) & 0xff);
    rec[4] = (char)((n >> 24) & 0xff);
    memcpy(rec + SPOOL_HDR, data, n);
    /* one write so a reader never sees a header without at least a partial payload after it */
    rc = fs_write_full(fd, rec, SPOOL_HDR + n);
    if (rec != stackbuf)
        free(rec);
    return rc;
}

static int read_header(int fd, uint64_t pos, uint64_t size, struct spool_record *rec)
{
    unsigned char h[SPOOL_HDR];
    ssize_t got;

    if (pos + SPOOL_HDR > size)
        return 0;
    got = pread(fd, h, sizeof h, (off_t)pos);
    if (got < 0)
        return -errno;
    if (got < SPOOL_HDR)
        return 0;
    if (h[0] != SPOOL_STDOUT && h[0] != SPOOL_STDERR)
        return -EBADMSG;
    rec->stream = h[0];
    rec->len = (uint32_t)h[1] | (uint32_t)h[2] << 8 | (uint32_t)h[3] << 16 | (uint32_t)h[4] << 24;
    if (rec->len == 0 || rec->len > SPOOL_MAX_RECORD)
        return -EBADMSG;
    rec->data_off = pos + SPOOL_HDR;
    if (rec->data_off + rec->len > size)
        return 0; /* still being written, or cut short by a crash */
    return 1;
}

int spool_next(struct spool_reader *r, struct spool_record *rec)
{
    struct stat st;
    int rc;

    if (fstat(r->fd, &st) < 0)
        return -errno;
    rc = read_header(r->fd, r->pos, (uint64_t)st.st_size, rec);
    if (rc == 1)
        r->pos = rec->data_off + rec->len;
    return rc;
}

int spool_read_range(int fd, int stream, uint64_t start, uint64_t end, char *out, size_t cap,
                     size_t *n)
{
    struct spool_reader r = { .fd = fd, .pos = 0 };
    struct spool_record rec;
    int rc;

    *n = 0;
    while ((rc = spool_next(&r, &rec)) == 1) {
        uint64_t a = rec.data_off, b = rec.data_off + rec.len;
        if (a >= end)
            break;
        if (rec.stream != stream || b <= start)
            continue;
        if (a < start)
            a = start;
        if (b > end)
            b = end;
        if (*n + (b - a) > cap)
            return -ENOSPC;
        ssize_t got = pread(fd, out + *n, (size_t)(b - a), (off_t)a);
        if (got < 0)
            return -errno;
        if ((uint64_t)got != b - a)
            return -EIO;
        *n += (size_t)got;
    }
    return rc < 0 ? rc : 0;
}
