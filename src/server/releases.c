/*
 * Agent releases (issue 6): operators publish a manifest signed offline (the server only parses it
 * to index the release and never holds a key), stage a rollout by percent or push to agents, and
 * read how the rollout goes. Agents ask GET /v1/agent/update for the newest release meant for them.
 */
#include "server/server.h"
#include "server/releases.h"

#include "common/ids.h"
#include "common/jsonutil.h"
#include "common/release.h"
#include "common/tm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *render_release(const struct st_release *rel)
{
    json_t *pushed = json_loads(rel->pushed ? rel->pushed : "[]", 0, NULL);

    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:o}", "version", rel->version,
                     "os", rel->os, "arch", rel->arch, "channel", rel->channel, "sha256",
                     rel->sha256, "size", (json_int_t)rel->size, "rollout",
                     (json_int_t)rel->rollout, "pushed", pushed ? pushed : json_array(),
                     "created_at", render_ts(rel->created_at));
}

void h_release_create(struct req *r)
{
    static const char *const keys[] = { "manifest", "signature", "rollout", NULL };
    const char *text = NULL, *sig = NULL;
    struct release_manifest m;
    struct st_release rel = { 0 };
    char err[256] = "";
    int64_t rollout = 0, now = tm_now_ms();
    json_t *body = req_json(r);
    int rc;

    if (!body)
        return;
    if (jsonu_only_keys(body, keys, err, sizeof err) ||
        jsonu_str(body, "manifest", &text, err, sizeof err) != 0 ||
        jsonu_str(body, "signature", &sig, err, sizeof err) != 0 ||
        jsonu_int(body, "rollout", 0, 100, &rollout, err, sizeof err) < 0) {
        resp_error(r, 400, "bad_request", "%s", err[0] ? err : "manifest and signature required");
        goto out;
    }
    if (release_manifest_parse(text, strlen(text), &m, err, sizeof err)) {
        resp_error(r, 400, "bad_request", "%s", err);
        goto out;
    }
    if (strlen(sig) >= sizeof rel.signature || strlen(sig) < 80) {
        resp_error(r, 400, "bad_request", "signature: not an Ed25519 signature");
        goto out;
    }
    if (artifact_size(r->srv, m.sha256) != m.size) {
        resp_error(r, 409, "conflict", "artifact %s of %lld bytes is not uploaded", m.sha256,
                   (long long)m.size);
        goto out;
    }
    snprintf(rel.version, sizeof rel.version, "%s", m.version);
    snprintf(rel.os, sizeof rel.os, "%s", m.os);
    snprintf(rel.arch, sizeof rel.arch, "%s", m.arch);
    snprintf(rel.channel, sizeof rel.channel, "%s", m.channel);
    snprintf(rel.signature, sizeof rel.signature, "%s", sig);
    snprintf(rel.sha256, sizeof rel.sha256, "%s", m.sha256);
    rel.manifest = (char *)text;
    rel.size = m.size;
    rel.rollout = rollout;
    rel.created_at = now;
    rc = store_release_insert(r->srv->st, r->tenant, &rel);
    if (rc == -EEXIST) {
        resp_error(r, 409, "conflict", "release %s (%s/%s, %s) already exists", m.version, m.os,
                   m.arch, m.channel);
        goto out;
    }
    if (rc || req_audit(r, now, "release.publish", m.version, m.sha256)) {
        resp_error(r, 503, "unavailable", "store not writable");
        goto out;
    }
    rel.manifest = NULL;
    resp_json(r, 201, render_release(&rel));
out:
    json_decref(body);
}

void h_releases_list(struct req *r)
{
    struct st_release *rels = NULL;
    size_t n = 0;
    json_t *arr;

    if (store_release_list(r->srv->st, r->tenant, NULL, NULL, NULL, &rels, &n)) {
        resp_error(r, 503, "unavailable", "store not readable");
        return;
    }
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, render_release(&rels[i]));
    st_release_array_free(rels, n);
    resp_json(r, 200, arr ? json_pack("{s:o}", "releases", arr) : NULL);
}

/* The version in the path, checked; answers 400 and returns NULL when it is not one. */
static const char *path_version(struct req *r)
{
    if (!release_version_valid(r->params[0])) {
        resp_error(r, 400, "bad_request", "not a version: use digits and dots, like 1.2.3");
        return NULL;
    }
    return r->params[0];
}

/* PATCH /v1/releases/{version} {"rollout": PERCENT} */
void h_release_patch(struct req *r)
{
    static const char *const keys[] = { "rollout", NULL };
    const char *v = path_version(r);
    char err[256] = "", detail[16];
    int64_t pct = -1, now = tm_now_ms();
    json_t *body;
    int rc;

    if (!v || !(body = req_json(r)))
        return;
    if (jsonu_only_keys(body, keys, err, sizeof err) ||
        jsonu_int(body, "rollout", 0, 100, &pct, err, sizeof err) != 0) {
        resp_error(r, 400, "bad_request", "%s", err[0] ? err : "rollout: required (0..100)");
        goto out;
    }
    rc = store_release_set_rollout(r->srv->st, r->tenant, v, pct);
    snprintf(detail, sizeof detail, "%lld%%", (long long)pct);
    if (rc == -ENOENT)
        resp_error(r, 404, "not_found", "no release %s", v);
    else if (rc || req_audit(r, now, "release.rollout", v, detail))
        resp_error(r, 503, "unavailable", "store not writable");
    else
        resp_json(r, 200, json_pack("{s:s, s:I}", "version", v, "rollout", (json_int_t)pct));
out:
    json_decref(body);
}

