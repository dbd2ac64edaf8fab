/*
 * The server's store interface. Routes and task logic only call these functions; the SQLite
 * backend (store/sqlite*.c) implements them today, and a PostgreSQL backend can implement the same
 * set later without touching the routes. Everything runs on the lws service thread: one connection,
 * no locking. Transactions are driven by the group commit (commit.c), never by a handler.
 *
 * Conventions: 0 or -errno; -ENOENT when a row is missing; -EIO for a backend failure (logged).
 * Timestamps are milliseconds since the epoch, 0 meaning NULL. Text fields that hold JSON
 * (tags, ips, env, targets) are stored and returned as compact JSON text.
 * Row structs own their heap strings; free them with the matching *_free().
 */
#ifndef TETHER_SERVER_STORE_H
#define TETHER_SERVER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"

#define STORE_DEFAULT_TENANT "default"

struct store;

enum role { ROLE_NONE = 0, ROLE_VIEWER = 1, ROLE_OPERATOR = 2, ROLE_ADMIN = 3 };

struct st_agent {
    char agent_id[ID_BUF];
    char tenant_id[64];
    char name[64];
    char hostname[256];
    char machine_id[65];
    char os[32], arch[32], version[64];
    char primary_ip[64];
    char *ips;   /* JSON array */
    char *tags;  /* JSON object */
    int64_t first_seen, last_seen, last_heartbeat, uptime_s;
    int64_t running, mem_total, mem_available;
    double load1;
    bool removed;
};

struct st_invocation {
    char invocation_id[ID_BUF];
    char tenant_id[64];
    char *command;
    char interpreter[16];
    char user[64];
    char *workdir;   /* NULL: the user's home */
    char *env;       /* JSON object */
    char *targets;   /* JSON object as given */
    char *limits;    /* JSON object {memory_bytes, cpu_percent, pids}; zeros: none */
    int64_t timeout_s, output_limit, expires_at, created_at;
    char created_by[64];
    bool cancel_requested;
    char *max_concurrency;      /* JSON text as given (2 or "50%"), NULL: none */
    char *max_errors;           /* JSON text as given, NULL: none */
    int64_t concurrency_limit;  /* tasks dispatched/running at once; 0: unlimited */
    int64_t error_limit;        /* unsuccessful tasks tolerated; -1: unlimited */
    char *command_name;         /* the saved command it was invoked from; NULL: ad hoc */
};

struct st_task {
    char task_id[ID_BUF];
    char invocation_id[ID_BUF];
    char agent_id[ID_BUF];
    char tenant_id[64];
    char status[16];
    bool cancel_requested;
    bool has_exit_code;
    int64_t exit_code;
    char signal[32];     /* "" = NULL */
    char *error;         /* NULL = NULL */
    int64_t output_bytes, dropped_bytes, next_seq, head_bytes, tail_bytes, output_limit;
    int64_t created_at, dispatched_at, started_at, finished_at, lease_expires_at, expires_at;
    char agent_name[64]; /* filled by store_task_list_by_invocation only ("" otherwise) */
};

enum st_stream { ST_STDOUT = 1, ST_STDERR = 2 };

/* One stored piece of output. part 0 is the kept head, 1 the kept tail. */
struct st_chunk {
    int64_t seq;
    int part;
    int stream;
    const void *data;  /* valid only during the callback */
    size_t len;
};
typedef int (*st_chunk_cb)(void *ud, const struct st_chunk *c);

/* Opening creates the file (0600) and migrates the schema to the newest version. */
int store_open(const char *path, struct store **out);
void store_close(struct store *st);
/* The schema version this server migrates to. */
int store_schema_latest(void);
int store_schema_version(struct store *st);

int store_begin(struct store *st);
int store_commit(struct store *st);
int store_rollback(struct store *st);
int store_savepoint(struct store *st);
int store_release(struct store *st);
int store_rollback_to(struct store *st);
/* SELECT 1: 0 when the store answers. */
int store_ping(struct store *st);

int store_tenant_ensure(struct store *st, const char *tenant_id, int64_t now);

int store_apikey_insert(struct store *st, const char *tenant, const char *hash_hex,
                        const char *name, enum role role, int64_t now);
/* Unrevoked key by hash. name (64 bytes) and tenant (64 bytes) receive copies. */
int store_apikey_find(struct store *st, const char *hash_hex, char name[64], char tenant[64],
                      enum role *role);
/* Number of unrevoked keys named name. */
int store_apikey_count(struct store *st, const char *name, int64_t *count);

int store_activation_insert(struct store *st, const char *tenant, const char *hash_hex,
                            const char *tags_json, int64_t uses, int64_t expires_at,
                            const char *created_by, int64_t now);
