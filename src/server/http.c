/*
 * protocols[0] "http": collects one request (method, path, Authorization, a Content-Length body
 * capped at max_body; chunked bodies are refused, libs-probe G2), finds its route, authenticates,
 * runs the handler (inside the group-commit transaction for writing routes) and writes the whole
 * response in <= 16 KiB pieces across WRITEABLE callbacks. Keep-alive via
 * lws_http_transaction_completed.
 */
#include "server/server.h"
#include "server/releases.h"

#include "common/jsonutil.h"
#include "common/log.h"
#include "server/auth.h"
#include "server/console_path.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static enum http_method method_of(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
        return M_GET;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
        return M_POST;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PATCH_URI))
        return M_PATCH;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI))
        return M_DELETE;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI))
        return M_PUT;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI))
        return M_HEAD;
    return M_OTHER;
}

static void req_reset(struct req *r)
{
    artifact_io_free(r->upload);
    artifact_io_free(r->download);
    buf_free(&r->body);
    buf_free(&r->resp);
    evq_clear(&r->events);
    struct server *srv = r->srv;
    struct lws *wsi = r->wsi;
    memset(r, 0, sizeof *r);
    r->srv = srv;
    r->wsi = wsi;
}

void resp_raw(struct req *r, int status, const char *ctype, const void *data, size_t len)
{
    buf_reset(&r->resp);
    r->status = status;
    r->ctype = ctype;
    if (len && buf_append(&r->resp, data, len)) {
        r->status = 500;
        r->ctype = "application/json";
        buf_reset(&r->resp);
        buf_append_str(&r->resp, "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
    }
}

void resp_json(struct req *r, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        resp_raw(r, 500, "application/json",
                 "{\"error\":{\"code\":\"internal\",\"message\":\"cannot render\"}}", 56);
        return;
    }
    resp_raw(r, status, "application/json", text, strlen(text));
    free(text);
}

void resp_error(struct req *r, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Messages may quote client input: json_pack escapes it, and invalid UTF-8 is replaced. */
    json_t *o = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);
    if (!o)
        o = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", "invalid request");
    resp_json(r, status, o);
}

void resp_header(struct req *r, const char *name, const char *value)
{
    for (int i = 0; i < 2; i++) {
        if (!r->xhdr_name[i][0]) {
            snprintf(r->xhdr_name[i], sizeof r->xhdr_name[i], "%s", name);
            snprintf(r->xhdr_value[i], sizeof r->xhdr_value[i], "%s", value);
            return;
        }
    }
}

int req_query(struct req *r, const char *name, char *buf, size_t len)
{
    char key[64], frag[512];
    const char *v;
    snprintf(key, sizeof key, "%s=", name);
    /* lws copies the whole "name=value" fragment (it must fit) and points past the "=". */
    v = lws_get_urlarg_by_name(r->wsi, key, frag, (int)sizeof frag);
    if (!v || strlen(v) >= len)
        return 0;
    snprintf(buf, len, "%s", v);
    return 1;
}

json_t *req_json(struct req *r)
{
    char err[256];
    json_t *v;
    if (r->body.len == 0)
        return json_object();
    v = jsonu_parse(r->body.data, r->body.len, (size_t)r->srv->cfg.max_body, err, sizeof err);
    if (!v) {
        resp_error(r, 400, "bad_request", "%s", err);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        resp_error(r, 400, "bad_request", "body: must be a JSON object");
        return NULL;
    }
    return v;
}

void req_respond(struct req *r)
{
    if (r->srv->txn_open && !r->no_commit_wait) {
        commit_wait(r->srv, r);
        return;
    }
    r->state = REQ_WRITING;
    lws_callback_on_writable(r->wsi);
}

/* A refused credential: 401, or 429 with Retry-After once the address is over its budget of
 * failures (the connection is then closed, which costs a flooding client a reconnect). */
static int refuse(struct req *r, int status, const char *code, const char *msg)
{
    int64_t retry = 0;
    bool blocked = guard_auth_blocked(r->srv, r->peer, &retry);
    guard_auth_failed(r->srv, r->peer);
    if (blocked) {
        char v[24];
        if (r->srv->auth_limited++ % 1000 == 0)
            log_warn("http: too many failed authentications from %s: answering 429", r->peer);
        snprintf(v, sizeof v, "%lld", (long long)retry);
        resp_error(r, 429, "too_many_requests",
                   "too many failed authentications from this address; retry later");
        resp_header(r, "Retry-After", v);
        r->close_after = true;
        return -1;
    }
    resp_error(r, status, code, "%s", msg);
    return -1;
}

