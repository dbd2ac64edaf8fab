/*
 * Task shim main loop; see shim.h. Order of work: record our pid, load and re-validate the task,
 * resolve the user and check their shell, write the script, make the task's cgroup (limits),
 * capture the user's login environment, fork the command, then spool its output until both pipes
 * close (or 500 ms after the command exited: a background child holding stdout must not hang the
 * task), clean up the cgroup and write DIR/result atomically.
 */
#include "task/shim.h"
#include "task/cgroup.h"
#include "task/envcache.h"
#include "task/journal.h"
#include "task/shim_child.h"
#include "task/shim_env.h"
#include "task/shim_hide.h"
#include "task/shim_profile.h"
#include "task/verdict.h"
#include "task/spool.h"
#include "task/task_spec.h"
#include "common/fsutil.h"
#include "common/jsonutil.h"
#include "common/tm.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DRAIN_AFTER_EXIT_MS 500
#define READ_CHUNK 65536

struct shim {
    const char *dir;
    int dir_fd;              /* DIR, opened without following a symlink; files made relative */
    char data_dir[PATH_MAX]; /* DIR/../.. */
    char identity[PATH_MAX + 16];
    struct shim_hide hide;
    struct task_spec spec;
    struct passwd pw;
    char pwbuf[4096];
    gid_t *groups;           /* the user's supplementary groups, listed before the fork */
    int ngroups;
    char script[PATH_MAX];
    int spool_fd, sig_fd;
    int pipes[3];            /* [1] stdout, [2] stderr read ends, -1 when closed */
    pid_t child;
    int child_status;
    bool child_exited;
    int64_t exited_at, deadline, kill_at;
    enum kill_reason reason;
    bool killed_hard;
    uint64_t output_bytes, spooled, dropped;
    int spool_errno;         /* set when a spool write failed: nothing more is written */
    char *buf;
    struct cgroup_host *host;
    struct cgroup_task cg;
    bool never_ran;          /* cancelled or timed out while the profile ran */
    char note[256];          /* one-line warning for the agent log ("" for none) */
};