/* Consumes one use if the code exists, is not expired and has uses left; *tags_json (caller
 * frees) receives its tags. -ENOENT otherwise (one answer for every failure). */
int store_activation_consume(struct store *st, const char *hash_hex, int64_t now,
                             char tenant[64], char **tags_json);

void st_agent_free(struct st_agent *a);
int store_agent_insert(struct store *st, const struct st_agent *a, const char *token_hash);
/* Rewrites every field of an existing agent; token_hash NULL leaves the token as it is. */
int store_agent_update(struct store *st, const struct st_agent *a, const char *token_hash);
int store_agent_get(struct store *st, const char *tenant, const char *agent_id,
                    struct st_agent *out);
int store_agent_by_name(struct store *st, const char *tenant, const char *name,
                        struct st_agent *out);
/* Including removed agents: the identity survives a removal. */
int store_agent_by_machine(struct store *st, const char *tenant, const char *machine_id,
                           struct st_agent *out);
int store_agent_by_token(struct store *st, const char *token_hash, struct st_agent *out);
/* Unremoved agents sorted by name; *out is an array of *n agents the caller frees with
 * st_agent_array_free. */
int store_agent_list(struct store *st, const char *tenant, struct st_agent **out, size_t *n);
void st_agent_array_free(struct st_agent *a, size_t n);
/* The agent's name even when it was removed; "" when unknown. */
int store_agent_name(struct store *st, const char *agent_id, char name[64]);
/* Marks removed and forgets the token. */
int store_agent_remove(struct store *st, const char *tenant, const char *agent_id);

void st_invocation_free(struct st_invocation *inv);
int store_invocation_insert(struct store *st, const struct st_invocation *inv);
int store_invocation_get(struct store *st, const char *tenant, const char *id,
                         struct st_invocation *out);
/* The same without targets ("{}"): for the task paths, which never need them. */
int store_invocation_core(struct store *st, const char *tenant, const char *id,
                          struct st_invocation *out);
/* Newest first, at most limit. */
int store_invocation_list(struct store *st, const char *tenant, int64_t limit,
                          struct st_invocation **out, size_t *n);
void st_invocation_array_free(struct st_invocation *a, size_t n);
/* Filters of an invocation listing (GET /v1/invocations); zero or NULL filters nothing. */
struct st_inv_filter {
    const char *status;   /* pending running succeeded cancelled (the shown status), done,
                           * failed (a task ended without succeeding); see docs/api.md */
    int64_t since_ms;     /* created at or after */
    const char *command;  /* bytes the command text contains (case-sensitive) */
    int64_t limit;        /* at most this many (0: 50) */
};
/* Newest first. -EINVAL for a status store_inv_status_filter_valid refuses. */
int store_invocation_find(struct store *st, const char *tenant, const struct st_inv_filter *f,
                          struct st_invocation **out, size_t *n);
bool store_inv_status_filter_valid(const char *status);
int store_invocation_set_cancel(struct store *st, const char *id);

void st_task_free(struct st_task *t);
void st_task_array_free(struct st_task *a, size_t n);
int store_task_insert(struct store *st, const struct st_task *t);
/* Writes the mutable fields (status, flags, results, counters, timestamps). */
int store_task_update(struct store *st, const struct st_task *t);
int store_task_get(struct store *st, const char *task_id, struct st_task *out);
int store_task_list_by_invocation(struct store *st, const char *invocation_id,
                                  struct st_task **out, size_t *n);
/* Tasks this agent may be offered now: pending, or dispatched with an expired lease; not expired
 * and not cancel-requested. At most max, oldest first. */
int store_task_offerable(struct store *st, const char *agent_id, int64_t now, int64_t max,
                         struct st_task **out, size_t *n);
/* Ids of this agent's dispatched/running tasks with a cancel request. */
int store_task_cancel_list(struct store *st, const char *agent_id, struct st_task **out,
                           size_t *n);
/* Counts of one invocation's tasks: dispatched or running; ended unsuccessful (failed,
 * timed_out, start_failed, undetermined, expired). */
int store_task_count_active(struct store *st, const char *invocation_id, int64_t *n);
int store_task_count_unsuccessful(struct store *st, const char *invocation_id, int64_t *n);
/* Pending tasks of one invocation, oldest first, at most max. */
int store_task_pending_by_invocation(struct store *st, const char *invocation_id, int64_t max,
                                     struct st_task **out, size_t *n);
/* Pending or dispatched tasks never started whose expires_at has passed. */
int store_task_expirable(struct store *st, int64_t now, int64_t max, struct st_task **out,
                         size_t *n);

/* The tenant's tasks in one status, longest waiting/running first (by started, dispatched,
 * created time), at most limit; and how many there are in all. */
int store_task_list_by_status(struct store *st, const char *tenant, const char *status,
                              int64_t limit, struct st_task **out, size_t *n);
