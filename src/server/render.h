/*
 * JSON shapes of the operator API (docs/api.md): task, invocation and agent objects, the derived
 * invocation status, and the text form of stored output. All return new references or NULL.
 */
#ifndef TETHER_SERVER_RENDER_H
#define TETHER_SERVER_RENDER_H

#include <jansson.h>
#include <stdbool.h>

#include "server/store/store.h"

bool task_status_final(const char *status);
bool task_status_valid(const char *status);
/* JSON string for a timestamp, null for 0. */
json_t *render_ts(int64_t ms);
/* Task object; with_output adds "output", "stdout", "stderr" as sanitized text. */
json_t *render_task(struct store *st, const struct st_task *t, bool with_output);
/* Task object as compact JSON text (caller frees), for SSE events. */
char *render_task_text(struct store *st, const struct st_task *t);
/* Invocation status from its tasks (docs/api.md). */
const char *invocation_status(const struct st_invocation *inv, const struct st_task *tasks,
                              size_t n);
/* Invocation object; tasks may be NULL (list views). */
json_t *render_invocation(struct store *st, const struct st_invocation *inv,
                          const struct st_task *tasks, size_t n, bool with_tasks,
                          bool with_output);
/* Loads the tasks and renders; NULL on store failure. */
json_t *render_invocation_load(struct store *st, const struct st_invocation *inv,
                               bool with_tasks, bool with_output);
/* online: connected over WS or heartbeat within two intervals (decided by the caller). */
json_t *render_agent(const struct st_agent *a, bool online);

#endif
