/* Query parameters of the operator listings; see list_query.h. */
#include "server/list_query.h"

#include "common/ids.h"
#include "common/since.h"
#include "common/tm.h"
#include "server/server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int req_query_nth(struct req *r, const char *name, int nth, char *buf, size_t len)
{
    int total = lws_hdr_total_length(r->wsi, WSI_TOKEN_HTTP_URI_ARGS), got, seen = 0, rc = 0;
    size_t nl = strlen(name);
    char *frag;

    if (total <= 0)
        return 0;
    frag = malloc((size_t)total + 1);
    if (!frag)
        return -ENOMEM;
    /* lws keeps each argument URL-decoded as one "name=value" fragment */
    for (int i = 0; (got = lws_hdr_copy_fragment(r->wsi, frag, total + 1,
                                                  WSI_TOKEN_HTTP_URI_ARGS, i)) >= 0; i++) {
        if ((size_t)got <= nl || strncmp(frag, name, nl) || frag[nl] != '=')
            continue;
        if (seen++ < nth)
            continue;
        if (memchr(frag, '\0', (size_t)got))
            rc = -EINVAL;
        else if ((size_t)got - nl - 1 >= len)
            rc = -E2BIG;
        else {
            memcpy(buf, frag + nl + 1, (size_t)got - nl);
            rc = 1;
        }
        break;
    }
    free(frag);
    return rc;
}

/* The value of a single-valued parameter; 400 for one too long or holding NUL. */
static int one_arg(struct req *r, const char *name, char *buf, size_t len, const char *what)
{
    int rc = req_query_nth(r, name, 0, buf, len);
    if (rc < 0) {
        resp_error(r, 400, "bad_request", "%s: %s", name,
                   rc == -E2BIG ? what : "must not hold a NUL byte");
        return -EINVAL;
    }
    return rc;
}

int inv_list_query_parse(struct req *r, struct inv_list_query *q)
{
    char arg[SINCE_MAX_TEXT + 2];
    int rc;

    memset(q, 0, sizeof *q);
    q->f.limit = 50;
    if ((rc = one_arg(r, "limit", arg, sizeof arg, "must be between 1 and 1000")) < 0)
        return rc;
    if (rc) {
        char *end;
        long v = strtol(arg, &end, 10);
        if (end == arg || *end || v < 1 || v > 1000) {
            resp_error(r, 400, "bad_request", "limit: must be between 1 and 1000");
            return -EINVAL;
        }
        q->f.limit = v;
    }
    if ((rc = one_arg(r, "status", q->status, sizeof q->status, "unknown status")) < 0)
        return rc;
    if (rc) {
        if (!store_inv_status_filter_valid(q->status)) {
            resp_error(r, 400, "bad_request", "status: must be pending, running, succeeded, "
                       "failed, cancelled or done");
            return -EINVAL;
        }
        q->f.status = q->status;
    }
    if ((rc = one_arg(r, "since", arg, sizeof arg, "must be a duration (1h) or an RFC 3339 "
                      "time")) < 0)
        return rc;
    if (rc && since_parse(arg, tm_now_ms(), &q->f.since_ms) != 0) {
        resp_error(r, 400, "bad_request", "since: must be a duration like 90s, 15m, 1h, 7d "
                   "(up to 3650d) or an RFC 3339 UTC time like 2026-11-01T00:00:00Z");
        return -EINVAL;
    }
    if ((rc = one_arg(r, "command", q->command, sizeof q->command, "at most 1024 bytes")) < 0)
        return rc;
    if (rc) {
        if (!q->command[0]) {
            resp_error(r, 400, "bad_request", "command: must not be empty");
            return -EINVAL;
        }
        q->f.command = q->command;
    }
    return 0;
}

void agent_filter_init(struct agent_filter *f)
{
    memset(f, 0, sizeof *f);
    f->online = -1;
}

void agent_filter_free(struct agent_filter *f)
{
    json_decref(f->tags);
    f->tags = NULL;
}

