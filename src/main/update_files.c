/* Self-update state files in DATA/update/ (see update_files.h). */
#include "main/update_files.h"

#include "common/fsutil.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/release.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int update_path(const char *data_dir, const char *name, char *buf, size_t n)
{
    int len = snprintf(buf, n, "%s/update/%s", data_dir, name);
    return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

static int write_file(const char *data_dir, const char *name, const char *text)
{
    char dir[4096], path[4096];
    int rc = update_path(data_dir, "", dir, sizeof dir);

    if (rc || (rc = update_path(data_dir, name, path, sizeof path)))
        return rc;
    if (fs_mkdir_p(dir, 0700) != 0)
        return -errno;
    return fs_write_atomic(path, text, strlen(text), 0600, true);
}

/* Reads DATA/update/name (at most max bytes) into *out; -ENOENT when absent. */
static int read_file(const char *data_dir, const char *name, size_t max, char **out)
{
    char path[4096];
    size_t len;
    int rc = update_path(data_dir, name, path, sizeof path);

    *out = NULL;
    return rc ? rc : fs_read_all(path, max, out, &len);
}

int update_ratchet_read(const char *data_dir, char *v, size_t n)
{
    char *text;
    int rc = read_file(data_dir, "ratchet", 256, &text);

    v[0] = '\0';
    if (rc == -ENOENT)
        return 0;
    if (rc)
        return rc;
    text[strcspn(text, "\r\n")] = '\0';
    if (release_version_valid(text))
        snprintf(v, n, "%s", text);
    else
        rc = -EINVAL;
    free(text);
    return rc;
}

int update_ratchet_raise(const char *data_dir, const char *version)
{
    char cur[64], line[64];
    int rc = update_ratchet_read(data_dir, cur, sizeof cur);

    if (rc && rc != -EINVAL)
        return rc;
    if (!release_version_valid(version))
        return -EINVAL;
    if (cur[0] && release_version_cmp(version, cur) <= 0)
        return 0;
    snprintf(line, sizeof line, "%s\n", version);
    return write_file(data_dir, "ratchet", line);
}

bool update_is_bad(const char *data_dir, const char *version)
{
    char *text;
    bool bad = false;
    size_t n = strlen(version);

    if (read_file(data_dir, "bad", 1 << 16, &text) != 0)
        return false;
    for (const char *l = text; *l && !bad; l += strcspn(l, "\n"), l += *l == '\n')
        bad = strncmp(l, version, n) == 0 && (l[n] == '\n' || l[n] == '\0');
    free(text);
    return bad;
}

int update_mark_bad(const char *data_dir, const char *version)
{
    char *text = NULL;
    size_t len;
    char *all;
    int rc;

    if (!release_version_valid(version))
        return -EINVAL;
    if (update_is_bad(data_dir, version))
        return 0;
    rc = read_file(data_dir, "bad", 1 << 16, &text);
    if (rc && rc != -ENOENT)
        return rc;
    len = text ? strlen(text) : 0;
    if (asprintf(&all, "%s%s%s\n", text ? text : "", len && text[len - 1] != '\n' ? "\n" : "",
                 version) < 0) {
        free(text);
        return -ENOMEM;
    }
    rc = write_file(data_dir, "bad", all);
    free(all);
    free(text);
    return rc;
}

int update_pending_read(const char *data_dir, struct update_pending *p)
{
    char *text, err[128];
    const char *s[4] = { NULL };
    json_t *j;
    int rc = read_file(data_dir, "pending", 16384, &text);

    memset(p, 0, sizeof *p);
    if (rc)
        return rc == -ENOENT ? -ENOENT : -EINVAL;
    j = jsonu_parse(text, strlen(text), 16384, err, sizeof err);
    free(text);
    rc = -EINVAL;
    if (!j || jsonu_str(j, "version", &s[0], err, sizeof err) || !s[0] ||
        jsonu_str(j, "previous", &s[1], err, sizeof err) || !s[1] ||
        jsonu_str(j, "exe", &s[2], err, sizeof err) || !s[2] ||
        jsonu_str(j, "prev_path", &s[3], err, sizeof err) || !s[3] ||
        jsonu_int(j, "deadline", 0, INT64_MAX, &p->deadline, err, sizeof err) ||
        jsonu_int(j, "starts", 0, 1000000, &p->starts, err, sizeof err) ||
        jsonu_int(j, "checks", 0, 1000000, &p->checks, err, sizeof err))
        goto out;
    if (strlen(s[0]) >= sizeof p->version || strlen(s[1]) >= sizeof p->previous ||
        strlen(s[2]) >= sizeof p->exe || strlen(s[3]) >= sizeof p->prev_path || s[2][0] != '/')
        goto out;
    snprintf(p->version, sizeof p->version, "%s", s[0]);
    snprintf(p->previous, sizeof p->previous, "%s", s[1]);
    snprintf(p->exe, sizeof p->exe, "%s", s[2]);
    snprintf(p->prev_path, sizeof p->prev_path, "%s", s[3]);
    rc = 0;
out:
    json_decref(j);
    return rc;
}

int update_pending_write(const char *data_dir, const struct update_pending *p)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "version", p->version,
                          "previous", p->previous, "exe", p->exe, "prev_path", p->prev_path,
                          "deadline", (json_int_t)p->deadline, "starts", (json_int_t)p->starts,
                          "checks", (json_int_t)p->checks);
    char *text = j ? jsonu_dump(j) : NULL;
    int rc = text ? write_file(data_dir, "pending", text) : -ENOMEM;

    json_decref(j);
    free(text);
    return rc;
}

