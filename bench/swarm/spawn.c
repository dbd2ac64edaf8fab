/*
 * Mode "true": each task runs /bin/true with posix_spawn (vfork-like, cheap from a process with
 * thousands of sockets). At most max_children run at once; the rest wait in a FIFO. SIGCHLD is
 * blocked and read from a signalfd adopted into the lws loop (libs-probe G7); the child gets the
 * default dispositions back (lws ignores SIGPIPE, G5), an empty signal mask, /dev/null on 0-2 and
 * no other descriptor (G6).
 */
#include "swarm.h"

#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

struct spawner {
    struct swarm *sw;
    int sfd;
    struct lws *wsi;
    struct stask *qhead, *qtail;
    struct stask *running;
    size_t nrunning;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
};

static void launch(struct spawner *sp)
{
    static char *const argv[] = { "true", NULL };
    static char *const envp[] = { NULL };

    while (sp->qhead && sp->nrunning < (size_t)sp->sw->cfg.max_children) {
        struct stask *t = sp->qhead;
        int rc;
        sp->qhead = t->next;
        if (!sp->qhead)
            sp->qtail = NULL;
        t->next = NULL;
        rc = posix_spawn(&t->pid, "/bin/true", &sp->fa, &sp->attr, argv, envp);
        if (rc) {
            log_warn("posix_spawn /bin/true: %s", strerror(rc));
            t->exit_code = 127;
            tasks_on_child_exit(t);
            continue;
        }
        sp->sw->st.spawned++;
        t->next = sp->running;
        sp->running = t;
        sp->nrunning++;
    }
}

void spawner_run(struct spawner *sp, struct stask *t)
{
    t->next = NULL;
    if (sp->qtail)
        sp->qtail->next = t;
    else
        sp->qhead = t;
    sp->qtail = t;
    launch(sp);
}

size_t spawner_running(const struct spawner *sp) { return sp ? sp->nrunning : 0; }

void spawner_cancel(struct spawner *sp, const char *task_id)
{
    struct stask **pp;

    if (!sp)
        return;
    for (struct stask *t = sp->running; t; t = t->next) {
        if (!strcmp(t->task_id, task_id)) {
            t->cancel = true;
            kill(t->pid, SIGTERM);
            return;
        }
    }
    for (pp = &sp->qhead; *pp; pp = &(*pp)->next) {
        struct stask *t = *pp;
        if (strcmp(t->task_id, task_id))
            continue;
        *pp = t->next;
        if (sp->qtail == t) {
            sp->qtail = NULL;
            for (struct stask *q = sp->qhead; q; q = q->next)
                sp->qtail = q;
        }
        t->next = NULL;
        t->cancel = true;
        t->exit_code = -1;
        tasks_on_child_exit(t);
        return;
    }
}

static void reap(struct spawner *sp)
{
    struct signalfd_siginfo si;
    int status;
    pid_t pid;

    while (read(sp->sfd, &si, sizeof si) == (ssize_t)sizeof si)
        ;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct stask **pp, *t = NULL;
        for (pp = &sp->running; *pp; pp = &(*pp)->next) {
            if ((*pp)->pid == pid) {
                t = *pp;
                *pp = t->next;
                break;
            }
        }
        if (!t)
            continue;
        sp->nrunning--;
        t->next = NULL;
        if (WIFEXITED(status)) {
            t->exit_code = WEXITSTATUS(status);
        } else {
            t->exit_code = -1;
            t->signo = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        }
        tasks_on_child_exit(t);
    }
    launch(sp);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct spawner *sp = lws_get_opaque_user_data(wsi);

    (void)user;
    (void)in;
    (void)len;
    if (reason == LWS_CALLBACK_RAW_RX_FILE && sp)
        reap(sp);
    return 0;
}

const struct lws_protocols spawner_protocol = {
    "swarm-sigchld", callback, 0, 0, 0, NULL, 0
};

struct spawner *spawner_create(struct swarm *sw)
{
    struct spawner *sp = calloc(1, sizeof *sp);
    lws_sock_file_fd_type u;
    sigset_t chld, none, dfl;

    if (!sp)
        return NULL;
    sp->sw = sw;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &chld, NULL))
        goto fail_alloc;
    sp->sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sp->sfd < 0)
        goto fail_alloc;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    sigaddset(&dfl, SIGCHLD);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGTERM);
    if (posix_spawnattr_init(&sp->attr))
        goto fail_fd;
    if (posix_spawn_file_actions_init(&sp->fa))
        goto fail_attr;
    if (posix_spawnattr_setflags(&sp->attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) ||
        posix_spawnattr_setsigmask(&sp->attr, &none) ||
        posix_spawnattr_setsigdefault(&sp->attr, &dfl) ||
        posix_spawn_file_actions_addopen(&sp->fa, 0, "/dev/null", O_RDONLY, 0) ||
        posix_spawn_file_actions_addopen(&sp->fa, 1, "/dev/null", O_WRONLY, 0) ||
        posix_spawn_file_actions_addopen(&sp->fa, 2, "/dev/null", O_WRONLY, 0) ||
        posix_spawn_file_actions_addclosefrom_np(&sp->fa, 3))
        goto fail_fa;
    u.filefd = sp->sfd;
    sp->wsi = lws_adopt_descriptor_vhost(sw->vh, LWS_ADOPT_RAW_FILE_DESC, u,
                                         spawner_protocol.name, NULL);
    if (!sp->wsi)
        goto fail_fa;
    lws_set_opaque_user_data(sp->wsi, sp);
    return sp;
fail_fa:
    posix_spawn_file_actions_destroy(&sp->fa);
fail_attr:
    posix_spawnattr_destroy(&sp->attr);
fail_fd:
    close(sp->sfd);
fail_alloc:
    free(sp);
    return NULL;
}

/* After the context is gone (it closed the adopted signalfd). Waits for children still running:
 * /bin/true does not take long. */
void spawner_destroy(struct spawner *sp)
{
    if (!sp)
        return;
    while (sp->running) {
        struct stask *t = sp->running;
        sp->running = t->next;
        waitpid(t->pid, NULL, 0);
        t->a->running--;
        free(t);
    }
    while (sp->qhead) {
        struct stask *t = sp->qhead;
        sp->qhead = t->next;
        t->a->running--;
        free(t);
    }
    posix_spawn_file_actions_destroy(&sp->fa);
    posix_spawnattr_destroy(&sp->attr);
    free(sp);
}