/* Rows of version (one per os/arch/channel); -ENOENT when none, 503 answered on store errors. */
static int release_rows(struct req *r, const char *v, struct st_release **out, size_t *n)
{
    struct st_release *all = NULL;
    size_t cnt = 0, k = 0;

    *out = NULL;
    *n = 0;
    if (store_release_list(r->srv->st, r->tenant, NULL, NULL, NULL, &all, &cnt)) {
        resp_error(r, 503, "unavailable", "store not readable");
        return -EIO;
    }
    for (size_t i = 0; i < cnt; i++) {
        if (strcmp(all[i].version, v) == 0)
            all[k++] = all[i];
        else
            st_release_free(&all[i]);
    }
    if (!k) {
        free(all);
        resp_error(r, 404, "not_found", "no release %s", v);
        return -ENOENT;
    }
    *out = all;
    *n = k;
    return 0;
}

/* Adds the agent named by ref (id or name) to ids (a JSON array, no duplicates). */
static int push_target(struct req *r, const char *ref, json_t *ids)
{
    struct st_agent a;
    size_t i;
    json_t *v;
    int rc = -ENOENT;

    if (id_valid(ref, ID_AGENT))
        rc = store_agent_get(r->srv->st, r->tenant, ref, &a);
    else if (name_valid(ref))
        rc = store_agent_by_name(r->srv->st, r->tenant, ref, &a);
    if (rc == -ENOENT) {
        resp_error(r, 404, "not_found", "no such agent: %s", ref);
        return rc;
    }
    if (rc) {
        resp_error(r, 503, "unavailable", "store not readable");
        return rc;
    }
    json_array_foreach(ids, i, v)
        if (strcmp(json_string_value(v), a.agent_id) == 0)
            break;
    if (i == json_array_size(ids))
        json_array_append_new(ids, json_string(a.agent_id));
    evq_push(&r->events, EV_KICK, NULL, NULL, a.agent_id, 0, strdup("update"));
    st_agent_free(&a);
    return 0;
}

/* Without targets: kicks the agents already in the rollout so they check now. */
static int push_rollout(struct req *r, int64_t rollout, json_t *ids)
{
    struct st_agent *agents = NULL;
    size_t n = 0;

    if (store_agent_list(r->srv->st, r->tenant, &agents, &n)) {
        resp_error(r, 503, "unavailable", "store not readable");
        return -EIO;
    }
    for (size_t i = 0; i < n; i++)
        if (release_rollout_bucket(agents[i].agent_id) < rollout) {
            evq_push(&r->events, EV_KICK, NULL, NULL, agents[i].agent_id, 0, strdup("update"));
            json_array_append_new(ids, json_string(agents[i].agent_id));
        }
    st_agent_array_free(agents, n);
    return 0;
}

/* POST /v1/releases/{version}/push {"targets":[id or name…]} */
void h_release_push(struct req *r)
{
    static const char *const keys[] = { "targets", NULL };
    const char *v = path_version(r);
    struct st_release *rows = NULL;
    size_t nrows = 0, i;
    char err[256] = "", *text = NULL;
    json_t *body, *targets, *ids = NULL, *kicked = json_array(), *t;

    if (!v || !kicked || !(body = req_json(r))) {
        json_decref(kicked);
        return;
    }
    targets = json_object_get(body, "targets");
    if (jsonu_only_keys(body, keys, err, sizeof err) ||
        (targets && (!json_is_array(targets) || json_array_size(targets) > 10000))) {
        resp_error(r, 400, "bad_request", "%s", err[0] ? err : "targets: an array of agents");
        goto out;
    }
    if (release_rows(r, v, &rows, &nrows))
        goto out;
    ids = json_loads(rows[0].pushed ? rows[0].pushed : "[]", 0, NULL);
    if (!ids || !json_is_array(ids)) {
        resp_error(r, 500, "internal", "stored push list is not valid");
        goto out;
    }
    if (!targets || json_array_size(targets) == 0) {
        if (push_rollout(r, rows[0].rollout, kicked))
            goto out;
    } else {
        json_array_foreach(targets, i, t) {
            if (!json_is_string(t)) {
                resp_error(r, 400, "bad_request", "targets[%zu]: not a string", i);
                goto out;
            }
            if (push_target(r, json_string_value(t), ids))
                goto out;
            json_array_append(kicked, t);
        }
        text = json_dumps(ids, JSON_COMPACT);
        if (!text || store_release_set_pushed(r->srv->st, r->tenant, v, text)) {
            resp_error(r, 503, "unavailable", "store not writable");
            goto out;
        }
    }
    if (req_audit(r, tm_now_ms(), "release.push", v, NULL)) {
        resp_error(r, 503, "unavailable", "store not writable");
        goto out;
    }
    resp_json(r, 200, json_pack("{s:s, s:O}", "version", v, "kicked", kicked));
out:
    free(text);
    json_decref(ids);
    json_decref(kicked);
    st_release_array_free(rows, nrows);
    json_decref(body);
}

