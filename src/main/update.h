/*
 * Self-update of the agent (issue 6; docs/operations.md). The update_checker thread
 * (bypass/update_checker.c) asks the server for a release, and update_apply() verifies it against
 * the pinned key, downloads, checks, smoke-runs and swaps the binary; agent_run then returns with
 * a->reexec set and main.c execs the new binary in place (same pid: shims stay its children and
 * the journal re-attaches them). Until the new binary has connected and heartbeated, DATA/update/
 * pending lets it, or tether-agent-rollback-check, put the previous binary back.
 */
#ifndef TETHER_UPDATE_H
#define TETHER_UPDATE_H

#include <stddef.h>

#include "common/http.h"
#include "main/agent.h"

/* Publishes the update state (heartbeat field update_state / update_target) and remembers it
 * across restarts (DATA/update/last). Any thread. */
void update_state_set(struct agent *a, const char *state, const char *target);
void update_state_get(struct agent *a, char state[128], char target[32]);

/* At `run` start, before the threads: counts a start of a freshly swapped binary and rolls back
 * after too many. Returns 1 when a rollback put another binary at a->exe_path (exec it now),
 * 0 otherwise. */
int update_startup(struct agent *a);

/* Verifies and installs the release {manifest text, signature}. Returns 0 when the new binary is
 * in place (the caller re-execs), 1 when the release is ignored on purpose (known bad), or
 * -errno with why filled ("bad signature", "sha256 mismatch", …). */
int update_apply(struct agent *a, struct http_client *hc, const char *manifest, const char *sig,
                 char *why, size_t whylen);

/* The platform names a manifest must carry: "linux", and uname's machine ("x86_64"). */
void update_platform(char os[32], char arch[32]);

#endif
