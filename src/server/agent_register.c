/*
 * POST /v1/agent/register (docs/protocol.md, "Registration"): activation code, identity rule by
 * machine_id (same machine keeps its agent_id and gets a new token; a connected one is a clone:
 * 409 identity_conflict), unique names (409 name_taken), code tags merged under the agent's own.
 */
#include "server/server.h"

#include "common/crypto.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/tm.h"

#include <arpa/inet.h>
#include <string.h>

static const char *const keys[] = {
    "activation_code", "name", "hostname", "machine_id", "ips", "primary_ip", "os", "arch",
    "version", "tags", NULL,
};

bool charset_ok(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (const char *p = s; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
                  || strchr(extra, *p);
        if (!ok)
            return false;
    }
    return true;
}

bool ip_text_valid(const char *s)
{
    unsigned char a[16];
    return s && (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1);
}

struct reg_body {
    const char *code, *name, *hostname, *machine_id, *primary_ip, *os, *arch, *version;
    json_t *ips, *tags;
};

static int get_str(json_t *b, const char *k, const char **out, size_t max, const char *extra,
                   bool required, char *err, size_t errlen)
{
    if (jsonu_str(b, k, out, err, errlen) < 0)
        return -1;
    if (!*out) {
        if (!required)
            return 0;
        snprintf(err, errlen, "%s: required", k);
        return -1;
    }
    if (!charset_ok(*out, max, extra)) {
        snprintf(err, errlen, "%s: invalid value", k);
        return -1;
    }
    return 0;
}

static int parse_body(json_t *b, struct reg_body *rb, char *err, size_t errlen)
{
    size_t i;
    json_t *v;

    memset(rb, 0, sizeof *rb);
    if (jsonu_only_keys(b, keys, err, errlen) ||
        jsonu_str(b, "activation_code", &rb->code, err, errlen) < 0 ||
        get_str(b, "hostname", &rb->hostname, 253, "._-", true, err, errlen) ||
        get_str(b, "machine_id", &rb->machine_id, 64, "._-", true, err, errlen) ||
        get_str(b, "os", &rb->os, 31, "._+-", false, err, errlen) ||
        get_str(b, "arch", &rb->arch, 31, "._+-", false, err, errlen) ||
        get_str(b, "version", &rb->version, 63, "._+-~", false, err, errlen) ||
        jsonu_str(b, "name", &rb->name, err, errlen) < 0 ||
        jsonu_str(b, "primary_ip", &rb->primary_ip, err, errlen) < 0)
        return -1;
    if (!rb->name)
        rb->name = rb->hostname;
    if (!name_valid(rb->name)) {
        snprintf(err, errlen, "name: must match [A-Za-z0-9][A-Za-z0-9._-]{0,62}");
        return -1;
    }
    rb->ips = json_object_get(b, "ips");
    if (rb->ips && !json_is_null(rb->ips)) {
        if (!json_is_array(rb->ips) || json_array_size(rb->ips) > 64) {
            snprintf(err, errlen, "ips: must be an array of at most 64 addresses");
            return -1;
        }
        json_array_foreach(rb->ips, i, v) {
            if (!ip_text_valid(json_string_value(v))) {
                snprintf(err, errlen, "ips[%zu]: not an IP address", i);
                return -1;
            }
        }
    } else {
        rb->ips = NULL;
    }
    if (rb->primary_ip && !ip_text_valid(rb->primary_ip)) {
        snprintf(err, errlen, "primary_ip: not an IP address");
        return -1;
    }
    if (!rb->primary_ip && rb->ips && json_array_size(rb->ips))
        rb->primary_ip = json_string_value(json_array_get(rb->ips, 0));
    rb->tags = json_object_get(b, "tags");
    if (rb->tags && json_is_null(rb->tags))
        rb->tags = NULL;
    if (rb->tags && tags_validate(rb->tags, "tags", err, errlen))
        return -1;
    return 0;
}

/* existing < activation code < the agent's own tags. Returns compact JSON text (caller frees). */
static char *merge_tags(const char *existing, const char *code_tags, json_t *own)
{
    json_t *m = json_loads(existing ? existing : "{}", 0, NULL);
    json_t *c = json_loads(code_tags ? code_tags : "{}", 0, NULL);
    char *text = NULL;
    if (m && c && !json_object_update(m, c) && (!own || !json_object_update(m, own)))
        text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(m);
    json_decref(c);
    return text;
}

static void fill_agent(struct st_agent *a, const struct reg_body *rb, int64_t now)
{
    snprintf(a->name, sizeof a->name, "%s", rb->name);
    snprintf(a->hostname, sizeof a->hostname, "%s", rb->hostname);
    snprintf(a->machine_id, sizeof a->machine_id, "%s", rb->machine_id);
    snprintf(a->os, sizeof a->os, "%s", rb->os ? rb->os : "");
    snprintf(a->arch, sizeof a->arch, "%s", rb->arch ? rb->arch : "");
    snprintf(a->version, sizeof a->version, "%s", rb->version ? rb->version : "");
    snprintf(a->primary_ip, sizeof a->primary_ip, "%s", rb->primary_ip ? rb->primary_ip : "");
    free(a->ips);
    a->ips = rb->ips ? json_dumps(rb->ips, JSON_COMPACT) : strdup("[]");
    a->last_seen = now;
    a->removed = false;
}