static int write_result(struct shim *s, const char *status, json_t *exit_code, const char *sig,
                        const char *error)
{
    char path[PATH_MAX], ts[32];
    json_t *r;
    char *text;
    int rc;

    tm_format_rfc3339(tm_now_ms(), ts, sizeof ts);
    r = json_pack("{s:s, s:o, s:s?, s:s?, s:I, s:I, s:s, s:s?}", "status", status, "exit_code",
                  exit_code ? exit_code : json_null(), "signal", sig, "error", error,
                  "output_bytes", (json_int_t)s->output_bytes, "spool_dropped_bytes",
                  (json_int_t)s->dropped, "finished_at", ts, "note",
                  s->note[0] ? s->note : NULL);
    text = r ? jsonu_dump(r) : NULL;
    json_decref(r);
    if (!text)
        return -ENOMEM;
    snprintf(path, sizeof path, "%s/result", s->dir);
    /* Not fsync'd: the agent reports it at once and syncs it only if the server does not take
     * it. A machine crash in between makes the task undetermined, never wrong. */
    rc = fs_write_atomic(path, text, strlen(text), 0600, false);
    if (rc == -ENOSPC || rc == -EDQUOT) {
        /* the verdict matters more than anything else on this disk: give up the reserve */
        snprintf(path, sizeof path, "%s/result.reserve", s->dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/result", s->dir);
        rc = fs_write_atomic(path, text, strlen(text), 0600, false);
    }
    free(text);
    return rc;
}

/* Keeps RESERVE_BYTES of the disk for the result, so a task that fills the disk with output is
 * still reported with its real verdict rather than as lost. */
#define RESERVE_BYTES (64 * 1024)
static void reserve_space(int dir_fd)
{
    int fd;

    /* new every time (O_EXCL): never truncate or extend whatever a planted link points at */
    unlinkat(dir_fd, "result.reserve", 0);
    fd = openat(dir_fd, "result.reserve", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                0600);
    if (fd < 0)
        return;
    if (posix_fallocate(fd, 0, RESERVE_BYTES) != 0)
        unlinkat(dir_fd, "result.reserve", 0);
    close(fd);
}

static int start_failed(struct shim *s, const char *msg)
{
    return write_result(s, "start_failed", NULL, NULL, msg) == 0 ? 0 : 1;
}

static int write_pidfile(const char *dir)
{
    char path[PATH_MAX], text[64];
    uint64_t st = 0;
    int rc = journal_proc_start_time(getpid(), &st);

    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/shim.pid", dir);
    snprintf(text, sizeof text, "%d %llu\n", (int)getpid(), (unsigned long long)st);
    /* not fsync'd: after a machine crash the shim is gone whatever the file says */
    return fs_write_atomic(path, text, strlen(text), 0600, false);
}

static int load_task(struct shim *s, char *err, size_t errlen)
{
    char path[PATH_MAX], *text = NULL;
    size_t len;
    json_t *j;
    int rc;

    snprintf(path, sizeof path, "%s/task.json", s->dir);
    rc = fs_read_all(path, 1 << 20, &text, &len);
    if (rc) {
        snprintf(err, errlen, "cannot read task.json: %s", strerror(-rc));
        return rc;
    }
    j = jsonu_parse(text, len, 1 << 20, err, errlen);
    free(text);
    if (!j)
        return -EINVAL;
    rc = task_spec_parse(j, &s->spec, err, errlen);
    json_decref(j);
    return rc;
}

static int write_script(struct shim *s, char *err, size_t errlen)
{
    int fd, rc = 0;

    snprintf(s->script, sizeof s->script, "%s/script", s->dir);
    unlinkat(s->dir_fd, "script", 0);
    fd = openat(s->dir_fd, "script", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700);
    if (fd < 0)
        rc = -errno;
    if (!rc)
        rc = fs_write_full(fd, s->spec.command, s->spec.command_len);
    /* the interpreter runs as the task's user and must be able to read the script */
    if (!rc && fchown(fd, s->pw.pw_uid, s->pw.pw_gid) < 0 && geteuid() == 0)
        rc = -errno;
    if (!rc && fchmod(fd, 0700) < 0)
        rc = -errno;
    if (fd >= 0 && close(fd) < 0 && !rc)
        rc = -errno;
    if (rc)
        snprintf(err, errlen, "cannot write script: %s", strerror(-rc));
    return rc;
}

/* Appends output to the spool, or past spool_limit only counts it (the task never blocks). */
static void spool_output(struct shim *s, int stream, const char *data, size_t n)
{
    s->output_bytes += (uint64_t)n;
    if (s->spec.spool_limit > 0 &&
        s->spooled + (uint64_t)n + SPOOL_HDR > (uint64_t)s->spec.spool_limit) {
        s->dropped += (uint64_t)n;
        return;
    }
    if (s->spool_errno) {
        s->dropped += (uint64_t)n;
        return;
    }
    int rc = spool_append(s->spool_fd, stream, data, n);
    if (rc == 0) {
        s->spooled += (uint64_t)n + SPOOL_HDR;
        return;
    }
    /* A failed write (disk full) may have left half a record: cut the file back to the last
     * whole one and take nothing more, so what is kept stays readable and in order. */
    s->spool_errno = -rc;
    s->dropped += (uint64_t)n;
    if (ftruncate(s->spool_fd, (off_t)s->spooled) != 0)
        s->spool_errno = errno;
}

static const char *login_shell(const struct shim *s)
{
    return s->pw.pw_shell && *s->pw.pw_shell ? s->pw.pw_shell : "/bin/sh";
}

static int base_env(struct shim *s, struct shim_env *e)
{
    int rc = 0;

    rc |= shim_env_set(e, "HOME", s->pw.pw_dir);
    rc |= shim_env_set(e, "USER", s->pw.pw_name);
    rc |= shim_env_set(e, "LOGNAME", s->pw.pw_name);
    rc |= shim_env_set(e, "SHELL", login_shell(s));
    rc |= shim_env_set(e, "PATH", shim_env_path());
    if (rc)
        return -ENOMEM;
    return shim_env_load_file(e, "/etc/environment");
}

static struct shim_child_args child_args(struct shim *s, char *const *envp)
{
    return (struct shim_child_args){ .user = s->pw.pw_name, .uid = s->pw.pw_uid,
                                     .gid = s->pw.pw_gid,
                                     .groups = s->groups, .ngroups = s->ngroups,
                                     .workdir = s->spec.workdir ? s->spec.workdir : s->pw.pw_dir,
                                     .workdir_explicit = s->spec.workdir != NULL,
                                     .interpreter = s->spec.interpreter, .script = s->script,
                                     .envp = envp, .out_fd = -1, .err_fd = -1, .status_fd = -1,
                                     .cg = &s->cg, .hide = &s->hide };
}

/* Runs the user's profile and replaces *e with what it exported. On a timeout or failure the
 * base environment stays and a note goes to the task's stderr. Returns 1 when a timeout or
 * cancel signal arrived meanwhile (the command must not start), else 0. */
static int login_env(struct shim *s, struct shim_env *e)
{
    struct shim_env prof = { 0 };
    struct shim_child_args a = child_args(s, e->vars);
    enum profile_result r;
    char line[300];
    int sig = 0;

    struct envcache_key key = { .uid = s->pw.pw_uid, .user = s->pw.pw_name,
                                .home = s->pw.pw_dir, .shell = login_shell(s), .etc = "/etc" };
    int64_t captured;
    uint32_t present;

    if (s->spec.profile_cache_s > 0 &&
        envcache_load(s->data_dir, &key, s->spec.profile_cache_s, &prof) == 0) {
        shim_env_free(e);
        *e = prof;
        return 0;
    }
    shim_env_free(&prof);
    /* taken before the profile runs: a file edited while it runs makes the capture stale */
    captured = envcache_now_ns();
    present = envcache_present(&key);
    a.workdir = s->pw.pw_dir;
    a.workdir_explicit = false;
    r = shim_profile_capture(&a, login_shell(s), s->spec.profile_timeout_s * 1000, s->sig_fd,
                             &prof, &sig);
    if (r == PROFILE_OK) {
        /* only a profile that finished is cached; a failure to store just costs the next task */
        if (s->spec.profile_cache_s > 0)
            (void)envcache_store(s->data_dir, &key, captured, present, &prof);
        shim_env_free(e);
        *e = prof;
        return 0;
    }
    shim_env_free(&prof);
    if (r == PROFILE_SIGNALLED) {
        s->reason = sig == SIGUSR1 ? KILL_TIMEOUT : KILL_CANCEL;
        s->never_ran = true;
        return 1;
    }
    if (r == PROFILE_TIMEOUT)
        snprintf(s->note, sizeof s->note,
                 "profile of user '%s' did not finish in %lld s; running without it",
                 s->pw.pw_name, (long long)s->spec.profile_timeout_s);
    else
        snprintf(s->note, sizeof s->note, "profile of user '%s' failed; running without it",
                 s->pw.pw_name);
    snprintf(line, sizeof line, "tether: %s\n", s->note);
    spool_output(s, SPOOL_STDERR, line, strlen(line));
    return 0;
}

/* The login environment, the task's env on top, and the identity variables forced last. Returns
 * 0, 1 when cancelled meanwhile, or -ENOMEM. */
static int build_env(struct shim *s, struct shim_env *e)
{
    const char *k;
    json_t *v;
    int rc = base_env(s, e);

    if (rc)
        return rc;
    if (s->spec.login_profile && login_env(s, e) != 0)
        return 1;
    json_object_foreach(s->spec.env, k, v) {
        rc = shim_env_set(e, k, json_string_value(v));
        if (rc)
            return rc;
    }
    rc |= shim_env_set(e, "HOME", s->pw.pw_dir);
    rc |= shim_env_set(e, "USER", s->pw.pw_name);
    rc |= shim_env_set(e, "LOGNAME", s->pw.pw_name);
    rc |= shim_env_set(e, "SHELL", login_shell(s));
    return rc ? -ENOMEM : 0;
}

/* Forks the command. Returns 0 (also when cancelled before it started: s->never_ran), or -1 with
 * err holding the start failure. */
static int spawn_command(struct shim *s, char *err, size_t errlen)
{
    int out[2] = { -1, -1 }, errp[2] = { -1, -1 }, st[2] = { -1, -1 }, rc = -1;
    struct shim_env env = { 0 };
    struct shim_child_args a;
    ssize_t n;

    rc = build_env(s, &env);
    if (rc == 1) {
        rc = 0;
        goto out;
    }
    if (rc != 0) {
        rc = -1;
        snprintf(err, errlen, "cannot build the environment");
        goto out;
    }
    rc = -1;
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(st, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto out;
    }
    a = child_args(s, env.vars);
    a.out_fd = out[1];
    a.err_fd = errp[1];
    a.status_fd = st[1];
    s->child = fork();
    if (s->child < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        goto out;
    }
    if (s->child == 0)
        shim_child_exec(&a);
    close(st[1]);
    st[1] = -1;
    /* EOF means exec succeeded (the pipe is close-on-exec); bytes are the failure reason */
    do
        n = read(st[0], err, errlen - 1);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        err[n] = '\0';
        waitpid(s->child, NULL, 0);
        s->child = 0;
        goto out;
    }
    s->pipes[1] = out[0];
    s->pipes[2] = errp[0];
    out[0] = errp[0] = -1;
    rc = 0;
out:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0) close(out[i]);
        if (errp[i] >= 0) close(errp[i]);
        if (st[i] >= 0) close(st[i]);
    }
    shim_env_free(&env);
    return rc;
}

