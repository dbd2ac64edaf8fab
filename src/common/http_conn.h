/*
 * Transport under common/http.c: URL parsing, TCP connect (directly or through an HTTP proxy),
 * TLS over OpenSSL, reads and writes with deadlines, and the process-wide pool of idle keep-alive
 * connections that lets short-lived worker threads reuse connections. Internal to common/.
 */
#ifndef TETHER_HTTP_CONN_H
#define TETHER_HTTP_CONN_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_CONN_BUF (16 * 1024)

/* A parsed http:// or https:// URL (base URLs and proxy URLs). */
struct http_url {
    bool tls;
    bool ipv6;                  /* host is an IPv6 literal (written in brackets) */
    bool ip;                    /* host is an IPv4 or IPv6 literal */
    char host[256];             /* without brackets */
    unsigned port;
    char path[2048];            /* "" or "/prefix" without trailing slashes */
    char user[256], pass[256];  /* proxy URLs only, percent-decoded */
};

/* Parses url; proxy URLs may carry user:pass@ and omit the scheme (http, port 1080 like curl).
 * 0, or -EINVAL with err saying what is wrong. */
int http_url_parse(const char *url, bool proxy, struct http_url *u, char *err, size_t errlen);
/* "host:port" with brackets for IPv6 literals, the port always written. */
void http_url_hostport(const struct http_url *u, char *out, size_t outlen);

/* "Proxy-Authorization: Basic ...\r\n" for the proxy's credentials, or "" without a user. */
void http_conn_proxy_auth(const struct http_url *proxy, char *out, size_t outlen);

/* Where and how to connect. */
struct http_conn_opts {
    const struct http_url *origin;
    const struct http_url *proxy;   /* NULL: direct */
    const char *ca_file;            /* NULL: system store */
    const char *cert, *key;         /* client certificate (PEM), NULL: none */
};

struct http_conn {
    int fd;
    SSL *ssl;
    char *pool_key;
    bool reused;                /* taken from the pool */
    bool broken;                /* an I/O error happened: never reuse, no close_notify */
    bool got_bytes;             /* something arrived since http_conn_begin */
    int64_t idle_since;         /* monotonic ms, while pooled */
    int64_t deadline;           /* monotonic ms, 0: none */
    long timeout_ms;            /* for the message when the deadline passes */
    int stall_ms;               /* a read waiting longer fails (streams), 0: none */
    size_t start, end;          /* unread bytes are buf[start..end) */
    char buf[HTTP_CONN_BUF];
    struct http_conn *next;     /* pool list */
};

int http_conn_global_init(void);
void http_conn_global_cleanup(void);

/* An idle pooled connection for o, or a new one. deadline bounds the connect (at most 10 s in any
 * case). NULL with err set on failure. */
struct http_conn *http_conn_get(const struct http_conn_opts *o, int64_t deadline, bool fresh,
                                char *err, size_t errlen);
/* Sets the deadlines of the next request on c and resets got_bytes. */
void http_conn_begin(struct http_conn *c, int64_t deadline, long timeout_ms, int stall_ms);
/* Back to the pool when reuse is true and nothing is left unread; closed otherwise. */
void http_conn_release(struct http_conn *c, bool reuse);

/* Writes all of data. 0, -ECONNRESET (peer closed or reset), -ETIMEDOUT or -EIO; err says why. */
int http_conn_write(struct http_conn *c, const void *data, size_t n, char *err, size_t errlen);
/* Reads more bytes after buf[end] (compacting first). Bytes read (> 0), 0 at EOF, -ENOBUFS when
 * the buffer is full, or -ECONNRESET / -ETIMEDOUT / -EIO with err set. */
int http_conn_fill(struct http_conn *c, char *err, size_t errlen);

/* Waits until c's socket is ready for events (POLLIN, POLLOUT) within c's deadline and stall
 * limit. 0, or -ETIMEDOUT / -EIO with err set. */
int http_conn_wait(struct http_conn *c, short events, char *err, size_t errlen);

/* http_tls.c. TLS handshake on c's connected socket, verifying o->origin's name. 0, or -EIO /
 * -ETIMEDOUT with err saying why ("SSL certificate problem: ..."). */
int http_tls_start(struct http_conn *c, const struct http_conn_opts *o, char *err, size_t errlen);
/* OpenSSL's reason for the last failure (or errno's), clearing the error queue. */
void http_ssl_reason(char *out, size_t outlen);
int http_tls_global_init(void);
void http_tls_global_cleanup(void);

#endif
