/* libcurl client; see http.h. */
#include "common/http.h"
#include "common/jsonutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_MAX_BODY (80u * 1024 * 1024)

struct http_client {
    CURL *easy;
    char *base_url;
    char *auth_header;
    char *ca_file;
    char *client_cert, *client_key;
    long timeout_ms;
};

/* The agent's process-wide client certificate (http_global_set_client_cert). */
static char *default_cert, *default_key;

static CURLSH *share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
    (void)h; (void)access; (void)ud;
    pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
    (void)h; (void)ud;
    pthread_mutex_unlock(&share_locks[data]);
}

int http_global_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -EIO;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&share_locks[i], NULL);
    share = curl_share_init();
    if (!share)
        return -ENOMEM;
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    return 0;
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
    if (share)
        curl_share_cleanup(share);
    share = NULL;
    curl_global_cleanup();
}

struct http_client *http_client_create(const char *base_url, const char *token, const char *ca_file)
{
    struct http_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->easy = curl_easy_init();
    c->base_url = strdup(base_url);
    c->ca_file = ca_file ? strdup(ca_file) : NULL;
    c->timeout_ms = 30000;
    if (!c->easy || !c->base_url || (ca_file && !c->ca_file)) {
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

void http_client_destroy(struct http_client *c)
{
    if (!c)
        return;
    if (c->easy)
        curl_easy_cleanup(c->easy);
    free(c->base_url);
    if (c->auth_header) {
        memset(c->auth_header, 0, strlen(c->auth_header));
        free(c->auth_header);
    }
    free(c->ca_file);
    free(c->client_cert);
    free(c->client_key);
    free(c);
}

void http_client_set_token(struct http_client *c, const char *token)
{
    if (c->auth_header) {
        memset(c->auth_header, 0, strlen(c->auth_header));
        free(c->auth_header);
        c->auth_header = NULL;
    }
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

struct sink {
    char *data;
    size_t len, cap;
    bool overflow;
    http_data_cb cb;
    void *ud;
    bool stopped;
    CURL *easy;
    int64_t range_from;   /* http_download: > 0 asks for the rest from this offset (206) */
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb;

    if (s->cb) {
        long status = 0;
        /* error responses are buffered like any other call, so callers see the JSON error */
        curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200 && !(status == 206 && s->range_from > 0))
            goto buffer;
        if (s->cb(s->ud, ptr, n) != 0) {
            s->stopped = true;
            return 0;
        }
        return n;
    }
buffer:
    if (s->len + n + 1 > HTTP_MAX_BODY) {
        s->overflow = true;
        return 0;
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        char *nd;
        while (cap < s->len + n + 1)
            cap *= 2;
        nd = realloc(s->data, cap);
        if (!nd)
            return 0;
        s->data = nd;
        s->cap = cap;
    }
    memcpy(s->data + s->len, ptr, n);
    s->len += n;
    s->data[s->len] = '\0';
    return n;
}

static int perform(struct http_client *c, const char *method, const char *path, const char *body,
                   size_t body_len, struct sink *sink, struct http_response *r)
{
    CURL *e = c->easy;
    struct curl_slist *hdrs = NULL;
    char url[4096];
    CURLcode cc;

    memset(r, 0, sizeof *r);
    if (snprintf(url, sizeof url, "%s%s", c->base_url, path) >= (int)sizeof url) {
        snprintf(r->err, sizeof r->err, "URL too long");
        return -EINVAL;
    }
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SHARE, share);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, sink->cb ? 0L : c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (sink->cb) {
        /* A stream has no overall timeout, so a peer that vanished without a reset would hold it
         * for ever; SSE servers send a keepalive comment every 15 s, so a minute of silence
         * means the stream is dead and the caller should reconnect or poll. */
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
    }
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, sink);
    if (c->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    const char *cert = c->client_cert ? c->client_cert : default_cert;
    const char *key = c->client_cert ? c->client_key : default_key;
    if (cert) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, cert);
        curl_easy_setopt(e, CURLOPT_SSLKEY, key ? key : cert);
    }
    if (c->auth_header)
        hdrs = curl_slist_append(hdrs, c->auth_header);
    if (body) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else if (strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (sink->range_from > 0) {
        char range[48];
        snprintf(range, sizeof range, "Range: bytes=%lld-", (long long)sink->range_from);
        hdrs = curl_slist_append(hdrs, range);
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);

    /* The detailed reason ("SSL certificate problem: certificate has expired", "no alternative
     * certificate subject name matches") is only in the error buffer. */
    char detail[CURL_ERROR_SIZE];
    detail[0] = '\0';
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, detail);
    cc = curl_easy_perform(e);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
    r->body = sink->data;
    r->len = sink->len;
    if (cc != CURLE_OK && !(sink->stopped && cc == CURLE_WRITE_ERROR)) {
        snprintf(r->err, sizeof r->err, "%s", sink->overflow ? "response too large"
                                              : detail[0] ? detail : curl_easy_strerror(cc));
        r->status = 0;
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
    struct sink s = { .cb = cb, .ud = ud, .easy = c->easy };
    return perform(c, "GET", path, NULL, 0, &s, r);
}

int http_download(struct http_client *c, const char *path, int64_t from, http_data_cb cb,
                  void *ud, struct http_response *r)
{
    struct sink s = { .cb = cb, .ud = ud, .easy = c->easy, .range_from = from };
    return perform(c, "GET", path, NULL, 0, &s, r);
}
