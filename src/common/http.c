/*
 * HTTP/1.1 requests and responses for the agent and the CLI; see http.h. The transport (URLs,
 * sockets, TLS, proxies, the keep-alive pool) is in http_conn.c. Responses are hostile input:
 * every length is checked before it is trusted.
 */
#include "common/http.h"
#include "common/http_conn.h"
#include "common/tm.h"
#include "common/jsonutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#define HTTP_MAX_BODY (80u * 1024 * 1024)
#define HTTP_MAX_HEADER_BYTES (64 * 1024)
#define HTTP_MAX_HEADERS 200
#define HTTP_STALL_MS 60000         /* SSE servers send a keepalive every 15 s */

struct http_client {
    char *base_url;
    char *auth_header;          /* "Authorization: Bearer ...", zeroed before it is freed */
    char *ca_file;
    char *client_cert, *client_key;
    long timeout_ms;
};

/* The agent's process-wide client certificate (http_global_set_client_cert). */
static char *default_cert, *default_key;

int http_global_init(void)
{
    return http_conn_global_init();
}

int http_global_set_client_cert(const char *cert, const char *key)
{
    free(default_cert);
    free(default_key);
    default_cert = cert ? strdup(cert) : NULL;
    default_key = key ? strdup(key) : NULL;
    return (cert && !default_cert) || (key && !default_key) ? -ENOMEM : 0;
}

int http_client_set_tls(struct http_client *c, const struct http_tls *tls)
{
    char *ca = tls->ca_file ? strdup(tls->ca_file) : NULL;
    char *cert = tls->client_cert ? strdup(tls->client_cert) : NULL;
    char *key = tls->client_key ? strdup(tls->client_key) : NULL;
    if ((tls->ca_file && !ca) || (tls->client_cert && !cert) || (tls->client_key && !key)) {
        free(ca);
        free(cert);
        free(key);
        return -ENOMEM;
    }
    free(c->ca_file);
    free(c->client_cert);
    free(c->client_key);
    c->ca_file = ca;
    c->client_cert = cert;
    c->client_key = key;
    return 0;
}

void http_global_cleanup(void)
{
    http_global_set_client_cert(NULL, NULL);
    http_conn_global_cleanup();
}

struct http_client *http_client_create(const char *base_url, const char *token, const char *ca_file)
{
    struct http_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->base_url = strdup(base_url);
    c->ca_file = ca_file ? strdup(ca_file) : NULL;
    c->timeout_ms = 30000;
    if (!c->base_url || (ca_file && !c->ca_file)) {
        http_client_destroy(c);
        return NULL;
    }
    /* trailing slashes would double up with our absolute paths */
    size_t n = strlen(c->base_url);
    while (n > 0 && c->base_url[n - 1] == '/')
        c->base_url[--n] = '\0';
    http_client_set_token(c, token);
    return c;
}

static void free_secret(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void http_client_destroy(struct http_client *c)
{
    if (!c)
        return;
    free(c->base_url);
    free_secret(c->auth_header);
    free(c->ca_file);
    free(c->client_cert);
    free(c->client_key);
    free(c);
}

void http_client_set_token(struct http_client *c, const char *token)
{
    free_secret(c->auth_header);
    c->auth_header = NULL;
    if (token && *token) {
        size_t n = strlen(token) + 32;
        c->auth_header = malloc(n);
        if (c->auth_header)
            snprintf(c->auth_header, n, "Authorization: Bearer %s", token);
    }
}

void http_client_set_timeout(struct http_client *c, long timeout_ms)
{
    c->timeout_ms = timeout_ms;
}

/* ---- where the body goes ---- */

struct sink {
    char *data;
    size_t len, cap;
    http_data_cb cb;
    void *ud;
    int64_t range_from;   /* http_download: > 0 asks for the rest from this offset (206) */
    long status;
    bool stopped;
};

/* 0, or -ECANCELED when the callback stopped, -EFBIG past HTTP_MAX_BODY, -ENOMEM. */
static int sink_put(struct sink *s, const char *p, size_t n)
{
    /* error responses are buffered like any other call, so callers see the JSON error */
    if (s->cb && (s->status == 200 || (s->status == 206 && s->range_from > 0))) {
        if (n > 0 && s->cb(s->ud, p, n) != 0) {
            s->stopped = true;
            return -ECANCELED;
        }
        return 0;
    }
    if (n > HTTP_MAX_BODY || s->len + n + 1 > HTTP_MAX_BODY)
        return -EFBIG;
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        char *nd;
        while (cap < s->len + n + 1)
            cap *= 2;
        nd = realloc(s->data, cap);
        if (!nd)
            return -ENOMEM;
        s->data = nd;
        s->cap = cap;
    }
    memcpy(s->data + s->len, p, n);
    s->len += n;
    s->data[s->len] = '\0';
    return 0;
}