static void begin_kill(struct shim *s, enum kill_reason why, int64_t now)
{
    if (s->reason != KILL_NONE || s->child <= 0)
        return;
    s->reason = why;
    kill(-s->child, SIGTERM);
    kill(s->child, SIGTERM);
    /* members that left the session (setsid, double fork) get the same chance to clean up */
    cgroup_task_signal(&s->cg, SIGTERM);
    s->kill_at = now + s->spec.kill_grace_s * 1000;
}

static void kill_hard(struct shim *s)
{
    if (cgroup_task_active(&s->cg))
        cgroup_task_kill(&s->cg);
    if (s->child > 0)
        kill(-s->child, SIGKILL);
    /* the safety net, and the only net without a cgroup: the shim is a subreaper, so escaped
     * daemons are still its descendants */
    for (int round = 0; round < 5 && shim_kill_descendants(SIGKILL) > 0; round++)
        tm_sleep_ms(10);
    s->killed_hard = true;
}

static void reap(struct shim *s, int64_t now)
{
    int status;
    pid_t p;

    while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
        if (p == s->child && !s->child_exited) {
            s->child_status = status;
            s->child_exited = true;
            s->exited_at = now;
        }
    }
}

static void handle_signals(struct shim *s, int64_t now)
{
    struct signalfd_siginfo si;

    while (read(s->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGCHLD)
            reap(s, now);
        else if (si.ssi_signo == SIGUSR1)
            begin_kill(s, KILL_TIMEOUT, now);
        else
            begin_kill(s, KILL_CANCEL, now);
    }
}

