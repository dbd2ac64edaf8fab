/*
 * The JSON the CLI prints for one invocation (`tether run -o json`, `tether invocations show -o
 * json`): exactly {"invocation_id","status","tasks":[{"task_id","agent_id","name","status",
 * "exit_code","signal","error","output","stdout","stderr","dropped_bytes","started_at",
 * "finished_at"}]} (DESIGN §5.3), whatever extra fields the server adds.
 */
#ifndef TETHER_CLI_RESHAPE_H
#define TETHER_CLI_RESHAPE_H

#include <jansson.h>
#include <stdbool.h>

/* Returns a new object, or NULL on allocation failure or when inv is not an object. */
json_t *reshape_invocation(json_t *inv);
/* Final task statuses: succeeded failed timed_out cancelled start_failed undetermined expired
 * skipped. */
bool task_status_final(const char *status);

#endif
