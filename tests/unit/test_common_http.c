/* The HTTP/1.1 client (common/http.c, http_conn.c) against scripted servers on 127.0.0.1: each
 * answers the requests it reads with canned byte strings, so framing, keep-alive, retries,
 * hostile responses, timeouts, proxies and TLS verification are checked byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/http.h"

enum action { REPLY, REPLY_CLOSE, CLOSE_NO_REPLY, HANG };

struct step {
    const char *reply;
    enum action action;
    bool split;             /* sent a few bytes at a time */
};

struct server {
    int lfd, port;
    pthread_t thread;
    const struct step *steps;
    int nsteps;
    SSL_CTX *tls;
    int accepted;
    int nreq;
    char reqs[8][4096];
    atomic_int stop;            /* set by the test thread, read by the server thread */
    int relay_port;         /* CONNECT proxy: where the tunnel goes */
};

/* ---- server side ---- */

static int srv_read(int fd, SSL *ssl, char *buf, size_t n)
{
    return ssl ? SSL_read(ssl, buf, (int)n) : (int)recv(fd, buf, n, 0);
}

static void srv_write(int fd, SSL *ssl, const char *p, size_t n, bool split)
{
    while (n > 0) {
        size_t k = split && n > 3 ? 3 : n;
        int w = ssl ? SSL_write(ssl, p, (int)k) : (int)send(fd, p, k, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
        if (split)
            usleep(1000);
    }
}

/* One request head plus its Content-Length body into out. Bytes, or 0 at EOF. */
static int srv_read_request(int fd, SSL *ssl, char *out, size_t cap)
{
    size_t n = 0;
    char *end;

    out[0] = '\0';
    while (!(end = strstr(out, "\r\n\r\n"))) {
        int r = srv_read(fd, ssl, out + n, cap - 1 - n);
        if (r <= 0)
            return 0;
        n += (size_t)r;
        out[n] = '\0';
    }
    const char *cl = strstr(out, "Content-Length: ");
    size_t want = (size_t)(end + 4 - out) + (cl && cl < end ? strtoul(cl + 16, NULL, 10) : 0);
    while (n < want && n < cap - 1) {
        int r = srv_read(fd, ssl, out + n, cap - 1 - n);
        if (r <= 0)
            return 0;
        n += (size_t)r;
        out[n] = '\0';
    }
    return (int)n;
}

static int srv_accept(struct server *s)
{
    for (;;) {
        struct pollfd p = { .fd = s->lfd, .events = POLLIN };
        if (s->stop)
            return -1;
        if (poll(&p, 1, 50) == 1)
            return accept(s->lfd, NULL, NULL);
    }
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    int step = 0;

    while (step < s->nsteps) {
        int fd = srv_accept(s);
        SSL *ssl = NULL;
        char req[4096];
        if (fd < 0)
            break;
        s->accepted++;
        if (s->tls) {
            ssl = SSL_new(s->tls);
            SSL_set_fd(ssl, fd);
            if (SSL_accept(ssl) != 1) {     /* a client that refused the certificate */
                SSL_free(ssl);
                close(fd);
                continue;
            }
        }
        while (step < s->nsteps && srv_read_request(fd, ssl, req, sizeof req) > 0) {
            const struct step *st = &s->steps[step++];
            if (s->nreq < 8)
                memcpy(s->reqs[s->nreq++], req, sizeof req);
            if (st->action == CLOSE_NO_REPLY)
                break;
            while (st->action == HANG && !s->stop)
                usleep(10000);
            if (st->reply)
                srv_write(fd, ssl, st->reply, strlen(st->reply), st->split);
            if (st->action != REPLY)
                break;
        }
        if (ssl) {
            SSL_shutdown(ssl);
            SSL_free(ssl);
        }
        close(fd);
    }
    return NULL;
}

static int listen_any(int *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void server_start(struct server *s, const struct step *steps, int n, SSL_CTX *tls)
{
    memset(s, 0, sizeof *s);
    s->steps = steps;
    s->nsteps = n;
    s->tls = tls;
    s->lfd = listen_any(&s->port);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_stop(struct server *s)
{
    s->stop = 1;
    pthread_join(s->thread, NULL);
    close(s->lfd);
}

static struct http_client *client_for(const struct server *s, const char *scheme,
                                      const char *host, const char *prefix)
{
    char url[200];
    snprintf(url, sizeof url, "%s://%s:%d%s", scheme, host, s->port, prefix);
    struct http_client *c = http_client_create(url, "secret-token", NULL);
    assert_non_null(c);
    return c;
}

#define STEPS(...) ((const struct step[]){ __VA_ARGS__ })
#define NSTEPS(...) ((int)(sizeof((const struct step[]){ __VA_ARGS__ }) / sizeof(struct step)))
#define SERVE(s, ...) server_start(s, STEPS(__VA_ARGS__), NSTEPS(__VA_ARGS__), NULL)

static int setup(void **state)
{
    (void)state;
    unsetenv("http_proxy");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    return http_global_init();
}

static int teardown(void **state)
{
    (void)state;
    http_global_cleanup();
    return 0;
}

/* ---- framing ---- */

static void test_content_length_and_request(void **state)
{
    struct server s;
    struct http_response r;
    (void)state;

    SERVE(&s, { "HTTP/1.1 201 Created\r\nContent-Length: 7\r\n\r\n{\"a\":1}", REPLY, false });
    struct http_client *c = client_for(&s, "http", "127.0.0.1", "/api//");
    assert_int_equal(http_call(c, "POST", "/v1/x", "{\"b\":2}", 7, &r), 0);
    assert_int_equal(r.status, 201);
    assert_int_equal(r.len, 7);
    assert_string_equal(r.body, "{\"a\":1}");
    http_response_free(&r);
    http_client_destroy(c);
    server_stop(&s);
    const char *q = s.reqs[0];
    assert_non_null(strstr(q, "POST /api/v1/x HTTP/1.1\r\n"));
    char host[64];
    snprintf(host, sizeof host, "\r\nHost: 127.0.0.1:%d\r\n", s.port);
    assert_non_null(strstr(q, host));
    assert_non_null(strstr(q, "\r\nAuthorization: Bearer secret-token\r\n"));
    assert_non_null(strstr(q, "\r\nContent-Type: application/json\r\n"));
    assert_non_null(strstr(q, "\r\nContent-Length: 7\r\n"));
    assert_non_null(strstr(q, "\r\nAccept: */*\r\n"));
    assert_non_null(strstr(q, "\r\n\r\n{\"b\":2}"));
}

static void test_chunked_split_and_interim(void **state)
{
    struct server s;
    struct http_response r;
    (void)state;

    SERVE(&s, { "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX-A: b\r\n\r\n"
                "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n"
                "5;name=value\r\nhello\r\n1\r\n \r\n00005\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n",
                REPLY, true },
              { "HTTP/1.1 204 No Content\r\n\r\n", REPLY, false });
    struct http_client *c = client_for(&s, "http", "127.0.0.1", "");
    assert_int_equal(http_call(c, "PATCH", "/v1/y", NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello world");
    http_response_free(&r);
    /* the same connection serves the next request */
    assert_int_equal(http_call(c, "DELETE", "/v1/z", NULL, 0, &r), 0);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.len, 0);
    http_response_free(&r);
    http_client_destroy(c);
    server_stop(&s);
    assert_int_equal(s.accepted, 1);
    assert_non_null(strstr(s.reqs[0], "PATCH /v1/y HTTP/1.1\r\n"));
    assert_non_null(strstr(s.reqs[0], "\r\nContent-Length: 0\r\n"));
    assert_null(strstr(s.reqs[1], "Content-Length"));
}

static void test_keepalive_across_clients_and_retry(void **state)
{
    struct server s;
    struct http_response r;
    (void)state;

    SERVE(&s, { "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", REPLY, false },
              { "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", REPLY, false },
              { NULL, CLOSE_NO_REPLY, false },  /* closed as the third request arrived */
              { "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc", REPLY, false });
    for (int i = 0; i < 3; i++) {   /* a new client each time, like the agent's workers */
        struct http_client *c = client_for(&s, "http", "127.0.0.1", "");
        assert_int_equal(http_call(c, "GET", "/x", NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, i == 0 ? "a" : i == 1 ? "b" : "c");
        http_response_free(&r);
        http_client_destroy(c);
    }
    server_stop(&s);
    assert_int_equal(s.accepted, 2);
    assert_int_equal(s.nreq, 4);
}

static void test_no_resend_after_partial_response(void **state)
{
    struct server s;
    struct http_response r;
    (void)state;

    SERVE(&s, { "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", REPLY, false },
              { "HTTP/1.1 200 OK\r\nContent-Le", REPLY_CLOSE, false },
              { "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz", REPLY, false });
    struct http_client *c = client_for(&s, "http", "127.0.0.1", "");
    assert_int_equal(http_call(c, "GET", "/x", NULL, 0, &r), 0);
    http_response_free(&r);
    assert_int_equal(http_call(c, "POST", "/x", NULL, 0, &r), -EIO);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.err, "closed the connection"));
    http_response_free(&r);
    http_client_destroy(c);
    server_stop(&s);
    assert_int_equal(s.nreq, 2);
}

static void test_read_to_eof_and_http10(void **state)
{
    struct server s;
    struct http_response r;
    (void)state;

    SERVE(&s, { "HTTP/1.1 200 OK\r\n\r\nuntil the end", REPLY_CLOSE, false },
              { "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", REPLY, false },
              { "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", REPLY, false },
              { "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", REPLY, false });
    struct http_client *c = client_for(&s, "http", "127.0.0.1", "");
    assert_int_equal(http_call(c, "GET", "/x", NULL, 0, &r), 0);
    assert_string_equal(r.body, "until the end");
    http_response_free(&r);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(http_call(c, "GET", "/x", NULL, 0, &r), 0);
        assert_string_equal(r.body, "ok");
        http_response_free(&r);
    }
    http_client_destroy(c);
    server_stop(&s);
    assert_int_equal(s.accepted, 4);   /* none of the first three kept the connection */
}

/* ---- hostile responses ---- */

static void test_malformed(void **state)
{
    static char big[70 * 1024 + 64], many[8 * 1024];
    static const struct { const char *reply, *err; } cases[] = {
        { "SSH-2.0-OpenSSH\r\n\r\n", "bad status line" },
        { "HTTP/1.1 2OO OK\r\n\r\n", "bad status line" },
        { "HTTP/1.1 200OK\r\n\r\n", "bad status line" },
        { "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", "bad Content-Length" },
        { "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", "too large" },
        { "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "conflicting" },
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size" },
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n", "chunk size" },
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", "CRLF" },
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "Transfer-Encoding" },
        { "HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", "bad header" },
        { "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "closed the connection" },
        { "HTTP/1.1 200 OK\r\nContent-Length: 90000000\r\n\r\nabc", "response too large" },
        { big, "headers too large" },
        { many, "too many headers" },
    };
    size_t n = (size_t)snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\n");
    while (n + 1100 < sizeof big)
        n += (size_t)snprintf(big + n, sizeof big - n, "X-Filler: %01000d\r\n", 0);
    n = (size_t)snprintf(many, sizeof many, "HTTP/1.1 200 OK\r\n");
    while (n + 40 < sizeof many)
        n += (size_t)snprintf(many + n, sizeof many - n, "X-%d: y\r\n", (int)n);
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct server s;
        struct http_response r;
        struct step st = { cases[i].reply, REPLY_CLOSE, false };
        server_start(&s, &st, 1, NULL);
        struct http_client *c = client_for(&s, "http", "127.0.0.1", "");
        int rc = http_call(c, "GET", "/x", NULL, 0, &r);
        if (rc != -EIO || r.status != 0 || !strstr(r.err, cases[i].err))
            fail_msg("case %zu: rc %d status %ld err '%s', want '%s'", i, rc, r.status, r.err,
                     cases[i].err);
        http_response_free(&r);
        http_client_destroy(c);
        server_stop(&s);
    }
}

static void test_bad_urls(void **state)
{
    static const char *const bad[] = {
        "ftp://127.0.0.1", "127.0.0.1:8600", "http://user:pw@127.0.0.1", "http://a b",
        "http://[::1", "http://[zz]:1", "http://h:0", "http://h:65536", "http://h:", "http://",
        "http://h/x?y", "http://h\r\nX: y",
    };
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct http_response r;
        struct http_client *c = http_client_create(bad[i], NULL, NULL);
        assert_non_null(c);
        if (http_call(c, "GET", "/x", NULL, 0, &r) != -EIO || r.status != 0 || !r.err[0])
            fail_msg("'%s' was not refused", bad[i]);
        http_response_free(&r);
        http_client_destroy(c);
    }
}

/* ---- streams ---- */

struct collected {
    char data[256];
    size_t len;
    int calls, stop_after;
};

static int collect(void *ud, const char *p, size_t n)
{
    struct collected *c = ud;
    if (c->len + n < sizeof c->data) {
        memcpy(c->data + c->len, p, n);
        c->len += n;
    }
    return ++c->calls == c->stop_after;
}

static void test_streams(void **state)
{
    struct server s;
    struct http_response r;
    struct collected got = { 0 }, stopped = { .stop_after = 1 }, none = { 0 }, rest = { 0 };
    (void)state;

    SERVE(&s, { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                "6\r\nevent:\r\n5\r\n data\r\n0\r\n\r\n", REPLY, true },
              { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n", REPLY, false },
              { "HTTP/1.1 404 Not Found\r\nContent-Length: 14\r\n\r\n{\"error\":null}", REPLY, false },
              { "HTTP/1.1 206 Partial Content\r\nContent-Length: 4\r\n\r\nrest", REPLY, false });
    struct http_client *c = client_for(&s, "http", "127.0.0.1", "");
    if (http_stream(c, "/events", collect, &got, &r) != 0)
        fail_msg("stream: %s", r.err);
    assert_int_equal(r.status, 200);
    assert_int_equal(got.len, 11);
    assert_memory_equal(got.data, "event: data", 11);
    assert_null(r.body);
    http_response_free(&r);
    /* the callback stops: 0, and the connection (mid-stream) is not reused */
    assert_int_equal(http_stream(c, "/events", collect, &stopped, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(stopped.calls, 1);
    http_response_free(&r);
    /* an error status is buffered for the caller, not streamed */
    assert_int_equal(http_stream(c, "/events", collect, &none, &r), 0);
    assert_int_equal(r.status, 404);
    assert_int_equal(none.calls, 0);
    assert_string_equal(r.body, "{\"error\":null}");
    http_response_free(&r);
    assert_int_equal(http_download(c, "/file", 5, collect, &rest, &r), 0);
    assert_int_equal(r.status, 206);
    assert_int_equal(rest.len, 4);
    http_response_free(&r);
    http_client_destroy(c);
    server_stop(&s);
    assert_int_equal(s.accepted, 2);
    assert_non_null(strstr(s.reqs[3], "\r\nRange: bytes=5-\r\n"));
}

static void test_timeouts(void **state)
{
    struct server s;
    struct http_response r;
    struct timespec t0, t1;
    (void)state;

    SERVE(&s, { NULL, HANG, false });
    struct http_client *c = client_for(&s, "http", "127.0.0.1", "");
    http_client_set_timeout(c, 300);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(http_call(c, "GET", "/x", NULL, 0, &r), -EIO);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_non_null(strstr(r.err, "timed out after 300 ms"));
    assert_in_range(ms, 250, 2000);
    http_response_free(&r);
    http_client_destroy(c);
    server_stop(&s);

    /* nothing listens there any more */
    c = client_for(&s, "http", "127.0.0.1", "");
    assert_int_equal(http_call(c, "GET", "/x", NULL, 0, &r), -EIO);
    if (!strstr(r.err, "Connection refused"))
        fail_msg("refused: %s", r.err);
    http_response_free(&r);
    http_client_destroy(c);
    c = http_client_create("http://no-such-host.invalid:1", NULL, NULL);
    assert_int_equal(http_call(c, "GET", "/x", NULL, 0, &r), -EIO);
    assert_non_null(strstr(r.err, "could not resolve host no-such-host.invalid"));
    http_response_free(&r);
    http_client_destroy(c);
}

/* ---- proxies ---- */

static void test_http_proxy_and_no_proxy(void **state)
{
    struct server proxy;
    struct http_response r;
    char env[64];
    (void)state;

    SERVE(&proxy, { "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", REPLY, false });
    snprintf(env, sizeof env, "http://alice:s%%3Acret@127.0.0.1:%d", proxy.port);
    setenv("http_proxy", env, 1);
    setenv("no_proxy", "localhost, .skip.invalid", 1);
    struct http_client *c = http_client_create("http://example.invalid:8600/api", "tok", NULL);
    assert_int_equal(http_call(c, "GET", "/v1/x", NULL, 0, &r), 0);
    assert_string_equal(r.body, "ok");
    http_response_free(&r);
    http_client_destroy(c);
    server_stop(&proxy);
    assert_non_null(strstr(proxy.reqs[0], "GET http://example.invalid:8600/api/v1/x HTTP/1.1\r\n"));
    assert_non_null(strstr(proxy.reqs[0], "\r\nHost: example.invalid:8600\r\n"));
    /* alice:s:cret */
    assert_non_null(strstr(proxy.reqs[0], "\r\nProxy-Authorization: Basic YWxpY2U6czpjcmV0\r\n"));

    /* no_proxy names go direct: the proxy port is closed now, so only a direct call works */
    struct server direct;
    SERVE(&direct, { "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nd", REPLY, false });
    c = client_for(&direct, "http", "localhost", "");
    assert_int_equal(http_call(c, "GET", "/x", NULL, 0, &r), 0);
    http_response_free(&r);
    http_client_destroy(c);
    server_stop(&direct);
    c = http_client_create("http://www.skip.invalid:1", NULL, NULL);
    assert_int_equal(http_call(c, "GET", "/x", NULL, 0, &r), -EIO);
    assert_null(strstr(r.err, "proxy"));
    http_response_free(&r);
    http_client_destroy(c);
    c = http_client_create("http://example.invalid:1", NULL, NULL);
    assert_int_equal(http_call(c, "GET", "/x", NULL, 0, &r), -EIO);
    assert_non_null(strstr(r.err, "connect to proxy 127.0.0.1"));
    http_response_free(&r);
    http_client_destroy(c);
    /* uppercase HTTP_PROXY is ignored for http (httpoxy) */
    unsetenv("http_proxy");
    setenv("HTTP_PROXY", env, 1);
    c = http_client_create("http://example.invalid:1", NULL, NULL);
    assert_int_equal(http_call(c, "GET", "/x", NULL, 0, &r), -EIO);
    assert_null(strstr(r.err, "proxy"));
    http_response_free(&r);
    http_client_destroy(c);
    unsetenv("HTTP_PROXY");
}

/* ---- TLS: certificates made at test time ---- */

static char tmpdir[64], ca_pem[128], other_ca_pem[128];

static EVP_PKEY *new_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    assert_non_null(k);
    return k;
}

static X509 *new_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                      const char *san)
{
    X509 *x = X509_new();
    X509V3_CTX v3;
    static long serial = 1;

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, san ? NID_subject_alt_name
                                                               : NID_basic_constraints,
                                              san ? san : "critical,CA:TRUE");
    assert_non_null(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    return x;
}

static void write_pem(const char *path, X509 *x, EVP_PKEY *k)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (x)
        PEM_write_X509(f, x);
    if (k)
        PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    assert_int_equal(fclose(f), 0);
}

/* A server context whose certificate names localhost only (no IP address). */
static SSL_CTX *tls_server_ctx(void)
{
    EVP_PKEY *ca_key = new_key(), *other_key = new_key(), *key = new_key();
    X509 *ca = new_cert(ca_key, "test ca", NULL, NULL, NULL);
    X509 *other = new_cert(other_key, "other ca", NULL, NULL, NULL);
    X509 *leaf = new_cert(key, "localhost", ca, ca_key, "DNS:localhost");
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_http.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    snprintf(ca_pem, sizeof ca_pem, "%s/ca.pem", tmpdir);
    snprintf(other_ca_pem, sizeof other_ca_pem, "%s/other.pem", tmpdir);
    write_pem(ca_pem, ca, NULL);
    write_pem(other_ca_pem, other, NULL);
    assert_int_equal(SSL_CTX_use_certificate(ctx, leaf), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
    X509_free(ca), X509_free(other), X509_free(leaf);
    EVP_PKEY_free(ca_key), EVP_PKEY_free(other_key), EVP_PKEY_free(key);
    return ctx;
}

static void tls_cleanup(SSL_CTX *ctx)
{
    SSL_CTX_free(ctx);
    unlink(ca_pem);
    unlink(other_ca_pem);
    rmdir(tmpdir);
}

static void test_tls_verification(void **state)
{
    SSL_CTX *ctx = tls_server_ctx();
    struct server s;
    struct http_response r;
    const struct step ok = { "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", REPLY, false };
    (void)state;

    server_start(&s, (const struct step[]){ ok, ok, ok }, 3, ctx);
    struct http_client *c = client_for(&s, "https", "localhost", "");
    struct http_tls tls = { .ca_file = ca_pem };
    assert_int_equal(http_client_set_tls(c, &tls), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(http_call(c, "GET", "/x", NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "ok");
        http_response_free(&r);
    }
    http_client_destroy(c);
    http_global_cleanup();  /* the one-connection server goes back to accept() */
    http_global_init();

    /* the certificate does not name 127.0.0.1 */
    c = client_for(&s, "https", "127.0.0.1", "");
    assert_int_equal(http_client_set_tls(c, &tls), 0);
    assert_int_equal(http_call(c, "GET", "/x", NULL, 0, &r), -EIO);
    assert_string_equal(r.err, "SSL: certificate does not match host name 127.0.0.1");
    http_response_free(&r);
    http_client_destroy(c);

    /* another CA */
    c = client_for(&s, "https", "localhost", "");
    tls.ca_file = other_ca_pem;
    assert_int_equal(http_client_set_tls(c, &tls), 0);
    assert_int_equal(http_call(c, "GET", "/x", NULL, 0, &r), -EIO);
    assert_string_equal(r.err, "SSL certificate problem: unable to get local issuer certificate");
    http_response_free(&r);
    http_client_destroy(c);
    server_stop(&s);
    assert_int_equal(s.accepted, 3);   /* one kept-alive connection, two refused */
    tls_cleanup(ctx);
}

/* A CONNECT proxy that checks the request line, then relays bytes to relay_port. */
static void *connect_proxy_main(void *arg)
{
    struct server *s = arg;
    char req[4096];
    int fd = srv_accept(s), up;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons((uint16_t)s->relay_port) };

    if (fd < 0)
        return NULL;
    s->accepted++;
    if (srv_read_request(fd, NULL, req, sizeof req) <= 0)
        goto out;
    memcpy(s->reqs[s->nreq++], req, sizeof req);
    up = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(up, (struct sockaddr *)&a, sizeof a) != 0) {
        close(up);
        goto out;
    }
    srv_write(fd, NULL, "HTTP/1.1 200 Connection established\r\n\r\n", 39, false);
    for (;;) {
        struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = up, .events = POLLIN } };
        char buf[4096];
        if (poll(p, 2, 100) < 0 || s->stop)
            break;
        int from = p[0].revents ? 0 : p[1].revents ? 1 : -1;
        if (from < 0)
            continue;
        ssize_t n = recv(p[from].fd, buf, sizeof buf, 0);
        if (n <= 0 || send(p[1 - from].fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
            break;
    }
    close(up);
out:
    close(fd);
    return NULL;
}

static void test_https_through_connect_proxy(void **state)
{
    SSL_CTX *ctx = tls_server_ctx();
    struct server origin, proxy = { 0 };
    struct http_response r;
    char env[64];
    (void)state;

    server_start(&origin, STEPS({ "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\ntunnel", REPLY, false }),
                 1, ctx);
    proxy.lfd = listen_any(&proxy.port);
    proxy.relay_port = origin.port;
    assert_int_equal(pthread_create(&proxy.thread, NULL, connect_proxy_main, &proxy), 0);
    snprintf(env, sizeof env, "127.0.0.1:%d", proxy.port);   /* no scheme: http */
    setenv("HTTPS_PROXY", env, 1);
    struct http_client *c = client_for(&origin, "https", "localhost", "");
    struct http_tls tls = { .ca_file = ca_pem };
    assert_int_equal(http_client_set_tls(c, &tls), 0);
    assert_int_equal(http_call(c, "GET", "/v1/y", NULL, 0, &r), 0);
    assert_string_equal(r.body, "tunnel");
    http_response_free(&r);
    http_client_destroy(c);
    unsetenv("HTTPS_PROXY");
    http_global_cleanup();  /* closes the pooled tunnel so both servers finish */
    http_global_init();
    server_stop(&proxy);
    server_stop(&origin);
    char line[80];
    snprintf(line, sizeof line, "CONNECT localhost:%d HTTP/1.1\r\n", origin.port);
    assert_ptr_equal(strstr(proxy.reqs[0], line), proxy.reqs[0]);
    assert_null(strstr(proxy.reqs[0], "Authorization"));   /* the token stays in the tunnel */
    assert_non_null(strstr(origin.reqs[0], "GET /v1/y HTTP/1.1\r\n"));
    assert_non_null(strstr(origin.reqs[0], "Authorization: Bearer secret-token"));
    tls_cleanup(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_content_length_and_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_split_and_interim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive_across_clients_and_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_resend_after_partial_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_to_eof_and_http10, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_urls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_proxy_and_no_proxy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_verification, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_through_connect_proxy, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
