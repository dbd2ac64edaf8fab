/*
 * Saved commands (docs/api.md "Saved commands"): validation of a command definition (the body of
 * POST /v1/commands, the file `tether commands save` sends) and the making of an invocation body
 * from a definition plus the body of POST /v1/commands/{name}/invoke. Pure: tests call it
 * directly. The invocation body then goes through inv_request_parse like any other, so a saved
 * command is held to exactly the rules of POST /v1/invocations.
 */
#ifndef TETHER_SERVER_COMMAND_BODY_H
#define TETHER_SERVER_COMMAND_BODY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "server/params.h"

#define COMMAND_DESCRIPTION_MAX 1024

struct cmd_param {
    const char *name;         /* borrowed from the definition, like every string here */
    const char *deflt;        /* NULL: the parameter is required */
    size_t deflt_len;
    const char *pattern;      /* NULL: any value */
    const char *description;  /* NULL: none */
};

struct cmd_def {
    const char *name, *description, *command, *interpreter, *user, *workdir;
    size_t command_len;
    int64_t timeout_s;
    struct cmd_param params[PARAMS_MAX];
    size_t nparams;
    json_t *normalized;       /* owned: the definition as stored, defaults filled in */
};

/* Validates a definition: 0, or -EINVAL with err naming the field (and parameter). body must
 * outlive d; free with cmd_def_free. created_at/updated_at/created_by/updated_by (what GET
 * returns) are accepted and ignored, so `show -o json` output can be saved again. */
int cmd_def_parse(json_t *body, struct cmd_def *d, char *err, size_t errlen);
void cmd_def_free(struct cmd_def *d);

/* The POST /v1/invocations body for invoking d with the invoke body
 * {"params":{…},"targets":{…},"max_concurrency","max_errors","expires_in_s"}: the command with
 * every placeholder replaced by its quoted value, and env TETHER_PARAM_<NAME> for every
 * parameter (defaults included). NULL with err naming the problem: an unknown or missing
 * parameter, a value that is not a string, not UTF-8 without NUL, too long or not matching its
 * pattern (the value itself is never quoted in err). New reference. */
json_t *cmd_invocation_body(const struct cmd_def *d, json_t *invoke, char *err, size_t errlen);

#endif
