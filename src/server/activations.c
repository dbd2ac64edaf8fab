/* POST /v1/activations: a new activation code (shown once, stored as SHA-256). */
#include "server/server.h"

#include "common/crypto.h"
#include "common/ids.h"
#include "common/jsonutil.h"
#include "common/tm.h"
#include "server/render.h"

#include <string.h>

static const char *const keys[] = { "tags", "uses", "expires_in_s", NULL };

/* Tags of an activation or an agent: at most 32, keys and values by allowlist. */
int tags_validate(json_t *tags, const char *field, char *err, size_t errlen)
{
    const char *k;
    json_t *v;
    if (!json_is_object(tags)) {
        snprintf(err, errlen, "%s: must be an object", field);
        return -1;
    }
    if (json_object_size(tags) > 32) {
        snprintf(err, errlen, "%s: at most 32 tags", field);
        return -1;
    }
    json_object_foreach(tags, k, v) {
        if (!tag_key_valid(k) || !json_is_string(v) || !tag_value_valid(json_string_value(v))) {
            snprintf(err, errlen, "%s.%.64s: invalid tag", field, k);
            return -1;
        }
    }
    return 0;
}

void h_activation_create(struct req *r)
{
    char err[256], code[TOKEN_BUF], hash[65];
    int64_t uses = 1, expires_in = 86400, now = tm_now_ms();
    json_t *body = req_json(r), *tags;
    char *tags_text = NULL;

    if (!body)
        return;
    if (jsonu_only_keys(body, keys, err, sizeof err) ||
        jsonu_int(body, "uses", 1, 100000, &uses, err, sizeof err) < 0 ||
        jsonu_int(body, "expires_in_s", 60, 31536000, &expires_in, err, sizeof err) < 0) {
        resp_error(r, 400, "bad_request", "%s", err);
        goto out;
    }
    tags = json_object_get(body, "tags");
    if (tags && !json_is_null(tags) && tags_validate(tags, "tags", err, sizeof err)) {
        resp_error(r, 400, "bad_request", "%s", err);
        goto out;
    }
    tags_text = (tags && !json_is_null(tags)) ? json_dumps(tags, JSON_COMPACT | JSON_SORT_KEYS)
                                              : strdup("{}");
    if (!tags_text || crypto_token_new("tac_", code)) {
        resp_error(r, 500, "internal", "cannot create a code");
        goto out;
    }
    crypto_sha256_hex(code, strlen(code), hash);
    int64_t expires_at = now + expires_in * 1000;
    if (store_activation_insert(r->srv->st, r->tenant, hash, tags_text, uses, expires_at, r->who,
                                now) ||
        req_audit(r, now, "activation.create", NULL, tags_text)) {
        resp_error(r, 503, "unavailable", "store not writable");
        goto out;
    }
    json_t *tj = json_loads(tags_text, 0, NULL);
    resp_json(r, 201, json_pack("{s:s, s:I, s:o, s:o}", "activation_code", code, "uses",
                                (json_int_t)uses, "expires_at", render_ts(expires_at), "tags",
                                tj ? tj : json_object()));
out:
    free(tags_text);
    json_decref(body);
}