static void read_pipe(struct shim *s, int stream)
{
    ssize_t n = read(s->pipes[stream], s->buf, READ_CHUNK);

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        close(s->pipes[stream]);
        s->pipes[stream] = -1;
        return;
    }
    spool_output(s, stream, s->buf, (size_t)n);
}

static int64_t next_timeout(struct shim *s, int64_t now)
{
    int64_t t = INT64_MAX;
    if (s->reason == KILL_NONE)
        t = s->deadline;
    else if (!s->killed_hard)
        t = s->kill_at;
    if (s->child_exited && s->exited_at + DRAIN_AFTER_EXIT_MS < t)
        t = s->exited_at + DRAIN_AFTER_EXIT_MS;
    if (t == INT64_MAX)
        return -1;
    return t <= now ? 0 : (t - now > INT32_MAX ? INT32_MAX : t - now);
}

static void run_loop(struct shim *s)
{
    for (;;) {
        struct pollfd p[3];
        int64_t now = tm_mono_ms();
        int np = 0;

        if (s->reason == KILL_NONE && now >= s->deadline)
            begin_kill(s, KILL_TIMEOUT, now);
        if (s->reason != KILL_NONE && !s->killed_hard && now >= s->kill_at)
            kill_hard(s);
        if (s->child_exited && ((s->pipes[1] < 0 && s->pipes[2] < 0) ||
                                now >= s->exited_at + DRAIN_AFTER_EXIT_MS))
            break;
        p[np++] = (struct pollfd){ .fd = s->sig_fd, .events = POLLIN };
        for (int i = 1; i <= 2; i++)
            if (s->pipes[i] >= 0)
                p[np++] = (struct pollfd){ .fd = s->pipes[i], .events = POLLIN };
        if (poll(p, (nfds_t)np, (int)next_timeout(s, now)) < 0 && errno != EINTR)
            break;
        now = tm_mono_ms();
        for (int i = 0; i < np; i++) {
            if (!p[i].revents)
                continue;
            if (p[i].fd == s->sig_fd)
                handle_signals(s, now);
            else
                read_pipe(s, p[i].fd == s->pipes[1] ? 1 : 2);
        }
    }
}

