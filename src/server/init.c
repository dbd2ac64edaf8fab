/*
 * `tether-server init`: the data directory (0700), the store, the default tenant and the bootstrap
 * admin API key, written to DATA/admin.key (0600) and stored only as its SHA-256. Idempotent: when
 * admin.key exists and matches a live key, nothing changes and the same key is printed again.
 */
#include "server/server.h"

#include "common/crypto.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/tm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/tls_cert.h"

#define ADMIN_NAME "admin"

/* The key in admin.key if it is a live key of this store. */
static int existing_key(struct store *st, const char *path, char key[TOKEN_BUF])
{
    char *text = NULL, hash[65], who[64], tenant[64];
    size_t len = 0;
    enum role role;
    int rc = fs_read_all(path, 4096, &text, &len);
    if (rc)
        return rc;
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = '\0';
    rc = -ENOENT;
    if (crypto_token_shape_ok(text, "tak_")) {
        crypto_sha256_hex(text, len, hash);
        if (!store_apikey_find(st, hash, who, tenant, &role) && role == ROLE_ADMIN) {
            snprintf(key, TOKEN_BUF, "%s", text);
            rc = 0;
        }
    }
    free(text);
    return rc;
}

static int new_key(struct store *st, const char *path, char key[TOKEN_BUF])
{
    char hash[65], line[TOKEN_BUF + 2];
    int64_t now = tm_now_ms();
    int rc = crypto_token_new("tak_", key);
    if (rc)
        return rc;
    crypto_sha256_hex(key, strlen(key), hash);
    if (store_begin(st))
        return -EIO;
    rc = store_tenant_ensure(st, STORE_DEFAULT_TENANT, now);
    if (!rc)
        rc = store_apikey_insert(st, STORE_DEFAULT_TENANT, hash, ADMIN_NAME, ROLE_ADMIN, now);
    if (!rc)
        rc = store_audit(st, STORE_DEFAULT_TENANT, now, "init", "apikey.create", ADMIN_NAME, NULL);
    /* The key file is written before the commit: a crash in between leaves a file whose key is
     * not in the store, which the next init replaces, never a stored key nobody knows. */
    snprintf(line, sizeof line, "%s\n", key);
    if (!rc)
        rc = fs_write_atomic(path, line, strlen(line), 0600, true);
    if (rc || store_commit(st)) {
        store_rollback(st);
        return rc ? rc : -EIO;
    }
    return 0;
}

int server_init_data(const char *data_dir, const char *store_path, bool quiet)
{
    char key_path[4200], key[TOKEN_BUF];
    struct store *st = NULL;
    int rc;

    rc = fs_mkdir_p(data_dir, 0700);
    if (rc) {
        fprintf(stderr, "tether-server: cannot create %s: %s\n", data_dir, strerror(-rc));
        return rc;
    }
    rc = store_open(store_path, &st);
    if (rc) {
        fprintf(stderr, "tether-server: cannot open the store %s: %s\n", store_path,
                strerror(-rc));
        return rc;
    }
    snprintf(key_path, sizeof key_path, "%s/admin.key", data_dir);
    rc = existing_key(st, key_path, key);
    if (rc) {
        rc = store_tenant_ensure(st, STORE_DEFAULT_TENANT, tm_now_ms());
        if (!rc)
            rc = new_key(st, key_path, key);
        if (rc) {
            fprintf(stderr, "tether-server: cannot create the admin key: %s\n", strerror(-rc));
            goto out;
        }
        if (!quiet)
            log_debug("init: admin key created");
    }
    if (!quiet) {
        /* A fresh server can serve TLS for local use at once (serve --tls); the certificate is
         * made once, so a second init changes nothing. */
        char tls_path[4200], err[512];
        static const char *const local_hosts[] = { "localhost", "127.0.0.1", "::1" };
        snprintf(tls_path, sizeof tls_path, "%s/tls/server.pem", data_dir);
        if (access(tls_path, F_OK) != 0 &&
            tls_cert_create_server(data_dir, local_hosts, 3, 825, err, sizeof err))
            fprintf(stderr, "tether-server: warning: no TLS certificate: %s\n", err);
        printf("%s\n", key);
    }
out:
    store_close(st);
    return rc;
}
