/*
 * Connections for common/http.c; see http_conn.h. Sockets are non-blocking, CLOEXEC, and every
 * wait is a poll() bounded by the request's deadline; plain sends use MSG_NOSIGNAL (TLS is in
 * http_tls.c). Idle keep-alive connections wait in one mutex-protected list for any thread.
 */
#include "common/http_conn.h"
#include "common/tm.h"
#include "common/b64.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 10000
#define POOL_MAX 8
#define POOL_IDLE_MS 60000

/* ---- URLs ---- */

static int pct_decode(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = { s[i + 1], s[i + 2], 0 };
            ch = (unsigned char)strtol(hex, NULL, 16);
            i += 2;
        }
        if (ch < 0x20 || o + 1 >= outlen)
            return -1;
        out[o++] = (char)ch;
    }
    out[o] = '\0';
    return 0;
}

static int parse_authority(const char *a, size_t n, bool proxy, struct http_url *u, char *err,
                           size_t errlen)
{
    const char *at = memrchr(a, '@', n), *h, *end = a + n, *colon;
    size_t hl;

    if (at && !proxy) {
        snprintf(err, errlen, "user names in server URLs are not supported");
        return -EINVAL;
    }
    if (at) {
        const char *sep = memchr(a, ':', (size_t)(at - a));
        size_t ul = sep ? (size_t)(sep - a) : (size_t)(at - a);
        if (pct_decode(a, ul, u->user, sizeof u->user) ||
            (sep && pct_decode(sep + 1, (size_t)(at - sep - 1), u->pass, sizeof u->pass))) {
            snprintf(err, errlen, "bad user name or password in proxy URL");
            return -EINVAL;
        }
        a = at + 1;
    }
    if (a < end && *a == '[') {
        const char *close = memchr(a, ']', (size_t)(end - a));
        char tmp[64];
        struct in6_addr in6;
        if (!close || (size_t)(close - a - 1) >= sizeof tmp) {
            snprintf(err, errlen, "bad IPv6 address in URL");
            return -EINVAL;
        }
        memcpy(tmp, a + 1, (size_t)(close - a - 1));
        tmp[close - a - 1] = '\0';
        if (inet_pton(AF_INET6, tmp, &in6) != 1) {
            snprintf(err, errlen, "bad IPv6 address in URL");
            return -EINVAL;
        }
        snprintf(u->host, sizeof u->host, "%s", tmp);
        u->ipv6 = u->ip = true;
        colon = close + 1 < end ? close + 1 : NULL;
        if (colon && *colon != ':') {
            snprintf(err, errlen, "bad character after the IPv6 address in URL");
            return -EINVAL;
        }
    } else {
        struct in_addr in4;
        h = a;
        colon = memchr(h, ':', (size_t)(end - h));
        hl = colon ? (size_t)(colon - h) : (size_t)(end - h);
        if (hl == 0 || hl >= sizeof u->host) {
            snprintf(err, errlen, "missing or too long host name in URL");
            return -EINVAL;
        }
        for (size_t i = 0; i < hl; i++)
            if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_') {
                snprintf(err, errlen, "bad character in the host name of the URL");
                return -EINVAL;
            }
        memcpy(u->host, h, hl);
        u->host[hl] = '\0';
        u->ip = inet_pton(AF_INET, u->host, &in4) == 1;
    }
    if (colon) {
        char *e;
        long port;
        if (colon + 1 >= end || !isdigit((unsigned char)colon[1]) || end - colon > 6) {
            snprintf(err, errlen, "bad port in URL");
            return -EINVAL;
        }
        port = strtol(colon + 1, &e, 10);
        if (e != end || port < 1 || port > 65535) {
            snprintf(err, errlen, "bad port in URL");
            return -EINVAL;
        }
        u->port = (unsigned)port;
    }
    return 0;
}

