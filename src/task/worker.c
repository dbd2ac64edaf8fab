/*
 * Task worker; see worker.h. No fixed sleeps on the happy path: the shim's exit wakes the worker
 * through its pidfd, and new output is picked up by a 200 ms poll timer while the shim runs.
 */
#include "task/worker.h"
#include "task/journal.h"
#include "task/spawn.h"
#include "task/uploader.h"
#include "bypass/running_tasks.h"
#include "main/agent.h"
#include "common/fsutil.h"
#include "common/ids.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/tm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TAIL_INTERVAL_MS 200

struct worker {
    struct worker_job *job;
    struct agent *a;
    struct http_client *hc;
    struct uploader up;
    bool up_open;
    pid_t pid;
    int pidfd;
    bool own_child;
};

/* Returns 1 to go on, 0 when the task must not run (cancelled, final, unknown), <0 stopping. */
static int post_start(struct worker *w)
{
    char path[128], ts[32], body[64];
    struct http_response r = { 0 };
    int rc;

    tm_format_rfc3339(tm_now_ms(), ts, sizeof ts);
    snprintf(body, sizeof body, "{\"started_at\":\"%s\"}", ts);
    snprintf(path, sizeof path, "/v1/agent/tasks/%s/start", w->job->task_id);
    rc = uploader_post(w->hc, &w->a->stopping, path, body, strlen(body), &r);
    if (rc)
        return rc;
    rc = r.status >= 200 && r.status <= 299;
    if (!rc)
        log_info("task %s: not starting (HTTP %ld: %.200s)", w->job->task_id, r.status,
                 r.body ? r.body : "");
    http_response_free(&r);
    return rc;
}

static int spawn(struct worker *w)
{
    int go[2], rc = journal_mark_spawned(w->job->dir);
    const char one = 1;

    if (rc)
        return rc;
    if (pipe2(go, O_CLOEXEC) < 0)
        return -errno;
    w->pid = spawn_shim(w->a->shim_exe, w->job->dir, go[0]);
    close(go[0]);
    if (w->pid < 0) {
        close(go[1]);
        return (int)w->pid;
    }
    w->own_child = true;
    w->pidfd = pidfd_open(w->pid, 0);
    if (w->pidfd >= 0)
        running_tasks_set_shim(w->a->rt, w->job->task_id, w->pid, w->pidfd);
    /* The shim loads the task, resolves the user and makes the cgroup meanwhile; it runs nothing
     * of the task before this byte. Without it (EOF) it records start_failed. */
    rc = w->pidfd < 0 ? -errno : journal_sync_entry(w->job->dir);
    if (rc)
        log_error("task %s: cannot make the journal durable (%s); not running it",
                  w->job->task_id, strerror(-rc));
    else if (write(go[1], &one, 1) != 1)
        log_error("task %s: the shim is gone before it could start the task", w->job->task_id);
    close(go[1]);
    if (w->pidfd < 0)
        return rc;
    agent_status_write(w->a);
    return 0;
}

static int adopt(struct worker *w)
{
    w->pid = w->job->adopt_pid;
    w->pidfd = pidfd_open(w->pid, 0);
    if (w->pidfd < 0)
        return -errno;
    running_tasks_set_shim(w->a->rt, w->job->task_id, w->pid, w->pidfd);
    agent_status_write(w->a);
    log_info("task %s: adopted running shim %d", w->job->task_id, (int)w->pid);
    return 0;
}

/* Uploads output while the shim runs. Returns 0 when the shim is gone, -ECANCELED on stop. */
static int tail(struct worker *w)
{
    for (;;) {
        struct pollfd p = { .fd = w->pidfd, .events = POLLIN };
        int rc = uploader_pump(&w->up, false);
        if (rc == -ECANCELED || atomic_load(&w->a->stopping))
            return -ECANCELED;
        if (rc)
            log_warn("task %s: output upload: %s", w->job->task_id, strerror(-rc));
        if (poll(&p, 1, TAIL_INTERVAL_MS) > 0 && p.revents)
            break;
    }
    if (w->own_child)
        waitpid(w->pid, NULL, 0);
    return 0;
}

static json_t *read_result(struct worker *w)
{
    char path[PATH_MAX + 16], *text = NULL, err[200];
    size_t len;
    json_t *j = NULL;

    snprintf(path, sizeof path, "%s/result", w->job->dir);
    if (fs_read_all(path, 1 << 16, &text, &len) == 0)
        j = jsonu_parse(text, len, 1 << 16, err, sizeof err);
    free(text);
    return j;
}

