/*
 * The audit trail: req_audit() records an operator action with who (key name), role, source
 * address and time; GET /v1/audit (admin) lists it newest first with ?limit, ?action, ?who.
 * No route writes or deletes audit rows; the store has no function that could.
 */
#include "server/server.h"

#include "common/ids.h"
#include "common/tm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_LIMIT_DEFAULT 100
#define AUDIT_LIMIT_MAX 1000

int req_audit(struct req *r, int64_t at, const char *action, const char *target,
              const char *detail)
{
    struct st_audit a = {
        .tenant = r->tenant, .at = at, .who = r->who,
        .role = r->agent_id[0] ? "agent" : role_name(r->role),
        .action = action, .target = target, .detail = detail,
        .source = r->peer[0] ? r->peer : NULL,
    };
    return store_audit_add(r->srv->st, &a);
}

/* Filter values: the characters of actions ("agent.tag") and key/agent names. */
static bool filter_ok(const char *s)
{
    if (!*s || strlen(s) > 63)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return false;
    return true;
}

void h_audit_list(struct req *r)
{
    char lim[16], action[64], who[64], *end;
    bool has_action, has_who;
    int64_t limit = AUDIT_LIMIT_DEFAULT;
    struct st_audit *rows = NULL;
    size_t n = 0;
    json_t *arr;

    if (req_query(r, "limit", lim, sizeof lim)) {
        errno = 0;
        long long v = strtoll(lim, &end, 10);
        if (errno || *end || v < 1 || v > AUDIT_LIMIT_MAX) {
            resp_error(r, 400, "bad_request", "limit: 1 to %d", AUDIT_LIMIT_MAX);
            return;
        }
        limit = v;
    }
    has_action = req_query(r, "action", action, sizeof action);
    has_who = req_query(r, "who", who, sizeof who);
    if ((has_action && !filter_ok(action)) || (has_who && !filter_ok(who))) {
        resp_error(r, 400, "bad_request", "%s: letters, digits, '.', '_', '-'",
                   has_action && !filter_ok(action) ? "action" : "who");
        return;
    }
    if (store_audit_list(r->srv->st, r->tenant, has_action ? action : NULL, has_who ? who : NULL,
                         limit, &rows, &n)) {
        resp_error(r, 503, "unavailable", "store not readable");
        return;
    }
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        const struct st_audit *a = &rows[i];
        json_array_append_new(
            arr, json_pack("{s:I, s:o, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}", "id",
                           (json_int_t)a->id, "at", render_ts(a->at), "who", a->who, "role",
                           a->role, "action", a->action, "target", a->target, "detail",
                           a->detail, "source", a->source));
    }
    st_audit_array_free(rows, n);
    resp_json(r, 200, arr ? json_pack("{s:o}", "audit", arr) : NULL);
}

void h_agent_ws_plain(struct req *r)
{
    resp_error(r, 426, "upgrade_required", "this endpoint is the agent WebSocket");
    resp_header(r, "Upgrade", "websocket");
}