int http_url_parse(const char *url, bool proxy, struct http_url *u, char *err, size_t errlen)
{
    const char *p = url, *a, *slash;
    size_t n;

    memset(u, 0, sizeof *u);
    for (const char *q = url; *q; q++)
        if ((unsigned char)*q <= 0x20 || *q == 0x7f || *q == '#' || *q == '?') {
            snprintf(err, errlen, "bad character in URL (spaces, controls, '?' and '#' are not "
                     "allowed)");
            return -EINVAL;
        }
    if (strncasecmp(p, "http://", 7) == 0) {
        p += 7;
    } else if (strncasecmp(p, "https://", 8) == 0 && !proxy) {
        u->tls = true;
        p += 8;
    } else if (!proxy || strstr(p, "://")) {
        snprintf(err, errlen, "unsupported URL '%.100s': it must start with http://%s", url,
                 proxy ? "" : " or https://");
        return -EINVAL;
    }
    u->port = proxy ? 1080 : u->tls ? 443 : 80;   /* curl's default proxy port is 1080 */
    a = p;
    slash = strchr(a, '/');
    n = slash ? (size_t)(slash - a) : strlen(a);
    if (parse_authority(a, n, proxy, u, err, errlen))
        return -EINVAL;
    if (slash) {
        n = strlen(slash);
        while (n > 0 && slash[n - 1] == '/')
            n--;
        if (n >= sizeof u->path) {
            snprintf(err, errlen, "URL too long");
            return -EINVAL;
        }
        memcpy(u->path, slash, n);
        u->path[n] = '\0';
    }
    return 0;
}

void http_url_hostport(const struct http_url *u, char *out, size_t outlen)
{
    snprintf(out, outlen, u->ipv6 ? "[%s]:%u" : "%s:%u", u->host, u->port);
}

/* ---- waiting with deadlines ---- */

int http_conn_wait(struct http_conn *c, short events, char *err, size_t errlen)
{
    for (;;) {
        struct pollfd p = { .fd = c->fd, .events = events };
        int64_t left = -1;
        bool stall = false;
        int rc;

        if (c->deadline) {
            left = c->deadline - tm_mono_ms();
            if (left <= 0) {
                snprintf(err, errlen, "timed out after %ld ms", c->timeout_ms);
                return -ETIMEDOUT;
            }
        }
        if (c->stall_ms > 0 && (events & POLLIN) && (left < 0 || left > c->stall_ms)) {
            left = c->stall_ms;
            stall = true;
        }
        rc = poll(&p, 1, left < 0 ? -1 : (int)(left > 1000000 ? 1000000 : left));
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR) {
            snprintf(err, errlen, "poll: %s", strerror(errno));
            return -EIO;
        }
        if (rc == 0 && stall) {
            snprintf(err, errlen, "stream stalled: no data for %d s", c->stall_ms / 1000);
            return -ETIMEDOUT;
        }
    }
}

static int io_errno(int e)
{
    return e == ECONNRESET || e == EPIPE || e == ECONNABORTED ? -ECONNRESET : -EIO;
}

int http_conn_write(struct http_conn *c, const void *data, size_t n, char *err, size_t errlen)
{
    const char *p = data;
    int rc;

    while (n > 0) {
        size_t w = 0;
        short want = POLLOUT;
        if (c->ssl) {
            ERR_clear_error();
            if (SSL_write_ex(c->ssl, p, n, &w) != 1) {
                int e = SSL_get_error(c->ssl, 0);
                char why[200];
                if (e == SSL_ERROR_WANT_READ)
                    want = POLLIN;
                else if (e != SSL_ERROR_WANT_WRITE) {
                    int saved = errno;
                    c->broken = true;
                    if (e == SSL_ERROR_SYSCALL && saved) {
                        snprintf(err, errlen, "send failure: %s", strerror(saved));
                        return io_errno(saved);
                    }
                    http_ssl_reason(why, sizeof why);
                    snprintf(err, errlen, "SSL write error: %s", why);
                    return e == SSL_ERROR_SYSCALL ? -ECONNRESET : -EIO;
                }
            }
        } else {
            ssize_t s = send(c->fd, p, n, MSG_NOSIGNAL);
            if (s >= 0)
                w = (size_t)s;
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                int saved = errno;
                c->broken = true;
                snprintf(err, errlen, "send failure: %s", strerror(saved));
                return io_errno(saved);
            }
        }
        p += w;
        n -= w;
        if (n > 0 && w == 0 && (rc = http_conn_wait(c, want, err, errlen)) != 0) {
            c->broken = true;
            return rc;
        }
    }
    return 0;
}