/* After a kill the cgroup must empty before it can go; orphans reparented to the shim are reaped
 * meanwhile. A normal exit leaves daemons (and so the cgroup) alone: the agent's GC removes it
 * once they are gone. */
static void cleanup_cgroup(struct shim *s)
{
    /* killed orphans were reparented to the shim: reap them, or they stay zombies under init */
    for (int i = 0; s->killed_hard && !cgroup_task_active(&s->cg) && i < 100; i++) {
        pid_t p;
        while ((p = waitpid(-1, NULL, WNOHANG)) > 0)
            ;
        if (p < 0 && errno == ECHILD)
            break;
        tm_sleep_ms(10);
    }
    if (!cgroup_task_active(&s->cg))
        return;
    for (int i = 0; s->killed_hard && i < 200 && !cgroup_task_empty(&s->cg); i++) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        if (i % 20 == 19)
            cgroup_task_kill(&s->cg);
        tm_sleep_ms(10);
    }
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    cgroup_task_remove(&s->cg);
}

static int finish(struct shim *s)
{
    struct task_outcome o = { .reason = s->reason, .wait_status = s->child_status,
                              .limits = s->cg.limits, .timeout_s = s->spec.timeout_s,
                              .dropped = s->dropped, .spool_limit = s->spec.spool_limit,
                              .spool_errno = s->spool_errno };
    struct task_verdict v;
    json_t *code = NULL;

    if (cgroup_task_active(&s->cg))
        o.hits = cgroup_task_hits(&s->cg);
    /* a killed task leaves nothing behind, even what escaped its session; a task that hit a
     * limit (a fork bomb) does not outlive its main process either */
    if (s->reason != KILL_NONE || o.hits)
        kill_hard(s);
    cleanup_cgroup(s);
    task_verdict_decide(&o, &v);
    if (s->never_ran) {
        v.has_exit_code = false;
        v.signal[0] = '\0';
    }
    if (v.has_exit_code)
        code = json_integer(v.exit_code);
    return write_result(s, v.status, code, v.signal[0] ? v.signal : NULL,
                        v.error[0] ? v.error : NULL) == 0 ? 0 : 1;
}

