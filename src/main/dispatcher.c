/* Dispatcher; see dispatcher.h. */
#include "main/dispatcher.h"
#include "main/agent.h"
#include "task/journal.h"
#include "task/task_spec.h"
#include "task/worker.h"
#include "bypass/running_tasks.h"
#include "common/crypto.h"
#include "common/fsutil.h"
#include "common/http.h"
#include "common/jsonutil.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dispatcher {
    struct agent *a;
    pthread_t thread;
    bool started;
    struct waiter wake;
    pthread_mutex_t lock;          /* queue, active */
    pthread_cond_t idle;           /* active reached 0 */
    struct worker_job *head, *tail;
    int queued, active;
    bool slot_freed;
    bool kick_requested;
    bool last_pull_full;
    int pull_failures;             /* consecutive failed pulls: drives the retry backoff */
    struct http_client *hc;
    /* ids of the jobs queued or running, so a re-offered task finds its worker */
    char (*owned)[ID_BUF];
    size_t nowned, capowned;
};

static bool requeue_entry(struct dispatcher *d, const char *task_id, const char *dir,
                          bool offered);

/* Both under d->lock. */
static bool owned_has(struct dispatcher *d, const char *id)
{
    for (size_t i = 0; i < d->nowned; i++)
        if (strcmp(d->owned[i], id) == 0)
            return true;
    return false;
}

static int owned_add(struct dispatcher *d, const char *id)
{
    if (d->nowned == d->capowned) {
        size_t cap = d->capowned ? d->capowned * 2 : 32;
        char (*nv)[ID_BUF] = realloc(d->owned, cap * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        d->owned = nv;
        d->capowned = cap;
    }
    memcpy(d->owned[d->nowned++], id, ID_BUF);
    return 0;
}

static void owned_remove(struct dispatcher *d, const char *id)
{
    for (size_t i = 0; i < d->nowned; i++)
        if (strcmp(d->owned[i], id) == 0) {
            memcpy(d->owned[i], d->owned[--d->nowned], ID_BUF);
            return;
        }
}

struct dispatcher *dispatcher_create(struct agent *a)
{
    struct dispatcher *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->a = a;
    waiter_init(&d->wake, &a->stopping);
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->idle, NULL);
    return d;
}

void dispatcher_kick(struct dispatcher *d)
{
    pthread_mutex_lock(&d->lock);
    d->kick_requested = true;
    pthread_mutex_unlock(&d->lock);
    waiter_poke(&d->wake);
}

static void worker_done(void *ud, struct worker_job *job)
{
    struct dispatcher *d = ud;

    pthread_mutex_lock(&d->lock);
    owned_remove(d, job->task_id);
    free(job);
    /* Poke before giving up the slot: once active drops to 0, dispatcher_join may return and
     * the dispatcher (and its waiter) may be destroyed while this detached thread still runs. */
    waiter_poke(&d->wake);
    d->active--;
    d->slot_freed = true;
    pthread_cond_broadcast(&d->idle);
    pthread_mutex_unlock(&d->lock);
}

static struct worker_job *job_new(struct dispatcher *d, const char *task_id, const char *dir,
                                  enum worker_mode mode)
{
    struct worker_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->agent = d->a;
    j->mode = mode;
    j->timeout_s = 3600;
    snprintf(j->task_id, sizeof j->task_id, "%s", task_id);
    snprintf(j->dir, sizeof j->dir, "%s", dir);
    j->done = worker_done;
    j->done_ud = d;
    return j;
}

/* Adopted and reported entries jump the queue: they are already running or done. */
static void enqueue(struct dispatcher *d, struct worker_job *j, bool front)
{
    pthread_mutex_lock(&d->lock);
    if (owned_add(d, j->task_id) != 0)
        log_warn("task %s: out of memory tracking it", j->task_id);
    if (front) {
        j->next = d->head;
        d->head = j;
        if (!d->tail)
            d->tail = j;
    } else {
        if (d->tail)
            d->tail->next = j;
        else
            d->head = j;
        d->tail = j;
    }
    d->queued++;
    pthread_mutex_unlock(&d->lock);
}

