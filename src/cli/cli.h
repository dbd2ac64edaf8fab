/*
 * The `tether` CLI: shared context and helpers for the subcommands (one file each, cmd_*.c).
 *
 * struct cli carries what every subcommand needs (server URL, API key, the HTTP client, whether
 * stdout/stderr are terminals); main.c fills it from flags, the environment and the config file and
 * passes it down. Exit codes (docs/cli.md): 0 ok, 1 API or server error (or a declined
 * confirmation), 2 usage error, 130
 * interrupted, 255 a run whose task ended without an exit code; a single-target run otherwise exits
 * with the remote exit code.
 */
#ifndef TETHER_CLI_CLI_H
#define TETHER_CLI_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/buf.h"
#include "common/http.h"

#define CLI_DEFAULT_SERVER "http://127.0.0.1:8600"

enum cli_exit {
    EXIT_OK = 0,
    EXIT_API = 1,
    EXIT_DECLINED = 1,         /* `tether run` asked for confirmation and was told no */
    EXIT_USAGE = 2,
    EXIT_INTERRUPTED = 130,
    EXIT_NO_STATUS = 255,
};

enum out_format { OUT_TABLE = 0, OUT_JSON };

struct cli {
    char *server;              /* base URL, owned */
    char *api_key;             /* owned; never printed */
    char *config_path;         /* the file that was read, or NULL; owned */
    char *ca_file;             /* CA that verifies the server, NULL: system store; owned */
    struct http_client *http;  /* created on first use */
    bool out_tty, err_tty;     /* stdout / stderr are terminals: escape remote bytes */
    const char *server_from;   /* where the URL came from, for error messages (static text) */
    const char *key_from;      /* where the key came from (static text), NULL: no key */
};

/* Settings precedence: flags (may be NULL) > TETHER_SERVER / TETHER_API_KEY > the config file
 * ($XDG_CONFIG_HOME or ~/.config, then tether/config) > defaults. Returns 0, or -errno with err
 * filled (a config file that exists but does not parse). */
int cli_init(struct cli *c, const char *server_flag, const char *key_flag, char *err, size_t n);
/* --ca-file > TETHER_CA_FILE > ca_file in the config file (read by cli_init) > system store. */
int cli_set_ca_file(struct cli *c, const char *ca_flag);
void cli_free(struct cli *c);

/* Prints "tether: CMD: <msg> (see tether CMD --help)" to stderr; returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "tether: <msg>" to stderr; returns EXIT_API. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One JSON API call. On a 2xx answer returns 0 with *out (may be NULL for 204) owned by the
 * caller. Otherwise prints one helpful line on stderr (unreachable server, refused key, the
 * server's message) and returns EXIT_API. out may be NULL when the body is not wanted. */
int cli_api(struct cli *c, const char *method, const char *path, json_t *body, json_t **out);
/* Same, quiet: fills *status (0 on transport failure) and err, prints nothing. */
int cli_api_quiet(struct cli *c, const char *method, const char *path, json_t *body,
                  json_t **out, long *status, char *err, size_t errlen);
/* cli_api that also gives the 2xx status (201 created, 200 replaced); status may be NULL. */
int cli_api_status(struct cli *c, const char *method, const char *path, json_t *body,
                   json_t **out, long *status);
/* GET of raw bytes (task output). On 2xx returns 0 with r filled (caller frees with
 * http_response_free); else prints like cli_api and returns EXIT_API. */
int cli_get_raw(struct cli *c, const char *path, struct http_response *r, bool quiet);
/* GET /v1/invocations/{id}?output=1 with every task's output/stdout/stderr text present (fetched
 * from /v1/tasks/{id}/output when the server left them out). Returns 0 with *out owned by the
 * caller, or EXIT_API after printing why (fetch.c). */
int cli_get_invocation_output(struct cli *c, const char *inv_id, json_t **out);
/* Prints the line cli_api would print for this failure. */
void cli_report(struct cli *c, int rc, const struct http_response *r);
/* The HTTP client, created on first use; NULL (after printing why) when no key is set. */
struct http_client *cli_http(struct cli *c);

/* ---- argument parsing (args.c) ---- */

