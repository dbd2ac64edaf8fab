/*
 * `tether run` arguments: parsed into a request body for POST /v1/invocations (docs/api.md).
 * `tether commands invoke` takes the targeting and rate options of run with the same parser,
 * into a body for POST /v1/commands/{name}/invoke. Kept apart from cmd_run.c so the parsing is
 * unit-tested without a server. cmd_run.c's follow path serves both commands.
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
    const char *cmd;       /* "run" or "commands invoke", for messages */
    const char *name;      /* invoke: the saved command (an argv word) */
};

/* Parses argv (argv[0] = "run"). Returns 0 with o->body ready (or o->help set), or EXIT_USAGE
 * after printing one line saying what is wrong. */
int run_args_parse(struct run_opts *o, int argc, char **argv);
/* Parses `commands invoke` argv (argv[0] = "invoke"): NAME, --param k=v (repeatable), and of
 * run's options only the targeting and rate ones (-t --tag --cidr --all --exclude
 * --include-file --dry-run --max-concurrency --max-errors --no-wait -o). o->body becomes
 * {"params":{…},"targets":{…},…}. Returns like run_args_parse. */
int invoke_args_parse(struct run_opts *o, int argc, char **argv);
void run_opts_free(struct run_opts *o);
extern const char run_usage[];
extern const struct opt_spec run_specs[];

/* cmd_run.c: after the 201 answer inv (an invocation with its tasks), does what `tether run`
 * does: prints the id (--no-wait), or follows live, or waits and prints -o json; returns the
 * exit status of run. */
int run_follow(struct cli *c, const struct run_opts *o, json_t *inv);
/* cmd_run.c: --dry-run: lists the agents o's targets select (POST /v1/targets/resolve). */
int run_dry(struct cli *c, const struct run_opts *o);
/* cmd_run.c: asks before --all or more than 50 agents on a terminal without --yes. Returns 0 to
 * go on, EXIT_DECLINED (nothing created) or an error status. */
int run_confirm(struct cli *c, const struct run_opts *o);


/* Outcome of finished tasks (an array of task objects): the exit status of `tether run` and the
 * lines to print on stderr (reason for one target; summary for several). Returns the exit status;
 * msg receives text ending in a newline, or nothing. Exposed for tests. */
int run_outcome(json_t *tasks, struct buf *msg);
/* The same, with the status words coloured when color is set (term.h). */
int run_outcome_color(json_t *tasks, struct buf *msg, bool color);

#endif