int store_task_count_by_status(struct store *st, const char *tenant, const char *status,
                               int64_t *n);

int store_output_insert(struct store *st, const char *task_id, int64_t seq, int part, int stream,
                        const void *data, size_t len);
/* Drops the oldest n bytes of the task's kept tail (whole rows, then the front of one row). */
int store_output_drop_tail(struct store *st, const char *task_id, int64_t n);
/* Calls cb for every stored piece in arrival order (seq, then head before tail); stream 0 = all. */
int store_output_each(struct store *st, const char *task_id, int stream, st_chunk_cb cb, void *ud);

int store_audit(struct store *st, const char *tenant, int64_t now, const char *who,
                const char *action, const char *target, const char *detail);
/* One audit row. Strings are borrowed on insert; on listing they are owned (st_audit_free). */
struct st_audit {
    int64_t id, at;
    const char *tenant, *who, *role, *action, *target, *detail, *source;
};
/* Appends a row. There is no update or delete: the API cannot alter the trail. */
int store_audit_add(struct store *st, const struct st_audit *a);
/* Newest first, at most limit rows of tenant; action/who filter exactly when not NULL.
 * *out is an array of *n rows the caller frees with st_audit_array_free. */
int store_audit_list(struct store *st, const char *tenant, const char *action, const char *who,
                     int64_t limit, struct st_audit **out, size_t *n);
void st_audit_array_free(struct st_audit *a, size_t n);

struct st_apikey {
    char name[64];
    enum role role;
    int64_t created_at, revoked_at;
    bool revoked;
};
/* Every key of the tenant (revoked ones too), by creation; *out freed with free(). Never hashes. */
int store_apikey_list(struct store *st, const char *tenant, struct st_apikey **out, size_t *n);
/* Revokes the tenant's unrevoked keys named name; -ENOENT when there were none. */
int store_apikey_revoke(struct store *st, const char *tenant, const char *name, int64_t now);
/* For tests: number of audit rows. */
int store_audit_count(struct store *st, int64_t *count);

/* Releases of the agent (issue 6, sqlite_releases.c). The manifest text is stored exactly as
 * signed; the server never holds the signing key. Strings owned (st_release_free). */
struct st_release {
    char version[32], os[32], arch[32], channel[32];
    char *manifest;
    char signature[96];
    char sha256[65];
    int64_t size, rollout, created_at;
    char *pushed;   /* JSON array of agent ids the release was pushed to */
};
void st_release_free(struct st_release *r);
void st_release_array_free(struct st_release *r, size_t n);
/* -EEXIST when (version, os, arch, channel) is already published. */
int store_release_insert(struct store *st, const char *tenant, const struct st_release *r);
/* All releases of the tenant, newest first (os/arch/channel NULL: any). */
int store_release_list(struct store *st, const char *tenant, const char *os, const char *arch,
                       const char *channel, struct st_release **out, size_t *n);
/* Sets the rollout percent / pushed list of every os/arch/channel row of version; -ENOENT. */
int store_release_set_rollout(struct store *st, const char *tenant, const char *version,
                              int64_t percent);
int store_release_set_pushed(struct store *st, const char *tenant, const char *version,
                             const char *pushed_json);
/* The update state an agent reported in its heartbeat and the version it concerns (target);
 * empty strings when none. state and target buffers are at least 128 and 32 bytes. */
int store_update_state_set(struct store *st, const char *tenant, const char *agent_id,
                           const char *state, const char *target, int64_t now);
int store_update_state_get(struct store *st, const char *tenant, const char *agent_id,
                           char state[128], char target[32]);

/* Saved commands (issue 7, sqlite_commands.c): the definition is the validated JSON text
 * (command_body.c); names are unique per tenant. Strings owned (st_command_free). */
struct st_command {
    char name[72];
    char *definition;
    int64_t created_at, updated_at;
    char created_by[64], updated_by[64];
};
void st_command_free(struct st_command *c);
void st_command_array_free(struct st_command *c, size_t n);
/* Saves name's definition, replacing an existing one (which keeps its created_at/by);
 * *created is true when there was none. */
int store_command_put(struct store *st, const char *tenant, const char *name,
                      const char *definition, const char *who, int64_t now, bool *created);
int store_command_get(struct store *st, const char *tenant, const char *name,
                      struct st_command *out);
/* Every command of the tenant sorted by name; *out freed with st_command_array_free. */
int store_command_list(struct store *st, const char *tenant, struct st_command **out,
                       size_t *n);
/* -ENOENT when the tenant has no command of that name. */
int store_command_delete(struct store *st, const char *tenant, const char *name);

const char *role_name(enum role r);
enum role role_parse(const char *s);

#endif
