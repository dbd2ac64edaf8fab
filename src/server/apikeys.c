/*
 * API keys (admin only): POST /v1/apikeys {name, role} -> the key, shown once; GET /v1/apikeys
 * (names, roles, dates; never a hash); DELETE /v1/apikeys/{name} revokes. Keys are 256-bit
 * random (tak_), stored as SHA-256 only. Each change is audited.
 */
#include "server/server.h"

#include "common/crypto.h"
#include "common/ids.h"
#include "common/jsonutil.h"
#include "common/tm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void h_apikey_create(struct req *r)
{
    static const char *const allowed[] = { "name", "role", NULL };
    char err[256], key[TOKEN_BUF], hash[65], name[64], detail[64];
    const char *name_in = NULL, *role_in = NULL;
    int64_t now = tm_now_ms(), live = 0;
    enum role role;
    json_t *body = req_json(r);

    if (!body)
        return;
    if (jsonu_only_keys(body, allowed, err, sizeof err) ||
        jsonu_str(body, "name", &name_in, err, sizeof err) < 0 ||
        jsonu_str(body, "role", &role_in, err, sizeof err) < 0) {
        resp_error(r, 400, "bad_request", "%s", err);
        goto out;
    }
    role = role_parse(role_in);
    if (!role_in || role == ROLE_NONE) {
        resp_error(r, 400, "bad_request", "role: must be admin, operator or viewer");
        goto out;
    }
    if (name_in) {
        if (!name_valid(name_in)) {
            resp_error(r, 400, "bad_request",
                       "name: 1-63 characters of letters, digits, '.', '_' or '-'");
            goto out;
        }
        snprintf(name, sizeof name, "%s", name_in);
    } else {
        unsigned char rnd[4];
        if (crypto_random(rnd, sizeof rnd)) {
            resp_error(r, 500, "internal", "no randomness");
            goto out;
        }
        snprintf(name, sizeof name, "key-%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
    }
    if (store_apikey_count(r->srv->st, name, &live)) {
        resp_error(r, 503, "unavailable", "store not readable");
        goto out;
    }
    if (live) {
        resp_error(r, 409, "name_taken", "an API key named '%s' exists; revoke it first", name);
        goto out;
    }
    if (crypto_token_new("tak_", key)) {
        resp_error(r, 500, "internal", "cannot create a key");
        goto out;
    }
    crypto_sha256_hex(key, strlen(key), hash);
    snprintf(detail, sizeof detail, "role %s", role_name(role));
    if (store_apikey_insert(r->srv->st, r->tenant, hash, name, role, now) ||
        req_audit(r, now, "apikey.create", name, detail)) {
        resp_error(r, 503, "unavailable", "store not writable");
        goto out;
    }
    resp_json(r, 201, json_pack("{s:s, s:s, s:s, s:o}", "name", name, "role", role_name(role),
                                "key", key, "created_at", render_ts(now)));
out:
    explicit_bzero(key, sizeof key);
    json_decref(body);
}

void h_apikeys_list(struct req *r)
{
    struct st_apikey *keys = NULL;
    size_t n = 0;
    json_t *arr;

    if (store_apikey_list(r->srv->st, r->tenant, &keys, &n)) {
        resp_error(r, 503, "unavailable", "store not readable");
        return;
    }
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:b, s:o}", "name", keys[i].name,
                                             "role", role_name(keys[i].role), "created_at",
                                             render_ts(keys[i].created_at), "revoked",
                                             keys[i].revoked, "revoked_at",
                                             render_ts(keys[i].revoked_at)));
    free(keys);
    resp_json(r, 200, arr ? json_pack("{s:o}", "apikeys", arr) : NULL);
}

void h_apikey_revoke(struct req *r)
{
    const char *name = r->params[0];
    int64_t now = tm_now_ms();
    int rc;

    if (!name_valid(name)) {
        resp_error(r, 404, "not_found", "no such API key");
        return;
    }
    rc = store_apikey_revoke(r->srv->st, r->tenant, name, now);
    if (rc == -ENOENT) {
        resp_error(r, 404, "not_found", "no live API key named '%s'", name);
        return;
    }
    if (rc || req_audit(r, now, "apikey.revoke", name, NULL)) {
        resp_error(r, 503, "unavailable", "store not writable");
        return;
    }
    resp_json(r, 200, json_pack("{s:s, s:b}", "name", name, "revoked", 1));
}
