/*
 * The one route table (routes.c): every endpoint with the credential it needs and its handler.
 * Matching is pure so tests can walk the table without a server.
 */
#ifndef TETHER_SERVER_ROUTES_H
#define TETHER_SERVER_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#define ROUTE_MAX_PARAMS 2
#define ROUTE_PARAM_MAX 128

enum http_method { M_OTHER = 0, M_GET, M_POST, M_PATCH, M_DELETE, M_PUT, M_HEAD };

/* Who may call: nobody authenticated, an agent token, or an API key of at least a role. */
enum cred_need { CRED_NONE, CRED_AGENT, CRED_VIEWER, CRED_OPERATOR, CRED_ADMIN };

struct req;
typedef void (*route_handler)(struct req *r);

struct route {
    enum http_method method;
    const char *pattern;   /* "/v1/tasks/{id}/output": {x} matches one non-empty segment */
    enum cred_need need;
    bool writes;           /* runs inside the group-commit transaction */
    route_handler handler;
};

extern const struct route route_table[];

/* Finds the route for method + path and copies the {params}. NULL when none; *path_known tells
 * 404 (false) from 405 (true). */
const struct route *route_find(const struct route *table, enum http_method method,
                               const char *path, char params[ROUTE_MAX_PARAMS][ROUTE_PARAM_MAX],
                               bool *path_known);
/* True when pattern matches path; params as above. */
bool route_match(const char *pattern, const char *path,
                 char params[ROUTE_MAX_PARAMS][ROUTE_PARAM_MAX]);

/* Handlers (one file per area). */
void h_healthz(struct req *r);
void h_agent_register(struct req *r);
void h_agent_pull(struct req *r);
void h_agent_start(struct req *r);
void h_agent_output(struct req *r);
void h_agent_finish(struct req *r);
void h_agent_heartbeat(struct req *r);
void h_agent_update(struct req *r);
void h_activation_create(struct req *r);
void h_agents_list(struct req *r);
void h_agent_show(struct req *r);
void h_agent_patch(struct req *r);
void h_agent_delete(struct req *r);
void h_invocation_create(struct req *r);
void h_targets_resolve(struct req *r);
void h_invocations_list(struct req *r);
void h_invocation_show(struct req *r);
void h_invocation_events(struct req *r);
void h_invocation_cancel(struct req *r);
void h_task_show(struct req *r);
void h_task_output(struct req *r);
void h_task_cancel(struct req *r);
void h_agent_ws_plain(struct req *r);
void h_apikey_create(struct req *r);
void h_apikeys_list(struct req *r);
void h_apikey_revoke(struct req *r);
void h_audit_list(struct req *r);
void h_artifact_upload(struct req *r);
void h_artifact_get(struct req *r);
void h_release_create(struct req *r);
void h_releases_list(struct req *r);
void h_release_patch(struct req *r);
void h_release_push(struct req *r);
void h_release_status(struct req *r);
void h_tasks_list(struct req *r);
void h_invocation_analysis(struct req *r);
void h_command_save(struct req *r);
void h_commands_list(struct req *r);
void h_command_show(struct req *r);
void h_command_delete(struct req *r);
void h_command_invoke(struct req *r);

/* The route of the agent WebSocket upgrade: ws.c authenticates the upgrade against its `need`. */
#define ROUTE_AGENT_WS "/v1/agent/ws"
const struct route *route_for_upgrade(const char *path);

#endif
