/*
 * Limits against abuse, per connection (server.h "conn_guard.c"):
 * - a cap on connections that have not authenticated yet: beyond max_preauth_connections a new
 *   connection is closed at accept, so a flood of idle sockets cannot take every fd;
 * - a whole-request deadline: a connection must deliver its request line, headers and body
 *   within request_timeout. lws re-arms its own timeouts as bytes trickle in, which a slowloris
 *   client exploits, so the deadline is ours, fixed when the request starts and checked by the
 *   once-a-second tick;
 * - the failed-authentication limiter (ratelimit.c), keyed by source address;
 * - the mutual-TLS binding of a client certificate to an agent.
 * Each accepted connection has a struct conn_track, found by wsi address in a hash (lws clears
 * a wsi's opaque user data before LWS_CALLBACK_WSI_DESTROY, so that cannot hold it).
 */
#include "server/server.h"

#include "common/log.h"
#include "common/tm.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

/* Token bucket over accepts: when thousands of agents reconnect at once (a server restart), the
 * ones over the rate are closed at once and come back after their jittered backoff, instead of
 * all handshaking (and authenticating) in the same second. */
static bool accept_rate_ok(struct server *srv)
{
    int64_t now = tm_mono_ms();
    double cap = (double)srv->cfg.max_accepts_per_s;

    if (srv->accept_refill_ms == 0) {
        srv->accept_tokens = cap;
        srv->accept_refill_ms = now;
    }
    srv->accept_tokens += (double)(now - srv->accept_refill_ms) * cap / 1000.0;
    if (srv->accept_tokens > cap)
        srv->accept_tokens = cap;
    srv->accept_refill_ms = now;
    if (srv->accept_tokens < 1.0)
        return false;
    srv->accept_tokens -= 1.0;
    return true;
}

int guard_accept_ok(struct server *srv)
{
    if (!accept_rate_ok(srv)) {
        if (srv->accept_throttled++ % 1000 == 0)
            log_warn("guard: over %lld new connections/s: closing the excess (%llu so far)",
                     (long long)srv->cfg.max_accepts_per_s,
                     (unsigned long long)srv->accept_throttled);
        return -1;
    }
    if (srv->npreauth >= (size_t)srv->cfg.max_preauth) {
        /* Logged once per 1000 so a flood does not flood the log too. */
        if (srv->preauth_refused++ % 1000 == 0)
            log_warn("guard: %zu connections not authenticated yet: refusing new ones (%llu so "
                     "far)", srv->npreauth, (unsigned long long)srv->preauth_refused);
        return -1;
    }
    return 0;
}

static unsigned wsi_bucket(const struct lws *wsi)
{
    uintptr_t p = (uintptr_t)wsi;
    return (unsigned)((p >> 4) ^ (p >> 16)) % CONN_BUCKETS;
}

static struct conn_track *find(struct server *srv, const struct lws *wsi)
{
    for (struct conn_track *t = srv->track_hash[wsi_bucket(wsi)]; t; t = t->hnext)
        if (t->wsi == wsi)
            return t;
    return NULL;
}

static struct conn_track *track_of(struct lws *wsi)
{
    struct server *srv = wsi ? lws_context_user(lws_get_context(wsi)) : NULL;
    return srv ? find(srv, wsi) : NULL;
}

/* The socket is not attached yet when WSI_CREATE runs, so the address is looked up late. */
static const char *peer_of(struct lws *wsi, struct conn_track *t, char *buf, size_t len)
{
    if (t && t->peer[0])
        return t->peer;
    if (!lws_get_peer_simple(wsi, buf, len) || !strncmp(buf, "getpeername", 11))
        return "unknown";
    if (t)
        snprintf(t->peer, sizeof t->peer, "%s", buf);
    return buf;
}

void guard_peer(struct lws *wsi, char *buf, size_t len)
{
    char tmp[64];
    snprintf(buf, len, "%s", peer_of(wsi, track_of(wsi), tmp, sizeof tmp));
}

void guard_created(struct server *srv, struct lws *wsi)
{
    struct conn_track *t;
    if (!wsi)
        return;
    /* A record left for this address means a destroy was missed: never inherit its state. */
    if (find(srv, wsi))
        guard_destroyed(srv, wsi);
    t = calloc(1, sizeof *t);
    if (!t)
        return;   /* untracked: no deadline, not counted (never expected) */
    t->wsi = wsi;
    t->deadline_mono = tm_mono_ms() + srv->cfg.request_timeout * 1000;
    t->next = srv->tracks;
    if (srv->tracks)
        srv->tracks->prev = t;
    srv->tracks = t;
    srv->nconn++;
    srv->npreauth++;
    t->hnext = srv->track_hash[wsi_bucket(wsi)];
    srv->track_hash[wsi_bucket(wsi)] = t;
    log_debug("guard: +conn %zu open, %zu pre-auth", srv->nconn, srv->npreauth);
}

