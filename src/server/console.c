/*
 * The web console's static files (docs/console.md): GET and HEAD of every path that is not an API
 * path, read from the web_root directory. Only names console_path.c allows are opened, one path
 * segment at a time with O_NOFOLLOW, so no symlink (inside the root or leaving it) and no ".." is
 * ever followed; only regular files are served, up to CONSOLE_FILE_MAX. Every answer carries the
 * security headers (http.c adds them when r->console is set) and files an ETag, so a browser
 * revalidates with If-None-Match and gets 304.
 */
#include "server/server.h"

#include "common/log.h"
#include "server/console_path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void console_text(struct req *r, int status, const char *text)
{
    resp_raw(r, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* Opens rel below the directory root without following any symlink. Returns the fd or -errno. */
static int open_beneath(const char *root, const char *rel)
{
    char name[CONSOLE_NAME_MAX];
    int dirfd, fd = -ENOENT;
    const char *p = rel;

    dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return -errno;
    for (;;) {
        size_t n = strcspn(p, "/");
        bool last = p[n] == '\0';
        int next;
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        /* O_NONBLOCK: a FIFO planted in the root must not block the event loop on open. */
        next = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
                                       (last ? 0 : O_DIRECTORY));
        if (next < 0) {
            fd = -errno;
            break;
        }
        close(dirfd);
        dirfd = -1;
        if (last) {
            fd = next;
            break;
        }
        dirfd = next;
        p += n + 1;
    }
    if (dirfd >= 0)
        close(dirfd);
    return fd;
}

/* Reads the whole regular file fd into r->resp. 0, or -errno (-EISDIR/-EFBIG for what is not
 * served). Fills st. */
static int read_file(struct req *r, int fd, struct stat *st)
{
    char chunk[16384];
    size_t total = 0;

    if (fstat(fd, st))
        return -errno;
    if (!S_ISREG(st->st_mode))
        return -EISDIR;
    if (st->st_size > CONSOLE_FILE_MAX)
        return -EFBIG;
    buf_reset(&r->resp);
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        total += (size_t)n;
        if (total > CONSOLE_FILE_MAX)
            return -EFBIG;
        if (buf_append(&r->resp, chunk, (size_t)n))
            return -ENOMEM;
    }
    return 0;
}

void console_serve(struct req *r)
{
    char rel[CONSOLE_NAME_MAX], inm[256];
    const char *ctype = NULL;
    const char *root = r->srv->cfg.web_root;
    struct stat st;
    int fd, rc;

    r->console = true;
    if (r->method != M_GET && r->method != M_HEAD) {
        console_text(r, 405, "method not allowed\n");
        resp_header(r, "Allow", "GET, HEAD");
        return;
    }
    r->head_only = r->method == M_HEAD;
    if (!root || access(root, X_OK)) {
        console_text(r, 404, "The Tether web console is not installed on this server: its "
                             "web_root directory is missing (see docs/console.md).\n");
        return;
    }
    if (console_path_resolve(r->path, rel, sizeof rel, &ctype)) {
        console_text(r, 404, "not found\n");
        return;
    }
    fd = open_beneath(root, rel);
    if (fd < 0) {
        log_debug("console: %s: %s", rel, strerror(-fd));
        console_text(r, 404, "not found\n");
        return;
    }
    rc = read_file(r, fd, &st);
    close(fd);
    if (rc) {
        if (rc == -EFBIG)
            log_warn("console: %s is larger than %d bytes: not served", rel, CONSOLE_FILE_MAX);
        else if (rc != -EISDIR)
            log_warn("console: cannot read %s: %s", rel, strerror(-rc));
        buf_reset(&r->resp);
        console_text(r, 404, "not found\n");
        return;
    }
    /* Changes whenever the file is replaced or rewritten (inode, size or mtime). */
    snprintf(r->etag, sizeof r->etag, "\"%llx-%llx-%llx\"", (unsigned long long)st.st_ino,
             (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
                 (unsigned long long)st.st_mtim.tv_nsec);
    r->status = 200;
    r->ctype = ctype;
    if (lws_hdr_copy(r->wsi, inm, sizeof inm, WSI_TOKEN_HTTP_IF_NONE_MATCH) > 0 &&
        console_etag_matches(inm, r->etag)) {
        /* No body; Content-Length stays the representation's length (RFC 9110 8.6). */
        r->status = 304;
        r->head_only = true;
    }
}

void console_check_root(struct server *srv)
{
    const char *root = srv->cfg.web_root;
    struct stat st;
    if (root && !stat(root, &st) && S_ISDIR(st.st_mode))
        log_info("web console: serving %s", root);
    else
        log_warn("web console: %s is not a directory: / answers 404 (the API is not affected)",
                 root ? root : "(no web_root)");
}

int console_default_root(char *buf, size_t len)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;
    if (n <= 0)
        return -errno;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (!slash)
        return -EINVAL;
    *slash = '\0';
    if ((size_t)snprintf(buf, len, "%s/../share/tether/web", exe) >= len)
        return -ENAMETOOLONG;
    return 0;
}