/* ---- reading the response ---- */

struct exchange {
    struct http_conn *conn;
    struct sink *sink;
    char *err;
    size_t errlen;
    size_t header_bytes;    /* head lines read so far (interim responses included) */
    int headers;
    long status;
    bool http10, close, te, chunked, has_length;
    int64_t length;
};

static int malformed(struct exchange *x, const char *what)
{
    snprintf(x->err, x->errlen, "malformed response from server: %s", what);
    x->conn->broken = true;
    return -EIO;
}

/* The connection closed before the response was complete. Nothing at all arrived: -ECONNRESET,
 * which lets perform() retry a reused connection the server had closed meanwhile. */
static int closed_early(struct exchange *x)
{
    x->conn->broken = true;
    if (!x->conn->got_bytes) {
        snprintf(x->err, x->errlen, "empty reply from server");
        return -ECONNRESET;
    }
    snprintf(x->err, x->errlen, "server closed the connection before the response was complete");
    return -EIO;
}

/* The next line, without its CR LF, NUL-terminated inside the connection's buffer (valid until
 * the next read) in *line. */
static int read_line(struct exchange *x, char **line, size_t *len)
{
    struct http_conn *c = x->conn;

    for (;;) {
        char *start = c->buf + c->start, *nl = memchr(start, '\n', c->end - c->start);
        int rc;
        if (nl) {
            size_t n = (size_t)(nl - start);
            c->start += n + 1;
            x->header_bytes += n + 1;
            if (x->header_bytes > HTTP_MAX_HEADER_BYTES)
                return malformed(x, "headers too large");
            if (n > 0 && start[n - 1] == '\r')
                n--;
            start[n] = '\0';
            *line = start;
            *len = n;
            return 0;
        }
        if (x->header_bytes + (c->end - c->start) > HTTP_MAX_HEADER_BYTES)
            return malformed(x, "headers too large");
        rc = http_conn_fill(c, x->err, x->errlen);
        if (rc == -ENOBUFS)
            return malformed(x, "header line too long");
        if (rc == 0)
            return closed_early(x);
        if (rc < 0)
            return rc;
    }
}

static int parse_status(struct exchange *x, const char *l, size_t n)
{
    if (n < 12 || strncmp(l, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)l[7]) || l[8] != ' ' ||
        !isdigit((unsigned char)l[9]) || !isdigit((unsigned char)l[10]) ||
        !isdigit((unsigned char)l[11]) || (n > 12 && l[12] != ' ') || l[9] == '0')
        return malformed(x, "bad status line");
    x->http10 = l[7] == '0';
    x->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    return 0;
}

