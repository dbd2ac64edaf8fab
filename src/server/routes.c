/*
 * Every HTTP endpoint of the server, in one table, with the credential it needs (DESIGN §8: the
 * default identity is nobody). http.c authenticates against `need` before calling the handler.
 */
#include "server/routes.h"

#include <stdio.h>
#include <string.h>

const struct route route_table[] = {
    { M_GET, "/healthz", CRED_NONE, false, h_healthz },

    { M_POST, "/v1/agent/register", CRED_NONE, true, h_agent_register },
    { M_POST, "/v1/agent/tasks/pull", CRED_AGENT, true, h_agent_pull },
    { M_POST, "/v1/agent/tasks/{id}/start", CRED_AGENT, true, h_agent_start },
    { M_POST, "/v1/agent/tasks/{id}/output", CRED_AGENT, true, h_agent_output },
    { M_POST, "/v1/agent/tasks/{id}/finish", CRED_AGENT, true, h_agent_finish },
    { M_POST, "/v1/agent/heartbeat", CRED_AGENT, true, h_agent_heartbeat },
    { M_GET, "/v1/agent/update", CRED_AGENT, false, h_agent_update },
    /* The WebSocket upgrade (ws.c checks `need` before any 101); a plain GET gets 426. */
    { M_GET, ROUTE_AGENT_WS, CRED_AGENT, false, h_agent_ws_plain },

    { M_POST, "/v1/activations", CRED_ADMIN, true, h_activation_create },

    { M_GET, "/v1/agents", CRED_VIEWER, false, h_agents_list },
    { M_GET, "/v1/agents/{id}", CRED_VIEWER, false, h_agent_show },
    { M_PATCH, "/v1/agents/{id}", CRED_OPERATOR, true, h_agent_patch },
    { M_DELETE, "/v1/agents/{id}", CRED_ADMIN, true, h_agent_delete },

    { M_POST, "/v1/invocations", CRED_OPERATOR, true, h_invocation_create },
    { M_GET, "/v1/invocations", CRED_VIEWER, false, h_invocations_list },
    { M_GET, "/v1/invocations/{id}", CRED_VIEWER, false, h_invocation_show },
    { M_GET, "/v1/invocations/{id}/events", CRED_VIEWER, false, h_invocation_events },
    { M_POST, "/v1/invocations/{id}/cancel", CRED_OPERATOR, true, h_invocation_cancel },

    /* Dry run of a targets object (tether run --dry-run): reads only, but operators only, as it
     * answers the same question an invocation would. */
    { M_POST, "/v1/targets/resolve", CRED_OPERATOR, false, h_targets_resolve },

    { M_GET, "/v1/tasks/{id}", CRED_VIEWER, false, h_task_show },
    { M_GET, "/v1/tasks/{id}/output", CRED_VIEWER, false, h_task_output },
    { M_POST, "/v1/tasks/{id}/cancel", CRED_OPERATOR, true, h_task_cancel },

    { M_POST, "/v1/apikeys", CRED_ADMIN, true, h_apikey_create },
    { M_GET, "/v1/apikeys", CRED_ADMIN, false, h_apikeys_list },
    { M_DELETE, "/v1/apikeys/{name}", CRED_ADMIN, true, h_apikey_revoke },

    /* Releases of the agent (issue 6): signed offline, the server only stores and serves them. */
    { M_POST, "/v1/artifacts", CRED_ADMIN, true, h_artifact_upload },
    { M_GET, "/v1/artifacts/{sha256}", CRED_AGENT, false, h_artifact_get },
    { M_POST, "/v1/releases", CRED_ADMIN, true, h_release_create },
    { M_GET, "/v1/releases", CRED_VIEWER, false, h_releases_list },
    { M_PATCH, "/v1/releases/{version}", CRED_ADMIN, true, h_release_patch },
    { M_POST, "/v1/releases/{version}/push", CRED_ADMIN, true, h_release_push },
    { M_GET, "/v1/releases/{version}/status", CRED_VIEWER, false, h_release_status },

    /* Saved commands with {{parameters}} (issue 7): read like invocations (viewer), changed and
     * invoked by operators. */
    { M_POST, "/v1/commands", CRED_OPERATOR, true, h_command_save },
    { M_GET, "/v1/commands", CRED_VIEWER, false, h_commands_list },
    { M_GET, "/v1/commands/{name}", CRED_VIEWER, false, h_command_show },
    { M_DELETE, "/v1/commands/{name}", CRED_OPERATOR, true, h_command_delete },
    { M_POST, "/v1/commands/{name}/invoke", CRED_OPERATOR, true, h_command_invoke },

    /* Read only: no route writes or deletes audit rows. */
    { M_GET, "/v1/audit", CRED_ADMIN, false, h_audit_list },

    /* Watching work (tether top, tether analysis). */
    { M_GET, "/v1/tasks", CRED_VIEWER, false, h_tasks_list },
    { M_GET, "/v1/invocations/{id}/analysis", CRED_VIEWER, false, h_invocation_analysis },

    { M_OTHER, NULL, CRED_NONE, false, NULL },
};

bool route_match(const char *pattern, const char *path,
                 char params[ROUTE_MAX_PARAMS][ROUTE_PARAM_MAX])
{
    int np = 0;
    const char *p = pattern, *s = path;

    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            size_t n = strcspn(s, "/");
            if (!pe || n == 0 || n >= ROUTE_PARAM_MAX || np >= ROUTE_MAX_PARAMS)
                return false;
            if (params)
                snprintf(params[np], ROUTE_PARAM_MAX, "%.*s", (int)n, s);
            np++;
            p = pe + 1;
            s += n;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    return *p == '\0' && *s == '\0';
}

const struct route *route_find(const struct route *table, enum http_method method,
                               const char *path, char params[ROUTE_MAX_PARAMS][ROUTE_PARAM_MAX],
                               bool *path_known)
{
    *path_known = false;
    for (const struct route *rt = table; rt->pattern; rt++) {
        if (!route_match(rt->pattern, path, NULL))
            continue;
        *path_known = true;
        if (rt->method == method) {
            route_match(rt->pattern, path, params);
            return rt;
        }
    }
    return NULL;
}

const struct route *route_for_upgrade(const char *path)
{
    bool known;
    const struct route *rt = route_find(route_table, M_GET, path, NULL, &known);
    /* Only rows whose plain-GET handler says "upgrade required" are WebSocket endpoints. */
    return rt && rt->handler == h_agent_ws_plain ? rt : NULL;
}
