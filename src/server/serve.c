/*
 * `tether-server serve`: one lws context with one vhost. protocols[0] "http" serves REST and SSE;
 * "tether-agent.v1" serves the agent WebSocket and is the vhost default for upgrades (pvo
 * "default"), so an upgrade without Sec-WebSocket-Protocol still lands on it and its path check
 * (libs-probe G1). The service loop runs until SIGINT/SIGTERM.
 */
#include "server/server.h"

#include "common/log.h"
#include "common/tm.h"

#include <unistd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <netdb.h>
#include <stdio.h>
#include <sys/resource.h>
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

/* Agents ping every 20 s; the server pings a silent peer after ws_ping_interval (20 s) and drops
 * it after 2.5 times that, so a half-open connection does not keep an agent online. That is done
 * by ws_tick (ws.c), not by lws: a policy with both times zero keeps lws from arming a validity
 * timer per connection (lws 4.1's timer list is sorted with O(n) inserts; see ws.c). */
static const lws_retry_bo_t idle_policy = { .secs_since_valid_ping = 0,
                                            .secs_since_valid_hangup = 0 };

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

/*
 * The context on an epoll loop (event_loop = epoll): lws's own poll loop walks every socket on
 * every turn, ~60 % of the server's CPU with 10 000 agents connected (bench/README.md, Swarm).
 * The libev loop is ours ("foreign" to lws), run one turn at a time, so lws installs no signal
 * handlers of its own (libs-probe G12) and the stop flag is seen after every turn. lws loads its
 * libev plugin at run time (package libwebsockets-evlib-ev); without it the server says so and
 * runs on the poll loop.
 */
static struct lws_context *create_context(struct server *srv, struct lws_context_creation_info *info,
                                          struct ev_loop **evloop)
{
    static void *foreign[1];
    struct lws_context *ctx;

    *evloop = NULL;
    if (!strcmp(srv->cfg.event_loop, "epoll")) {
        *evloop = ev_loop_new(EVBACKEND_EPOLL);
        if (*evloop) {
            foreign[0] = *evloop;
            info->options |= LWS_SERVER_OPTION_LIBEV;
            info->foreign_loops = foreign;
            ctx = lws_create_context(info);
            if (ctx) {
                log_info("event loop: epoll (libev)");
                return ctx;
            }
            ev_loop_destroy(*evloop);
            *evloop = NULL;
            info->options &= ~(uint64_t)LWS_SERVER_OPTION_LIBEV;
            info->foreign_loops = NULL;
        }
        log_warn("event loop: libev is not available to libwebsockets (is "
                 "libwebsockets-evlib-ev installed?); using its poll loop");
    }
    ctx = lws_create_context(info);
    if (ctx)
        log_info("event loop: poll (libwebsockets)");
    return ctx;
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

/* lws sizes its fd table from RLIMIT_NOFILE (libs-probe G3/G4): take the hard limit. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl)) {
        log_warn("cannot read RLIMIT_NOFILE: %s", strerror(errno));
        return;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl))
            log_warn("cannot raise RLIMIT_NOFILE to %llu: %s", (unsigned long long)want,
                     strerror(errno));
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    log_info("open files limit: %llu", (unsigned long long)rl.rlim_cur);
}

/* True when every address HOST resolves to is a loopback address (127/8, ::1). */
static bool host_is_loopback(const char *host)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    bool all = true;
    if (!strcmp(host, "localhost"))
        return true;
    if (getaddrinfo(host, "1", &hints, &res) || !res)
        return false;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            const struct sockaddr_in *sin = (const void *)a->ai_addr;
            all = all && (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
        } else if (a->ai_family == AF_INET6) {
            const struct sockaddr_in6 *s6 = (const void *)a->ai_addr;
            all = all && IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
        } else {
            all = false;
        }
    }
    freeaddrinfo(res);
    return all;
}

/* Picks the certificate (explicit files, or DATA/tls with `tls = yes`) and refuses plain HTTP
 * off loopback unless allow_insecure. Fills info; 0 or -EINVAL after printing why. */