static bool is_tchar(char ch)
{
    return isalnum((unsigned char)ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Whether the comma-separated list has tok (last_only: as its last element). */
static bool has_token(const char *list, const char *tok, bool last_only)
{
    size_t tl = strlen(tok);
    bool found = false;

    for (const char *p = list; *p;) {
        const char *e;
        size_t n;
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        e = p;
        while (*e && *e != ',')
            e++;
        n = (size_t)(e - p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n > 0)
            found = n == tl && strncasecmp(p, tok, tl) == 0 ? true : last_only ? false : found;
        p = e;
    }
    return found;
}

static int parse_content_length(struct exchange *x, const char *v)
{
    int64_t n = 0;

    if (!*v)
        return malformed(x, "empty Content-Length");
    for (; *v; v++) {
        if (!isdigit((unsigned char)*v))
            return malformed(x, "bad Content-Length");
        if (n > (INT64_MAX - (*v - '0')) / 10)
            return malformed(x, "Content-Length too large");
        n = n * 10 + (*v - '0');
    }
    if (x->has_length && n != x->length)
        return malformed(x, "conflicting Content-Length headers");
    x->has_length = true;
    x->length = n;
    return 0;
}

static int parse_header(struct exchange *x, char *l, size_t n)
{
    char *colon = memchr(l, ':', n), *v, *e;

    if (++x->headers > HTTP_MAX_HEADERS)
        return malformed(x, "too many headers");
    if (!colon || colon == l)
        return malformed(x, "bad header line");
    for (char *p = l; p < colon; p++)
        if (!is_tchar(*p))
            return malformed(x, "bad header name");
    *colon = '\0';
    v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    e = l + n;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = '\0';
    if (strcasecmp(l, "Content-Length") == 0)
        return parse_content_length(x, v);
    if (strcasecmp(l, "Transfer-Encoding") == 0) {
        x->te = true;
        x->chunked = has_token(v, "chunked", true);
    } else if (strcasecmp(l, "Connection") == 0 && has_token(v, "close", false)) {
        x->close = true;
    }
    return 0;
}

/* Status line and headers of the final response (interim 1xx responses are skipped). */
static int read_head(struct exchange *x)
{
    char *line;
    size_t len;
    int rc;

    for (;;) {
        x->headers = 0;
        x->close = x->te = x->chunked = x->has_length = false;
        x->length = 0;
        if ((rc = read_line(x, &line, &len)) || (rc = parse_status(x, line, len)))
            return rc;
        while ((rc = read_line(x, &line, &len)) == 0 && len > 0)
            if ((rc = parse_header(x, line, len)))
                return rc;
        if (rc)
            return rc;
        if (x->status == 101)
            return malformed(x, "unexpected 101 Switching Protocols");
        if (x->status >= 200)
            break;
    }
    if (x->te && !x->chunked)
        return malformed(x, "unsupported Transfer-Encoding");
    return 0;
}

static int put(struct exchange *x, const char *p, size_t n)
{
    int rc = sink_put(x->sink, p, n);
    if (rc == -EFBIG)
        snprintf(x->err, x->errlen, "response too large");
    else if (rc == -ENOMEM)
        snprintf(x->err, x->errlen, "out of memory");
    return rc == -ECANCELED || rc == 0 ? rc : -EIO;
}

/* Exactly want body bytes to the sink. */
static int body_bytes(struct exchange *x, int64_t want)
{
    struct http_conn *c = x->conn;

    while (want > 0) {
        size_t n;
        int rc;
        if (c->start == c->end) {
            rc = http_conn_fill(c, x->err, x->errlen);
            if (rc == 0)
                return closed_early(x);
            if (rc < 0)
                return rc;
        }
        n = c->end - c->start;
        if ((int64_t)n > want)
            n = (size_t)want;
        rc = put(x, c->buf + c->start, n);
        c->start += n;
        want -= (int64_t)n;
        if (rc)
            return rc;
    }
    return 0;
}

static int body_to_eof(struct exchange *x)
{
    struct http_conn *c = x->conn;

    for (;;) {
        int rc = put(x, c->buf + c->start, c->end - c->start);
        c->start = c->end;
        if (rc)
            return rc;
        rc = http_conn_fill(c, x->err, x->errlen);
        if (rc <= 0)
            return rc;
    }
}

static int body_chunked(struct exchange *x)
{
    struct http_conn *c = x->conn;
    char *line, *p;
    size_t len;
    int rc;

    for (;;) {
        int64_t size = 0;
        x->header_bytes = 0;
        if ((rc = read_line(x, &line, &len)))
            return rc;
        for (p = line; isxdigit((unsigned char)*p); p++) {
            if (size > (INT64_MAX >> 4))
                return malformed(x, "chunk size too large");
            size = size * 16 + (isdigit((unsigned char)*p) ? *p - '0' : (*p | 0x20) - 'a' + 10);
        }
        if (p == line)
            return malformed(x, "bad chunk size");
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && *p != ';')    /* chunk extensions are ignored */
            return malformed(x, "bad chunk size");
        if (size == 0)
            break;
        if ((rc = body_bytes(x, size)))
            return rc;
        while (c->end - c->start < 2) {
            rc = http_conn_fill(c, x->err, x->errlen);
            if (rc == 0)
                return closed_early(x);
            if (rc < 0)
                return rc;
        }
        if (c->buf[c->start] != '\r' || c->buf[c->start + 1] != '\n')
            return malformed(x, "missing CRLF after a chunk");
        c->start += 2;
    }
    do {    /* trailers, skipped */
        if ((rc = read_line(x, &line, &len)))
            return rc;
    } while (len > 0);
    return 0;
}

/* Sends the request and reads the response. *reuse tells whether the connection may serve
 * another request. */
static int exchange(struct exchange *x, const char *method, const char *req, size_t req_len,
                    const char *body, size_t body_len, bool *reuse)
{
    struct sink *s = x->sink;
    int rc;

    *reuse = false;
    if ((rc = http_conn_write(x->conn, req, req_len, x->err, x->errlen)))
        return rc;
    if (body_len && (rc = http_conn_write(x->conn, body, body_len, x->err, x->errlen))) {
        /* A server may answer (413) and close before it read the whole body: that answer is
         * worth more than the send error, when it can still be read. */
        char saved[sizeof ((struct http_response *)0)->err];
        snprintf(saved, sizeof saved, "%s", x->err);
        x->conn->broken = false;
        if (read_head(x) != 0) {
            snprintf(x->err, x->errlen, "%s", saved);
            x->conn->broken = true;
            return rc;
        }
        x->close = true;
    } else if ((rc = read_head(x))) {
        return rc;
    }
    s->status = x->status;
    if (strcmp(method, "HEAD") == 0 || x->status == 204 || x->status == 304) {
        rc = 0;
    } else if (x->chunked) {
        rc = body_chunked(x);
    } else if (x->has_length) {
        bool buffered = !(s->cb && (s->status == 200 || (s->status == 206 && s->range_from > 0)));
        if (buffered && x->length >= (int64_t)HTTP_MAX_BODY) {
            snprintf(x->err, x->errlen, "response too large");
            return -EIO;
        }
        rc = body_bytes(x, x->length);
    } else {
        x->close = true;
        rc = body_to_eof(x);
    }
    if (rc == -ECANCELED)   /* the callback stopped the stream */
        return 0;
    if (rc)
        return rc;
    *reuse = !x->close && !x->http10;
    return 0;
}

/* ---- proxies, like curl: http_proxy (lowercase only: "httpoxy"), https_proxy, no_proxy ---- */

static const char *env_either(const char *lower, const char *upper)
{
    const char *v = getenv(lower);
    if ((!v || !*v) && upper)
        v = getenv(upper);
    return v && *v ? v : NULL;
}

/* Whether host is in no_proxy: "*", exact names or addresses, or domain suffixes (".example.com"
 * and "example.com" both cover "a.example.com"). */
static bool no_proxy_for(const char *host)
{
    const char *list = env_either("no_proxy", "NO_PROXY");
    size_t hl = strlen(host);

    for (const char *p = list; p && *p;) {
        const char *e;
        size_t n;
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        e = p;
        while (*e && *e != ',' && *e != ' ' && *e != '\t')
            e++;
        n = (size_t)(e - p);
        if (n == 1 && *p == '*')
            return true;
        if (n > 2 && *p == '[' && p[n - 1] == ']') {    /* [::1] */
            p++;
            n -= 2;
        }
        if (n > 0 && *p == '.') {
            p++;
            n--;
        }
        if (n > 0 && ((hl == n && strncasecmp(host, p, n) == 0) ||
                      (hl > n && host[hl - n - 1] == '.' && strncasecmp(host + hl - n, p, n) == 0)))
            return true;
        p = e;
    }
    return false;
}

/* *use tells whether the request to origin goes through the proxy now in *proxy. */
static int pick_proxy(const struct http_url *origin, struct http_url *proxy, bool *use, char *err,
                      size_t errlen)
{
    const char *name = origin->tls ? "https_proxy" : "http_proxy";
    const char *v = origin->tls ? env_either("https_proxy", "HTTPS_PROXY")
                                : env_either("http_proxy", NULL);
    char why[200];

    *use = false;
    if (!v || no_proxy_for(origin->host))
        return 0;
    if (http_url_parse(v, true, proxy, why, sizeof why)) {
        snprintf(err, errlen, "bad proxy URL in %s: %s", name, why);
        return -EINVAL;
    }
    *use = true;
    return 0;
}

/* ---- the request ---- */

/* The request head (with the body appended when it is small), malloc'd in *out: it holds the
 * token, so the caller zeroes it before freeing it. */
static int build_request(const struct http_client *c, const struct http_url *u, bool via_proxy,
                         const struct http_url *proxy, const char *method, const char *path,
                         const char *body, size_t body_len, int64_t range_from, char **out,
                         size_t *out_len, bool *body_inline, char *err, size_t errlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t cap = strlen(path) * 3 + sizeof u->path + sizeof u->host + 1024, n = 0;
    bool default_port = u->port == (u->tls ? 443u : 80u);
    char host[300], pauth[800] = "";
    char *b;

    *body_inline = body && body_len <= 16384;
    for (const char *p = path; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '#') {
            snprintf(err, errlen, "bad character in request path");
            return -EINVAL;
        }
    if (c->auth_header)
        cap += strlen(c->auth_header);
    if (*body_inline)
        cap += body_len;
    b = malloc(cap);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (default_port)
        snprintf(host, sizeof host, u->ipv6 ? "[%s]" : "%s", u->host);
    else
        http_url_hostport(u, host, sizeof host);
    n += (size_t)snprintf(b + n, cap - n, "%s %s%s%s", method, via_proxy ? "http://" : "",
                          via_proxy ? host : "", u->path);
    for (const char *p = path; *p; p++) {   /* spaces and non-ASCII bytes are encoded */
        unsigned char ch = (unsigned char)*p;
        if (ch == ' ' || ch >= 0x80) {
            b[n++] = '%';
            b[n++] = hex[ch >> 4];
            b[n++] = hex[ch & 15];
        } else {
            b[n++] = (char)ch;
        }
    }
    if (via_proxy)
        http_conn_proxy_auth(proxy, pauth, sizeof pauth);
    n += (size_t)snprintf(b + n, cap - n,
                          " HTTP/1.1\r\nHost: %s\r\nUser-Agent: tether/%s\r\nAccept: */*\r\n%s",
                          host, TETHER_VERSION, pauth);
    OPENSSL_cleanse(pauth, sizeof pauth);
    if (c->auth_header)
        n += (size_t)snprintf(b + n, cap - n, "%s\r\n", c->auth_header);
    if (range_from > 0)
        n += (size_t)snprintf(b + n, cap - n, "Range: bytes=%lld-\r\n", (long long)range_from);
    if (body)
        n += (size_t)snprintf(b + n, cap - n, "Content-Type: application/json\r\n");
    if (body || strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0 ||
        strcmp(method, "PUT") == 0)
        n += (size_t)snprintf(b + n, cap - n, "Content-Length: %zu\r\n", body ? body_len : 0);
    n += (size_t)snprintf(b + n, cap - n, "\r\n");
    if (*body_inline) {
        memcpy(b + n, body, body_len);
        n += body_len;
    }
    *out = b;
    *out_len = n;
    return 0;
}

static int perform(struct http_client *c, const char *method, const char *path, const char *body,
                   size_t body_len, struct sink *sink, struct http_response *r)
{
    struct http_url origin, proxy;
    struct http_conn_opts o = { .origin = &origin };
    struct exchange x = { .sink = sink, .err = r->err, .errlen = sizeof r->err };
    char *req = NULL;
    size_t req_len = 0;
    bool via_proxy, inline_body, reuse;
    int64_t deadline = 0;
    int rc;

    memset(r, 0, sizeof *r);
    if ((rc = http_url_parse(c->base_url, false, &origin, r->err, sizeof r->err)) ||
        (rc = pick_proxy(&origin, &proxy, &via_proxy, r->err, sizeof r->err)))
        goto out;
    if (via_proxy)
        o.proxy = &proxy;
    o.ca_file = c->ca_file;
    o.cert = c->client_cert ? c->client_cert : default_cert;
    o.key = c->client_cert ? c->client_key : default_key;
    /* Through a proxy only a plain-HTTP request is written in absolute form (the proxy reads
     * it); HTTPS goes through a CONNECT tunnel, so the token never reaches the proxy. */
    if ((rc = build_request(c, &origin, via_proxy && !origin.tls, &proxy, method, path, body,
                            body_len, sink->range_from, &req, &req_len, &inline_body, r->err,
                            sizeof r->err)))
        goto out;
    if (!sink->cb && c->timeout_ms > 0)
        deadline = tm_mono_ms() + c->timeout_ms;
    for (int attempt = 0; attempt < 2; attempt++) {
        x.conn = http_conn_get(&o, deadline, attempt > 0, r->err, sizeof r->err);
        if (!x.conn) {
            rc = -EIO;
            break;
        }
        http_conn_begin(x.conn, deadline, c->timeout_ms, sink->cb ? HTTP_STALL_MS : 0);
        x.header_bytes = 0;
        rc = exchange(&x, method, req, req_len, inline_body ? NULL : body,
                      inline_body ? 0 : body_len, &reuse);
        /* A kept-alive connection the server closed meanwhile fails before any byte of the
         * response: only then is the request sent again, once, on a new connection. */
        bool retry = rc == -ECONNRESET && x.conn->reused && !x.conn->got_bytes;
        http_conn_release(x.conn, rc == 0 && reuse);
        if (!retry)
            break;
    }
out:
    if (req) {
        OPENSSL_cleanse(req, req_len);
        free(req);
    }
    r->body = sink->data;
    r->len = sink->len;
    r->status = sink->status;
    if (rc) {
        r->status = 0;
        if (!r->err[0])
            snprintf(r->err, sizeof r->err, "transport error");
        return -EIO;
    }
    return 0;
}

int http_call(struct http_client *c, const char *method, const char *path, const char *body,
              size_t body_len, struct http_response *r)
{
    struct sink s = { 0 };
    return perform(c, method, path, body, body_len, &s, r);
}

void http_response_free(struct http_response *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

int http_call_json(struct http_client *c, const char *method, const char *path, json_t *body,
                   struct http_response *r, json_t **out)
{
    char *text = NULL, perr[200];
    json_t *parsed = NULL;
    int rc;

    if (out)
        *out = NULL;
    if (body) {
        text = jsonu_dump(body);
        if (!text) {
            memset(r, 0, sizeof *r);
            snprintf(r->err, sizeof r->err, "cannot encode request");
            return -EINVAL;
        }
    }
    rc = http_call(c, method, path, text, text ? strlen(text) : 0, r);
    free(text);
    if (rc)
        return rc;
    if (r->len > 0)
        parsed = jsonu_parse(r->body, r->len, HTTP_MAX_BODY, perr, sizeof perr);
    if (r->status < 200 || r->status > 299) {
        json_t *e = parsed ? json_object_get(parsed, "error") : NULL;
        const char *code = e ? json_string_value(json_object_get(e, "code")) : NULL;
        const char *msg = e ? json_string_value(json_object_get(e, "message")) : NULL;
        if (code || msg)
            snprintf(r->err, sizeof r->err, "%s%s%s", code ? code : "", code && msg ? ": " : "",
                     msg ? msg : "");
        else
            snprintf(r->err, sizeof r->err, "HTTP %ld", r->status);
    }
    if (out)
        *out = parsed;
    else
        json_decref(parsed);
    return 0;
}

int http_stream(struct http_client *c, const char *path, http_data_cb cb, void *ud,
                struct http_response *r)
{
    struct sink s = { .cb = cb, .ud = ud };
    return perform(c, "GET", path, NULL, 0, &s, r);
}

int http_download(struct http_client *c, const char *path, int64_t from, http_data_cb cb,
                  void *ud, struct http_response *r)
{
    struct sink s = { .cb = cb, .ud = ud, .range_from = from };
    return perform(c, "GET", path, NULL, 0, &s, r);
}
