/*
 * tether-server entry point: `init` and `serve` (DESIGN §5.1). Options come from the table in
 * options.c: defaults, then --config FILE, then the flags, then --set key=value.
 */
#include "server/server.h"

#include "common/log.h"
#include "server/tls_cert.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tether-server init --data-dir DIR [--store sqlite:PATH]\n"
            "       tether-server serve --data-dir DIR [--listen HOST:PORT] [--store sqlite:PATH]\n"
            "                           [--config FILE] [--tls | --tls-cert F --tls-key F]\n"
            "                           [--client-ca F] [--allow-insecure] [--log-file F]\n"
            "                           [--log-level L] [--web-root DIR] [--set key=value ...]\n"
            "       tether-server cert create --data-dir DIR --host NAME [--host NAME ...]\n"
            "options (config file keys and --set):\n");
    cfg_print_help(server_options, out);
}

enum { OPT_DATA = 1000, OPT_CONFIG, OPT_SET };

static const struct option long_opts[] = {
    { "data-dir", required_argument, NULL, OPT_DATA },
    { "config", required_argument, NULL, OPT_CONFIG },
    { "set", required_argument, NULL, OPT_SET },
    { "listen", required_argument, NULL, 'l' },
    { "store", required_argument, NULL, 's' },
    { "tls-cert", required_argument, NULL, 'c' },
    { "tls-key", required_argument, NULL, 'k' },
    { "tls", no_argument, NULL, 't' },
    { "client-ca", required_argument, NULL, 'C' },
    { "allow-insecure", no_argument, NULL, 'I' },
    { "log-file", required_argument, NULL, 'f' },
    { "log-level", required_argument, NULL, 'v' },
    { "web-root", required_argument, NULL, 'w' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* Flags that are options: applied after the config file, so they win. */
static const char *flag_option(int c)
{
    switch (c) {
    case 'l': return "listen";
    case 's': return "store";
    case 'c': return "tls_cert";
    case 'k': return "tls_key";
    case 't': return "tls";
    case 'C': return "client_ca";
    case 'I': return "allow_insecure";
    case 'f': return "log_file";
    case 'v': return "log_level";
    case 'w': return "web_root";
    default: return NULL;
    }
}

struct args {
    const char *data_dir, *config;
    const char *flags[16][2];
    int nflags;
    const char *sets[64];
    int nsets;
};

static int parse_args(int argc, char **argv, struct args *a)
{
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        if (c == OPT_DATA) {
            a->data_dir = optarg;
        } else if (c == OPT_CONFIG) {
            a->config = optarg;
        } else if (c == OPT_SET) {
            if (a->nsets >= 64)
                return -1;
            a->sets[a->nsets++] = optarg;
        } else if (c == 'h') {
            usage(stdout);
            exit(0);
        } else if (flag_option(c) && a->nflags < 16) {
            a->flags[a->nflags][0] = flag_option(c);
            a->flags[a->nflags++][1] = optarg ? optarg : "yes";
        } else {
            return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "tether-server: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (!a->data_dir) {
        fprintf(stderr, "tether-server: --data-dir is required\n");
        return -1;
    }
    return 0;
}

static int configure(struct server *srv, const struct args *a)
{
    char err[256];
    if (cfg_defaults(server_options, &srv->cfg))
        return -1;
    if (a->config && cfg_load_file(server_options, &srv->cfg, a->config, err, sizeof err)) {
        fprintf(stderr, "tether-server: %s\n", err);
        return -1;
    }
    for (int i = 0; i < a->nflags; i++) {
        if (cfg_set(server_options, &srv->cfg, a->flags[i][0], a->flags[i][1], err, sizeof err)) {
            fprintf(stderr, "tether-server: %s\n", err);
            return -1;
        }
    }
    for (int i = 0; i < a->nsets; i++) {
        if (cfg_set_pair(server_options, &srv->cfg, a->sets[i], err, sizeof err)) {
            fprintf(stderr, "tether-server: --set %s\n", err);
            return -1;
        }
    }
    if (!srv->cfg.web_root) {
        char root[4200];
        if (console_default_root(root, sizeof root) == 0 &&
            cfg_set(server_options, &srv->cfg, "web_root", root, err, sizeof err)) {
            fprintf(stderr, "tether-server: %s\n", err);
            return -1;
        }
    }
    snprintf(srv->data_dir, sizeof srv->data_dir, "%s", a->data_dir);
    if (!srv->cfg.store) {
        snprintf(srv->store_path, sizeof srv->store_path, "%s/tether.db", a->data_dir);
    } else if (!strncmp(srv->cfg.store, "sqlite:", 7) && srv->cfg.store[7]) {
        snprintf(srv->store_path, sizeof srv->store_path, "%s", srv->cfg.store + 7);
    } else {
        fprintf(stderr, "tether-server: store: only sqlite:PATH is supported by this build\n");
        return -1;
    }
    return 0;
}

static int open_log(struct server *srv)
{
    enum log_level level;
    if (log_level_parse(srv->cfg.log_level, &level)) {
        fprintf(stderr, "tether-server: log_level: must be error, warn, info or debug\n");
        return -1;
    }
    if (log_open(srv->cfg.log_file, level, "tether-server", 64L * 1024 * 1024)) {
        fprintf(stderr, "tether-server: cannot open log file %s\n", srv->cfg.log_file);
        return -1;
    }
    return 0;
}

static int serve(struct server *srv)
{
    int rc;
    if (server_init_data(srv->data_dir, srv->store_path, true))
        return 1;
    rc = store_open(srv->store_path, &srv->st);
    if (rc) {
        fprintf(stderr, "tether-server: cannot open the store %s: %s\n", srv->store_path,
                strerror(-rc));
        return 1;
    }
    rc = server_serve(srv);
    store_close(srv->st);
    srv->st = NULL;
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct args a;
    struct server *srv;
    int rc = 2;

    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "cert"))
        return tls_cert_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "init") && strcmp(argv[1], "serve")) {
        fprintf(stderr, "tether-server: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    memset(&a, 0, sizeof a);
    srv = calloc(1, sizeof *srv);
    if (!srv)
        return 1;
    if (parse_args(argc, argv, &a) || configure(srv, &a))
        goto out;
    if (open_log(srv)) {
        rc = 1;
        goto out;
    }
    if (!strcmp(argv[1], "init"))
        rc = server_init_data(srv->data_dir, srv->store_path, false) ? 1 : 0;
    else
        rc = serve(srv);
    log_close();
out:
    cfg_free(server_options, &srv->cfg);
    free(srv);
    return rc;
}