void guard_destroyed(struct server *srv, struct lws *wsi)
{
    struct conn_track *t = wsi ? find(srv, wsi) : NULL, **pp;
    if (!t)
        return;
    for (pp = &srv->track_hash[wsi_bucket(wsi)]; *pp; pp = &(*pp)->hnext) {
        if (*pp == t) {
            *pp = t->hnext;
            break;
        }
    }
    if (t->prev)
        t->prev->next = t->next;
    else
        srv->tracks = t->next;
    if (t->next)
        t->next->prev = t->prev;
    srv->nconn--;
    if (!t->authenticated)
        srv->npreauth--;
    free(t);
    log_debug("guard: -conn %zu open, %zu pre-auth", srv->nconn, srv->npreauth);
}

void guard_authenticated(struct server *srv, struct lws *wsi)
{
    struct conn_track *t = track_of(wsi);
    if (!t || t->authenticated)
        return;
    t->authenticated = true;
    srv->npreauth--;
}

void guard_request_done(struct server *srv, struct lws *wsi)
{
    struct conn_track *t = track_of(wsi);
    (void)srv;
    if (t)
        t->deadline_mono = 0;
}

void guard_request_next(struct server *srv, struct lws *wsi)
{
    struct conn_track *t = track_of(wsi);
    /* An authenticated keep-alive connection may idle between requests (lws's keep-alive
     * timeout closes it eventually); an anonymous one gets a fresh deadline. */
    if (t && !t->authenticated)
        t->deadline_mono = tm_mono_ms() + srv->cfg.request_timeout * 1000;
}

void guard_stream(struct server *srv, struct lws *wsi)
{
    guard_request_done(srv, wsi);
}

void guard_tick(struct server *srv, int64_t now_mono)
{
    for (struct conn_track *t = srv->tracks; t; t = t->next) {
        if (!t->deadline_mono || now_mono < t->deadline_mono)
            continue;
        t->deadline_mono = 0;
        char tmp[64];
        if (srv->deadline_closed++ % 1000 == 0)
            log_info("guard: closing a connection from %s: no complete request within %llds "
                     "(%llu so far)", peer_of(t->wsi, t, tmp, sizeof tmp),
                     (long long)srv->cfg.request_timeout,
                     (unsigned long long)srv->deadline_closed);
        /* Asynchronous: the wsi is freed by lws later, never under our walk. */
        lws_set_timeout(t->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
}

bool guard_auth_blocked(struct server *srv, const char *addr, int64_t *retry_after_s)
{
    return srv->authfail && rl_blocked(srv->authfail, addr, tm_mono_ms(), retry_after_s);
}

void guard_auth_failed(struct server *srv, const char *addr)
{
    if (srv->authfail)
        rl_fail(srv->authfail, addr, tm_mono_ms());
}

static bool cert_names(X509 *cert, const char *want)
{
    char cn[256], uri[300];
    bool ok = false;
    GENERAL_NAMES *gens;

    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0 &&
        !strcmp(cn, want))
        return true;
    snprintf(uri, sizeof uri, "tether:agent:%s", want);
    gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && !ok; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type != GEN_URI)
            continue;
        const ASN1_STRING *s = g->d.uniformResourceIdentifier;
        size_t n = (size_t)ASN1_STRING_length(s);
        ok = n == strlen(uri) && !memcmp(ASN1_STRING_get0_data(s), uri, n);
    }
    GENERAL_NAMES_free(gens);
    return ok;
}

int guard_client_cert(struct server *srv, struct lws *wsi, const char *agent_id,
                      const char *agent_name)
{
    SSL *ssl;
    X509 *cert;
    int rc = -1;

    if (!srv->cfg.client_ca)
        return 0;
    ssl = lws_get_ssl(wsi);
    cert = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
    if (!cert) {
        log_info("guard: agent call without a client certificate refused");
        return -1;
    }
    /* X509_V_OK also when no certificate was sent: the NULL check above covers that. */
    if (SSL_get_verify_result(ssl) != X509_V_OK) {
        log_info("guard: client certificate not verified by the client CA: refused");
    } else if (!agent_id || cert_names(cert, agent_id) ||
               (agent_name && agent_name[0] && cert_names(cert, agent_name))) {
        rc = 0;
    } else {
        log_warn("guard: agent %s presented another identity's certificate: refused", agent_id);
    }
    X509_free(cert);
    return rc;
}
