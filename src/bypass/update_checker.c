/*
 * update_checker: asks GET /v1/agent/update every update_interval (jittered so a fleet does not
 * ask at once) or at once on an `update` kick, and hands a release to update_apply(). Right after
 * a swap it is also the health watch of the new binary: connected and one heartbeat answered
 * before update_health_deadline, or the previous binary comes back (docs/operations.md).
 */
#include "bypass/bypass.h"
#include "main/update.h"
#include "main/update_files.h"
#include "common/http.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/release.h"
#include "common/tm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void update_state_set(struct agent *a, const char *state, const char *target)
{
    bool changed;

    pthread_mutex_lock(&a->update_lock);
    changed = strcmp(a->update_state, state) != 0 || strcmp(a->update_target, target) != 0;
    snprintf(a->update_state, sizeof a->update_state, "%s", state);
    snprintf(a->update_target, sizeof a->update_target, "%s", target);
    pthread_mutex_unlock(&a->update_lock);
    if (!changed)
        return;
    if (update_last_write(a->cfg.data_dir, state, target) != 0)
        log_warn("update: cannot record state %s", state);
    waiter_poke(&a->heartbeat); /* the server hears of it now, not an interval later */
}

void update_state_get(struct agent *a, char state[128], char target[32])
{
    pthread_mutex_lock(&a->update_lock);
    snprintf(state, 128, "%s", a->update_state);
    snprintf(target, 32, "%s", a->update_target);
    pthread_mutex_unlock(&a->update_lock);
}

/* The new binary's first minute: healthy (connected + a heartbeat answered) ends the update,
 * the deadline rolls it back. Returns true when the agent must re-exec (rolled back). */
static bool health_watch(struct agent *a)
{
    struct update_pending p;

    if (update_pending_read(a->cfg.data_dir, &p) != 0 || strcmp(p.version, TETHER_VERSION) != 0)
        return false;
    log_info("update: %s started; healthy by the deadline or back to %s", p.version, p.previous);
    while (!atomic_load(&a->stopping)) {
        if (atomic_load(&a->conn_state) == CONN_CONNECTED && atomic_load(&a->heartbeats_ok) > 0) {
            update_pending_remove(a->cfg.data_dir);
            update_state_set(a, "updated", p.version);
            log_info("update: %s is healthy (was %s)", p.version, p.previous);
            return false;
        }
        if (tm_now_ms() > p.deadline) {
            if (update_rollback(a->cfg.data_dir, &p, "not healthy before the deadline") != 0)
                return false;
            return true;
        }
        waiter_wait(&a->update_wake, 250);
    }
    return false;
}

/* One question to the server. Returns true when a new binary is in place (re-exec). */
static bool check_once(struct agent *a, struct http_client *hc, char *last_fail, size_t n)
{
    char os[32], arch[32], path[256], why[256] = "", key[320];
    struct http_response r = { 0 };
    struct release_manifest m;
    const char *text = NULL, *sig = NULL;
    json_t *doc = NULL;
    bool swapped = false;
    int rc;

    update_platform(os, arch);
    snprintf(path, sizeof path, "/v1/agent/update?os=%s&arch=%s&channel=%s&version=%s", os, arch,
             a->cfg.update_channel, TETHER_VERSION);
    if (http_call_json(hc, "GET", path, NULL, &r, &doc) != 0 || r.status != 200) {
        if (r.status != 204)
            log_debug("update: check failed: %s", r.err[0] ? r.err : "no answer");
        goto out;
    }
    if (!doc || jsonu_str(doc, "manifest", &text, why, sizeof why) != 0 || !text ||
        jsonu_str(doc, "signature", &sig, why, sizeof why) != 0 || !sig) {
        log_warn("update: the server's answer has no manifest and signature");
        goto out;
    }
    char prev_state[128], prev_target[32];
    update_state_get(a, prev_state, prev_target);
    /* The version is only a label until verified: a manifest that fails verification names it. */
    bool named = release_manifest_parse(text, strlen(text), &m, why, sizeof why) == 0;
    /* Only a new offer shows as checking: the same one again (refused or known bad) would
     * otherwise flap the reported state at every interval. */
    if (!named || strcmp(m.version, prev_target) != 0)
        update_state_set(a, "checking", named ? m.version : "");
    rc = update_apply(a, hc, text, sig, why, sizeof why);
    if (rc == 1) {
        update_state_set(a, prev_state, prev_target); /* a known bad version: nothing new */
    } else if (rc == 0) {
        swapped = true;
    } else if (rc < 0) {
        char state[160];
        snprintf(state, sizeof state, "failed: %.118s", why); /* the server takes 127 */
        update_state_set(a, state, named ? m.version : "");
        snprintf(key, sizeof key, "%s/%s", named ? m.version : "?", why);
        if (strcmp(key, last_fail) != 0)
            log_warn("update: release %s refused: %s", named ? m.version : "?", why);
        snprintf(last_fail, n, "%s", key);
    }
out:
    json_decref(doc);
    http_response_free(&r);
    return swapped;
}