/* One read into p. Bytes, 0 at EOF, or a negative errno with err set. */
static int conn_read(struct http_conn *c, char *p, size_t n, char *err, size_t errlen)
{
    for (;;) {
        short want = POLLIN;
        int rc;
        if (c->ssl) {
            size_t got = 0;
            ERR_clear_error();
            errno = 0;
            if (SSL_read_ex(c->ssl, p, n, &got) == 1)
                return (int)got;
            int e = SSL_get_error(c->ssl, 0);
            if (e == SSL_ERROR_ZERO_RETURN)
                return 0;
            if (e == SSL_ERROR_WANT_WRITE)
                want = POLLOUT;
            else if (e != SSL_ERROR_WANT_READ) {
                int saved = errno;
                char why[200];
                c->broken = true;
                if (e == SSL_ERROR_SYSCALL && saved) {
                    snprintf(err, errlen, "recv failure: %s", strerror(saved));
                    return io_errno(saved);
                }
                if (e == SSL_ERROR_SYSCALL)
                    return 0;
                http_ssl_reason(why, sizeof why);
                snprintf(err, errlen, "SSL read error: %s", why);
                return -EIO;
            }
        } else {
            ssize_t r = recv(c->fd, p, n, 0);
            if (r >= 0)
                return (int)r;
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                int saved = errno;
                c->broken = true;
                snprintf(err, errlen, "recv failure: %s", strerror(saved));
                return io_errno(saved);
            }
        }
        if ((rc = http_conn_wait(c, want, err, errlen)) != 0) {
            c->broken = true;
            return rc;
        }
    }
}

