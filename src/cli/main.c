/*
 * tether: the operator CLI over the REST API (docs/cli.md). Global flags come before the
 * subcommand; each subcommand lives in its own cmd_*.c and parses its own options.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/run_args.h"
#include "cli/term.h"

#ifndef TETHER_VERSION
#define TETHER_VERSION "0.0.0"
#endif

static const char main_usage[] =
    "usage: tether [--server URL] [--api-key KEY] [--ca-file F] [--color auto|always|never]\n"
    "              COMMAND [ARGS...]\n"
    "\n"
    "commands:\n"
    "  run          run a command on agents and stream its output\n"
    "  agents       list, show, tag and remove agents\n"
    "  invocations  list invocations, show one with its output\n"
    "  logs         print (or follow with -f) the output of a task or invocation\n"
    "  cancel       cancel an invocation or a task\n"
    "  activation   create activation codes for registering agents\n"
    "  apikey       create, list and revoke API keys (admin)\n"
    "  audit        list the audit trail of operator actions (admin)\n"
    "  release      sign, publish and roll out agent releases (admin)\n"
    "  top          live view of the agents and the tasks running now\n"
    "  analysis     what happened across the hosts of an invocation: counts, failures,\n"
    "               slowest hosts, distinct outputs\n"
    "  commands     save commands with {{parameters}} and invoke them on agents\n"
    "  completion   print a bash or zsh completion script\n"
    "  man          print the man page (also: help --man)\n"
    "  version      print the version\n"
    "  help [CMD]   this text, or a command's\n"
    "\n"
    "The server is TETHER_SERVER (default " CLI_DEFAULT_SERVER ") and the key TETHER_API_KEY,\n"
    "or server = ... and api_key = ... in ~/.config/tether/config; flags win over both.\n"
    "For https, the CA is TETHER_CA_FILE or ca_file = ... (default: the system store).\n"
    "Colours: on a terminal unless NO_COLOR is set or TERM=dumb; --color always|never decides.\n"
    "Every command takes --help. Listings take -o json.\n"
    "\n"
    "example: tether run -t web-1 -- uptime\n";

static const char help_usage[] =
    "usage: tether help [COMMAND]\n"
    "       tether help --man\n"
    "\n"
    "Prints the overview of every command, one command's --help text, or (--man) the man page.\n"
    "\n"
    "example: tether help run\n";

static const char version_usage[] =
    "usage: tether version\n"
    "\n"
    "Prints the version of this CLI (also: tether --version, tether -V).\n"
    "\n"
    "example: tether version\n";

enum { G_SERVER = 1, G_APIKEY, G_CAFILE, G_COLOR, G_HELP, G_VERSION, G_MAN };

/* Options before the command. */
static const struct opt_spec global_specs[] = {
    { "server", 0, true, G_SERVER },   { "api-key", 0, true, G_APIKEY },
    { "ca-file", 0, true, G_CAFILE },  { "color", 0, true, G_COLOR },
    { "help", 'h', false, G_HELP },    { "version", 'V', false, G_VERSION },
    { NULL, 0, false, 0 },
};

static const struct opt_spec help_specs[] = {
    { "man", 0, false, G_MAN }, { "help", 'h', false, G_HELP }, { NULL, 0, false, 0 },
};

static const struct opt_spec version_specs[] = {
    { "help", 'h', false, G_HELP }, { NULL, 0, false, 0 },
};

static const char *const agents_subs[] = { "ls", "show", "tag", "rm", NULL };
static const char *const invocations_subs[] = { "ls", "show", NULL };
static const char *const activation_subs[] = { "create", NULL };
static const char *const apikey_subs[] = { "create", "ls", "revoke", NULL };
static const char *const release_subs[] = { "keygen", "publish", "ls", "rollout", "push",
                                            "status", NULL };
static const char *const commands_subs[] = { "save", "ls", "show", "rm", "invoke", NULL };
static const char *const completion_subs[] = { "bash", "zsh", NULL };

static int main_help(struct cli *c, int argc, char **argv);
static int main_version(struct cli *c, int argc, char **argv);
static int main_completion(struct cli *c, int argc, char **argv);
static int main_man(struct cli *c, int argc, char **argv);

