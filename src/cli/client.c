/* Settings, API calls and the one-line error messages every subcommand shares; see cli.h. */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/progress.h"
#include "common/config.h"
#include "common/jsonutil.h"

struct cli_file_config {
    char *server;
    char *api_key;
    char *ca_file;
};

static const struct cfg_option file_options[] = {
    { "server", CFG_STR, NULL, 0, 0, offsetof(struct cli_file_config, server),
      "server URL, like http://127.0.0.1:8600" },
    { "api_key", CFG_STR, NULL, 0, 0, offsetof(struct cli_file_config, api_key),
      "operator API key (tak_...)" },
    { "ca_file", CFG_STR, NULL, 0, 0, offsetof(struct cli_file_config, ca_file),
      "CA certificate that verifies the server (tether-server cert create prints it)" },
    { NULL, 0, NULL, 0, 0, 0, NULL },
};

static char *config_file_path(void)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    char path[4096];

    if (xdg && xdg[0] == '/')
        snprintf(path, sizeof path, "%s/tether/config", xdg);
    else if (home && home[0])
        snprintf(path, sizeof path, "%s/.config/tether/config", home);
    else
        return NULL;
    return strdup(path);
}

/* The first set of flag, environment, file, default; *from names it (from[0..3]). */
static int pick(char **dst, const char *flag, const char *env, char *file, const char *def,
                const char *const from[4], const char **from_out)
{
    int k = flag && *flag ? 0 : env && *env ? 1 : file && *file ? 2 : 3;
    const char *v = k == 0 ? flag : k == 1 ? env : k == 2 ? file : def;

    *from_out = v ? from[k] : NULL;
    *dst = v ? strdup(v) : NULL;
    return v && !*dst ? -ENOMEM : 0;
}

static const char *const server_sources[4] = {
    "--server", "TETHER_SERVER", "server in the config file", "the default",
};
static const char *const key_sources[4] = {
    "--api-key", "TETHER_API_KEY", "api_key in the config file", NULL,
};

int cli_init(struct cli *c, const char *server_flag, const char *key_flag, char *err, size_t n)
{
    struct cli_file_config fc = { 0 };
    char *path = config_file_path();
    int rc = 0;

    memset(c, 0, sizeof *c);
    c->out_tty = isatty(STDOUT_FILENO) == 1;
    c->err_tty = isatty(STDERR_FILENO) == 1;
    if (cfg_defaults(file_options, &fc) != 0) {
        rc = -ENOMEM;
        goto out;
    }
    if (path && access(path, F_OK) == 0) {
        rc = cfg_load_file(file_options, &fc, path, err, n);
        if (rc)
            goto out;
        c->config_path = path;
        path = NULL;
    }
    rc = pick(&c->server, server_flag, getenv("TETHER_SERVER"), fc.server, CLI_DEFAULT_SERVER,
              server_sources, &c->server_from);
    if (rc == 0)
        rc = pick(&c->api_key, key_flag, getenv("TETHER_API_KEY"), fc.api_key, NULL,
                  key_sources, &c->key_from);
    if (rc == 0) {
        const char *unused;
        rc = pick(&c->ca_file, NULL, getenv("TETHER_CA_FILE"), fc.ca_file, NULL, key_sources,
                  &unused);
    }
    if (rc)
        snprintf(err, n, "out of memory");
out:
    cfg_free(file_options, &fc);
    free(path);
    return rc;
}

int cli_set_ca_file(struct cli *c, const char *ca_flag)
{
    char *v;
    if (!ca_flag || !*ca_flag)
        return 0;
    v = strdup(ca_flag);
    if (!v)
        return -ENOMEM;
    free(c->ca_file);
    c->ca_file = v;
    return 0;
}

void cli_free(struct cli *c)
{
    http_client_destroy(c->http);
    free(c->server);
    if (c->api_key) {
        memset(c->api_key, 0, strlen(c->api_key));
        free(c->api_key);
    }
    free(c->config_path);
    free(c->ca_file);
    memset(c, 0, sizeof *c);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    progress_hide_active();
    fprintf(stderr, "tether: %s%s", cmd ? cmd : "", cmd ? ": " : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see tether %s%s--help)\n", cmd ? cmd : "", cmd ? " " : "");
    return EXIT_USAGE;
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;

    progress_hide_active();
    fputs("tether: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_API;
}

struct http_client *cli_http(struct cli *c)
{
    if (c->http)
        return c->http;
    if (!c->api_key || !*c->api_key) {
        cli_fail("no API key: set TETHER_API_KEY, pass --api-key, or put api_key = ... in "
                 "~/.config/tether/config (tether-server init prints one)");
        return NULL;
    }
    c->http = http_client_create(c->server, c->api_key, c->ca_file);
    if (!c->http)
        cli_fail("out of memory");
    return c->http;
}

/* The server's own message from {"error":{"code","message"}}, without the code. */
static const char *server_message(const struct http_response *r, char *buf, size_t n)
{
    char perr[64];
    json_t *doc = r->body && r->len ? jsonu_parse(r->body, r->len, r->len, perr, sizeof perr) : NULL;
    json_t *e = doc ? json_object_get(doc, "error") : NULL;
    const char *msg = e ? json_string_value(json_object_get(e, "message")) : NULL;

    if (msg && *msg)
        snprintf(buf, n, "%s", msg);
    else if (r->err[0])
        snprintf(buf, n, "%s", r->err);
    else
        snprintf(buf, n, "HTTP %ld", r->status);
    json_decref(doc);
    return buf;
}

/* The role a 403 message says the route needs ("... it needs the operator role"), or NULL. */
static const char *needed_role(const char *msg)
{
    static const char *const roles[] = { "admin", "operator", "viewer" };
    char want[48];

    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        snprintf(want, sizeof want, "needs the %s role", roles[i]);
        if (strstr(msg, want))
            return roles[i];
    }
    return NULL;
}

