/* Task journal; see journal.h. */
#include "task/journal.h"
#include "common/fsutil.h"
#include "common/tm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* fsync of a file (O_NOFOLLOW: never through a planted link) or a directory. 0 or -errno. */
static int fsync_path(const char *path, int flags)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | flags), rc = 0;
    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

static int fsync_dir(const char *path)
{
    return fsync_path(path, O_DIRECTORY);
}

int journal_init(const char *data_dir)
{
    char path[PATH_MAX];
    int rc;

    if (snprintf(path, sizeof path, "%s/tasks", data_dir) >= (int)sizeof path)
        return -ENAMETOOLONG;
    rc = fs_mkdir_p(path, 0711);
    /* non-root task users must traverse DATA and DATA/tasks to reach their script */
    if (!rc && (chmod(data_dir, 0711) < 0 || chmod(path, 0711) < 0))
        rc = -errno;
    return rc;
}

int journal_dir(const char *data_dir, const char *task_id, char *out, size_t n)
{
    if (!id_valid(task_id, ID_TASK))
        return -EINVAL;
    if (snprintf(out, n, "%s/tasks/%s", data_dir, task_id) >= (int)n)
        return -ENAMETOOLONG;
    return 0;
}

int journal_create(const char *data_dir, const char *task_id, const char *json, size_t len)
{
    char dir[PATH_MAX], path[PATH_MAX + 16];
    int rc = journal_dir(data_dir, task_id, dir, sizeof dir);

    if (rc)
        return rc;
    if (mkdir(dir, 0711) < 0)
        return -errno; /* EEXIST: a duplicate delivery */
    if (chmod(dir, 0711) < 0) /* umask may have narrowed it */
        return -errno;
    snprintf(path, sizeof path, "%s/task.json", dir);
    /* not fsync'd yet: journal_mark_spawned makes the whole entry durable before the shim runs,
     * and a task that never ran may be forgotten by a machine crash (the server offers it again
     * or its lease runs out) */
    return fs_write_atomic(path, json, len, 0600, false);
}

int journal_mark_spawned(const char *dir)
{
    return journal_mark_fast(dir, "spawned");
}

int journal_sync_entry(const char *dir)
{
    char path[PATH_MAX + 16], parent[PATH_MAX];
    char *slash;
    int rc;

    if (snprintf(path, sizeof path, "%s/task.json", dir) >= (int)sizeof path ||
        snprintf(parent, sizeof parent, "%s", dir) >= (int)sizeof parent)
        return -ENAMETOOLONG;
    rc = fsync_path(path, O_NOFOLLOW);
    /* one sync of the directory covers both names (task.json and spawned); then the entry
     * itself in DATA/tasks */
    if (!rc)
        rc = fsync_dir(dir);
    slash = strrchr(parent, '/');
    if (!rc && slash && slash != parent) {
        *slash = '\0';
        rc = fsync_dir(parent);
    }
    return rc;
}

int journal_sync_result(const char *dir)
{
    char path[PATH_MAX + 16];
    int rc;

    if (snprintf(path, sizeof path, "%s/result", dir) >= (int)sizeof path)
        return -ENAMETOOLONG;
    rc = fsync_path(path, O_NOFOLLOW);
    return rc ? rc : fsync_dir(dir);
}

int journal_mark(const char *dir, const char *name, const char *content)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return -ENAMETOOLONG;
    return fs_write_atomic(path, content ? content : "", content ? strlen(content) : 0, 0600,
                           true);
}

int journal_mark_fast(const char *dir, const char *name)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return -ENAMETOOLONG;
    return fs_write_atomic(path, "", 0, 0600, false);
}

bool journal_has(const char *dir, const char *name)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return false;
    return access(path, F_OK) == 0;
}

int journal_proc_start_time(pid_t pid, uint64_t *out)
{
    char path[64], *text = NULL, *p;
    size_t len;
    int rc, field = 2;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    rc = fs_read_all(path, 4096, &text, &len);
    if (rc)
        return rc;
    /* the command name may hold spaces and parentheses: fields restart after the last ')' */
    p = strrchr(text, ')');
    rc = -EINVAL;
    while (p && *p) {
        if (*p == ' ' && ++field == 22) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(p + 1, &end, 10);
            if (!errno && end != p + 1) {
                *out = v;
                rc = 0;
            }
            break;
        }
        p++;
    }
    free(text);
    return rc;
}

static int read_shim_pid(const char *dir, pid_t *pid, uint64_t *starttime)
{
    char path[PATH_MAX], *text = NULL;
    size_t len;
    long long p;
    unsigned long long st;
    int rc;

    snprintf(path, sizeof path, "%s/shim.pid", dir);
    rc = fs_read_all(path, 128, &text, &len);
    if (rc)
        return rc;
    rc = sscanf(text, "%lld %llu", &p, &st) == 2 && p > 1 && p <= INT_MAX ? 0 : -EINVAL;
    free(text);
    if (!rc) {
        *pid = (pid_t)p;
        *starttime = st;
    }
    return rc;
}

enum journal_state journal_classify(const char *dir, pid_t *pid, uint64_t *starttime)
{
    uint64_t now_start;

    if (journal_has(dir, "finished"))
        return JOURNAL_FINISHED;
    if (!journal_has(dir, "task.json"))
        return JOURNAL_BROKEN;
    if (!journal_has(dir, "spawned"))
        return JOURNAL_NEW;
    if (read_shim_pid(dir, pid, starttime) == 0 &&
        journal_proc_start_time(*pid, &now_start) == 0 && now_start == *starttime)
        return JOURNAL_RUNNING;
    return journal_has(dir, "result") ? JOURNAL_REPORT : JOURNAL_LOST;
}

int journal_foreach(const char *data_dir, void (*cb)(void *ud, const char *task_id, const char *dir),
                    void *ud)
{
    char path[PATH_MAX], dir[PATH_MAX];
    struct dirent *de;
    DIR *d;

    snprintf(path, sizeof path, "%s/tasks", data_dir);
    d = opendir(path);
    if (!d)
        return -errno;
    while ((de = readdir(d)) != NULL) {
        if (!id_valid(de->d_name, ID_TASK))
            continue;
        if (journal_dir(data_dir, de->d_name, dir, sizeof dir) == 0)
            cb(ud, de->d_name, dir);
    }
    closedir(d);
    return 0;
}

struct gc_ctx {
    int64_t max_age_ms;
    int removed;
};

static void gc_one(void *ud, const char *task_id, const char *dir)
{
    struct gc_ctx *g = ud;
    char path[PATH_MAX];
    struct stat st;
    pid_t pid;
    uint64_t start;
    enum journal_state s = journal_classify(dir, &pid, &start);

    (void)task_id;
    if (s == JOURNAL_FINISHED) {
        snprintf(path, sizeof path, "%s/finished", dir);
        if (stat(path, &st) < 0 ||
            tm_now_ms() - (int64_t)st.st_mtime * 1000 < g->max_age_ms)
            return;
    } else if (s != JOURNAL_BROKEN ||
               /* a broken entry may be one the dispatcher is creating right now */
               stat(dir, &st) < 0 || tm_now_ms() - (int64_t)st.st_mtime * 1000 < 60000) {
        return;
    }
    if (fs_rm_rf(dir) == 0)
        g->removed++;
}

int journal_gc(const char *data_dir, int64_t max_age_ms)
{
    struct gc_ctx g = { .max_age_ms = max_age_ms };
    int rc = journal_foreach(data_dir, gc_one, &g);
    return rc < 0 ? rc : g.removed;
}
