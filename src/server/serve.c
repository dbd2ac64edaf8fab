/*
 * `tether-server serve`: one lws context with one vhost. protocols[0] "http" serves REST and SSE;
 * "tether-agent.v1" serves the agent WebSocket and is the vhost default for upgrades (pvo
 * "default"), so an upgrade without Sec-WebSocket-Protocol still lands on it and its path check
 * (libs-probe G1). The service loop runs until SIGINT/SIGTERM.
 */
#include "server/server.h"

#include "common/log.h"
#include "common/tm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct lws_protocols protocols[] = {
    { "http", http_callback, sizeof(struct req), 0, 0, NULL, 0 },
    /* rx_buffer_size is allocated per connection by lws: keep it small (10 000 idle agents) and
     * let ws.c reassemble messages up to WS_MAX_FRAME. */
    { "tether-agent.v1", ws_callback, 0 /* set at start: sizeof(struct agent_conn) */,
      4096, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

static const struct lws_protocol_vhost_options pvo_default = { NULL, NULL, "default", "1" };
static const struct lws_protocol_vhost_options pvo = { NULL, &pvo_default, "tether-agent.v1", "" };

/* Agents ping every 20 s; the server pings a silent peer after 20 s and drops it after 50 s. */
static const lws_retry_bo_t idle_policy = {
    .secs_since_valid_ping = 20,
    .secs_since_valid_hangup = 50,
};

/* The signal handler needs the context to wake the loop; it is the only file-level state. */
static volatile sig_atomic_t stop_flag;
static struct lws_context *signal_ctx;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
    if (signal_ctx)
        lws_cancel_service(signal_ctx);
}

static int split_listen(const char *listen, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(listen, ':');
    char *end;
    if (!colon || colon == listen || (size_t)(colon - listen) >= hostlen)
        return -EINVAL;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 1 || p > 65535)
        return -EINVAL;
    const char *h = listen;
    size_t n = (size_t)(colon - listen);
    if (h[0] == '[' && n >= 2 && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    snprintf(host, hostlen, "%.*s", (int)n, h);
    *port = (int)p;
    return 0;
}

static void lws_log_bridge(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        n--;
    if (level & LLL_ERR)
        log_error("lws: %.*s", (int)n, line);
    else
        log_warn("lws: %.*s", (int)n, line);
}

int server_serve(struct server *srv)
{
    struct lws_context_creation_info info;
    char host[256];
    int port, n = 0;
    struct sigaction sa;

    if (split_listen(srv->cfg.listen, host, sizeof host, &port)) {
        fprintf(stderr, "tether-server: listen: expected HOST:PORT, got '%s'\n", srv->cfg.listen);
        return -EINVAL;
    }
    protocols[1].per_session_data_size = ws_conn_size();
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_bridge);

    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = host;
    info.protocols = protocols;
    info.pvo = &pvo;
    info.user = srv;
    info.retry_and_idle_policy = &idle_policy;
    /* With IPv6 on, lws 4.1 binds an IPv4 iface address as the wildcard (seen: *:PORT), so an
     * IPv4 listen address turns IPv6 off to keep the socket on that address only. */
    info.options = strchr(host, ':') ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6;
    info.timeout_secs = 30;
    /* Reads and writes in 64 KiB pieces instead of 4 KiB: output chunks are up to ~90 KB. */
    info.pt_serv_buf_size = 65536;
    /* Room for long (hostile) URLs so they get a JSON 404 instead of a silent close. */
    info.max_http_header_data = 8192;
    /* HTTP/1.1 only: agents and SSE clients speak it, and h2 would change the stream rules. */
    info.alpn = "http/1.1";
    info.ka_time = 0;
    if (srv->cfg.tls_cert || srv->cfg.tls_key) {
        if (!srv->cfg.tls_cert || !srv->cfg.tls_key) {
            fprintf(stderr, "tether-server: --tls-cert and --tls-key go together\n");
            return -EINVAL;
        }
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = srv->cfg.tls_cert;
        info.ssl_private_key_filepath = srv->cfg.tls_key;
    }
    srv->stop = &stop_flag;
    srv->ctx = lws_create_context(&info);
    if (!srv->ctx) {
        fprintf(stderr, "tether-server: cannot listen on %s (port in use or address invalid)\n",
                srv->cfg.listen);
        return -EADDRINUSE;
    }
    srv->vh = lws_get_vhost_by_name(srv->ctx, "default");
    signal_ctx = srv->ctx;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    tick_start(srv);
    log_info("listening on %s://%s", srv->cfg.tls_cert ? "https" : "http", srv->cfg.listen);
    while (n >= 0 && !stop_flag)
        n = lws_service(srv->ctx, 0);

    log_info("shutting down");
    /* Answer what is already decided before the sockets go away. */
    commit_flush_now(srv);
    lws_sul_cancel(&srv->tick_sul);
    signal_ctx = NULL;
    /* Closing callbacks during the destroy must not record disconnects: ctx NULL tells them. */
    struct lws_context *ctx = srv->ctx;
    srv->ctx = NULL;
    lws_context_destroy(ctx);
    ws_cleanup(srv);
    return 0;
}
