/*
 * Installing a release (see update.h): everything the server says is checked against the manifest
 * signed with the pinned key before it matters — the version ratchet and expiry refuse replays of
 * old signed releases, the size bounds the download, the SHA-256 binds the bytes — and the new
 * binary must answer `version` before it replaces this one.
 */
#include "main/update.h"
#include "main/update_files.h"
#include "bypass/running_tasks.h"
#include "common/crypto.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/release.h"
#include "common/tm.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define SMOKE_TIMEOUT_MS 5000

extern char **environ;

void update_platform(char os[32], char arch[32])
{
    struct utsname u;

    snprintf(os, 32, "linux");
    if (uname(&u) == 0)
        snprintf(arch, 32, "%.31s", u.machine);
    else
        snprintf(arch, 32, "unknown");
}

/* Signature, then the manifest's own fields against this agent. */
static int check_manifest(struct agent *a, const char *text, const char *sig,
                          struct release_manifest *m, char *why, size_t whylen)
{
    char os[32], arch[32], ratchet[64], err[160];
    int rc = release_verify(a->cfg.update_pubkey, text, strlen(text), sig);

    if (rc)
        return snprintf(why, whylen, "bad signature"), -EBADMSG;
    if (release_manifest_parse(text, strlen(text), m, err, sizeof err))
        return snprintf(why, whylen, "bad manifest: %s", err), -EINVAL;
    update_platform(os, arch);
    if (strcmp(m->os, os) || strcmp(m->arch, arch) || strcmp(m->channel, a->cfg.update_channel))
        return snprintf(why, whylen, "manifest for %s/%s/%s, not this agent", m->os, m->arch,
                        m->channel), -EINVAL;
    if (tm_now_ms() > m->expires_at)
        return snprintf(why, whylen, "expired manifest"), -EKEYEXPIRED;
    if (update_is_bad(a->cfg.data_dir, m->version))
        return 1;
    if (update_ratchet_read(a->cfg.data_dir, ratchet, sizeof ratchet) != 0)
        return snprintf(why, whylen, "unreadable ratchet file"), -EIO;
    if (release_version_cmp(m->version, TETHER_VERSION) <= 0 ||
        (ratchet[0] && release_version_cmp(m->version, ratchet) <= 0))
        return snprintf(why, whylen, "downgrade refused (%s, have %s)", m->version,
                        ratchet[0] && release_version_cmp(ratchet, TETHER_VERSION) > 0
                            ? ratchet : TETHER_VERSION), -ERANGE;
    return 0;
}

struct dl {
    int fd;
    int64_t got, limit;
    bool too_big;
};

static int dl_write(void *ud, const char *data, size_t n)
{
    struct dl *d = ud;

    if (d->got + (int64_t)n > d->limit) {
        d->too_big = true;
        return 1;
    }
    if (fs_write_full(d->fd, data, n) != 0)
        return 1;
    d->got += (int64_t)n;
    return 0;
}

/* Downloads into DATA/update/staged.part, resuming a previous part of the same digest. */
static int download(struct agent *a, struct http_client *hc, const struct release_manifest *m,
                    const char *part, char *why, size_t whylen)
{
    char path[128], tag[4096], *old = NULL;
    size_t oldlen = 0;
    struct dl d = { .fd = -1, .limit = m->size };
    int rc = -EIO;

    /* The part belongs to one digest: a part of another release starts over. */
    if (update_path(a->cfg.data_dir, "staged.sha256", tag, sizeof tag) ||
        (fs_read_all(tag, 128, &old, &oldlen) != 0 || strncmp(old, m->sha256, 64) != 0)) {
        unlink(part);
        if (fs_write_atomic(tag, m->sha256, 64, 0600, false) != 0)
            log_warn("update: cannot write %s", tag);
    }
    free(old);
    d.fd = open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (d.fd < 0)
        return snprintf(why, whylen, "cannot write %s: %s", part, strerror(errno)), -errno;
    d.got = lseek(d.fd, 0, SEEK_END);
    snprintf(path, sizeof path, "/v1/artifacts/%s", m->sha256);
    for (int attempt = 0; attempt < 3 && d.got < m->size && !atomic_load(&a->stopping);
         attempt++) {
        struct http_response r = { 0 };
        int64_t before = d.got;
        int hrc = http_download(hc, path, d.got, dl_write, &d, &r);
        if (hrc == 0 && r.status == 200 && before > 0) {
            /* The server ignored the Range and sent everything: start over. */
            http_response_free(&r);
            if (ftruncate(d.fd, 0) != 0)
                break;
            d.got = 0;
            continue;
        }
        bool ok = hrc == 0 && (r.status == 200 || r.status == 206);
        http_response_free(&r);
        if (d.too_big || !ok || d.got == before)
            break;
    }
    if (d.too_big)
        snprintf(why, whylen, "download larger than the manifest's %lld bytes",
                 (long long)m->size);
    else if (d.got != m->size)
        snprintf(why, whylen, "truncated download (%lld of %lld bytes)", (long long)d.got,
                 (long long)m->size);
    else
        rc = 0;
    if (fsync(d.fd) != 0 && rc == 0)
        rc = -EIO;
    close(d.fd);
    if (d.too_big)
        unlink(part);
    return rc;
}