int agent_filter_add_tag(struct agent_filter *f, const char *kv, char *err, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    char key[64];
    json_t *have;

    if (!eq || (size_t)(eq - kv) >= sizeof key)
        goto bad;
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = '\0';
    if (!tag_key_valid(key) || !tag_value_valid(eq + 1))
        goto bad;
    if (!f->tags && !(f->tags = json_object()))
        goto nomem;
    if (json_object_size(f->tags) >= 32) {
        snprintf(err, errlen, "tag: at most 32 tags");
        return -EINVAL;
    }
    have = json_object_get(f->tags, key);
    if (have) {
        /* asking env=a and env=b of one agent: nothing can match both */
        if (strcmp(json_string_value(have), eq + 1))
            f->contradictory = true;
        return 0;
    }
    if (json_object_set_new(f->tags, key, json_string(eq + 1)))
        goto nomem;
    return 0;
bad:
    snprintf(err, errlen, "tag: '%.80s' is not k=v (key [A-Za-z][A-Za-z0-9_.-]*, value "
             "[A-Za-z0-9_.:/@+-]*)", kv);
    return -EINVAL;
nomem:
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
}

int agent_filter_set_cidr(struct agent_filter *f, const char *net, char *err, size_t errlen)
{
    if (cidr_parse(net, &f->net) != 0) {
        snprintf(err, errlen, "cidr: '%.64s' is not an IPv4 or IPv6 network (10.0.0.0/8)", net);
        return -EINVAL;
    }
    f->has_cidr = true;
    return 0;
}

int agent_filter_set_version(struct agent_filter *f, const char *v, char *err, size_t errlen)
{
    size_t n = strlen(v);

    f->version_prefix = n > 0 && v[n - 1] == '*';
    if (f->version_prefix)
        n--;
    if (n == 0 || n >= sizeof f->version)
        goto bad;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '+' || c == '-'))
            goto bad;
    }
    memcpy(f->version, v, n);
    f->version[n] = '\0';
    return 0;
bad:
    snprintf(err, errlen, "version: '%.64s' is not a version (1.2.3) or a version prefix "
             "(1.2*)", v);
    return -EINVAL;
}

int agent_filter_set_status(struct agent_filter *f, const char *s, char *err, size_t errlen)
{
    if (strcmp(s, "online") && strcmp(s, "offline")) {
        snprintf(err, errlen, "status: must be online or offline");
        return -EINVAL;
    }
    f->online = !strcmp(s, "online");
    return 0;
}

int agent_filter_parse(struct req *r, struct agent_filter *f)
{
    char arg[256], err[256];
    int rc;

    if ((rc = one_arg(r, "status", arg, sizeof arg, "must be online or offline")) < 0)
        return rc;
    if (rc && agent_filter_set_status(f, arg, err, sizeof err))
        goto bad;
    for (int i = 0; (rc = req_query_nth(r, "tag", i, arg, sizeof arg)) != 0; i++) {
        if (rc < 0) {
            snprintf(err, sizeof err, "tag: too long or holds a NUL byte");
            goto bad;
        }
        if (agent_filter_add_tag(f, arg, err, sizeof err))
            goto bad;
    }
    if ((rc = one_arg(r, "cidr", arg, sizeof arg, "not an IPv4 or IPv6 network")) < 0)
        return rc;
    if (rc && agent_filter_set_cidr(f, arg, err, sizeof err))
        goto bad;
    if ((rc = one_arg(r, "version", arg, sizeof arg, "too long")) < 0)
        return rc;
    if (rc && agent_filter_set_version(f, arg, err, sizeof err))
        goto bad;
    return 0;
bad:
    resp_error(r, 400, "bad_request", "%s", err);
    return -EINVAL;
}

static bool version_match(const struct agent_filter *f, const char *version)
{
    if (!f->version[0])
        return true;
    if (f->version_prefix)
        return !strncmp(version, f->version, strlen(f->version));
    return !strcmp(version, f->version);
}

bool agent_filter_match(const struct agent_filter *f, const struct st_agent *a, bool online)
{
    struct target_agent view = { a->agent_id, a->name, NULL, NULL, a->primary_ip };
    bool ok;

    if (f->contradictory || (f->online >= 0 && online != (f->online == 1)) ||
        !version_match(f, a->version))
        return false;
    if (!f->tags && !f->has_cidr)
        return true;
    view.tags = json_loads(a->tags ? a->tags : "{}", 0, NULL);
    view.ips = json_loads(a->ips ? a->ips : "[]", 0, NULL);
    ok = view.tags && view.ips &&
         targets_agent_match(&view, f->tags, f->has_cidr ? &f->net : NULL);
    json_decref(view.tags);
    json_decref(view.ips);
    return ok;
}