int update_pending_remove(const char *data_dir)
{
    char path[4096];
    int rc = update_path(data_dir, "pending", path, sizeof path);

    if (rc)
        return rc;
    return unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
}

int update_last_write(const char *data_dir, const char *state, const char *target)
{
    json_t *j = json_pack("{s:s, s:s}", "state", state, "target", target ? target : "");
    char *text = j ? jsonu_dump(j) : NULL;
    int rc = text ? write_file(data_dir, "last", text) : -ENOMEM;

    json_decref(j);
    free(text);
    return rc;
}

void update_last_read(const char *data_dir, char *state, size_t sn, char *target, size_t tn)
{
    char *text, err[64];
    const char *s = NULL, *t = NULL;
    json_t *j;

    state[0] = target[0] = '\0';
    if (read_file(data_dir, "last", 4096, &text) != 0)
        return;
    j = jsonu_parse(text, strlen(text), 4096, err, sizeof err);
    free(text);
    if (j && jsonu_str(j, "state", &s, err, sizeof err) == 0 && s &&
        jsonu_str(j, "target", &t, err, sizeof err) == 0 && t) {
        snprintf(state, sn, "%s", s);
        snprintf(target, tn, "%s", t);
    }
    json_decref(j);
}

/* fsync of the directory holding path, so a rename survives a crash. */
static void sync_dir_of(const char *path)
{
    char copy[4096];
    int fd;

    snprintf(copy, sizeof copy, "%s", path);
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        if (fsync(fd) != 0)
            log_warn("update: fsync of %s: %s", copy, strerror(errno));
        close(fd);
    }
}

int update_rollback(const char *data_dir, const struct update_pending *p, const char *why)
{
    char state[128];

    if (access(p->prev_path, X_OK) != 0) {
        log_error("update: cannot roll back to %s: %s", p->prev_path, strerror(errno));
        return -errno;
    }
    if (rename(p->prev_path, p->exe) != 0) {
        log_error("update: cannot restore %s: %s", p->exe, strerror(errno));
        return -errno;
    }
    sync_dir_of(p->exe);
    log_warn("update: %s rolled back to %s (%s)", p->version, p->previous, why);
    snprintf(state, sizeof state, "rolled_back: %s", why);
    if (update_mark_bad(data_dir, p->version) != 0 ||
        update_last_write(data_dir, state, p->version) != 0)
        log_error("update: cannot record the rollback of %s", p->version);
    return update_pending_remove(data_dir);
}

int update_rollback_check(const char *data_dir, int64_t now_ms)
{
    struct update_pending p;
    int rc = update_pending_read(data_dir, &p);

    if (rc == -ENOENT)
        return 0;
    if (rc)
        return rc;
    p.checks++;
    if (p.checks >= UPDATE_MAX_STARTS)
        return update_rollback(data_dir, &p, "did not stay up") == 0 ? 1 : -EIO;
    if (now_ms > p.deadline)
        return update_rollback(data_dir, &p, "not healthy before the deadline") == 0 ? 1 : -EIO;
    rc = update_pending_write(data_dir, &p);
    return rc ? rc : 0;
}
