/*
 * Content-addressed release artifacts (issue 6) in DATA/artifacts/<sha256>. Uploads are named by
 * the SHA-256 the server computes itself, so a name always matches its bytes on disk; downloads
 * honour a single Range (206) so agents resume an interrupted transfer. Both directions stream
 * through a file (struct artifact_io): a binary is never held whole in the server's memory.
 */
#include "server/server.h"
#include "server/releases.h"

#include "common/fsutil.h"
#include "common/log.h"
#include "common/tm.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool sha_hex(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (int i = 0; i < 64; i++)
        if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
            return false;
    return true;
}

/* 0, or -ENAMETOOLONG when the data directory leaves no room for the name. */
static int artifact_path(struct server *srv, const char *sha256, char *path, size_t n)
{
    int len = snprintf(path, n, "%.*s/artifacts/%s", PATH_MAX - 100, srv->data_dir, sha256);
    return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

int64_t artifact_size(struct server *srv, const char *sha256)
{
    char path[PATH_MAX];
    struct stat sb;

    if (!sha_hex(sha256))
        return -1;
    if (artifact_path(srv, sha256, path, sizeof path))
        return -1;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) ? (int64_t)sb.st_size : -1;
}

/* A file being received (upload: tmp named, hashed as it arrives) or sent (download). */
struct artifact_io {
    int fd;
    char tmp[PATH_MAX];   /* upload: removed unless it became the artifact */
    EVP_MD_CTX *md;
    int64_t size;         /* upload: bytes so far */
    int64_t off, left;    /* download: next offset, bytes still to send */
    bool failed;
};

void artifact_io_free(struct artifact_io *io)
{
    if (!io)
        return;
    if (io->fd >= 0)
        close(io->fd);
    if (io->tmp[0])
        unlink(io->tmp);
    EVP_MD_CTX_free(io->md);
    free(io);
}

int artifact_upload_begin(struct req *r)
{
    struct artifact_io *io = calloc(1, sizeof *io);
    char dir[PATH_MAX];

    if (!io)
        return -ENOMEM;
    io->fd = -1;
    snprintf(dir, sizeof dir, "%.*s/artifacts", PATH_MAX - 100, r->srv->data_dir);
    snprintf(io->tmp, sizeof io->tmp, "%.*s/.upload-XXXXXX", PATH_MAX - 100, dir);
    io->md = EVP_MD_CTX_new();
    if (fs_mkdir_p(dir, 0755) != 0 || !io->md ||
        EVP_DigestInit_ex(io->md, EVP_sha256(), NULL) != 1 ||
        (io->fd = mkostemp(io->tmp, O_CLOEXEC)) < 0) {
        int rc = errno ? -errno : -EIO;
        log_error("artifacts: cannot create an upload file in %s: %s", dir, strerror(-rc));
        if (io->fd < 0)
            io->tmp[0] = '\0';
        artifact_io_free(io);
        return rc;
    }
    artifact_io_free(r->upload);
    r->upload = io;
    return 0;
}

int artifact_upload_write(struct req *r, const void *data, size_t len)
{
    struct artifact_io *io = r->upload;

    if (io->failed || io->size + (int64_t)len > ARTIFACT_MAX_BODY ||
        fs_write_full(io->fd, data, len) != 0 || EVP_DigestUpdate(io->md, data, len) != 1)
        io->failed = true;
    io->size += (int64_t)len;
    return io->failed ? -1 : 0;
}

/* Digest of the finished upload, file synced and renamed to DATA/artifacts/<sha256>. */
static int upload_finish(struct req *r, char sha[65])
{
    struct artifact_io *io = r->upload;
    unsigned char md[32];
    unsigned int n = 0;
    char path[PATH_MAX];

    if (io->failed || EVP_DigestFinal_ex(io->md, md, &n) != 1 || n != 32 || fsync(io->fd) != 0)
        return -EIO;
    for (int i = 0; i < 32; i++)
        snprintf(sha + 2 * i, 3, "%02x", md[i]);
    if (artifact_path(r->srv, sha, path, sizeof path))
        return -ENAMETOOLONG;
    if (fchmod(io->fd, 0644) != 0 || rename(io->tmp, path) != 0)
        return -errno;
    io->tmp[0] = '\0'; /* it is the artifact now */
    return 0;
}