static void start_queued(struct dispatcher *d)
{
    pthread_attr_t attr;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_mutex_lock(&d->lock);
    while (d->head && d->active < d->a->cfg.max_concurrent_tasks && !atomic_load(&d->a->stopping)) {
        struct worker_job *j = d->head;
        pthread_t t;
        d->head = j->next;
        if (!d->head)
            d->tail = NULL;
        d->queued--;
        j->next = NULL;
        d->active++;
        if (pthread_create(&t, &attr, worker_main, j) != 0) {
            log_error("task %s: cannot start a worker thread", j->task_id);
            d->active--;
            j->next = d->head; /* try again on the next kick */
            d->head = j;
            if (!d->tail)
                d->tail = j;
            d->queued++;
            break;
        }
    }
    pthread_mutex_unlock(&d->lock);
    pthread_attr_destroy(&attr);
}

/* The secrets a root task must not see besides DATA/identity.json (the shim adds that one):
 * the config file and the mutual-TLS key. json_null() when hide_secrets is off. */
static json_t *hide_paths(struct agent *a)
{
    json_t *arr;

    if (!a->cfg.hide_secrets)
        return json_null();
    arr = json_array();
    if (arr && a->config_file[0])
        json_array_append_new(arr, json_string(a->config_file));
    if (arr && a->cfg.client_key && a->cfg.client_key[0] == '/')
        json_array_append_new(arr, json_string(a->cfg.client_key));
    return arr ? arr : json_null();
}

/* The command as the log may show it: its length and a short digest, never its text (it may
 * carry passwords; the digest still lets an operator match a log line to an invocation). */
static void command_digest(const struct task_spec *spec, char out[13])
{
    char hex[65];

    crypto_sha256_hex(spec->command, spec->command_len, hex);
    memcpy(out, hex, 12);
    out[12] = '\0';
}

/* Validates, journals and queues one pulled task. */
static void accept_task(struct dispatcher *d, json_t *task)
{
    char id[ID_BUF], dir[4096], err[256] = "";
    struct task_spec spec;
    struct worker_job *j;
    char *text;
    int rc;

    if (task_spec_id(task, id) != 0) {
        log_warn("pull: dropping a task without a valid task_id");
        return;
    }
    if (journal_dir(d->a->cfg.data_dir, id, dir, sizeof dir) != 0)
        return;
    rc = task_spec_parse(task, &spec, err, sizeof err);
    /* the agent's own settings travel with the task so the shim needs no config */
    json_object_set_new(task, "spool_limit", json_integer(d->a->cfg.spool_limit));
    json_object_set_new(task, "kill_grace_s", json_integer(d->a->cfg.kill_grace));
    json_object_set_new(task, "profile_timeout_s", json_integer(d->a->cfg.profile_timeout));
    json_object_set_new(task, "login_profile", json_boolean(d->a->cfg.login_profile));
    json_object_set_new(task, "profile_cache_s", json_integer(d->a->cfg.profile_cache));
    json_object_set_new(task, "hide_paths", hide_paths(d->a));
    json_object_set_new(task, "cgroups", json_string(d->a->cfg.cgroups &&
                                                     strcmp(d->a->cfg.cgroups, "off") == 0
                                                 ? "off" : "auto"));
    text = jsonu_dump(task);
    if (!text) {
        log_error("task %s: cannot encode it for the journal", id);
        goto out;
    }
    int jrc = journal_create(d->a->cfg.data_dir, id, text, strlen(text));
    free(text);
    if (jrc == -EEXIST) {
        bool owned;
        pthread_mutex_lock(&d->lock);
        owned = owned_has(d, id);
        pthread_mutex_unlock(&d->lock);
        /* Offered again while no worker holds it (a start that never got through, a lost
         * finish acknowledgement): resume it from the journal; it is never run twice. */
        if (!owned)
            requeue_entry(d, id, dir, true);
        else
            log_debug("task %s: offered again while its worker is busy", id);
        goto out;
    }
    if (jrc) {
        log_error("task %s: cannot journal it: %s", id, strerror(-jrc));
        goto out;
    }
    j = job_new(d, id, dir, rc ? WORKER_INVALID : WORKER_RUN);
    if (!j)
        goto out;
    if (rc) {
        snprintf(j->error, sizeof j->error, "%s", err);
        log_warn("task %s: invalid: %s", id, err);
    } else {
        char digest[13];
        j->timeout_s = spec.timeout_s;
        command_digest(&spec, digest);
        log_info("task %s: accepted (%s as %s, command %zu bytes sha256 %s, %zu env)", id,
                 spec.interpreter, spec.user, spec.command_len, digest,
                 spec.env ? json_object_size(spec.env) : (size_t)0);
    }
    enqueue(d, j, false);
out:
    if (!rc)
        task_spec_free(&spec);
}

