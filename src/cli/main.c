/*
 * tether: the operator CLI over the REST API (docs/cli.md). Global flags come before the
 * subcommand; each subcommand lives in its own cmd_*.c and parses its own options.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#ifndef TETHER_VERSION
#define TETHER_VERSION "0.0.0"
#endif

static const char main_usage[] =
    "usage: tether [--server URL] [--api-key KEY] [--ca-file F] COMMAND [ARGS...]\n"
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
    "  commands     save commands with {{parameters}} and invoke them on agents\n"
    "  version      print the version\n"
    "  help [CMD]   this text, or a command's\n"
    "\n"
    "The server is TETHER_SERVER (default " CLI_DEFAULT_SERVER ") and the key TETHER_API_KEY,\n"
    "or server = ... and api_key = ... in ~/.config/tether/config; flags win over both.\n"
    "For https, the CA is TETHER_CA_FILE or ca_file = ... (default: the system store).\n"
    "Every command takes --help. Listings take -o json.\n"
    "\n"
    "example: tether run -t web-1 -- uptime\n";

struct command {
    const char *name;
    int (*fn)(struct cli *c, int argc, char **argv);
};

static const struct command commands[] = {
    { "run", cmd_run },
    { "agents", cmd_agents },
    { "agent", cmd_agents },
    { "invocations", cmd_invocations },
    { "invocation", cmd_invocations },
    { "logs", cmd_logs },
    { "cancel", cmd_cancel },
    { "activation", cmd_activation },
    { "activations", cmd_activation },
    { "apikey", cmd_apikey },
    { "apikeys", cmd_apikey },
    { "audit", cmd_audit },
    { "release", cmd_release },
    { "releases", cmd_release },
    { "commands", cmd_commands },
    { "command", cmd_commands },
    { NULL, NULL },
};

static const struct command *find_command(const char *name)
{
    for (const struct command *k = commands; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

/* Global flags before the subcommand. Returns the index of the subcommand, or -EXIT_USAGE. */
static int global_flags(int argc, char **argv, const char **server, const char **key,
                        const char **ca)
{
    int i = 1;

    while (i < argc && argv[i][0] == '-') {
        const char *a = argv[i];
        const char **dst = NULL;
        size_t skip = 0;

        if (strcmp(a, "--server") == 0 || strcmp(a, "--api-key") == 0 ||
            strcmp(a, "--ca-file") == 0) {
            if (i + 1 >= argc) {
                cli_usage(NULL, "%s needs a value", a);
                return -EXIT_USAGE;
            }
            dst = a[2] == 's' ? server : a[2] == 'c' ? ca : key;
            *dst = argv[i + 1];
            i += 2;
            continue;
        }
        if (strncmp(a, "--server=", 9) == 0)
            dst = server, skip = 9;
        else if (strncmp(a, "--api-key=", 10) == 0)
            dst = key, skip = 10;
        else if (strncmp(a, "--ca-file=", 10) == 0)
            dst = ca, skip = 10;
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return i; /* handled as "help" */
        else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0)
            return i;
        if (!dst) {
            cli_usage(NULL, "unknown option '%s' before the command", a);
            return -EXIT_USAGE;
        }
        *dst = a + skip;
        i++;
    }
    return i;
}

int main(int argc, char **argv)
{
    const char *server = NULL, *key = NULL, *ca = NULL, *name;
    const struct command *cmd;
    struct cli c;
    char err[512];
    int first, rc;

    first = global_flags(argc, argv, &server, &key, &ca);
    if (first < 0)
        return -first;
    if (first >= argc) {
        fputs(main_usage, stderr);
        return EXIT_USAGE;
    }
    name = argv[first];
    if (strcmp(name, "version") == 0 || strcmp(name, "--version") == 0 ||
        strcmp(name, "-V") == 0) {
        printf("tether %s\n", TETHER_VERSION);
        return 0;
    }
    if (strcmp(name, "help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
        char *help_argv[] = { NULL, "--help", NULL };
        if (first + 1 < argc && strcmp(name, "help") == 0) {
            cmd = find_command(argv[first + 1]);
            if (!cmd)
                return cli_usage(NULL, "unknown command '%s'", argv[first + 1]);
            help_argv[0] = argv[first + 1];
            return cmd->fn(NULL, 2, help_argv);
        }
        fputs(main_usage, stdout);
        return 0;
    }
    cmd = find_command(name);
    if (!cmd)
        return cli_usage(NULL, "unknown command '%s'", name);
    if (cli_init(&c, server, key, err, sizeof err) != 0 || cli_set_ca_file(&c, ca) != 0) {
        fprintf(stderr, "tether: %s (fix or remove the config file)\n", err);
        return EXIT_USAGE;
    }
    if (http_global_init() != 0) {
        cli_free(&c);
        return cli_fail("cannot initialise libcurl");
    }
    rc = cmd->fn(&c, argc - first, argv + first);
    cli_free(&c);
    http_global_cleanup();
    return rc;
}