struct opt_spec {
    const char *long_name;  /* without "--" */
    char short_name;        /* 0 for none */
    bool has_arg;
    int id;                 /* > 0 */
};

struct opt_iter {
    int argc;
    char **argv;
    int i;                  /* next argv index */
    bool stop_at_positional;/* run: the first plain word starts the command */
    bool only_positionals;  /* after "--" */
    const char *cmd;        /* for messages */
};

#define OPT_END 0
#define OPT_POSITIONAL (-1)
#define OPT_ERROR (-2)

/* argv[0] is the subcommand name and is skipped. */
void opt_iter_init(struct opt_iter *it, const char *cmd, int argc, char **argv, bool stop);
/* Returns an option id with *val set for options that take one; OPT_POSITIONAL with *val the
 * word; OPT_END when done (with stop_at_positional, it->i is the first word of the rest);
 * OPT_ERROR after printing a usage message. Accepts --name=value, --name value, -x value, -xvalue. */
int opt_next(struct opt_iter *it, const struct opt_spec *specs, const char **val);
/* Parses "json" / "table". Returns 0 or -EINVAL. */
int opt_format(const char *s, enum out_format *f);

/* ---- the command table (main.c), which drives dispatch, help, completion and the man page ---- */

#define CMD_ALIAS 1u   /* another name of the entry before it: hidden from completion and man */
#define CMD_LOCAL 2u   /* needs no server: called with c == NULL, before settings are read */

struct cli_command {
    const char *name;
    int (*fn)(struct cli *c, int argc, char **argv);
    const struct opt_spec *opts;      /* its options; NULL: taken from its --help text */
    const char *usage;                /* its --help text; NULL: captured from `CMD --help` */
    const char *const *subcommands;   /* NULL-terminated words (ls, show ...), or NULL */
    unsigned flags;                   /* CMD_ALIAS, CMD_LOCAL */
};

/* The usage text of k (commands.c): the table's, or what `tether NAME --help` prints. Returns 0
 * with *out (malloc'd, caller frees) or -errno. */
int command_usage(const struct cli_command *k, char **out);
/* The option words of k ("--target -t --tag ..."), space-separated, into words; those that
 * take a value also into valued. From k->opts, else from the usage text. Returns 0 or -ENOMEM. */
int command_option_words(const struct cli_command *k, const char *usage, struct buf *words,
                         struct buf *valued);
/* `tether completion bash|zsh` (cmd_completion.c) and `tether man` (cmd_man.c) over a table
 * ending in a NULL name; global: the options before the command. */
int completion_main(const struct cli_command *cmds, const struct opt_spec *global, int argc,
                    char **argv);
int man_page_print(FILE *f, const struct cli_command *cmds, const char *main_usage,
                   const char *version);
extern const char completion_usage[];
extern const struct opt_spec completion_specs[];
extern const char man_usage[];
extern const struct opt_spec man_specs[];

/* ---- subcommands ---- */
int cmd_run(struct cli *c, int argc, char **argv);
int cmd_agents(struct cli *c, int argc, char **argv);
int cmd_invocations(struct cli *c, int argc, char **argv);
int cmd_logs(struct cli *c, int argc, char **argv);
int cmd_cancel(struct cli *c, int argc, char **argv);
int cmd_activation(struct cli *c, int argc, char **argv);
int cmd_apikey(struct cli *c, int argc, char **argv);
int cmd_audit(struct cli *c, int argc, char **argv);
int cmd_release(struct cli *c, int argc, char **argv);
int cmd_top(struct cli *c, int argc, char **argv);
int cmd_analysis(struct cli *c, int argc, char **argv);
int cmd_commands(struct cli *c, int argc, char **argv);

/* Exported option tables and usage texts for the command table (the rest of each file keeps its
 * own names private). */
extern const struct opt_spec logs_specs[], cancel_specs[], activation_specs[], apikey_specs[],
    audit_specs[], release_specs[], agents_specs[], invocations_specs[], top_specs[],
    analysis_specs[], commands_specs[];
extern const char logs_usage[], cancel_usage[], activation_usage[], apikey_usage[],
    audit_usage[], release_usage[], agents_usage[], invocations_usage[], top_usage[],
    analysis_usage[], commands_usage[];

#endif