/* Returns true when the pull reached the server and got an answer it could use. */
static bool pull(struct dispatcher *d, int max)
{
    bool ok = false;
    struct http_response r = { 0 };
    json_t *body = json_pack("{s:i}", "max", max), *resp = NULL, *v;
    size_t i, ntasks = 0;

    if (!body)
        return false;
    if (http_call_json(d->hc, "POST", "/v1/agent/tasks/pull", body, &r, &resp) != 0) {
        log_warn("pull failed: %s", r.err);
    } else if (r.status == 401) {
        log_error("pull refused: the server does not accept this agent's token (re-register)");
    } else if (r.status != 200 || !json_is_object(resp)) {
        log_warn("pull failed: HTTP %ld %s", r.status, r.err);
    } else {
        json_t *tasks = json_object_get(resp, "tasks"), *cancel = json_object_get(resp, "cancel");
        ok = true;
        json_array_foreach(tasks, i, v)
            if (i < (size_t)max) {
                accept_task(d, v);
                ntasks++;
            }
        json_array_foreach(cancel, i, v) {
            const char *id = json_string_value(v);
            if (id && id_valid(id, ID_TASK))
                running_tasks_cancel(d->a->rt, id);
        }
    }
    d->last_pull_full = ntasks >= (size_t)max;
    json_decref(body);
    json_decref(resp);
    http_response_free(&r);
    return ok;
}

/* Full-jitter backoff for a failed pull: 0.5 s doubling to 30 s. A kick that arrived while the
 * server was restarting or shedding load is not left to the next fallback poll. */
static int64_t pull_retry_ms(int failures)
{
    int64_t cap = 500;
    unsigned r;
    for (int i = 1; i < failures && cap < 30000; i++)
        cap *= 2;
    if (cap > 30000)
        cap = 30000;
    if (crypto_random(&r, sizeof r) != 0)
        r = 0;
    return cap / 2 + (int64_t)(r % (unsigned)(cap / 2 + 1));
}

static void *dispatcher_main(void *arg)
{
    struct dispatcher *d = arg;

    while (!atomic_load(&d->a->stopping)) {
        bool freed, kicked;
        int free_slots;

        bool poked = waiter_wait(&d->wake, d->pull_failures ? pull_retry_ms(d->pull_failures) : -1);
        if (atomic_load(&d->a->stopping))
            break;
        start_queued(d);
        pthread_mutex_lock(&d->lock);
        freed = d->slot_freed;
        kicked = d->kick_requested || (!poked && d->pull_failures > 0);
        d->slot_freed = d->kick_requested = false;
        free_slots = (int)d->a->cfg.max_concurrent_tasks - d->active - d->queued;
        pthread_mutex_unlock(&d->lock);
        /* a freed slot alone only warrants a pull if the last one may have left tasks behind */
        if (free_slots > 0 && (kicked || (freed && d->last_pull_full))) {
            d->pull_failures = pull(d, free_slots) ? 0 : d->pull_failures + 1;
            start_queued(d);
        }
    }
    return NULL;
}