int http_conn_fill(struct http_conn *c, char *err, size_t errlen)
{
    int n;

    if (c->start > 0) {
        memmove(c->buf, c->buf + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }
    if (c->end == sizeof c->buf)
        return -ENOBUFS;
    n = conn_read(c, c->buf + c->end, sizeof c->buf - c->end, err, errlen);
    if (n > 0) {
        c->end += (size_t)n;
        c->got_bytes = true;
    }
    return n;
}

/* ---- connecting ---- */

static void conn_close(struct http_conn *c)
{
    if (!c)
        return;
    if (c->ssl) {
        if (!c->broken)
            SSL_shutdown(c->ssl);   /* close_notify, non-blocking, best effort */
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    free(c->pool_key);
    free(c);
}

/* Non-blocking connect to one address. 0 or a positive errno. */
static int tcp_connect_one(struct http_conn *c, const struct addrinfo *ai, char *err, size_t errlen)
{
    int one = 1, soerr = 0, rc;
    socklen_t sl = sizeof soerr;

    c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (c->fd < 0)
        return errno;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS)
        soerr = errno;
    else if ((rc = http_conn_wait(c, POLLOUT, err, errlen)) != 0)
        soerr = ETIMEDOUT;
    else if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
        soerr = errno;
    if (soerr) {
        close(c->fd);
        c->fd = -1;
    }
    return soerr;
}

static int tcp_connect(struct http_conn *c, const struct http_url *u, bool is_proxy, char *err,
                       size_t errlen)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV }, *res = NULL;
    char port[8], where[300];
    int rc, last = 0;

    snprintf(port, sizeof port, "%u", u->port);
    http_url_hostport(u, where, sizeof where);
    rc = getaddrinfo(u->host, port, &hints, &res);
    if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME) {
        hints.ai_flags = AI_NUMERICSERV;   /* e.g. ::1 on a host without IPv6 routes */
        rc = getaddrinfo(u->host, port, &hints, &res);
    }
    if (rc != 0) {
        snprintf(err, errlen, "could not resolve %shost %s: %s", is_proxy ? "proxy " : "",
                 u->host, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -EIO;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        if ((last = tcp_connect_one(c, ai, err, errlen)) == 0)
            break;
    freeaddrinfo(res);
    if (last == ETIMEDOUT) {
        snprintf(err, errlen, "connect to %s%s: timed out after %ld ms", is_proxy ? "proxy " : "",
                 where, c->timeout_ms);
        return -ETIMEDOUT;
    }
    if (last) {
        snprintf(err, errlen, "connect to %s%s: %s", is_proxy ? "proxy " : "", where,
                 strerror(last));
        return -EIO;
    }
    return 0;
}

void http_conn_proxy_auth(const struct http_url *u, char *out, size_t outlen)
{
    char plain[520];
    int n;
    size_t o;

    out[0] = '\0';
    if (!u->user[0])
        return;
    n = snprintf(plain, sizeof plain, "%s:%s", u->user, u->pass);
    o = (size_t)snprintf(out, outlen, "Proxy-Authorization: Basic ");
    if (n > 0 && o + b64_encoded_len((size_t)n) + 3 <= outlen &&
        b64_encode(plain, (size_t)n, out + o, outlen - o) > 0)
        snprintf(out + o + b64_encoded_len((size_t)n), outlen - o - b64_encoded_len((size_t)n),
                 "\r\n");
    else
        out[0] = '\0';
    OPENSSL_cleanse(plain, sizeof plain);
}


/* CONNECT through the proxy; on success the socket is a tunnel to the origin. */
static int proxy_tunnel(struct http_conn *c, const struct http_url *proxy,
                        const struct http_url *origin, char *err, size_t errlen)
{
    char req[1400], auth[800], where[300];
    int rc, n;

    http_url_hostport(origin, where, sizeof where);
    http_conn_proxy_auth(proxy, auth, sizeof auth);
    n = snprintf(req, sizeof req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", where, where, auth);
    OPENSSL_cleanse(auth, sizeof auth);
    rc = http_conn_write(c, req, (size_t)n, err, errlen);
    OPENSSL_cleanse(req, sizeof req);
    if (rc)
        return rc;
    /* The reply is headers only: read up to the blank line, nothing past it. */
    for (;;) {
        char *end = memmem(c->buf, c->end, "\r\n\r\n", 4);
        if (end) {
            const char *b = c->buf;
            long status = 0;
            /* "HTTP/1.x NNN", checked byte by byte: the buffer is not NUL-terminated */
            if (c->end != (size_t)(end - c->buf) + 4 || c->end < 12 || strncmp(b, "HTTP/1.", 7) ||
                b[8] != ' ' || !isdigit((unsigned char)b[9]) || !isdigit((unsigned char)b[10]) ||
                !isdigit((unsigned char)b[11])) {
                snprintf(err, errlen, "malformed CONNECT response from proxy");
                return -EIO;
            }
            status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
            if (status < 200 || status > 299) {
                snprintf(err, errlen, "proxy refused CONNECT to %s: HTTP %ld%s", where, status,
                         status == 407 ? " (proxy authentication required)" : "");
                return -EIO;
            }
            c->start = c->end = 0;
            return 0;
        }
        rc = http_conn_fill(c, err, errlen);
        if (rc == 0 || rc == -ENOBUFS) {
            snprintf(err, errlen, rc ? "malformed CONNECT response from proxy"
                                     : "proxy closed the connection during CONNECT");
            return -EIO;
        }
        if (rc < 0)
            return rc;
    }
}

/* ---- the pool ---- */

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct http_conn *pool;

/* Whether an idle connection still looks open: nothing to read (TLS session tickets aside). */
static bool conn_alive(struct http_conn *c)
{
    struct pollfd p = { .fd = c->fd, .events = POLLIN };
    char b;

    if (poll(&p, 1, 0) == 0)
        return true;
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
        return false;
    if (c->ssl) {
        ERR_clear_error();
        if (SSL_peek(c->ssl, &b, 1) > 0)
            return false;
        int e = SSL_get_error(c->ssl, 0);
        ERR_clear_error();
        return e == SSL_ERROR_WANT_READ;
    }
    ssize_t r = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static char *pool_key_of(const struct http_conn_opts *o)
{
    char *key = NULL;
    const struct http_url *x = o->proxy;
    if (asprintf(&key, "%s://%s:%u|%s|%s|%s|%s:%u|%s|%s", o->origin->tls ? "https" : "http",
                 o->origin->host, o->origin->port, o->ca_file ? o->ca_file : "",
                 o->origin->tls && o->cert ? o->cert : "", o->origin->tls && o->key ? o->key : "",
                 x ? x->host : "", x ? x->port : 0, x ? x->user : "", x ? x->pass : "") < 0)
        return NULL;
    return key;
}

static struct http_conn *pool_take(const char *key)
{
    struct http_conn **pp, *found = NULL, *stale = NULL;
    int64_t now = tm_mono_ms();

    pthread_mutex_lock(&pool_lock);
    pp = &pool;
    while (*pp) {
        struct http_conn *c = *pp;
        if (now - c->idle_since > POOL_IDLE_MS || (!found && strcmp(c->pool_key, key) == 0)) {
            *pp = c->next;
            if (now - c->idle_since > POOL_IDLE_MS) {
                c->next = stale;
                stale = c;
            } else {
                found = c;
            }
            continue;
        }
        pp = &c->next;
    }
    pthread_mutex_unlock(&pool_lock);
    while (stale) {
        struct http_conn *next = stale->next;
        conn_close(stale);
        stale = next;
    }
    return found;
}

void http_conn_release(struct http_conn *c, bool reuse)
{
    struct http_conn *drop = NULL;
    int n = 0;

    if (!c)
        return;
    if (!reuse || c->broken || c->start != c->end || !c->pool_key) {
        conn_close(c);
        return;
    }
    c->start = c->end = 0;
    c->idle_since = tm_mono_ms();
    c->deadline = 0;
    c->stall_ms = 0;
    pthread_mutex_lock(&pool_lock);
    c->next = pool;
    pool = c;
    for (struct http_conn *p = pool; p; p = p->next)
        if (++n == POOL_MAX && p->next) {
            drop = p->next;     /* the oldest ones */
            p->next = NULL;
            break;
        }
    pthread_mutex_unlock(&pool_lock);
    while (drop) {
        struct http_conn *next = drop->next;
        conn_close(drop);
        drop = next;
    }
}

struct http_conn *http_conn_get(const struct http_conn_opts *o, int64_t deadline, bool fresh,
                                char *err, size_t errlen)
{
    char *key = pool_key_of(o);
    struct http_conn *c = NULL;
    int64_t cdl = tm_mono_ms() + CONNECT_TIMEOUT_MS;

    if (!key) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    while (!fresh && (c = pool_take(key)) != NULL) {
        if (conn_alive(c)) {
            free(key);
            c->reused = true;
            return c;
        }
        c->broken = true;
        conn_close(c);
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        free(key);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->fd = -1;
    c->pool_key = key;
    bool connect_first = !deadline || cdl <= deadline;
    c->deadline = connect_first ? cdl : deadline;
    c->timeout_ms = connect_first ? CONNECT_TIMEOUT_MS : deadline - tm_mono_ms();
    if (tcp_connect(c, o->proxy ? o->proxy : o->origin, o->proxy != NULL, err, errlen) ||
        (o->proxy && o->origin->tls && proxy_tunnel(c, o->proxy, o->origin, err, errlen)) ||
        (o->origin->tls && http_tls_start(c, o, err, errlen))) {
        c->broken = true;
        conn_close(c);
        return NULL;
    }
    return c;
}

void http_conn_begin(struct http_conn *c, int64_t deadline, long timeout_ms, int stall_ms)
{
    c->deadline = deadline;
    c->timeout_ms = timeout_ms;
    c->stall_ms = stall_ms;
    c->got_bytes = false;
}

/* ---- process-wide setup ---- */

int http_conn_global_init(void)
{
    return http_tls_global_init();
}

void http_conn_global_cleanup(void)
{
    struct http_conn *c;

    pthread_mutex_lock(&pool_lock);
    c = pool;
    pool = NULL;
    pthread_mutex_unlock(&pool_lock);
    while (c) {
        struct http_conn *next = c->next;
        conn_close(c);
        c = next;
    }
    http_tls_global_cleanup();
}
