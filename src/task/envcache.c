/* Login environment cache; see envcache.h. */
#include "task/envcache.h"
#include "common/buf.h"
#include "common/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ENVCACHE_MAX ((1 << 20) + 8192)
#define MAGIC "tether-envcache 1"

/* What a login shell of either family reads (bash -l and sh -l, plus an interactive bashrc that
 * profiles commonly source). {etc} and {home} relative; the order fixes the `present` bits. */
static const struct watched {
    bool in_home;
    const char *name;
} watched[] = {
    { false, "profile" },  { false, "profile.d" }, { false, "bash.bashrc" },
    { false, "environment" }, { true, ".profile" }, { true, ".bash_profile" },
    { true, ".bash_login" }, { true, ".bashrc" },
};
#define NWATCHED (sizeof watched / sizeof watched[0])

int64_t envcache_now_ns(void)
{
    struct timespec ts;
    /* The clock file times come from: the precise clock runs up to a tick ahead of it, so a file
     * edited just after a precise reading could look older than the capture and be missed. */
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void watched_path(const struct envcache_key *k, size_t i, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", watched[i].in_home ? k->home : (k->etc ? k->etc : "/etc"),
             watched[i].name);
}

static int64_t changed_ns(const struct stat *st)
{
    int64_t m = (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
    int64_t c = (int64_t)st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec;
    /* ctime cannot be set back (touch -d, cp -p, rsync -t keep an old mtime on new content) */
    return m > c ? m : c;
}

uint32_t envcache_present(const struct envcache_key *k)
{
    char path[PATH_MAX];
    struct stat st;
    uint32_t bits = 0;

    for (size_t i = 0; i < NWATCHED; i++) {
        watched_path(k, i, path, sizeof path);
        if (stat(path, &st) == 0)
            bits |= 1u << i;
    }
    return bits;
}

/* Every entry of profile.d: adding or removing one changes the directory's times, editing one
 * changes only its own. */
static bool dir_entries_older(const char *dir, int64_t captured_ns)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    struct stat st;
    bool ok = true;

    if (!d)
        return errno == ENOENT;
    while (ok && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, 0) == 0 && changed_ns(&st) >= captured_ns)
            ok = false;
    }
    closedir(d);
    return ok;
}

bool envcache_fresh(const struct envcache_key *k, int64_t captured_ns, uint32_t present,
                    int64_t now_ns, int64_t max_age_s)
{
    char path[PATH_MAX];
    struct stat st;

    if (max_age_s <= 0 || captured_ns > now_ns || now_ns - captured_ns >= max_age_s * 1000000000LL)
        return false;
    for (size_t i = 0; i < NWATCHED; i++) {
        bool was = present & (1u << i);
        watched_path(k, i, path, sizeof path);
        if (stat(path, &st) != 0) {
            /* gone, or not stat-able any more (EACCES on a root-squashed home): not trusted */
            if (was || errno != ENOENT)
                return false;
            continue;
        }
        if (!was || changed_ns(&st) >= captured_ns)
            return false;
        if (S_ISDIR(st.st_mode) && !dir_entries_older(path, captured_ns))
            return false;
    }
    return true;
}

static int cache_path(const char *data_dir, uid_t uid, char *out, size_t n)
{
    if (snprintf(out, n, "%s/envcache/%u.env", data_dir, (unsigned)uid) >= (int)n)
        return -ENAMETOOLONG;
    return 0;
}

static int header(const struct envcache_key *k, int64_t captured_ns, uint32_t present, char *out,
                  size_t n)
{
    int len = snprintf(out, n, MAGIC " uid=%u captured=%" PRId64 " present=%" PRIx32
                       " user=%s home=%s shell=%s", (unsigned)k->uid, captured_ns, present,
                       k->user, k->home, k->shell);
    return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : len;
}

int envcache_load(const char *data_dir, const struct envcache_key *k, int64_t max_age_s,
                  struct shim_env *out)
{
    char path[PATH_MAX], want[PATH_MAX * 2 + 256], *text = NULL, *hdr_end;
    long long captured;
    unsigned present;
    size_t len;
    int rc, n;

    if (max_age_s <= 0)
        return 1;
    if ((rc = cache_path(data_dir, k->uid, path, sizeof path)) != 0)
        return rc;
    rc = fs_read_all(path, ENVCACHE_MAX, &text, &len);
    if (rc)
        return rc == -ENOENT ? 1 : rc;
    rc = 1;
    hdr_end = memchr(text, '\0', len);
    if (!hdr_end || sscanf(text, MAGIC " uid=%*u captured=%lld present=%x", &captured,
                           &present) != 2)
        goto out;
    /* the whole header must match, byte for byte, what this key would have written */
    n = header(k, (int64_t)captured, (uint32_t)present, want, sizeof want);
    if (n < 0 || (size_t)n != (size_t)(hdr_end - text) || memcmp(want, text, (size_t)n) != 0)
        goto out;
    if (!envcache_fresh(k, (int64_t)captured, (uint32_t)present, envcache_now_ns(), max_age_s))
        goto out;
    hdr_end++;
    if (shim_env_parse_nul(out, hdr_end, len - (size_t)(hdr_end - text)) <= 0) {
        shim_env_free(out);
        goto out;
    }
    rc = 0;
out:
    free(text);
    return rc;
}

int envcache_store(const char *data_dir, const struct envcache_key *k, int64_t captured_ns,
                   uint32_t present, const struct shim_env *env)
{
    char path[PATH_MAX], hdr[PATH_MAX * 2 + 256];
    struct buf b = { 0 };
    struct stat st;
    int rc, n;

    if ((rc = cache_path(data_dir, k->uid, path, sizeof path)) != 0)
        return rc;
    *strrchr(path, '/') = '\0';
    /* 0700 root: the cache holds whatever a user's profile exports (tokens, keys) */
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return -errno;
    /* a planted symlink or a loosened directory is refused, not written through */
    if (lstat(path, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
        return -EPERM;
    path[strlen(path)] = '/';
    n = header(k, captured_ns, present, hdr, sizeof hdr);
    if (n < 0)
        return n;
    rc = buf_append(&b, hdr, (size_t)n + 1);
    for (size_t i = 0; !rc && i < env->n; i++)
        rc = buf_append(&b, env->vars[i], strlen(env->vars[i]) + 1);
    if (!rc)
        rc = b.len > ENVCACHE_MAX ? -EFBIG : fs_write_atomic(path, b.data, b.len, 0600, false);
    buf_free(&b);
    return rc;
}