static int sha256_file(const char *path, char hex[65])
{
    unsigned char buf[65536], md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -EIO;
    ssize_t n;

    if (fd < 0 || !ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        goto out;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
            goto out;
    if (n < 0 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
        goto out;
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Copies src to dst (created 0755, fsynced). */
static int copy_file(const char *src, const char *dst)
{
    char buf[65536];
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = -EIO;
    ssize_t n;

    if (in < 0)
        return -errno;
    unlink(dst);
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    if (out < 0) {
        rc = -errno;
        goto done;
    }
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (fs_write_full(out, buf, (size_t)n) != 0)
            goto done;
    if (n == 0 && fchmod(out, 0755) == 0 && fsync(out) == 0)
        rc = 0;
done:
    if (out >= 0 && close(out) != 0)
        rc = -EIO;
    close(in);
    return rc;
}

/* Runs `exe version` and wants "tether-agent VERSION" within SMOKE_TIMEOUT_MS. posix_spawn: no
 * code of ours runs between fork and exec in this threaded process. */
static int smoke_run(const char *exe, const char *version, char *why, size_t whylen)
{
    char out[256] = "", want[64];
    char *argv[] = { (char *)exe, "version", NULL };
    posix_spawn_file_actions_t fa;
    int pipefd[2], status = 0, rc = -EIO;
    size_t got = 0;
    int64_t deadline = tm_mono_ms() + SMOKE_TIMEOUT_MS;
    pid_t pid = -1;

    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return snprintf(why, whylen, "smoke test: pipe: %s", strerror(errno)), -errno;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (posix_spawn(&pid, exe, &fa, NULL, argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    while (pid > 0 && got < sizeof out - 1) {
        struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
        int64_t left = deadline - tm_mono_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t n = read(pipefd[0], out + got, sizeof out - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(pipefd[0]);
    out[got] = '\0';
    if (pid > 0) {
        if (tm_mono_ms() >= deadline)
            kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    snprintf(want, sizeof want, "tether-agent %s\n", version);
    if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && strcmp(out, want) == 0)
        rc = 0;
    else
        snprintf(why, whylen, "smoke test failed (`version` did not print \"tether-agent %s\")",
                 version);
    return rc;
}

/* Keeps the running binary as <exe>.prev, writes pending, renames the new one over <exe>. */
static int swap(struct agent *a, const struct release_manifest *m, const char *staged,
                char *why, size_t whylen)
{
    struct update_pending p = { 0 };
    int rc;

    snprintf(p.version, sizeof p.version, "%s", m->version);
    snprintf(p.previous, sizeof p.previous, "%s", TETHER_VERSION);
    snprintf(p.exe, sizeof p.exe, "%s", a->exe_path);
    snprintf(p.prev_path, sizeof p.prev_path, "%s.prev", a->exe_path);
    p.deadline = tm_now_ms() + a->cfg.update_health_deadline * 1000;
    unlink(p.prev_path);
    if (link(p.exe, p.prev_path) != 0 && (rc = copy_file(p.exe, p.prev_path)) != 0)
        return snprintf(why, whylen, "cannot keep %s: %s", p.prev_path, strerror(-rc)), rc;
    /* pending first: a crash between the two steps is then seen as a failed update. */
    if ((rc = update_pending_write(a->cfg.data_dir, &p)) != 0)
        return snprintf(why, whylen, "cannot write the pending file: %s", strerror(-rc)), rc;
    if (rename(staged, p.exe) != 0) {
        rc = -errno;
        update_pending_remove(a->cfg.data_dir);
        return snprintf(why, whylen, "cannot replace %s: %s", p.exe, strerror(-rc)), rc;
    }
    if (update_ratchet_raise(a->cfg.data_dir, m->version) != 0)
        log_warn("update: cannot raise the version ratchet to %s", m->version);
    return 0;
}

/* update_when_idle: holds the swap until no task runs. false when stopping. */
static bool wait_idle(struct agent *a)
{
    while (a->cfg.update_when_idle && running_tasks_count(a->rt) > 0) {
        if (atomic_load(&a->stopping))
            return false;
        tm_sleep_ms(500);
    }
    return !atomic_load(&a->stopping);
}

int update_apply(struct agent *a, struct http_client *hc, const char *manifest, const char *sig,
                 char *why, size_t whylen)
{
    struct release_manifest m;
    char part[4096], staged[4200], hex[65];
    int rc = check_manifest(a, manifest, sig, &m, why, whylen);

    if (rc)
        return rc;
    log_info("update: release %s offered (%lld bytes, sha256 %s)", m.version, (long long)m.size,
             m.sha256);
    update_state_set(a, "downloading", m.version);
    if (update_path(a->cfg.data_dir, "staged.part", part, sizeof part) != 0)
        return snprintf(why, whylen, "data directory path too long"), -ENAMETOOLONG;
    rc = download(a, hc, &m, part, why, whylen);
    if (rc)
        return rc;
    if (sha256_file(part, hex) != 0 || strcmp(hex, m.sha256) != 0) {
        unlink(part);
        return snprintf(why, whylen, "sha256 mismatch"), -EBADMSG;
    }
    /* Staged beside the binary: the same file system makes the final rename atomic, and a
     * noexec data directory cannot fail the smoke test for the wrong reason. */
    snprintf(staged, sizeof staged, "%s.new", a->exe_path);
    if ((rc = copy_file(part, staged)) != 0)
        return snprintf(why, whylen, "cannot stage %s: %s", staged, strerror(-rc)), rc;
    unlink(part);
    if ((rc = smoke_run(staged, m.version, why, whylen)) != 0) {
        unlink(staged);
        return rc;
    }
    update_state_set(a, "staged", m.version);
    if (!wait_idle(a)) {
        unlink(staged);
        return snprintf(why, whylen, "stopped before the swap"), -ECANCELED;
    }
    rc = swap(a, &m, staged, why, whylen);
    if (rc)
        unlink(staged);
    else
        log_info("update: %s installed at %s (previous kept as %s.prev); restarting", m.version,
                 a->exe_path, a->exe_path);
    return rc;
}
