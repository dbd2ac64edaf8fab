/* The server's options table (common/config.h): defaults, file and --set parsing, --help. */
#include "server/server.h"

#include <stddef.h>

#define OPT(n, t, d, lo, hi, f, h) { n, t, d, lo, hi, offsetof(struct server_config, f), h }

const struct cfg_option server_options[] = {
    OPT("listen", CFG_STR, "127.0.0.1:8600", 0, 0, listen, "HOST:PORT to listen on"),
    OPT("store", CFG_STR, NULL, 0, 0, store, "sqlite:PATH (default DATA_DIR/tether.db)"),
    OPT("public_url", CFG_STR, NULL, 0, 0, public_url,
        "base URL agents are told to use (default http://LISTEN)"),
    OPT("lease_s", CFG_DURATION, "60", 5, 3600, lease_s,
        "how long a pulled task stays leased before it is offered again"),
    OPT("heartbeat_interval", CFG_DURATION, "30", 5, 3600, heartbeat_interval,
        "heartbeat interval told to agents; offline after two missed"),
    OPT("kick_retry_s", CFG_DURATION, "5", 1, 300, kick_retry_s,
        "re-send an unacknowledged kick after this long (3 times at most)"),
    OPT("max_body", CFG_SIZE, "1M", 1024, 64 * 1024 * 1024, max_body,
        "largest accepted request body"),
    OPT("log_file", CFG_STR, NULL, 0, 0, log_file, "log file (default stderr)"),
    OPT("log_level", CFG_STR, "info", 0, 0, log_level, "error, warn, info or debug"),
    OPT("tls_cert", CFG_STR, NULL, 0, 0, tls_cert, "PEM certificate chain (enables TLS)"),
    OPT("tls_key", CFG_STR, NULL, 0, 0, tls_key, "PEM private key"),
    OPT("tls", CFG_BOOL, "no", 0, 0, tls,
        "serve TLS with DATA_DIR/tls/server.pem and server.key (tether-server cert create)"),
    OPT("client_ca", CFG_STR, NULL, 0, 0, client_ca,
        "mutual TLS: agents must present a certificate signed by this CA, bound to their id"),
    OPT("allow_insecure", CFG_BOOL, "no", 0, 0, allow_insecure,
        "allow plain HTTP on a non-loopback listen address (warned at every start)"),
    OPT("request_timeout", CFG_DURATION, "10", 1, 3600, request_timeout,
        "a connection must deliver a whole request (headers and body) within this time"),
    OPT("max_preauth_connections", CFG_INT, "1024", 1, 1000000, max_preauth,
        "connections not yet authenticated; beyond this new ones are closed at once"),
    OPT("auth_fail_burst", CFG_INT, "100", 1, 1000000, auth_fail_burst,
        "failed authentications an address may make before it gets 429"),
    OPT("auth_fail_per_min", CFG_INT, "20", 1, 1000000, auth_fail_per_min,
        "failed authentications per minute an address earns back"),
    OPT("max_accepts_per_s", CFG_INT, "2000", 1, 1000000, max_accepts_per_s,
        "new connections accepted per second (burst of the same size); beyond, closed at once so "
        "a reconnect storm is spread over the agents' backoff"),
    OPT("ws_ping_interval", CFG_DURATION, "20", 1, 3600, ws_ping_interval,
        "ping a silent agent WebSocket after this many seconds; drop it after 2.5 times that"),
    OPT("event_loop", CFG_STR, "epoll", 0, 0, event_loop,
        "epoll (libev under libwebsockets: cost per loop turn independent of the number of "
        "connections) or poll (libwebsockets' own loop)"),
    OPT("web_root", CFG_STR, NULL, 0, 0, web_root,
        "directory of the web console's files (default BINDIR/../share/tether/web)"),
    { NULL, 0, NULL, 0, 0, 0, NULL },
};
