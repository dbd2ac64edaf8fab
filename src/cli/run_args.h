/*
 * `tether run` arguments: parsed into a request body for POST /v1/invocations (docs/api.md).
 * Kept apart from cmd_run.c so the parsing is unit-tested without a server.
 */
#ifndef TETHER_CLI_RUN_ARGS_H
#define TETHER_CLI_RUN_ARGS_H

#include <jansson.h>
#include <stdbool.h>

#include "cli/cli.h"
#include "common/buf.h"

struct run_opts {
    json_t *body;          /* the request body being built (owned) */
    bool no_wait;
    bool dry_run;          /* resolve the targets, print them, create nothing */
    bool yes;              /* -y: no confirmation prompt */
    bool help;
    enum out_format format;
};

/* Parses argv (argv[0] = "run"). Returns 0 with o->body ready (or o->help set), or EXIT_USAGE
 * after printing one line saying what is wrong. */
int run_args_parse(struct run_opts *o, int argc, char **argv);
void run_opts_free(struct run_opts *o);
extern const char run_usage[];
extern const struct opt_spec run_specs[];


/* Outcome of finished tasks (an array of task objects): the exit status of `tether run` and the
 * lines to print on stderr (reason for one target; summary for several). Returns the exit status;
 * msg receives text ending in a newline, or nothing. Exposed for tests. */
int run_outcome(json_t *tasks, struct buf *msg);
/* The same, with the status words coloured when color is set (term.h). */
int run_outcome_color(json_t *tasks, struct buf *msg, bool color);

#endif
