/*
 * POST /v1/agent/heartbeat: the agent's state (docs/protocol.md). An agent is online while its
 * WebSocket is connected here or its last heartbeat is younger than two intervals.
 */
#include "server/server.h"

#include "common/jsonutil.h"
#include "common/tm.h"

#include <string.h>

bool agent_online(struct server *srv, const struct st_agent *a, int64_t now)
{
    if (ws_agent_connected(srv, a->agent_id))
        return true;
    /* A WebSocket that closed after the last heartbeat (a clean stop) means offline now, not
     * two intervals later; an agent that only heartbeats is judged by its heartbeats. */
    if (ws_disconnected_at(srv, a->agent_id) >= a->last_heartbeat)
        return false;
    return a->last_heartbeat && now - a->last_heartbeat < 2 * srv->cfg.heartbeat_interval * 1000;
}

static int apply(json_t *b, struct st_agent *a, char *err, size_t errlen)
{
    const char *version = NULL, *primary = NULL;
    json_t *ips = json_object_get(b, "ips"), *load = json_object_get(b, "load1"), *v;
    size_t i;

    if (jsonu_str(b, "version", &version, err, errlen) < 0 ||
        jsonu_int(b, "uptime_s", 0, INT64_MAX / 2, &a->uptime_s, err, errlen) < 0 ||
        jsonu_int(b, "running", 0, 1000000, &a->running, err, errlen) < 0 ||
        jsonu_int(b, "mem_total", 0, INT64_MAX / 2, &a->mem_total, err, errlen) < 0 ||
        jsonu_int(b, "mem_available", 0, INT64_MAX / 2, &a->mem_available, err, errlen) < 0 ||
        jsonu_str(b, "primary_ip", &primary, err, errlen) < 0)
        return -1;
    /* the same rule as at registration: a version is shown everywhere and filtered on */
    if (version && !charset_ok(version, sizeof a->version - 1, "._+-~"))
        return snprintf(err, errlen, "version: invalid value"), -1;
    if (version)
        snprintf(a->version, sizeof a->version, "%s", version);
    if (load && json_is_number(load))
        a->load1 = json_number_value(load);
    if (primary) {
        if (!ip_text_valid(primary))
            return snprintf(err, errlen, "primary_ip: not an IP address"), -1;
        snprintf(a->primary_ip, sizeof a->primary_ip, "%s", primary);
    }
    if (ips && !json_is_null(ips)) {
        if (!json_is_array(ips) || json_array_size(ips) > 64)
            return snprintf(err, errlen, "ips: must be an array of at most 64 addresses"), -1;
        json_array_foreach(ips, i, v)
            if (!ip_text_valid(json_string_value(v)))
                return snprintf(err, errlen, "ips[%zu]: not an IP address", i), -1;
        char *text = json_dumps(ips, JSON_COMPACT);
        if (!text)
            return snprintf(err, errlen, "out of memory"), -1;
        free(a->ips);
        a->ips = text;
    }
    return 0;
}

/* update_state / update_target (issue 6), optional: kept per agent for `tether agents` and
 * `tether release status`. */
static int apply_update_state(struct req *r, json_t *b, int64_t now)
{
    const char *state = NULL, *target = "";
    char err[128];

    if (jsonu_str(b, "update_state", &state, err, sizeof err) < 0 ||
        jsonu_str(b, "update_target", &target, err, sizeof err) < 0)
        return -1;
    if (!state)
        return 0;
    if (strlen(state) > 127 || strlen(target) > 31)
        return -1;
    for (const char *p = state; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return -1;
    for (const char *p = target; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return -1;
    return store_update_state_set(r->srv->st, r->tenant, r->agent_id, state, target, now) ? -1 : 0;
}

void h_agent_heartbeat(struct req *r)
{
    char err[256] = "";
    struct st_agent a;
    json_t *body = req_json(r);
    int64_t now = tm_now_ms();

    if (!body)
        return;
    if (store_agent_get(r->srv->st, r->tenant, r->agent_id, &a)) {
        resp_error(r, 503, "unavailable", "store not readable");
        goto out;
    }
    /* Unknown fields are tolerated here: newer agents report more (sub-agent states...). */
    if (apply(body, &a, err, sizeof err)) {
        resp_error(r, 400, "bad_request", "%s", err);
        goto free_agent;
    }
    if (apply_update_state(r, body, now)) {
        resp_error(r, 400, "bad_request", "update_state: printable text of at most 127 bytes");
        goto free_agent;
    }
    a.last_heartbeat = now;
    a.last_seen = now;
    if (store_agent_update(r->srv->st, &a, NULL)) {
        resp_error(r, 503, "unavailable", "store not writable");
        goto free_agent;
    }
    resp_json(r, 200, json_pack("{s:I}", "next_interval", (json_int_t)r->srv->cfg.heartbeat_interval));
free_agent:
    st_agent_free(&a);
out:
    json_decref(body);
}