static const struct cli_command commands[] = {
    { "run", cmd_run, run_specs, run_usage, NULL, 0 },
    { "agents", cmd_agents, agents_specs, agents_usage, agents_subs, 0 },
    { "agent", cmd_agents, agents_specs, agents_usage, agents_subs, CMD_ALIAS },
    { "invocations", cmd_invocations, invocations_specs, invocations_usage, invocations_subs, 0 },
    { "invocation", cmd_invocations, invocations_specs, invocations_usage, invocations_subs,
      CMD_ALIAS },
    { "logs", cmd_logs, logs_specs, logs_usage, NULL, 0 },
    { "cancel", cmd_cancel, cancel_specs, cancel_usage, NULL, 0 },
    { "activation", cmd_activation, activation_specs, activation_usage, activation_subs, 0 },
    { "activations", cmd_activation, activation_specs, activation_usage, activation_subs,
      CMD_ALIAS },
    { "apikey", cmd_apikey, apikey_specs, apikey_usage, apikey_subs, 0 },
    { "apikeys", cmd_apikey, apikey_specs, apikey_usage, apikey_subs, CMD_ALIAS },
    { "audit", cmd_audit, audit_specs, audit_usage, NULL, 0 },
    { "release", cmd_release, release_specs, release_usage, release_subs, 0 },
    { "releases", cmd_release, release_specs, release_usage, release_subs, CMD_ALIAS },
    { "commands", cmd_commands, commands_specs, commands_usage, commands_subs, 0 },
    { "command", cmd_commands, commands_specs, commands_usage, commands_subs, CMD_ALIAS },
    { "top", cmd_top, top_specs, top_usage, NULL, 0 },
    { "analysis", cmd_analysis, analysis_specs, analysis_usage, NULL, 0 },
    { "completion", main_completion, completion_specs, completion_usage, completion_subs,
      CMD_LOCAL },
    { "man", main_man, man_specs, man_usage, NULL, CMD_LOCAL },
    { "version", main_version, version_specs, version_usage, NULL, CMD_LOCAL },
    { "help", main_help, help_specs, help_usage, NULL, CMD_LOCAL },
    { NULL, NULL, NULL, NULL, NULL, 0 },
};

static const struct cli_command *find_command(const char *name)
{
    for (const struct cli_command *k = commands; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

static int main_completion(struct cli *c, int argc, char **argv)
{
    (void)c;
    return completion_main(commands, global_specs, argc, argv);
}

static int main_man(struct cli *c, int argc, char **argv)
{
    (void)c;
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(man_usage, stdout);
        return 0;
    }
    if (argc > 1)
        return cli_usage("man", "takes no arguments");
    return man_page_print(stdout, commands, main_usage, TETHER_VERSION) ? EXIT_API : 0;
}

static int main_version(struct cli *c, int argc, char **argv)
{
    (void)c;
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(version_usage, stdout);
        return 0;
    }
    printf("tether %s\n", TETHER_VERSION);
    return 0;
}

/* help, help CMD, help --man, help --help. */
static int main_help(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd;
    char *help_argv[] = { NULL, "--help", NULL };

    (void)c;
    if (argc < 2) {
        fputs(main_usage, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--man"))
        return main_man(NULL, 1, argv);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(help_usage, stdout);
        return 0;
    }
    cmd = find_command(argv[1]);
    if (!cmd)
        return cli_usage(NULL, "unknown command '%s'", argv[1]);
    help_argv[0] = argv[1];
    return cmd->fn(NULL, 2, help_argv);
}

struct globals {
    const char *server, *key, *ca;
    enum color_mode color;
};

/* Global flags before the command. Returns the index of the command word (--help and --version
 * count as one), or -EXIT_USAGE after printing why. */
static int global_flags(int argc, char **argv, struct globals *g)
{
    struct opt_iter it;
    const char *val;

    opt_iter_init(&it, NULL, argc, argv, false);
    while (it.i < argc && argv[it.i][0] == '-' && argv[it.i][1] && strcmp(argv[it.i], "--")) {
        int at = it.i;
        switch (opt_next(&it, global_specs, &val)) {
        case G_SERVER: g->server = val; break;
        case G_APIKEY: g->key = val; break;
        case G_CAFILE: g->ca = val; break;
        case G_COLOR:
            if (term_color_mode_parse(val, &g->color) != 0) {
                cli_usage(NULL, "--color: '%s' is not auto, always or never", val);
                return -EXIT_USAGE;
            }
            break;
        case G_HELP:
        case G_VERSION: return at;
        default: return -EXIT_USAGE;
        }
    }
    return it.i;
}

int main(int argc, char **argv)
{
    struct globals g = { NULL, NULL, NULL, COLOR_AUTO };
    const struct cli_command *cmd;
    const char *name;
    struct cli c;
    char err[512];
    int first, rc;

    first = global_flags(argc, argv, &g);
    if (first < 0)
        return -first;
    term_color_setup(g.color);
    if (first >= argc) {
        fputs(main_usage, stderr);
        return EXIT_USAGE;
    }
    name = argv[first];
    if (!strcmp(name, "--version") || !strcmp(name, "-V"))
        name = "version";
    else if (!strcmp(name, "--help") || !strcmp(name, "-h"))
        name = "help";
    cmd = find_command(name);
    if (!cmd)
        return cli_usage(NULL, "unknown command '%s'", name);
    if (cmd->flags & CMD_LOCAL) {
        argv[first] = (char *)cmd->name;
        return cmd->fn(NULL, argc - first, argv + first);
    }
    if (cli_init(&c, g.server, g.key, err, sizeof err) != 0 || cli_set_ca_file(&c, g.ca) != 0) {
        fprintf(stderr, "tether: %s (fix or remove the config file)\n", err);
        return EXIT_USAGE;
    }
    if (http_global_init() != 0) {
        cli_free(&c);
        return cli_fail("cannot initialise the HTTP client");
    }
    rc = cmd->fn(&c, argc - first, argv + first);
    cli_free(&c);
    http_global_cleanup();
    return rc;
}