/* A user whose login is locked does not get commands run either. */
static int check_shell(struct shim *s, char *err, size_t errlen)
{
    const char *sh = login_shell(s), *base = strrchr(sh, '/');

    base = base ? base + 1 : sh;
    if (strcmp(base, "nologin") == 0 || strcmp(base, "false") == 0 || access(sh, X_OK) != 0) {
        snprintf(err, errlen, "user '%s' has no login shell (%s)", s->pw.pw_name, sh);
        return -1;
    }
    return 0;
}

/* The task's cgroup. Without one the task still runs (session + subreaper containment), unless
 * it asked for limits: those are never silently dropped. */
static int make_cgroup(struct shim *s, char *err, size_t errlen)
{
    struct cgroup_limits lim = { .memory_bytes = s->spec.memory_bytes,
                                 .cpu_percent = s->spec.cpu_percent, .pids = s->spec.pids };
    bool want = lim.memory_bytes > 0 || lim.cpu_percent > 0 || lim.pids > 0;
    char why[512] = "";
    int rc = -ENOTSUP;

    if (s->spec.cgroups_off)
        snprintf(why, sizeof why, "cgroups = off in the agent's configuration");
    else if (geteuid() != 0)
        snprintf(why, sizeof why, "the agent does not run as root");
    else if (!(s->host = calloc(1, sizeof *s->host)))
        snprintf(why, sizeof why, "out of memory");
    else if (cgroup_host_detect(s->host, why, sizeof why) == 0)
        rc = cgroup_task_create(s->host, s->spec.task_id, &lim, &s->cg, why, sizeof why);
    if (rc && want) {
        snprintf(err, errlen, "limits requested but cgroups are not available: %s", why);
        return -1;
    }
    if (rc)
        memset(&s->cg, 0, sizeof s->cg);
    return 0;
}

/* DIR must be DATA/tasks/<this task's id>: the data dir (for the identity to hide and the
 * environment cache) is derived from it, so a task.json copied elsewhere cannot point them at
 * another tree. */
static int check_dir(struct shim *s, char *err, size_t errlen)
{
    size_t n = strlen(s->dir), idlen = strlen(s->spec.task_id);
    const char *secret_files;
    size_t k = 0, i;
    json_t *v;

    if (n < idlen + 8 || strcmp(s->dir + n - idlen, s->spec.task_id) != 0 ||
        memcmp(s->dir + n - idlen - 7, "/tasks/", 7) != 0 || n - idlen - 7 >= sizeof s->data_dir) {
        snprintf(err, errlen, "task directory %s is not DATA/tasks/%s", s->dir, s->spec.task_id);
        return -1;
    }
    memcpy(s->data_dir, s->dir, n - idlen - 7);
    s->data_dir[n - idlen - 7] = '\0';
    secret_files = s->identity;
    snprintf(s->identity, sizeof s->identity, "%s/identity.json", s->data_dir);
    if (s->spec.hide_off)
        return 0; /* hide.paths[0] stays NULL: the host's mount namespace */
    s->hide.paths[k++] = secret_files;
    json_array_foreach(s->spec.hide_paths, i, v)
        if (k < SHIM_HIDE_MAX)
            s->hide.paths[k++] = json_string_value(v);
    s->hide.paths[k] = NULL;
    return 0;
}

/* The user's groups as initgroups(3) would set them, looked up here rather than in the child:
 * the lookup loads NSS modules (dlopen), which the child would redo for every task. As root only:
 * an unprivileged agent runs tasks as itself and keeps its groups. */
static int list_groups(struct shim *s, char *err, size_t errlen)
{
    int n = 64;

    if (geteuid() != 0)
        return 0;
    for (;;) {
        gid_t *g = realloc(s->groups, (size_t)n * sizeof *g);
        int want = n;
        if (!g) {
            snprintf(err, errlen, "cannot list the groups of user '%s': out of memory",
                     s->pw.pw_name);
            return -1;
        }
        s->groups = g;
        if (getgrouplist(s->pw.pw_name, s->pw.pw_gid, g, &want) >= 0) {
            s->ngroups = want;
            return 0;
        }
        if (want <= n || want > 65536) {
            snprintf(err, errlen, "cannot list the groups of user '%s'", s->pw.pw_name);
            return -1;
        }
        n = want;
    }
}

