/*
 * HTTP/1.1 client (over OpenSSL for https) for the agent and the CLI. One http_client per thread;
 * all clients share one pool of idle keep-alive connections and one TLS context per TLS settings,
 * so keep-alive survives short-lived worker threads. Proxies from http_proxy, https_proxy and
 * no_proxy like curl. Never used on the libwebsockets service thread. Transport: http_conn.c,
 * TLS: http_tls.c.
 */
#ifndef TETHER_HTTP_H
#define TETHER_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct http_client;

struct http_response {
    long status;        /* HTTP status, 0 on transport failure */
    char *body;         /* NUL-terminated, malloc'd; may be NULL */
    size_t len;
    char err[256];      /* transport error or the server's error message */
};

/* TLS settings of a client: the CA that verifies the server (NULL: the system store) and, for
 * mutual TLS, a client certificate and key (PEM files; NULL: none). */
struct http_tls {
    const char *ca_file;
    const char *client_cert;
    const char *client_key;
};

/* Call once in main() before threads start / after they stopped. */
int http_global_init(void);
void http_global_cleanup(void);

/* base_url like "http://127.0.0.1:8600"; token may be NULL; ca_file may be NULL (system store).
 * Returns NULL on allocation failure. The client copies its arguments. */
struct http_client *http_client_create(const char *base_url, const char *token, const char *ca_file);
void http_client_destroy(struct http_client *c);
/* Replaces the client's TLS settings (copied). 0 or -ENOMEM. */
int http_client_set_tls(struct http_client *c, const struct http_tls *tls);
/* Process-wide default client certificate, used by every client that has none of its own: the
 * agent's certificate belongs to the process, and its threads create clients with only a CA.
 * Call before threads start; the strings are copied. 0 or -ENOMEM. */
int http_global_set_client_cert(const char *cert, const char *key);
void http_client_set_token(struct http_client *c, const char *token);
/* Whole-request timeout (default 30 s); 0 means none (streams). */
void http_client_set_timeout(struct http_client *c, long timeout_ms);

/* Performs one request. Returns 0 when an HTTP response arrived (any status), -EIO on transport
 * failure (r->err says why). The caller frees r with http_response_free. */
int http_call(struct http_client *c, const char *method, const char *path, const char *body,
              size_t body_len, struct http_response *r);
void http_response_free(struct http_response *r);

/* JSON convenience: body may be NULL; *out (may be NULL) receives the parsed response body when it
 * is JSON. For non-2xx responses with {"error":{...}}, r->err holds "code: message". */
int http_call_json(struct http_client *c, const char *method, const char *path, json_t *body,
                   struct http_response *r, json_t **out);

/* Streams a GET response body to cb as it arrives (SSE). cb returns 0 to go on, non-zero to stop.
 * Returns 0 when the stream ended or was stopped by cb, -EIO on transport failure. */
typedef int (*http_data_cb)(void *ud, const char *data, size_t n);
int http_stream(struct http_client *c, const char *path, http_data_cb cb, void *ud,
                struct http_response *r);
/* Like http_stream for a file: with from > 0 asks for "Range: bytes=from-" and hands a 206 body
 * to cb as well (r->status tells 200, the whole file, from 206, the rest). */
int http_download(struct http_client *c, const char *path, int64_t from, http_data_cb cb,
                  void *ud, struct http_response *r);

#endif
