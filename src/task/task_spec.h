/*
 * A task as delivered by the server, validated field by field. Used by the dispatcher (network
 * input) and again by the shim (reading the journal), so both trust the same checks.
 */
#ifndef TETHER_TASK_SPEC_H
#define TETHER_TASK_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"

#define TASK_COMMAND_MAX 65536
#define TASK_ENV_MAX 64
#define TASK_ENV_VALUE_MAX 4096
#define TASK_HIDE_MAX 8

struct task_spec {
    char task_id[ID_BUF];
    char invocation_id[ID_BUF];
    char interpreter[16];
    char user[40];
    char *workdir;      /* NULL: the user's home */
    char *command;      /* decoded bytes, NUL-terminated, owned */
    size_t command_len;
    json_t *env;        /* object of string values (own reference) or NULL */
    int64_t timeout_s;
    int64_t output_limit;
    int64_t spool_limit;   /* agent-side fields added to task.json */
    int64_t kill_grace_s;
    int64_t profile_timeout_s;
    bool login_profile;    /* source the user's profile files (default) */
    int64_t profile_cache_s; /* reuse a captured login environment this long; 0: never */
    json_t *hide_paths;    /* array of absolute paths covered for root tasks (own ref) or NULL */
    bool hide_off;         /* hide_paths: null (agent option hide_secrets = no); absent: on */
    bool cgroups_off;      /* agent option cgroups = off */
    int64_t memory_bytes;  /* limits{}; 0 = none */
    int64_t cpu_percent;
    int64_t pids;
};

/* Only reads the task id (so an invalid task can still be journaled and reported). Returns 0 or
 * -EINVAL. */
int task_spec_id(json_t *task, char out[ID_BUF]);
/* Validates every field. Returns 0, or -EINVAL with err naming the field ("timeout_s: …"). */
int task_spec_parse(json_t *task, struct task_spec *s, char *err, size_t errlen);
void task_spec_free(struct task_spec *s);

#endif