static int setup(struct shim *s, char *err, size_t errlen)
{
    struct passwd *res = NULL;
    sigset_t set;
    int rc;

    reserve_space(s->dir_fd);
    if (load_task(s, err, errlen) != 0 || check_dir(s, err, errlen) != 0)
        return -1;
    rc = getpwnam_r(s->spec.user, &s->pw, s->pwbuf, sizeof s->pwbuf, &res);
    if (rc || !res) {
        snprintf(err, errlen, "user '%s' does not exist", s->spec.user);
        return -1;
    }
    if (list_groups(s, err, errlen) != 0)
        return -1;
    if (check_shell(s, err, errlen) != 0 || write_script(s, err, errlen) != 0)
        return -1;
    /* new (O_EXCL, O_NOFOLLOW): a link planted here must not redirect a root write */
    s->spool_fd = openat(s->dir_fd, "output",
                         O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (s->spool_fd < 0) {
        snprintf(err, errlen, "cannot create the output spool %s/output: %s", s->dir,
                 strerror(errno));
        return -1;
    }
    s->buf = malloc(READ_CHUNK);
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    s->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->spool_fd < 0 || !s->buf || s->sig_fd < 0) {
        snprintf(err, errlen, "shim setup failed: %s", strerror(errno));
        return -1;
    }
    return make_cgroup(s, err, errlen);
}

/* Waits for the agent's go byte (spawn.h): the journal entry is durable, the task may run. */
static int wait_go(int go_fd, char *err, size_t errlen)
{
    char b;
    ssize_t n;

    if (go_fd < 0)
        return 0;
    do
        n = read(go_fd, &b, 1);
    while (n < 0 && errno == EINTR);
    close(go_fd);
    if (n == 1)
        return 0;
    snprintf(err, errlen, "the agent could not record the task durably; it was not run");
    return -1;
}

int shim_main_args(int argc, char **argv)
{
    int go_fd = -1;

    if (argc < 3 || argc > 4 || strcmp(argv[1], "task-shim") != 0 || argv[2][0] != '/')
        return 2;
    if (argc == 4) {
        if (strcmp(argv[3], "--go-fd=3") != 0)
            return 2;
        go_fd = 3;
    }
    return shim_main(argv[2], go_fd);
}

int shim_main(const char *dir, int go_fd)
{
    struct shim *s = calloc(1, sizeof *s);
    char err[512] = "";
    int rc;

    if (!s)
        return 1;
    s->dir = dir;
    s->spool_fd = s->sig_fd = s->pipes[1] = s->pipes[2] = -1;
    s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s->dir_fd < 0) {
        free(s);
        return 1;
    }
    setsid(); /* out of the agent's session: a Ctrl-C on a foreground agent must not hit tasks */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal(SIGPIPE, SIG_IGN);
    if (write_pidfile(dir) != 0) {
        rc = 1;
        goto out;
    }
    /* everything up to the cgroup is preparation; the login profile and the command are the
     * task's own code and wait for the agent's go */
    if (setup(s, err, sizeof err) != 0 || wait_go(go_fd, err, sizeof err) != 0 ||
        spawn_command(s, err, sizeof err) != 0) {
        cleanup_cgroup(s);
        rc = start_failed(s, err);
        goto out;
    }
    if (!s->never_ran) {
        /* one extra second so the agent's own timeout (which reports the same) normally comes
         * first */
        s->deadline = tm_mono_ms() + s->spec.timeout_s * 1000 + 1000;
        run_loop(s);
    }
    rc = finish(s);
out:
    task_spec_free(&s->spec);
    free(s->host);
    free(s->buf);
    free(s->groups);
    close(s->dir_fd);
    free(s);
    return rc;
}