static int setup_tls(struct server *srv, const char *host, struct lws_context_creation_info *info,
                     char *cert, char *key, size_t len)
{
    if (srv->cfg.tls_cert || srv->cfg.tls_key) {
        if (!srv->cfg.tls_cert || !srv->cfg.tls_key) {
            fprintf(stderr, "tether-server: --tls-cert and --tls-key go together\n");
            return -EINVAL;
        }
        snprintf(cert, len, "%s", srv->cfg.tls_cert);
        snprintf(key, len, "%s", srv->cfg.tls_key);
    } else if (srv->cfg.tls) {
        snprintf(cert, len, "%s/tls/server.pem", srv->data_dir);
        snprintf(key, len, "%s/tls/server.key", srv->data_dir);
        if (access(cert, R_OK) || access(key, R_OK)) {
            fprintf(stderr, "tether-server: --tls: %s or its key is missing; run tether-server "
                            "cert create --data-dir %s --host NAME\n", cert, srv->data_dir);
            return -EINVAL;
        }
    } else {
        cert[0] = key[0] = '\0';
    }
    if (srv->cfg.client_ca && !cert[0]) {
        fprintf(stderr, "tether-server: --client-ca needs TLS (--tls or --tls-cert/--tls-key)\n");
        return -EINVAL;
    }
    if (!cert[0]) {
        if (!host_is_loopback(host) && !srv->cfg.allow_insecure) {
            fprintf(stderr, "tether-server: refusing plain HTTP on %s, which is not a loopback "
                            "address: use --tls (tether-server cert create), or set "
                            "allow_insecure = yes\n", host);
            return -EINVAL;
        }
        if (!host_is_loopback(host))
            log_warn("INSECURE: plain HTTP on %s (allow_insecure = yes): tokens and commands "
                     "cross the network in clear text", srv->cfg.listen);
        return 0;
    }
    info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info->ssl_cert_filepath = cert;
    info->ssl_private_key_filepath = key;
    if (srv->cfg.client_ca) {
        /* Ask for a client certificate and verify it when sent; operators (CLI) send none, and
         * agent routes insist on one bound to the agent (guard_client_cert). */
        info->options |= LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT |
                         LWS_SERVER_OPTION_PEER_CERT_NOT_REQUIRED;
        info->ssl_ca_filepath = srv->cfg.client_ca;
    }
    return 0;
}

int server_serve(struct server *srv)
{
    char cert[4200], key[4200];
    struct lws_context_creation_info info;
    char host[256];
    int port, n = 0;
    struct sigaction sa;
    struct ev_loop *evloop = NULL;

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
    if (setup_tls(srv, host, &info, cert, key, sizeof cert))
        return -EINVAL;
    raise_nofile();
    srv->authfail = calloc(1, sizeof *srv->authfail);
    if (!srv->authfail)
        return -ENOMEM;
    rl_init(srv->authfail, srv->cfg.auth_fail_burst, srv->cfg.auth_fail_per_min);
    srv->stop = &stop_flag;
    if (strcmp(srv->cfg.event_loop, "epoll") && strcmp(srv->cfg.event_loop, "poll")) {
        fprintf(stderr, "tether-server: event_loop: expected epoll or poll, got '%s'\n",
                srv->cfg.event_loop);
        free(srv->authfail);
        srv->authfail = NULL;
        return -EINVAL;
    }
    srv->ctx = create_context(srv, &info, &evloop);
    if (!srv->ctx) {
        fprintf(stderr, "tether-server: cannot listen on %s (port in use, address invalid, or "
                        "unreadable TLS files)\n", srv->cfg.listen);
        free(srv->authfail);
        srv->authfail = NULL;
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
    console_check_root(srv);
    log_info("listening on %s://%s%s", cert[0] ? "https" : "http", srv->cfg.listen,
             srv->cfg.client_ca ? " (agents need a client certificate)" : "");
    while (n >= 0 && !stop_flag) {
        if (evloop)
            ev_run(evloop, EVRUN_ONCE); /* a signal ends the turn: epoll_wait returns EINTR */
        else
            n = lws_service(srv->ctx, 0);
    }

    log_info("shutting down");
    /* Answer what is already decided before the sockets go away. */
    commit_flush_now(srv);
    lws_sul_cancel(&srv->tick_sul);
    signal_ctx = NULL;
    /* Closing callbacks during the destroy must not record disconnects: ctx NULL tells them. */
    struct lws_context *ctx = srv->ctx;
    srv->ctx = NULL;
    lws_context_destroy(ctx);
    if (evloop)
        ev_loop_destroy(evloop);
    ws_cleanup(srv);
    free(srv->authfail);
    srv->authfail = NULL;
    return 0;
}
