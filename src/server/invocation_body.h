/*
 * Validation of the POST /v1/invocations body (docs/api.md). Unknown fields and bad values are
 * refused with a message naming the field. Pure: tests call it directly.
 */
#ifndef TETHER_SERVER_INVOCATION_BODY_H
#define TETHER_SERVER_INVOCATION_BODY_H

#include <jansson.h>
#include <stdint.h>

#include "server/targets.h"

#define INV_COMMAND_MAX 65536   /* bytes of command text */
#define INV_ENV_MAX 64          /* env variables */
#define INV_ENV_VALUE_MAX 4096  /* bytes per env value */

struct inv_request {
    const char *command;      /* borrowed from the body */
    const char *interpreter;
    const char *user;
    const char *workdir;      /* NULL: the user's home */
    json_t *env;              /* borrowed object (may be empty) */
    json_t *targets;          /* borrowed object as given */
    int64_t timeout_s, output_limit, expires_in_s;
    int64_t memory_bytes, cpu_percent, pids;  /* limits; 0: none */
    json_t *max_concurrency;  /* borrowed: integer or "P%" string as given, or NULL */
    json_t *max_errors;       /* borrowed: integer or "P%" string as given, or NULL */
    struct target_spec spec;
    json_t *empty_env;        /* owned: used when env is absent */
};

/* 0, or -EINVAL with err naming the field. The body must outlive req; free with
 * inv_request_free. */
int inv_request_parse(json_t *body, struct inv_request *req, char *err, size_t errlen);
void inv_request_free(struct inv_request *req);

/* Only the scalar fields (command, interpreter, user, workdir, timeout_s, output_limit,
 * expires_in_s), with the same defaults, rules and messages; other keys are not looked at.
 * Saved commands (command_body.c) validate their fields with it. req holds no allocation. */
int inv_fields_parse(json_t *body, struct inv_request *req, char *err, size_t errlen);

/* Targets-only validation for POST /v1/targets/resolve: body {"targets": {...}}. */
int inv_targets_parse(json_t *body, struct inv_request *req, char *err, size_t errlen);

/* Rate setting (max_concurrency / max_errors) as a number for an invocation of ntasks tasks:
 * an integer as is, "P%" is P percent of ntasks rounded up (max_concurrency at least 1). NULL
 * gives none_value (no limit). */
int64_t inv_rate_limit(json_t *v, size_t ntasks, int64_t min, int64_t none_value);

#endif
