/* Operator routes on agents: list, show, patch tags, delete (token revoked, WebSocket closed). */
#include "server/server.h"
#include "server/releases.h"
#include "server/list_query.h"

#include "common/jsonutil.h"
#include "common/log.h"
#include "common/tm.h"

#include <string.h>

/* Looks an agent up by id or name (both checked by allowlist first). Answers 404 itself. */
static int find_agent(struct req *r, struct st_agent *a)
{
    const char *ref = r->params[0];
    int rc = -ENOENT;
    if (id_valid(ref, ID_AGENT))
        rc = store_agent_get(r->srv->st, r->tenant, ref, a);
    else if (name_valid(ref))
        rc = store_agent_by_name(r->srv->st, r->tenant, ref, a);
    if (rc == -ENOENT)
        resp_error(r, 404, "not_found", "no such agent");
    else if (rc)
        resp_error(r, 503, "unavailable", "store not readable");
    return rc;
}

void h_agents_list(struct req *r)
{
    struct agent_filter filter;
    struct st_agent *agents = NULL;
    size_t n = 0;
    int64_t now = tm_now_ms();
    json_t *arr;

    agent_filter_init(&filter);
    if (agent_filter_parse(r, &filter))
        goto out;
    if (store_agent_list(r->srv->st, r->tenant, &agents, &n)) {
        resp_error(r, 503, "unavailable", "store not readable");
        goto out;
    }
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        bool online = agent_online(r->srv, &agents[i], now);
        if (!agent_filter_match(&filter, &agents[i], online))
            continue;
        json_t *o = render_agent(&agents[i], online);
        releases_decorate_agent(r->srv, r->tenant, agents[i].agent_id, o);
        json_array_append_new(arr, o);
    }
    st_agent_array_free(agents, n);
    resp_json(r, 200, arr ? json_pack("{s:o}", "agents", arr) : NULL);
out:
    agent_filter_free(&filter);
}

void h_agent_show(struct req *r)
{
    struct st_agent a;
    json_t *o;
    if (find_agent(r, &a))
        return;
    o = render_agent(&a, agent_online(r->srv, &a, tm_now_ms()));
    releases_decorate_agent(r->srv, r->tenant, a.agent_id, o);
    resp_json(r, 200, o);
    st_agent_free(&a);
}

/* {"tags":{"k":"v","gone":null}}: merge, null removes. */
static int patch_tags(json_t *patch, struct st_agent *a, char *err, size_t errlen)
{
    const char *k;
    json_t *v, *tags = json_loads(a->tags, 0, NULL);
    int rc = -1;
    if (!tags || !json_is_object(patch)) {
        snprintf(err, errlen, "tags: must be an object");
        goto out;
    }
    json_object_foreach(patch, k, v) {
        if (!tag_key_valid(k) || (!json_is_null(v) && (!json_is_string(v) ||
                                                        !tag_value_valid(json_string_value(v))))) {
            snprintf(err, errlen, "tags.%.64s: invalid tag", k);
            goto out;
        }
        if (json_is_null(v))
            json_object_del(tags, k);
        else
            json_object_set(tags, k, v);
    }
    if (json_object_size(tags) > 32) {
        snprintf(err, errlen, "tags: at most 32 tags");
        goto out;
    }
    char *text = json_dumps(tags, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        goto out;
    free(a->tags);
    a->tags = text;
    rc = 0;
out:
    json_decref(tags);
    return rc;
}

void h_agent_patch(struct req *r)
{
    static const char *const keys[] = { "tags", NULL };
    char err[256] = "";
    struct st_agent a;
    json_t *body = req_json(r);

    if (!body)
        return;
    if (jsonu_only_keys(body, keys, err, sizeof err)) {
        resp_error(r, 400, "bad_request", "%s", err);
        goto out;
    }
    if (find_agent(r, &a))
        goto out;
    json_t *patch = json_object_get(body, "tags");
    if (patch && patch_tags(patch, &a, err, sizeof err)) {
        resp_error(r, 400, "bad_request", "%s", err[0] ? err : "tags: invalid");
        goto free_agent;
    }
    if (store_agent_update(r->srv->st, &a, NULL) ||
        req_audit(r, tm_now_ms(), "agent.tag", a.agent_id, a.tags)) {
        resp_error(r, 503, "unavailable", "store not writable");
        goto free_agent;
    }
    resp_json(r, 200, render_agent(&a, agent_online(r->srv, &a, tm_now_ms())));
free_agent:
    st_agent_free(&a);
out:
    json_decref(body);
}

void h_agent_delete(struct req *r)
{
    struct st_agent a;
    if (find_agent(r, &a))
        return;
    if (store_agent_remove(r->srv->st, r->tenant, a.agent_id) ||
        req_audit(r, tm_now_ms(), "agent.remove", a.agent_id, a.name) ||
        evq_push(&r->events, EV_AGENT_GONE, NULL, NULL, a.agent_id, 0, NULL)) {
        resp_error(r, 503, "unavailable", "store not writable");
    } else {
        log_info("agents: %s removed by %s", a.agent_id, r->who);
        resp_raw(r, 204, "application/json", NULL, 0);
    }
    st_agent_free(&a);
}