int dispatcher_start(struct dispatcher *d)
{
    d->hc = http_client_create(d->a->ident.server, d->a->ident.agent_token, d->a->cfg.ca_file);
    if (!d->hc)
        return -ENOMEM;
    if (pthread_create(&d->thread, NULL, dispatcher_main, d) != 0)
        return -EAGAIN;
    d->started = true;
    dispatcher_kick(d); /* pull once at startup */
    return 0;
}

struct reattach_ctx {
    struct dispatcher *d;
    int n;
};

static void reattach_one(void *ud, const char *task_id, const char *dir)
{
    struct reattach_ctx *c = ud;
    if (requeue_entry(c->d, task_id, dir, false))
        c->n++;
}

static bool requeue_entry(struct dispatcher *d, const char *task_id, const char *dir,
                          bool offered)
{
    pid_t pid = 0;
    uint64_t st;
    enum journal_state s = journal_classify(dir, &pid, &st);
    enum worker_mode mode;
    struct worker_job *j;

    switch (s) {
    case JOURNAL_NEW: mode = WORKER_RUN; break;
    case JOURNAL_RUNNING: mode = WORKER_ADOPT; break;
    case JOURNAL_REPORT: mode = WORKER_REPORT; break;
    case JOURNAL_LOST: mode = WORKER_LOST; break;
    case JOURNAL_FINISHED:
        if (!offered)
            return false;
        mode = WORKER_REFINISH;
        break;
    default: return false;
    }
    j = job_new(d, task_id, dir, mode);
    if (!j)
        return false;
    j->adopt_pid = pid;
    if (mode == WORKER_RUN || mode == WORKER_ADOPT) {
        /* re-validate: the journal is only as trustworthy as the disk */
        char path[4200], *text = NULL, err[256];
        size_t len;
        json_t *t = NULL;
        struct task_spec spec;
        snprintf(path, sizeof path, "%s/task.json", dir);
        if (fs_read_all(path, 1 << 20, &text, &len) == 0)
            t = jsonu_parse(text, len, 1 << 20, err, sizeof err);
        free(text);
        if (t && task_spec_parse(t, &spec, err, sizeof err) == 0) {
            j->timeout_s = spec.timeout_s;
            task_spec_free(&spec);
        } else if (mode == WORKER_RUN) {
            j->mode = WORKER_INVALID;
            snprintf(j->error, sizeof j->error, "%s", t ? err : "journal entry unreadable");
        }
        json_decref(t);
    }
    log_info("task %s: re-attached (%s)", task_id,
             mode == WORKER_RUN ? "not started yet" : mode == WORKER_ADOPT ? "shim alive" :
             mode == WORKER_REPORT ? "finished while the agent was away" :
             mode == WORKER_REFINISH ? "finished, offered again" : "shim lost");
    enqueue(d, j, mode != WORKER_RUN);
    return true;
}

int dispatcher_reattach(struct dispatcher *d)
{
    struct reattach_ctx c = { .d = d };
    int rc = journal_foreach(d->a->cfg.data_dir, reattach_one, &c);
    return rc < 0 ? rc : c.n;
}

void dispatcher_join(struct dispatcher *d)
{
    if (d->started)
        pthread_join(d->thread, NULL);
    d->started = false;
    pthread_mutex_lock(&d->lock);
    while (d->active > 0)
        pthread_cond_wait(&d->idle, &d->lock);
    pthread_mutex_unlock(&d->lock);
}

void dispatcher_destroy(struct dispatcher *d)
{
    if (!d)
        return;
    while (d->head) {
        struct worker_job *j = d->head;
        d->head = j->next;
        free(j);
    }
    http_client_destroy(d->hc);
    waiter_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->idle);
    free(d->owned);
    free(d);
}