void *update_checker_main(void *arg)
{
    struct agent *a = arg;
    struct http_client *hc = NULL;
    char last_fail[320] = "";
    int64_t iv = a->cfg.update_interval;

    if (health_watch(a))
        goto reexec;
    if (!a->cfg.update_pubkey || !a->cfg.update_pubkey[0]) {
        log_info("update: no update_pubkey configured: self-update is off");
        return NULL;
    }
    if (!release_field_valid(a->cfg.update_channel)) {
        log_error("update: update_channel '%s' is not valid: self-update is off",
                  a->cfg.update_channel);
        return NULL;
    }
    hc = http_client_create(a->ident.server, a->ident.agent_token, a->cfg.ca_file);
    if (!hc)
        return NULL;
    while (!atomic_load(&a->stopping)) {
        waiter_wait(&a->update_wake, bypass_jitter(iv * 500, iv * 1000));
        if (atomic_load(&a->stopping))
            break;
        if (check_once(a, hc, last_fail, sizeof last_fail))
            goto reexec;
    }
    http_client_destroy(hc);
    return NULL;
reexec:
    http_client_destroy(hc);
    atomic_store(&a->reexec, true);
    agent_request_stop(a);
    return NULL;
}

int update_startup(struct agent *a)
{
    struct update_pending p;
    int rc;

    pthread_mutex_init(&a->update_lock, NULL);
    update_last_read(a->cfg.data_dir, a->update_state, sizeof a->update_state, a->update_target,
                     sizeof a->update_target);
    rc = update_pending_read(a->cfg.data_dir, &p);
    if (rc == -ENOENT)
        return 0;
    if (rc) {
        log_error("update: unreadable pending file: removed");
        update_pending_remove(a->cfg.data_dir);
        return 0;
    }
    if (strcmp(p.version, TETHER_VERSION) != 0) {
        /* The previous binary runs although a swap was recorded: the new one never took over
         * (a crash between swap steps, or restored by hand). Never try it again. */
        char state[128];
        snprintf(state, sizeof state, "rolled_back: %s did not take over", p.version);
        update_mark_bad(a->cfg.data_dir, p.version);
        update_last_write(a->cfg.data_dir, state, p.version);
        snprintf(a->update_state, sizeof a->update_state, "%s", state);
        snprintf(a->update_target, sizeof a->update_target, "%s", p.version);
        update_pending_remove(a->cfg.data_dir);
        return 0;
    }
    p.starts++;
    if (p.starts > UPDATE_MAX_STARTS)
        return update_rollback(a->cfg.data_dir, &p, "restarted too often") == 0 ? 1 : 0;
    if (update_pending_write(a->cfg.data_dir, &p) != 0)
        log_warn("update: cannot count this start");
    snprintf(a->update_state, sizeof a->update_state, "staged");
    snprintf(a->update_target, sizeof a->update_target, "%s", p.version);
    return 0;
}