void cli_report(struct cli *c, int rc, const struct http_response *r)
{
    const char *role;
    char msg[512];

    if (rc != 0 || r->status == 0) {
        if (strstr(r->err, "SSL") || strstr(r->err, "certificate"))
            cli_fail("TLS to %s failed: %s (the server's certificate is not trusted for this "
                     "name: set TETHER_CA_FILE, ca_file or --ca-file to the CA tether-server "
                     "cert create printed, and use a host name the certificate names)",
                     c->server, r->err);
        else
            cli_fail("cannot reach server at %s (from %s): %s (is tether-server running there? "
                     "point tether at it with --server URL or TETHER_SERVER=URL)", c->server,
                     c->server_from ? c->server_from : "the default",
                     r->err[0] ? r->err : "transport error");
        return;
    }
    server_message(r, msg, sizeof msg);
    role = r->status == 403 ? needed_role(msg) : NULL;
    if (r->status == 401)
        cli_fail("the server at %s refused the API key from %s (check the key: set "
                 "TETHER_API_KEY, --api-key or api_key in ~/.config/tether/config to a valid one; "
                 "tether-server init prints the admin key, tether apikey create makes others)",
                 c->server, c->key_from ? c->key_from : "nowhere");
    else if (r->status == 403 && role)
        cli_fail("the API key may not do this: %s (use a key with the %s role; an admin makes "
                 "one with: tether apikey create --role %s)", msg, role, role);
    else if (r->status == 403)
        cli_fail("the API key may not do this: %s (use a key with a higher role)", msg);
    else if (r->status == 404)
        cli_fail("not found: %s (check the id or name)", msg);
    else if (r->status == 400 && (strstr(msg, "no agent matches") || strstr(msg, "unknown agent")))
        cli_fail("%s (list the agents with: tether agents; check a selection with: "
                 "tether run ... --dry-run)", msg);
    else
        cli_fail("%s", msg);
}

int cli_api_quiet(struct cli *c, const char *method, const char *path, json_t *body,
                  json_t **out, long *status, char *err, size_t errlen)
{
    struct http_client *h = cli_http(c);
    struct http_response r;
    json_t *doc = NULL;
    int rc;

    *status = 0;
    if (out)
        *out = NULL;
    if (!h) {
        snprintf(err, errlen, "no API key");
        return EXIT_API;
    }
    rc = http_call_json(h, method, path, body, &r, &doc);
    *status = rc ? 0 : r.status;
    if (rc == 0 && r.status >= 200 && r.status <= 299) {
        if (out)
            *out = doc;
        else
            json_decref(doc);
        http_response_free(&r);
        return 0;
    }
    snprintf(err, errlen, "%s", r.err);
    json_decref(doc);
    http_response_free(&r);
    return EXIT_API;
}

int cli_api(struct cli *c, const char *method, const char *path, json_t *body, json_t **out)
{
    return cli_api_status(c, method, path, body, out, NULL);
}

int cli_api_status(struct cli *c, const char *method, const char *path, json_t *body,
                   json_t **out, long *status)
{
    struct http_client *h = cli_http(c);
    struct http_response r;
    json_t *doc = NULL;
    int rc;

    if (out)
        *out = NULL;
    if (!h)
        return EXIT_API;
    rc = http_call_json(h, method, path, body, &r, &doc);
    if (rc == 0 && r.status >= 200 && r.status <= 299) {
        if (status)
            *status = r.status;
        if (out)
            *out = doc;
        else
            json_decref(doc);
        http_response_free(&r);
        return 0;
    }
    json_decref(doc);
    cli_report(c, rc, &r);
    http_response_free(&r);
    return EXIT_API;
}

int cli_get_raw(struct cli *c, const char *path, struct http_response *r, bool quiet)
{
    struct http_client *h = cli_http(c);
    int rc;

    memset(r, 0, sizeof *r);
    if (!h)
        return EXIT_API;
    rc = http_call(h, "GET", path, NULL, 0, r);
    if (rc == 0 && r->status >= 200 && r->status <= 299)
        return 0;
    if (!quiet)
        cli_report(c, rc, r);
    http_response_free(r);
    return EXIT_API;
}
