/*
 * `tether-server cert create --data-dir DIR --host NAME [--host NAME ...] [--days N]` and
 * `tether-server cert create --data-dir DIR --client AGENT [--days N]` (tls_cert.h).
 */
#include "server/tls_cert.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void cert_usage(FILE *out)
{
    fprintf(out,
            "usage: tether-server cert create --data-dir DIR --host NAME [--host NAME ...]"
            " [--days N]\n"
            "       tether-server cert create --data-dir DIR --client AGENT_ID_OR_NAME"
            " [--days N]\n"
            "Makes (once) a local CA in DIR/tls/ca.pem, then a server certificate for the names\n"
            "and IP addresses given (DIR/tls/server.pem, server.key), or a client certificate\n"
            "for an agent (DIR/tls/clients/AGENT.pem, .key) for mutual TLS (--client-ca).\n");
}

static const struct option cert_opts[] = {
    { "data-dir", required_argument, NULL, 'd' },
    { "host", required_argument, NULL, 'H' },
    { "days", required_argument, NULL, 'n' },
    { "client", required_argument, NULL, 'c' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

int tls_cert_main(int argc, char **argv)
{
    const char *hosts[TLS_HOSTS_MAX], *data_dir = NULL, *client = NULL;
    size_t nhosts = 0;
    long days = 825;
    char err[512], *end;
    int c, rc;

    if (argc < 2 || strcmp(argv[1], "create")) {
        cert_usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
        return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : 2;
    }
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", cert_opts, NULL)) != -1) {
        switch (c) {
        case 'd': data_dir = optarg; break;
        case 'c': client = optarg; break;
        case 'H':
            if (nhosts >= TLS_HOSTS_MAX) {
                fprintf(stderr, "tether-server: cert: at most %d --host\n", TLS_HOSTS_MAX);
                return 2;
            }
            hosts[nhosts++] = optarg;
            break;
        case 'n':
            errno = 0;
            days = strtol(optarg, &end, 10);
            if (errno || *end || days < 1 || days > 36500) {
                fprintf(stderr, "tether-server: cert: --days: 1 to 36500\n");
                return 2;
            }
            break;
        case 'h': cert_usage(stdout); return 0;
        default: cert_usage(stderr); return 2;
        }
    }
    if (!data_dir || optind != argc || (!nhosts && !client) || (nhosts && client)) {
        cert_usage(stderr);
        return 2;
    }
    if (client)
        rc = tls_cert_create_client(data_dir, client, (int)days, err, sizeof err);
    else
        rc = tls_cert_create_server(data_dir, hosts, nhosts, (int)days, err, sizeof err);
    if (rc) {
        fprintf(stderr, "tether-server: cert: %s\n", err);
        return 1;
    }
    if (client) {
        printf("client certificate: %s/tls/clients/%s.pem\n", data_dir, client);
        printf("client key:         %s/tls/clients/%s.key\n", data_dir, client);
    } else {
        printf("server certificate: %s/tls/server.pem\n", data_dir);
        printf("server key:         %s/tls/server.key\n", data_dir);
    }
    printf("CA for agents and the CLI (ca_file): %s/tls/ca.pem\n", data_dir);
    return 0;
}
