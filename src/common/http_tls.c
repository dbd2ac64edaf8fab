/*
 * TLS for common/http_conn.c: one SSL_CTX per set of TLS settings (CA file or the system store,
 * client certificate and key), built once and shared by every thread; the handshake with chain
 * and host-name verification; and a socket BIO that sends with MSG_NOSIGNAL, so a peer that
 * resets never raises SIGPIPE in the CLI or the agent.
 */
#include "common/http_conn.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

void http_ssl_reason(char *out, size_t outlen)
{
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, out, outlen);
    else
        snprintf(out, outlen, "%s", errno ? strerror(errno) : "unknown error");
    ERR_clear_error();
}

/* ---- a socket BIO that cannot raise SIGPIPE ---- */

static BIO_METHOD *nosig_method;

static int nosig_write(BIO *b, const char *data, size_t n, size_t *written)
{
    ssize_t w = send((int)(intptr_t)BIO_get_data(b), data, n, MSG_NOSIGNAL);
    BIO_clear_retry_flags(b);
    if (w < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            BIO_set_retry_write(b);
        return 0;
    }
    *written = (size_t)w;
    return 1;
}

static int nosig_read(BIO *b, char *data, size_t n, size_t *got)
{
    ssize_t r = recv((int)(intptr_t)BIO_get_data(b), data, n, 0);
    BIO_clear_retry_flags(b);
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            BIO_set_retry_read(b);
        return 0;
    }
    if (r == 0)
        BIO_set_flags(b, BIO_FLAGS_IN_EOF);
    *got = (size_t)r;
    return r > 0;
}

static long nosig_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num; (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_EOF:
        return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    default:
        return 0;
    }
}

static int nosig_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* Called under ctx_lock. */
static int nosig_method_init(void)
{
    if (nosig_method)
        return 0;
    nosig_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tether socket");
    if (!nosig_method || !BIO_meth_set_write_ex(nosig_method, nosig_write) ||
        !BIO_meth_set_read_ex(nosig_method, nosig_read) ||
        !BIO_meth_set_ctrl(nosig_method, nosig_ctrl) ||
        !BIO_meth_set_create(nosig_method, nosig_create)) {
        BIO_meth_free(nosig_method);
        nosig_method = NULL;
        return -ENOMEM;
    }
    return 0;
}

/* ---- TLS contexts, cached per settings (loading the system store is not free) ---- */

struct ctx_entry {
    char *ca, *cert, *key;
    struct timespec mtime[3];   /* the files changed: build a new context */
    SSL_CTX *ctx;
    struct ctx_entry *next;
};

static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ctx_entry *ctx_cache;

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static struct timespec file_mtime(const char *path)
{
    struct stat st;
    struct timespec zero = { 0, 0 };
    return path && stat(path, &st) == 0 ? st.st_mtim : zero;
}

