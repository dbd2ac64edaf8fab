/*
 * What happened across the hosts of one invocation (GET /v1/invocations/{id}/analysis, tether
 * analysis): counts by status, the hosts that did not succeed, the slowest hosts, and the
 * distinct outputs — tasks grouped by the SHA-256 of their whole stored output, so only one
 * sample per group travels to the client however many hosts printed it.
 *
 * analysis_build is pure (tests feed it items); the route hashes the stored output and fetches
 * the samples.
 */
#ifndef TETHER_SERVER_ANALYSIS_H
#define TETHER_SERVER_ANALYSIS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store/store.h"

#define ANALYSIS_SLOWEST 5        /* hosts in "slowest" */
#define ANALYSIS_GROUPS 20        /* largest output groups returned */
#define ANALYSIS_GROUP_NAMES 5    /* host names listed per group */
#define ANALYSIS_FAILED_MAX 1000  /* hosts in "failed" (failed_total counts them all) */
#define ANALYSIS_SAMPLE 1024      /* bytes of output text per group */

struct analysis_item {
    const struct st_task *task;
    const char *name;             /* the agent's name */
    bool grouped;                 /* ran to a final status: its output was hashed */
    unsigned char digest[32];     /* SHA-256 of the stored output (both streams, arrival order) */
    int64_t output_bytes;         /* stored bytes */
};

/* Adds "output" (text) and "truncated" to group from rep, the group's first task. 0 or -1. */
typedef int (*analysis_sample_fn)(void *ud, const struct analysis_item *rep, json_t *group);

/* A task that ended without succeeding: any final status but succeeded. The same definition as
 * the invocation listing's status=failed filter. */
bool analysis_unsuccessful(const char *status);

/* {"total","counts","failed_total","failed","slowest","grouped","outputs_total","outputs"} for
 * items (reordered in place). New object, or NULL on failure. */
json_t *analysis_build(struct analysis_item *items, size_t n, analysis_sample_fn sample,
                       void *ud);

#endif