/* Fills r->who/role/agent_id for the route's credential, or answers 401/403/429. 0 when allowed.
 * Nothing of the handler runs before this returns 0. */
static int authenticate(struct req *r, const struct route *rt)
{
    char header[256], token[128];
    struct st_agent agent;
    enum cred_need need = rt->need;

    if (need == CRED_NONE) {
        /* Registration is an agent call: with mutual TLS it needs a verified certificate. */
        if (!strncmp(rt->pattern, "/v1/agent/", 10) &&
            guard_client_cert(r->srv, r->wsi, NULL, NULL))
            return refuse(r, 401, "unauthorized", "a valid client certificate is required");
        return 0;
    }
    if (lws_hdr_copy(r->wsi, header, sizeof header, WSI_TOKEN_HTTP_AUTHORIZATION) <= 0 ||
        auth_bearer(header, token, sizeof token))
        goto unauthorized;
    if (need == CRED_AGENT) {
        if (auth_agent_token(r->srv->st, token, &agent))
            goto unauthorized;
        int cert_rc = guard_client_cert(r->srv, r->wsi, agent.agent_id, agent.name);
        snprintf(r->agent_id, sizeof r->agent_id, "%s", agent.agent_id);
        snprintf(r->tenant, sizeof r->tenant, "%s", agent.tenant_id);
        snprintf(r->who, sizeof r->who, "%s", agent.name);
        st_agent_free(&agent);
        if (cert_rc)
            return refuse(r, 403, "forbidden",
                          "the client certificate does not belong to this agent");
        guard_authenticated(r->srv, r->wsi);
        return 0;
    }
    if (auth_api_key(r->srv->st, token, r->who, r->tenant, &r->role))
        goto unauthorized;
    guard_authenticated(r->srv, r->wsi);
    if (!auth_role_allows(need, r->role)) {
        /* naming the role that would do lets the CLI say which key to ask for */
        resp_error(r, 403, "forbidden", "this API key's role (%s) may not do that; it needs "
                   "the %s role", role_name(r->role), need == CRED_ADMIN ? "admin" :
                   need == CRED_OPERATOR ? "operator" : "viewer");
        return -1;
    }
    return 0;
unauthorized:
    return refuse(r, 401, "unauthorized", "missing or invalid credentials");
}

static void run_writing(struct req *r, const struct route *rt)
{
    struct server *srv = r->srv;
    if (commit_begin_write(srv) || store_savepoint(srv->st)) {
        resp_error(r, 503, "unavailable", "store not writable");
        return;
    }
    r->events.watched = sse_watching;
    r->events.watched_ud = srv;
    rt->handler(r);
    if (r->status >= 400 || r->status == 0) {
        /* Undo only this request's writes; the rest of the batch goes on. */
        if (store_rollback_to(srv->st))
            log_error("http: rollback of a failed request did not work");
        evq_clear(&r->events);
    } else if (store_release(srv->st)) {
        resp_error(r, 503, "unavailable", "store not writable");
        evq_clear(&r->events);
    } else {
        evq_splice(&srv->batch, &r->events);
    }
}

static void dispatch(struct req *r)
{
    char params[ROUTE_MAX_PARAMS][ROUTE_PARAM_MAX];
    const struct route *rt;
    bool known;

    rt = route_find(route_table, r->method, r->path, params, &known);
    if (!rt && !known && console_owns_path(r->path)) {
        /* API paths (/v1/..., /healthz) never reach the console, whatever web_root holds. */
        console_serve(r);
        goto respond;
    }
    if (!rt) {
        if (known)
            resp_error(r, 405, "method_not_allowed", "method not allowed on %s", r->path);
        else
            resp_error(r, 404, "not_found", "no such endpoint");
        goto respond;
    }
    memcpy(r->params, params, sizeof params);
    if (authenticate(r, rt))
        goto respond;
    if (rt->writes)
        run_writing(r, rt);
    else
        rt->handler(r);
    if (!r->status)
        resp_error(r, 500, "internal", "no response");
    /* A wrong activation code is a failed authentication too. */
    if (rt->need == CRED_NONE && r->status == 401)
        guard_auth_failed(r->srv, r->peer);
respond:
    guard_request_done(r->srv, r->wsi);
    log_debug("http: %s %d", r->path, r->status);
    req_respond(r);
}

