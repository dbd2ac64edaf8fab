/* Identity file and registration; see identity.h. */
#include "main/identity.h"
#include "main/sysinfo.h"
#include "common/crypto.h"
#include "common/fsutil.h"
#include "common/http.h"
#include "common/jsonutil.h"
#include "common/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static int identity_path(const char *data_dir, char *out, size_t n)
{
    return snprintf(out, n, "%s/identity.json", data_dir) >= (int)n ? -ENAMETOOLONG : 0;
}

void identity_free(struct identity *id)
{
    if (id->agent_token) {
        memset(id->agent_token, 0, strlen(id->agent_token));
        free(id->agent_token);
    }
    free(id->server);
    free(id->name);
    free(id->machine_id);
    memset(id, 0, sizeof *id);
}

static int dup_field(json_t *j, const char *key, char **out, char *err, size_t errlen)
{
    const char *v = NULL;
    if (jsonu_str(j, key, &v, err, errlen) != 0 || !v) {
        snprintf(err, errlen, "identity.json: %s missing or invalid", key);
        return -EINVAL;
    }
    *out = strdup(v);
    return *out ? 0 : -ENOMEM;
}

int identity_load(const char *data_dir, struct identity *id, char *err, size_t errlen)
{
    char path[PATH_MAX], *text = NULL;
    const char *aid = NULL;
    size_t len;
    json_t *j = NULL;
    int rc;

    memset(id, 0, sizeof *id);
    if ((rc = identity_path(data_dir, path, sizeof path)))
        return rc;
    rc = fs_read_all(path, 1 << 16, &text, &len);
    if (rc) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    j = jsonu_parse(text, len, 1 << 16, err, errlen);
    if (!j) {
        rc = -EINVAL;
        goto out;
    }
    rc = -EINVAL;
    if (jsonu_str(j, "agent_id", &aid, err, errlen) != 0 || !id_valid(aid, ID_AGENT)) {
        snprintf(err, errlen, "identity.json: agent_id missing or invalid");
        goto out;
    }
    memcpy(id->agent_id, aid, ID_BUF);
    if ((rc = dup_field(j, "agent_token", &id->agent_token, err, errlen)) ||
        (rc = dup_field(j, "server", &id->server, err, errlen)) ||
        (rc = dup_field(j, "name", &id->name, err, errlen)) ||
        (rc = dup_field(j, "machine_id", &id->machine_id, err, errlen)))
        goto out;
    if (!crypto_token_shape_ok(id->agent_token, "tag_")) {
        snprintf(err, errlen, "identity.json: agent_token is malformed");
        rc = -EINVAL;
    }
out:
    if (text) {
        memset(text, 0, len);
        free(text);
    }
    json_decref(j);
    if (rc)
        identity_free(id);
    return rc;
}

int identity_save(const char *data_dir, const struct identity *id)
{
    char path[PATH_MAX], *text;
    json_t *j;
    int rc;

    if ((rc = identity_path(data_dir, path, sizeof path)))
        return rc;
    j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "agent_id", id->agent_id, "agent_token",
                  id->agent_token, "server", id->server, "name", id->name, "machine_id",
                  id->machine_id);
    text = j ? jsonu_dump(j) : NULL;
    json_decref(j);
    if (!text)
        return -ENOMEM;
    rc = fs_write_atomic(path, text, strlen(text), 0600, true);
    memset(text, 0, strlen(text));
    free(text);
    return rc;
}

/* "k=v,k2=v2" -> object, every key and value checked. */
static json_t *parse_tags(const char *tags, char *err, size_t errlen)
{
    json_t *obj = json_object();
    char *copy = tags ? strdup(tags) : NULL, *rest = copy, *item;

    if (!obj || (tags && !copy))
        goto fail;
    while ((item = strsep(&rest, ",")) != NULL) {
        char *eq;
        if (!*item)
            continue;
        eq = strchr(item, '=');
        if (!eq) {
            snprintf(err, errlen, "tags: expected k=v, got '%.64s'", item);
            goto fail;
        }
        *eq = '\0';
        if (!tag_key_valid(item) || !tag_value_valid(eq + 1)) {
            snprintf(err, errlen, "tags: invalid tag '%.64s'", item);
            goto fail;
        }
        json_object_set_new(obj, item, json_string(eq + 1));
    }
    free(copy);
    return obj;
fail:
    free(copy);
    json_decref(obj);
    return NULL;
}