/* POST /v1/artifacts: raw body → {"sha256","size"}. Idempotent: the same bytes, the same name. */
void h_artifact_upload(struct req *r)
{
    char sha[65];
    int64_t size = r->upload ? r->upload->size : 0;

    if (!r->upload || size == 0) {
        resp_error(r, 400, "bad_request", "empty artifact");
        return;
    }
    if (upload_finish(r, sha) != 0) {
        log_error("artifacts: cannot store an upload of %lld bytes", (long long)size);
        resp_error(r, 507, "insufficient_storage", "cannot store the artifact");
        return;
    }
    if (req_audit(r, tm_now_ms(), "artifact.upload", sha, NULL)) {
        resp_error(r, 503, "unavailable", "store not writable");
        return;
    }
    resp_json(r, 201, json_pack("{s:s, s:I}", "sha256", sha, "size", (json_int_t)size));
}

int64_t artifact_download_left(const struct artifact_io *io)
{
    return io->left;
}

ssize_t artifact_download_read(struct artifact_io *io, void *buf, size_t n)
{
    ssize_t got = pread(io->fd, buf, n, io->off);

    if (got > 0) {
        io->off += got;
        io->left -= got;
    }
    return got;
}

/* "bytes=FIRST-" or "bytes=FIRST-LAST" (inclusive) against size: 0 with *from and *to set,
 * -1 if unsatisfiable, 1 when there is no usable Range (the whole file is sent). */
static int parse_range(const char *h, int64_t size, int64_t *from, int64_t *to)
{
    char *end;
    long long a, b = size - 1;

    if (strncmp(h, "bytes=", 6) != 0 || !isdigit((unsigned char)h[6]))
        return 1;
    errno = 0;
    a = strtoll(h + 6, &end, 10);
    if (errno || *end != '-')
        return 1;
    if (end[1]) {
        b = strtoll(end + 1, &end, 10);
        if (errno || *end || b < a)
            return 1;
    }
    if (a >= size)
        return -1;
    *from = a;
    *to = b < size ? b : size - 1;
    return 0;
}

/* GET /v1/artifacts/SHA256 */
void h_artifact_get(struct req *r)
{
    const char *sha = r->params[0];
    char path[PATH_MAX], range[96], cr[96];
    int64_t size = artifact_size(r->srv, sha), from = 0, to = size - 1;
    struct artifact_io *io;
    int rng = 1;

    if (size < 0) {
        resp_error(r, 404, "not_found", "no such artifact");
        return;
    }
    if (lws_hdr_copy(r->wsi, range, sizeof range, WSI_TOKEN_HTTP_RANGE) > 0)
        rng = parse_range(range, size, &from, &to);
    if (rng < 0) {
        snprintf(cr, sizeof cr, "bytes */%lld", (long long)size);
        resp_error(r, 416, "range_not_satisfiable", "range starts past the end");
        resp_header(r, "Content-Range", cr);
        return;
    }
    io = calloc(1, sizeof *io);
    if (!io || artifact_path(r->srv, sha, path, sizeof path) != 0 ||
        (io->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        free(io);
        resp_error(r, 500, "internal", "cannot read the artifact");
        return;
    }
    /* The body is read from the file as it is written (http.c), never held whole. */
    io->off = from;
    io->left = to - from + 1;
    artifact_io_free(r->download);
    r->download = io;
    resp_raw(r, rng == 0 ? 206 : 200, "application/octet-stream", NULL, 0);
    resp_header(r, "Accept-Ranges", "bytes");
    if (rng == 0) {
        snprintf(cr, sizeof cr, "bytes %lld-%lld/%lld", (long long)from, (long long)to,
                 (long long)size);
        resp_header(r, "Content-Range", cr);
    }
}