/* The finish body from DIR/result, or the worker's own verdict when there is none. */
static json_t *finish_body(struct worker *w)
{
    static const char *const finals[] = { "succeeded", "failed", "timed_out", "cancelled",
                                          "start_failed", "undetermined", NULL };
    json_t *res = w->job->mode == WORKER_INVALID ? NULL : read_result(w), *body;
    const char *status = "undetermined", *sig = NULL, *error = "shim died without a result", *v;
    int64_t code = -1, out_bytes = 0, dropped = 0;
    char err[128], ts[32];

    if (w->job->mode == WORKER_INVALID) {
        status = "start_failed";
        error = w->job->error;
    } else if (res && jsonu_str(res, "status", &v, err, sizeof err) == 0) {
        for (int i = 0; finals[i]; i++)
            if (strcmp(v, finals[i]) == 0)
                status = finals[i];
        error = NULL;
        if (jsonu_str(res, "error", &v, err, sizeof err) == 0)
            error = v;
        if (jsonu_str(res, "signal", &v, err, sizeof err) == 0)
            sig = v;
        jsonu_int(res, "exit_code", 0, 255, &code, err, sizeof err);
        jsonu_int(res, "output_bytes", 0, INT64_MAX, &out_bytes, err, sizeof err);
        jsonu_int(res, "spool_dropped_bytes", 0, INT64_MAX, &dropped, err, sizeof err);
        if (jsonu_str(res, "note", &v, err, sizeof err) == 0)
            log_warn("task %s: %s", w->job->task_id, v);
    }
    tm_format_rfc3339(tm_now_ms(), ts, sizeof ts);
    body = json_pack("{s:s, s:o, s:s?, s:s?, s:I, s:I, s:s}", "status", status, "exit_code",
                     code >= 0 ? json_integer(code) : json_null(), "signal", sig, "error", error,
                     "output_bytes", (json_int_t)out_bytes, "dropped_bytes", (json_int_t)dropped,
                     "finished_at", ts);
    log_info("task %s: %s%s%s", w->job->task_id, status, error ? ": " : "", error ? error : "");
    json_decref(res);
    return body;
}

/* POST finish until acknowledged. It says how many output chunks the server acknowledged
 * (next_seq, D10); a server that lost some of them (a commit that failed after its answer)
 * answers seq_gap: they are resent and finish is tried again, with a growing pause while the
 * server keeps losing them (a full disk). Chunks that cannot be resent any more are reported and
 * the verdict goes without the check. A server from before next_seq refuses the key (400):
 * finish again without it. Returns 0, or -ECANCELED when stopping. */
static int post_finish(struct worker *w)
{
    char path[128], *text;
    struct http_response r = { 0 };
    bool with_seq = w->up_open && w->job->mode != WORKER_INVALID;
    int64_t pause = 250;
    json_t *body = finish_body(w); /* once: it logs the verdict */
    int rc;

    if (!body)
        return -ENOMEM;
    snprintf(path, sizeof path, "/v1/agent/tasks/%s/finish", w->job->task_id);
    for (int attempt = 0;; attempt++) {
        int64_t gap;

        if (with_seq)
            json_object_set_new(body, "next_seq", json_integer((json_int_t)w->up.acked));
        else
            json_object_del(body, "next_seq");
        text = jsonu_dump(body);
        if (!text) {
            json_decref(body);
            return -ENOMEM;
        }
        rc = uploader_post(w->hc, &w->a->stopping, path, text, strlen(text), &r);
        free(text);
        if (rc) {
            json_decref(body);
            return rc;
        }
        gap = with_seq ? uploader_gap_next_seq(&r) : -1;
        if (gap >= 0) {
            http_response_free(&r);
            if (attempt > 0) {
                uploader_sleep(&w->a->stopping, pause);
                pause = pause * 2 > 30000 ? 30000 : pause * 2;
            }
            rc = uploader_resend(&w->up, (uint64_t)gap);
            if (rc == -ECANCELED || atomic_load(&w->a->stopping)) {
                json_decref(body);
                return -ECANCELED;
            }
            if (rc) {
                log_error("task %s: cannot resend its output from seq %" PRId64 " (%s); "
                          "finishing without it", w->job->task_id, gap, strerror(-rc));
                with_seq = false;
            }
            continue;
        }
        if (r.status == 400 && with_seq && r.body && strstr(r.body, "next_seq")) {
            http_response_free(&r);
            with_seq = false;
            continue;
        }
        break;
    }
    json_decref(body);
    if (r.status < 200 || r.status > 299)
        log_warn("task %s: finish answered HTTP %ld (%.200s); treating as final", w->job->task_id,
                 r.status, r.body ? r.body : "");
    http_response_free(&r);
    return rc;
}

static void mark_finished(struct worker *w)
{
    char path[PATH_MAX + 16];

    if (journal_mark_fast(w->job->dir, "finished") != 0)
        log_error("task %s: cannot write the finished marker", w->job->task_id);
    snprintf(path, sizeof path, "%s/output", w->job->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/script", w->job->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/result.reserve", w->job->dir);
    unlink(path);
}