static json_t *endpoints(struct server *srv)
{
    char api[512], ws[600];
    const char *base = srv->cfg.public_url;
    if (base && *base)
        snprintf(api, sizeof api, "%s", base);
    else
        snprintf(api, sizeof api, "%s://%s", (srv->cfg.tls_cert || srv->cfg.tls) ? "https" : "http",
                 srv->cfg.listen);
    size_t n = strlen(api);
    while (n && api[n - 1] == '/')
        api[--n] = '\0';
    const char *rest = strncmp(api, "https://", 8) ? api + 7 : api + 8;
    snprintf(ws, sizeof ws, "%s://%s/v1/agent/ws", strncmp(api, "https://", 8) ? "ws" : "wss",
             rest);
    return json_pack("{s:s, s:s}", "api", api, "ws", ws);
}

/* Creates or re-keys the agent. Answers the error itself; 0 on success. */
static int upsert(struct req *r, const struct reg_body *rb, const char *tenant,
                  const char *code_tags, const char *token_hash, char agent_id[ID_BUF])
{
    struct store *st = r->srv->st;
    struct st_agent a = { 0 }, other = { 0 };
    int64_t now = tm_now_ms();
    int rc = store_agent_by_machine(st, tenant, rb->machine_id, &a), ret = -1;
    bool exists = rc == 0;
    char *tags = NULL;

    if (rc && rc != -ENOENT)
        goto unavailable;
    if (exists && !a.removed && ws_agent_connected(r->srv, a.agent_id)) {
        resp_error(r, 409, "identity_conflict",
                   "an agent with this machine_id is connected right now (cloned host?)");
        goto out;
    }
    rc = store_agent_by_name(st, tenant, rb->name, &other);
    if (rc == 0 && (!exists || strcmp(other.agent_id, a.agent_id))) {
        resp_error(r, 409, "name_taken", "name '%s' belongs to another agent", rb->name);
        goto out;
    }
    if (rc && rc != -ENOENT)
        goto unavailable;
    tags = merge_tags(exists ? a.tags : NULL, code_tags, rb->tags);
    if (!tags)
        goto unavailable;
    if (!exists) {
        if (id_new(ID_AGENT, a.agent_id))
            goto unavailable;
        snprintf(a.tenant_id, sizeof a.tenant_id, "%s", tenant);
        a.first_seen = now;
    }
    fill_agent(&a, rb, now);
    free(a.tags);
    a.tags = tags;
    tags = NULL;
    if (!a.ips || (exists ? store_agent_update(st, &a, token_hash)
                          : store_agent_insert(st, &a, token_hash)))
        goto unavailable;
    snprintf(agent_id, ID_BUF, "%s", a.agent_id);
    ret = 0;
    goto out;
unavailable:
    resp_error(r, 503, "unavailable", "store not writable");
out:
    free(tags);
    st_agent_free(&a);
    st_agent_free(&other);
    return ret;
}

void h_agent_register(struct req *r)
{
    char err[256], tenant[64], hash[65], token[TOKEN_BUF], token_hash[65], agent_id[ID_BUF];
    char *code_tags = NULL;
    struct reg_body rb;
    json_t *body = req_json(r);

    if (!body)
        return;
    if (parse_body(body, &rb, err, sizeof err)) {
        resp_error(r, 400, "bad_request", "%s", err);
        goto out;
    }
    if (!rb.code || !crypto_token_shape_ok(rb.code, "tac_")) {
        resp_error(r, 401, "unauthorized", "activation code invalid, expired or used up");
        goto out;
    }
    crypto_sha256_hex(rb.code, strlen(rb.code), hash);
    int rc = store_activation_consume(r->srv->st, hash, tm_now_ms(), tenant, &code_tags);
    if (rc) {
        if (rc == -ENOENT)
            resp_error(r, 401, "unauthorized", "activation code invalid, expired or used up");
        else
            resp_error(r, 503, "unavailable", "store not writable");
        goto out;
    }
    if (crypto_token_new("tag_", token)) {
        resp_error(r, 500, "internal", "cannot create a token");
        goto out;
    }
    crypto_sha256_hex(token, strlen(token), token_hash);
    if (upsert(r, &rb, tenant, code_tags, token_hash, agent_id))
        goto out;
    log_info("register: agent %s (%s) registered", agent_id, rb.name);
    resp_json(r, 201, json_pack("{s:s, s:s, s:o}", "agent_id", agent_id, "agent_token", token,
                                "endpoints", endpoints(r->srv)));
out:
    free(code_tags);
    json_decref(body);
}