/* Bodies are capped at max_body, except release artifacts (issue 6), which are binaries. */
static int64_t body_limit(const struct req *r)
{
    if (r->method == M_POST && strcmp(r->path, "/v1/artifacts") == 0)
        return ARTIFACT_MAX_BODY;
    return r->srv->cfg.max_body;
}

static int on_http(struct req *r, const char *path)
{
    char cl[32];
    r->method = method_of(r->wsi);
    guard_peer(r->wsi, r->peer, sizeof r->peer);
    if (strlen(path) >= sizeof r->path) {
        /* Never route a truncated path. */
        resp_error(r, 404, "not_found", "no such endpoint (path too long)");
        r->close_after = true;
        req_respond(r);
        return 0;
    }
    snprintf(r->path, sizeof r->path, "%s", path);
    if (lws_hdr_total_length(r->wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING)) {
        r->close_after = true;
        resp_error(r, 411, "bad_request", "Content-Length required; chunked bodies are refused");
        req_respond(r);
        return 0;
    }
    if (lws_hdr_copy(r->wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
        char *end;
        errno = 0;
        long long v = strtoll(cl, &end, 10);
        if (errno || *end || v < 0) {
            r->close_after = true;
            resp_error(r, 400, "bad_request", "invalid Content-Length");
            req_respond(r);
            return 0;
        }
        r->content_length = v;
    }
    if (body_limit(r) > r->srv->cfg.max_body && r->content_length > 0) {
        /* A release artifact: authenticated before a byte of it is taken, then streamed into a
         * file (artifacts.c) rather than held in memory. */
        bool known;
        const struct route *rt = route_find(route_table, r->method, r->path, NULL, &known);
        if (!rt || authenticate(r, rt) || (r->content_length <= body_limit(r) &&
                                            artifact_upload_begin(r) != 0)) {
            if (!rt)
                resp_error(r, 404, "not_found", "no such endpoint");
            else if (!r->status)
                resp_error(r, 507, "insufficient_storage", "cannot store the artifact");
            r->close_after = true;
            req_respond(r);
            return 0;
        }
    }
    if (r->content_length > body_limit(r)) {
        r->close_after = true;
        resp_error(r, 413, "payload_too_large", "body larger than %lld bytes",
                   (long long)body_limit(r));
        req_respond(r);
        return 0;
    }
    if (r->content_length > 0) {
        r->state = REQ_BODY;
        return 0;
    }
    dispatch(r);
    return 0;
}

/* What every console answer carries (docs/console.md explains each). */
static const char *const console_headers[][2] = {
    { "Content-Security-Policy:",
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
      "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'" },
    { "X-Content-Type-Options:", "nosniff" },
    { "Referrer-Policy:", "no-referrer" },
    { "X-Frame-Options:", "DENY" },
    { "Cache-Control:", "no-cache" },
};

static int add_console_headers(struct req *r, unsigned char **p, unsigned char *end)
{
    for (size_t i = 0; i < sizeof console_headers / sizeof console_headers[0]; i++) {
        const char *v = console_headers[i][1];
        if (lws_add_http_header_by_name(r->wsi, (const unsigned char *)console_headers[i][0],
                                        (const unsigned char *)v, (int)strlen(v), p, end))
            return -1;
    }
    if (r->etag[0] && lws_add_http_header_by_name(r->wsi, (const unsigned char *)"ETag:",
                                                  (const unsigned char *)r->etag,
                                                  (int)strlen(r->etag), p, end))
        return -1;
    return 0;
}

static int write_headers(struct req *r)
{
    struct server *srv = r->srv;
    unsigned char *start = srv->wbuf + LWS_PRE, *p = start, *end = srv->wbuf + sizeof srv->wbuf - 1;
    lws_filepos_t clen = r->sse ? LWS_ILLEGAL_HTTP_CONTENT_LEN
                         : r->download ? (lws_filepos_t)artifact_download_left(r->download)
                                       : (lws_filepos_t)r->resp.len;

    if (lws_add_http_common_headers(r->wsi, (unsigned int)r->status, r->ctype, clen, &p, end))
        return -1;
    for (int i = 0; i < 2 && r->xhdr_name[i][0]; i++) {
        char name[40];
        snprintf(name, sizeof name, "%s:", r->xhdr_name[i]);
        if (lws_add_http_header_by_name(r->wsi, (const unsigned char *)name,
                                        (const unsigned char *)r->xhdr_value[i],
                                        (int)strlen(r->xhdr_value[i]), &p, end))
            return -1;
    }
    if (r->sse && lws_add_http_header_by_token(r->wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                               (const unsigned char *)"no-store", 8, &p, end))
        return -1;
    if (r->console && add_console_headers(r, &p, end))
        return -1;
    if (lws_finalize_write_http_header(r->wsi, start, &p, end))
        return -1;
    r->headers_done = true;
    if (r->sse) {
        guard_stream(srv, r->wsi);
        /* What lws_http_mark_sse() does for HTTP/1 (in 4.1 it also logs an error outside h2):
         * give the header table back to the pool, and never time the stream out. */
        lws_http_headers_detach(r->wsi);
        lws_set_timeout(r->wsi, NO_PENDING_TIMEOUT, 0);
    }
    return 0;
}

/* One write per WRITEABLE callback (libs-probe G14). */
static int on_writeable(struct req *r)
{
    struct server *srv = r->srv;
    size_t left, n;
    bool final;

    if (r->state != REQ_WRITING)
        return 0;
    if (!r->headers_done) {
        if (write_headers(r))
            return -1;
        if (r->head_only)
            goto done;
        if (r->sse || r->resp.len || (r->download && artifact_download_left(r->download)))
            lws_callback_on_writable(r->wsi);
        else
            goto done;
        return 0;
    }
    if (r->sse)
        return sse_writeable(r);
    if (r->download) {
        /* A file body (artifact download): one chunk of it per WRITEABLE, never all in memory. */
        left = (size_t)artifact_download_left(r->download);
        n = left > SERVER_WRITE_CHUNK ? SERVER_WRITE_CHUNK : left;
        if (artifact_download_read(r->download, srv->wbuf + LWS_PRE, n) != (ssize_t)n)
            return -1;
    } else {
        left = r->resp.len - r->sent;
        n = left > SERVER_WRITE_CHUNK ? SERVER_WRITE_CHUNK : left;
        memcpy(srv->wbuf + LWS_PRE, r->resp.data + r->sent, n);
    }
    final = n == left;
    if (lws_write(r->wsi, srv->wbuf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) <
        (int)n)
        return -1;
    r->sent += n;
    if (!final) {
        lws_callback_on_writable(r->wsi);
        return 0;
    }
done:
    r->state = REQ_DONE;
    /* lws may drop or zero this per-session struct when the transaction completes (keep-alive),
     * so release what it owns now. */
    bool close_after = r->close_after;
    struct lws *wsi = r->wsi;
    req_reset(r);
    r->srv = NULL;
    if (close_after)
        return -1;
    guard_request_next(srv, wsi);
    if (lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    struct req *r = user;
    struct server *srv = lws_context_user(lws_get_context(wsi));

    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        return srv && guard_accept_ok(srv) ? -1 : 0;
    case LWS_CALLBACK_WSI_CREATE:
        /* srv->ctx is set once the context (and its listen socket) exists: only accepted
         * connections are tracked. */
        if (srv && srv->ctx)
            guard_created(srv, wsi);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (srv)
            guard_destroyed(srv, wsi);
        return 0;
    case LWS_CALLBACK_HTTP:
        if (r->srv)
            commit_unwait(srv, r);
        r->srv = srv;
        r->wsi = wsi;
        req_reset(r);
        return on_http(r, in ? (const char *)in : "/");
    case LWS_CALLBACK_HTTP_BODY:
        if (r->state != REQ_BODY)
            return 0;
        if (r->body.len + len > (size_t)body_limit(r)) {
            r->body_too_large = true;
            return 0;
        }
        if (r->upload) {
            if (artifact_upload_write(r, in, len))
                r->body_too_large = true;
            return 0;
        }
        if (buf_append(&r->body, in, len))
            r->body_too_large = true;
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (r->state != REQ_BODY)
            return 0;
        if (r->body_too_large) {
            r->close_after = true;
            resp_error(r, 413, "payload_too_large", "body too large");
            req_respond(r);
            return 0;
        }
        dispatch(r);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!r || !r->srv)
            return 0;
        return on_writeable(r);
    case LWS_CALLBACK_CLOSED_HTTP:
        if (r && r->srv) {
            commit_unwait(srv, r);
            if (r->sse)
                sse_closed(r);
            req_reset(r);
        }
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}