static int run_shim(struct worker *w)
{
    int rc;

    if (w->job->mode == WORKER_RUN) {
        rc = post_start(w);
        if (rc <= 0)
            return rc == 0 ? 1 : rc; /* 1: do not run, just mark finished */
        rc = spawn(w);
    } else {
        rc = adopt(w);
    }
    if (rc) {
        log_error("task %s: cannot start the shim: %s", w->job->task_id, strerror(-rc));
        if (w->job->mode == WORKER_RUN) {
            /* report it as a start failure rather than leaving the server guessing */
            snprintf(w->job->error, sizeof w->job->error, "agent cannot start the task: %s",
                     strerror(-rc));
            w->job->mode = WORKER_INVALID;
        }
        return 0;
    }
    return tail(w);
}

/* Keeps the verdict of a task that never ran, so a repeated delivery can be answered with it. */
static void write_invalid_result(struct worker *w)
{
    char path[PATH_MAX + 16], ts[32], *text;
    json_t *res;

    tm_format_rfc3339(tm_now_ms(), ts, sizeof ts);
    res = json_pack("{s:s, s:n, s:n, s:s, s:i, s:i, s:s}", "status", "start_failed", "exit_code",
                    "signal", "error", w->job->error, "output_bytes", 0, "spool_dropped_bytes", 0,
                    "finished_at", ts);
    text = res ? jsonu_dump(res) : NULL;
    json_decref(res);
    if (!text)
        return;
    snprintf(path, sizeof path, "%s/result", w->job->dir);
    if (fs_write_atomic(path, text, strlen(text), 0600, true) != 0)
        log_error("task %s: cannot record its start failure", w->job->task_id);
    free(text);
}

static void work(struct worker *w)
{
    enum worker_mode mode = w->job->mode;
    int rc = 0;

    if (mode == WORKER_REFINISH) {
        /* The server offered a task this agent already finished (a lost acknowledgement or a
         * re-lease): report the stored verdict again; the finish call is idempotent. */
        post_finish(w);
        return;
    }
    if (mode == WORKER_INVALID) {
        write_invalid_result(w);
        rc = post_start(w);
        if (rc < 0)
            return;
        if (rc == 0) { /* cancelled or final already: nothing to report */
            mark_finished(w);
            return;
        }
    }
    if (mode == WORKER_RUN || mode == WORKER_ADOPT) {
        rc = run_shim(w);
        if (rc == -ECANCELED)
            return; /* the shim lives on; a restarted agent adopts it */
        if (rc == 1) {
            mark_finished(w);
            return;
        }
    }
    if (w->job->mode != WORKER_INVALID && uploader_pump(&w->up, true) == -ECANCELED)
        return;
    if (post_finish(w) == 0) {
        mark_finished(w);
    } else if (w->job->mode != WORKER_INVALID && journal_has(w->job->dir, "result") &&
               journal_sync_result(w->job->dir) != 0) {
        /* stopping before the server took the verdict: the next start reports it from disk */
        log_error("task %s: cannot make its result durable", w->job->task_id);
    }
}

void *worker_main(void *arg)
{
    struct worker w = { .job = arg, .a = ((struct worker_job *)arg)->agent, .pidfd = -1 };
    int64_t deadline = tm_mono_ms() + w.job->timeout_s * 1000;
    struct stat st;
    char path[PATH_MAX + 16];

    if (w.job->mode == WORKER_ADOPT) {
        /* the shim started before the restart: count from when it wrote its pid file */
        snprintf(path, sizeof path, "%s/shim.pid", w.job->dir);
        if (stat(path, &st) == 0)
            deadline -= tm_now_ms() - (int64_t)st.st_mtime * 1000;
    }
    /* the dispatcher checked the id; a worker that builds paths and URLs from it checks again */
    w.hc = id_valid(w.job->task_id, ID_TASK)
               ? http_client_create(w.a->ident.server, w.a->ident.agent_token, w.a->cfg.ca_file)
               : NULL;
    if (w.hc && running_tasks_add(w.a->rt, w.job->task_id, deadline) == 0) {
        int rc = uploader_open(&w.up, w.hc, &w.a->stopping, w.job->task_id, w.job->dir);
        w.up_open = true; /* uploader_close copes with a half-open uploader */
        if (rc == 0) {
            work(&w);
        } else {
            log_error("task %s: cannot open its upload log", w.job->task_id);
        }
        running_tasks_remove(w.a->rt, w.job->task_id);
        agent_status_write(w.a);
    }
    if (w.up_open)
        uploader_close(&w.up);
    if (w.pidfd >= 0)
        close(w.pidfd);
    http_client_destroy(w.hc);
    w.job->done(w.job->done_ud, w.job);
    return NULL;
}
