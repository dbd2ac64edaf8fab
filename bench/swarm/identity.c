/*
 * Agent identities: registration with an activation code (docs/protocol.md, "Registration") and
 * the state file that keeps them between runs, so a 10 000-agent run does not register again.
 * Names are PREFIX-00001..., machine ids are derived from the name: registering again (lost state
 * file, or a 401 on the socket) keeps the agent_id and gets a new token. The state file holds
 * agent tokens: it is written 0600, and tokens are never logged.
 */
#include "swarm.h"

#include "common/fsutil.h"
#include "common/jsonutil.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define STATE_MAX (256 * 1024 * 1024)

static bool token_valid(const char *t)
{
    size_t n = t ? strlen(t) : 0;
    if (n < 8 || n >= SWARM_TOKEN_BUF || strncmp(t, "tag_", 4))
        return false;
    for (size_t i = 4; i < n; i++) {
        char c = t[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

int identity_load(struct swarm *sw)
{
    char *data = NULL, err[160];
    size_t len = 0;
    json_t *j, *agents;
    int rc, reused = 0;

    if (!sw->cfg.state)
        return 0;
    rc = fs_read_all(sw->cfg.state, STATE_MAX, &data, &len);
    if (rc == -ENOENT)
        return 0;
    if (rc)
        return rc;
    j = jsonu_parse(data, len, STATE_MAX, err, sizeof err);
    explicit_bzero(data, len);
    free(data);
    agents = j ? json_object_get(j, "agents") : NULL;
    if (!json_is_object(agents)) {
        fprintf(stderr, "tether-swarm: %s is not a swarm state file\n", sw->cfg.state);
        json_decref(j);
        return -EINVAL;
    }
    for (int i = 0; i < sw->n; i++) {
        struct sagent *a = &sw->agents[i];
        json_t *o = json_object_get(agents, a->name);
        const char *id = json_string_value(json_object_get(o, "agent_id"));
        const char *tok = json_string_value(json_object_get(o, "token"));
        if (id && id_valid(id, ID_AGENT) && token_valid(tok)) {
            snprintf(a->agent_id, sizeof a->agent_id, "%s", id);
            snprintf(a->token, sizeof a->token, "%s", tok);
            reused++;
        }
    }
    sw->st.reused = (uint64_t)reused;
    json_decref(j);
    return 0;
}

int identity_save(struct swarm *sw)
{
    json_t *j = NULL, *agents = NULL, *old = NULL;
    char *data = NULL, *prev = NULL, err[160];
    size_t plen = 0;
    int rc = -ENOMEM;

    if (!sw->cfg.state)
        return 0;
    /* Keep the identities of agents outside this run's range (a later, larger run needs them). */
    if (!fs_read_all(sw->cfg.state, STATE_MAX, &prev, &plen)) {
        old = jsonu_parse(prev, plen, STATE_MAX, err, sizeof err);
        explicit_bzero(prev, plen);
        free(prev);
    }
    agents = old ? json_incref(json_object_get(old, "agents")) : NULL;
    if (!json_is_object(agents)) {
        json_decref(agents);
        agents = json_object();
    }
    if (!agents)
        goto out;
    for (int i = 0; i < sw->n; i++) {
        const struct sagent *a = &sw->agents[i];
        if (!a->agent_id[0])
            continue;
        if (json_object_set_new(agents, a->name,
                                json_pack("{s:s, s:s, s:s}", "agent_id", a->agent_id, "token",
                                          a->token, "machine_id", a->machine_id)))
            goto out;
    }
    j = json_pack("{s:i, s:O}", "version", 1, "agents", agents);
    data = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (!data)
        goto out;
    rc = fs_write_atomic(sw->cfg.state, data, strlen(data), 0600, true);
    if (rc)
        fprintf(stderr, "tether-swarm: cannot write %s: %s\n", sw->cfg.state, strerror(-rc));
    else
        sw->state_dirty = false;
out:
    if (data) {
        explicit_bzero(data, strlen(data));
        free(data);
    }
    json_decref(j);
    json_decref(agents);
    json_decref(old);
    return rc;
}

int identity_missing(const struct swarm *sw)
{
    int n = 0;
    for (int i = 0; i < sw->n; i++)
        n += !sw->agents[i].agent_id[0];
    return n;
}

static void register_done(struct hreq *r, int status, const char *body, size_t len)
{
    struct sagent *a = r->user;
    struct swarm *sw = a->sw;
    char err[128];
    json_t *j = NULL;
    const char *id = NULL, *tok = NULL;
    int ok = 0;

    a->registering = false;
    if (status == 201) {
        j = jsonu_parse(body, len, 65536, err, sizeof err);
        id = j ? json_string_value(json_object_get(j, "agent_id")) : NULL;
        tok = j ? json_string_value(json_object_get(j, "agent_token")) : NULL;
    }
    if (id && id_valid(id, ID_AGENT) && token_valid(tok)) {
        snprintf(a->agent_id, sizeof a->agent_id, "%s", id);
        snprintf(a->token, sizeof a->token, "%s", tok);
        sw->state_dirty = true;
        sw->st.registered++;
        ok = 1;
    } else {
        sw->st.register_failed++;
        if (sw->st.register_failed <= 10)
            log_warn("%s: register answered %d: %.*s", a->name, status,
                     (int)(len > 200 ? 200 : len), body ? body : "");
    }
    json_decref(j);
    if (a->after_register)
        a->after_register(a, ok);
}

/* "k=v,k2=v2" -> {"k":"v","k2":"v2"}; NULL on a malformed list. */
static json_t *parse_tags(const char *spec)
{
    json_t *o = json_object();
    char key[64], val[256];

    for (const char *p = spec; o && p && *p;) {
        const char *end = strchr(p, ','), *eq;
        size_t n = end ? (size_t)(end - p) : strlen(p);
        eq = memchr(p, '=', n);
        if (!eq || (size_t)(eq - p) >= sizeof key || n - (size_t)(eq - p) - 1 >= sizeof val)
            goto fail;
        snprintf(key, sizeof key, "%.*s", (int)(eq - p), p);
        snprintf(val, sizeof val, "%.*s", (int)(n - (size_t)(eq - p) - 1), eq + 1);
        if (!tag_key_valid(key) || !tag_value_valid(val) ||
            json_object_set_new(o, key, json_string(val)))
            goto fail;
        p = end ? end + 1 : NULL;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

bool identity_tags_valid(const char *spec)
{
    json_t *o = parse_tags(spec);
    json_decref(o);
    return o != NULL;
}

void identity_register(struct sagent *a, void (*then)(struct sagent *a, int ok))
{
    struct swarm *sw = a->sw;
    struct hreq *r = NULL;
    json_t *body = NULL, *tags = parse_tags(sw->cfg.tags);
    char ip[20], *text = NULL;

    a->after_register = then;
    if (!sw->cfg.activation_code || !tags)
        goto fail;
    snprintf(ip, sizeof ip, "10.%d.%d.%d", 100 + a->idx / 65536, (a->idx / 256) % 256,
             a->idx % 256);
    body = json_pack("{s:s, s:s, s:s, s:s, s:[s], s:s, s:s, s:s, s:s, s:O}", "activation_code",
                     sw->cfg.activation_code, "name", a->name, "hostname", a->name, "machine_id",
                     a->machine_id, "ips", ip, "primary_ip", ip, "os", "linux", "arch", "x86_64",
                     "version", TETHER_VERSION, "tags", tags);
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    r = text ? hreq_new("POST", "/v1/agent/register", NULL, register_done, a) : NULL;
    if (!r || buf_append_str(&r->body, text))
        goto fail;
    a->registering = true;
    hpool_submit(sw->pool, r);
    r = NULL;
    goto out;
fail:
    sw->st.register_failed++;
    if (then)
        then(a, 0);
out:
    if (text) {
        explicit_bzero(text, strlen(text));
        free(text);
    }
    hreq_free(r);
    json_decref(body);
    json_decref(tags);
}