static json_t *register_body(const struct register_opts *o, const char *name, const char *mid,
                             char *err, size_t errlen)
{
    char host[256] = "", primary[64] = "";
    struct utsname u;
    json_t *tags = parse_tags(o->tags, err, errlen), *body;

    if (!tags)
        return NULL;
    gethostname(host, sizeof host - 1);
    uname(&u);
    if (sysinfo_primary_ip(o->server, primary, sizeof primary) != 0)
        primary[0] = '\0';
    body = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s?, s:s, s:s, s:s, s:o}", "activation_code",
                     o->activation, "name", name, "hostname", host[0] ? host : name,
                     "machine_id", mid, "ips", sysinfo_ips(), "primary_ip",
                     primary[0] ? primary : NULL, "os", "linux", "arch", u.machine, "version",
                     TETHER_VERSION, "tags", tags);
    if (!body)
        snprintf(err, errlen, "cannot build the registration request");
    return body;
}

static int resolve_names(const struct register_opts *o, char *name, size_t nn, char *mid,
                         size_t mn, char *err, size_t errlen)
{
    if (o->name)
        snprintf(name, nn, "%s", o->name);
    else if (gethostname(name, nn - 1) < 0)
        name[0] = '\0';
    if (!name_valid(name)) {
        snprintf(err, errlen, "name '%.64s' is not valid (use --name)", name);
        return -EINVAL;
    }
    if (o->machine_id)
        snprintf(mid, mn, "%s", o->machine_id);
    else if (sysinfo_machine_id(mid, mn) != 0) {
        snprintf(err, errlen, "cannot read /etc/machine-id (use --machine-id)");
        return -EINVAL;
    }
    for (const char *p = mid; *p; p++)
        if (!(( *p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              *p == '.' || *p == '_' || *p == '-'))
            mid[0] = '\0';
    if (!mid[0] || strlen(mid) > 64) {
        snprintf(err, errlen, "machine id is not valid ([A-Za-z0-9._-]{1,64})");
        return -EINVAL;
    }
    return 0;
}

int identity_register(const struct register_opts *o, struct identity *out, char *err,
                      size_t errlen)
{
    char name[256] = "", mid[256] = "";
    struct http_client *hc = NULL;
    struct http_response r = { 0 };
    json_t *body = NULL, *resp = NULL;
    const char *aid = NULL, *tok = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = resolve_names(o, name, sizeof name, mid, sizeof mid, err, errlen)))
        return rc;
    if (!crypto_token_shape_ok(o->activation, "tac_")) {
        snprintf(err, errlen, "activation code is malformed (expected tac_…)");
        return -EINVAL;
    }
    rc = -EINVAL;
    if (!(body = register_body(o, name, mid, err, errlen)))
        goto out;
    hc = http_client_create(o->server, NULL, o->ca_file);
    if (!hc) {
        rc = -ENOMEM;
        goto out;
    }
    if (http_call_json(hc, "POST", "/v1/agent/register", body, &r, &resp) != 0) {
        snprintf(err, errlen, "cannot reach %s: %s", o->server, r.err);
        rc = -EIO;
        goto out;
    }
    if (r.status != 201 && r.status != 200) {
        snprintf(err, errlen, "registration refused (HTTP %ld): %s", r.status, r.err);
        rc = r.status == 401 ? -EACCES : -EPROTO;
        goto out;
    }
    if (!resp || jsonu_str(resp, "agent_id", &aid, err, errlen) != 0 || !id_valid(aid, ID_AGENT) ||
        jsonu_str(resp, "agent_token", &tok, err, errlen) != 0 ||
        !crypto_token_shape_ok(tok, "tag_")) {
        snprintf(err, errlen, "registration: malformed response from the server");
        rc = -EPROTO;
        goto out;
    }
    memcpy(out->agent_id, aid, ID_BUF);
    out->agent_token = strdup(tok);
    out->server = strdup(o->server);
    out->name = strdup(name);
    out->machine_id = strdup(mid);
    if (!out->agent_token || !out->server || !out->name || !out->machine_id) {
        rc = -ENOMEM;
        goto out;
    }
    if (fs_mkdir_p(o->data_dir, 0711) != 0 || (rc = identity_save(o->data_dir, out)) != 0) {
        snprintf(err, errlen, "cannot write %s/identity.json: %s", o->data_dir, strerror(errno));
        rc = rc ? rc : -errno;
        goto out;
    }
    rc = 0;
out:
    if (rc)
        identity_free(out);
    json_decref(body);
    json_decref(resp);
    http_response_free(&r);
    http_client_destroy(hc);
    return rc;
}