static SSL_CTX *ctx_build(const struct http_conn_opts *o, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    char why[200];

    if (!ctx) {
        snprintf(err, errlen, "SSL: cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    ERR_clear_error();
    errno = 0;
    if (o->ca_file ? SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1
                   : SSL_CTX_set_default_verify_paths(ctx) != 1) {
        http_ssl_reason(why, sizeof why);
        snprintf(err, errlen, "SSL: cannot read CA certificates from %s: %s",
                 o->ca_file ? o->ca_file : "the system store", why);
        goto fail;
    }
    if (o->cert) {
        const char *key = o->key ? o->key : o->cert;
        if (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1) {
            http_ssl_reason(why, sizeof why);
            snprintf(err, errlen, "SSL: cannot load client certificate %s: %s", o->cert, why);
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            http_ssl_reason(why, sizeof why);
            snprintf(err, errlen, "SSL: cannot use client key %s: %s", key, why);
            goto fail;
        }
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/* A reference to the context for o's settings; the caller frees it. */
static SSL_CTX *ctx_get(const struct http_conn_opts *o, char *err, size_t errlen)
{
    struct timespec mt[3] = { file_mtime(o->ca_file), file_mtime(o->cert), file_mtime(o->key) };
    struct ctx_entry *e;
    SSL_CTX *ctx = NULL;

    pthread_mutex_lock(&ctx_lock);
    if (nosig_method_init() != 0) {
        snprintf(err, errlen, "SSL: out of memory");
        goto out;
    }
    for (e = ctx_cache; e; e = e->next)
        if (same_str(e->ca, o->ca_file) && same_str(e->cert, o->cert) && same_str(e->key, o->key))
            break;
    if (e && memcmp(e->mtime, mt, sizeof mt) == 0) {
        ctx = e->ctx;
        SSL_CTX_up_ref(ctx);
        goto out;
    }
    ctx = ctx_build(o, err, errlen);
    if (!ctx)
        goto out;
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e)
            goto out;   /* usable, just not cached */
        e->ca = o->ca_file ? strdup(o->ca_file) : NULL;
        e->cert = o->cert ? strdup(o->cert) : NULL;
        e->key = o->key ? strdup(o->key) : NULL;
        if ((o->ca_file && !e->ca) || (o->cert && !e->cert) || (o->key && !e->key)) {
            free(e->ca), free(e->cert), free(e->key), free(e);
            goto out;
        }
        e->next = ctx_cache;
        ctx_cache = e;
    }
    SSL_CTX_free(e->ctx);   /* connections made with it keep their own references */
    e->ctx = ctx;
    memcpy(e->mtime, mt, sizeof mt);
    SSL_CTX_up_ref(ctx);
out:
    pthread_mutex_unlock(&ctx_lock);
    return ctx;
}

int http_tls_start(struct http_conn *c, const struct http_conn_opts *o, char *err, size_t errlen)
{
    const struct http_url *u = o->origin;
    SSL_CTX *ctx = ctx_get(o, err, errlen);
    BIO *bio;
    int rc;

    if (!ctx)
        return -EIO;
    c->ssl = SSL_new(ctx);
    SSL_CTX_free(ctx);
    bio = c->ssl ? BIO_new(nosig_method) : NULL;
    if (!bio) {
        snprintf(err, errlen, "SSL: out of memory");
        return -EIO;
    }
    BIO_set_data(bio, (void *)(intptr_t)c->fd);
    SSL_set_bio(c->ssl, bio, bio);
    /* without the name (or address) to check, verification would accept any certificate the
     * CA signed: a failure here is a failure of the connection */
    if (u->ip) {
        rc = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), u->host) == 1 ? 0 : -1;
    } else {
        SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        rc = SSL_set_tlsext_host_name(c->ssl, u->host) == 1 && SSL_set1_host(c->ssl, u->host) == 1
                 ? 0 : -1;
    }
    if (rc) {
        snprintf(err, errlen, "SSL: cannot set the host name %s to verify", u->host);
        return -EIO;
    }
    for (;;) {
        ERR_clear_error();
        errno = 0;
        if (SSL_connect(c->ssl) == 1)
            return 0;
        int e = SSL_get_error(c->ssl, 0);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if ((rc = http_conn_wait(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, err, errlen)))
                return rc;
            continue;
        }
        long v = SSL_get_verify_result(c->ssl);
        c->broken = true;
        if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH) {
            snprintf(err, errlen, "SSL: certificate does not match host name %s", u->host);
        } else if (v != X509_V_OK) {
            snprintf(err, errlen, "SSL certificate problem: %s", X509_verify_cert_error_string(v));
        } else {
            char why[200];
            int saved = errno;
            if (e == SSL_ERROR_SYSCALL && !ERR_peek_last_error())
                snprintf(why, sizeof why, "%s", saved ? strerror(saved) : "connection closed");
            else
                http_ssl_reason(why, sizeof why);
            snprintf(err, errlen, "SSL connect error: %s", why);
        }
        return -EIO;
    }
}

int http_tls_global_init(void)
{
    return 0;   /* OpenSSL is initialised on first use: a CLI call without HTTPS never pays */
}

void http_tls_global_cleanup(void)
{
    struct ctx_entry *e;

    pthread_mutex_lock(&ctx_lock);
    e = ctx_cache;
    ctx_cache = NULL;
    pthread_mutex_unlock(&ctx_lock);
    while (e) {
        struct ctx_entry *next = e->next;
        SSL_CTX_free(e->ctx);
        free(e->ca), free(e->cert), free(e->key), free(e);
        e = next;
    }
    pthread_mutex_lock(&ctx_lock);
    BIO_meth_free(nosig_method);
    nosig_method = NULL;
    pthread_mutex_unlock(&ctx_lock);
}