static bool pushed_to(const struct st_release *rel, const char *agent_id)
{
    json_t *ids = json_loads(rel->pushed ? rel->pushed : "[]", 0, NULL), *v;
    bool found = false;
    size_t i;

    json_array_foreach(ids, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), agent_id) == 0)
            found = true;
    json_decref(ids);
    return found;
}

bool release_targets_agent(const struct st_release *rel, const char *agent_id)
{
    return release_rollout_bucket(agent_id) < rel->rollout || pushed_to(rel, agent_id);
}

/* GET /v1/releases/{version}/status: where the rollout stands, agent by agent and in counts. */
void h_release_status(struct req *r)
{
    const char *v = path_version(r);
    struct st_release *rows = NULL;
    struct st_agent *agents = NULL;
    size_t nrows = 0, n = 0;
    json_t *list = json_array(), *counts = json_object();
    int64_t on = 0, pending = 0, failed = 0, targeted = 0;

    if (!v || !list || !counts || release_rows(r, v, &rows, &nrows))
        goto out;
    if (store_agent_list(r->srv->st, r->tenant, &agents, &n)) {
        resp_error(r, 503, "unavailable", "store not readable");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char state[128], target[32];
        bool want = release_targets_agent(&rows[0], agents[i].agent_id);
        bool is_on = release_version_cmp(agents[i].version, v) >= 0;
        bool bad = false;

        store_update_state_get(r->srv->st, r->tenant, agents[i].agent_id, state, target);
        bad = strcmp(target, v) == 0 && (strncmp(state, "failed", 6) == 0 ||
                                         strncmp(state, "rolled_back", 11) == 0);
        targeted += want;
        on += is_on;
        failed += bad && !is_on;
        pending += want && !is_on && !bad;
        json_object_set_new(counts, state[0] ? state : "none",
                            json_integer(json_integer_value(json_object_get(
                                             counts, state[0] ? state : "none")) + 1));
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:b, s:i}", "agent_id",
                                              agents[i].agent_id, "name", agents[i].name,
                                              "version", agents[i].version, "update_state",
                                              state, "targeted", want, "bucket",
                                              release_rollout_bucket(agents[i].agent_id)));
    }
    resp_json(r, 200, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:O, s:O}", "version", v,
                                "rollout", (json_int_t)rows[0].rollout, "agents", (json_int_t)n,
                                "targeted", (json_int_t)targeted, "updated", (json_int_t)on,
                                "pending", (json_int_t)pending, "failed", (json_int_t)failed,
                                "states", counts, "list", list));
out:
    st_agent_array_free(agents, n);
    st_release_array_free(rows, nrows);
    json_decref(list);
    json_decref(counts);
}

/* GET /v1/agent/update?os=&arch=&channel=&version=: the newest release for this agent, or 204. */
void h_agent_update(struct req *r)
{
    char os[40] = "linux", arch[40] = "x86_64", channel[40] = "stable", version[64] = "";
    struct st_release *rels = NULL, *best = NULL;
    struct st_agent a;
    size_t n = 0;

    req_query(r, "os", os, sizeof os);
    req_query(r, "arch", arch, sizeof arch);
    req_query(r, "channel", channel, sizeof channel);
    req_query(r, "version", version, sizeof version);
    if (!release_field_valid(os) || !release_field_valid(arch) || !release_field_valid(channel) ||
        (version[0] && !release_version_valid(version))) {
        resp_error(r, 400, "bad_request", "os, arch, channel or version is not valid");
        return;
    }
    if (!version[0]) {
        if (store_agent_get(r->srv->st, r->tenant, r->agent_id, &a)) {
            resp_error(r, 503, "unavailable", "store not readable");
            return;
        }
        snprintf(version, sizeof version, "%s", a.version);
        st_agent_free(&a);
    }
    if (store_release_list(r->srv->st, r->tenant, os, arch, channel, &rels, &n)) {
        resp_error(r, 503, "unavailable", "store not readable");
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (release_version_cmp(rels[i].version, version) > 0 &&
            release_targets_agent(&rels[i], r->agent_id) &&
            (!best || release_version_cmp(rels[i].version, best->version) > 0))
            best = &rels[i];
    if (best)
        resp_json(r, 200, json_pack("{s:s, s:s}", "manifest", best->manifest, "signature",
                                    best->signature));
    else
        resp_raw(r, 204, "application/json", NULL, 0);
    st_release_array_free(rels, n);
}

void releases_decorate_agent(struct server *srv, const char *tenant, const char *agent_id,
                             json_t *o)
{
    char state[128], target[32];

    if (!o || store_update_state_get(srv->st, tenant, agent_id, state, target))
        return;
    json_object_set_new(o, "update_state", json_string(state));
    json_object_set_new(o, "update_target", json_string(target));
}
