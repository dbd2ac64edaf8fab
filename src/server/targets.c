/* Target resolution and CIDR matching; see targets.h. */
#include "server/targets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cidr_parse(const char *s, struct cidr *out)
{
    char addr[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    int max;

    if (alen == 0 || alen >= sizeof addr)
        return -EINVAL;
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, addr, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        return -EINVAL;
    }
    out->prefix = max;
    if (slash) {
        char *end;
        const char *p = slash + 1;
        if (*p < '0' || *p > '9' || strlen(p) > 3)
            return -EINVAL;
        long v = strtol(p, &end, 10);
        if (*end || v < 0 || v > max)
            return -EINVAL;
        out->prefix = (int)v;
    }
    return 0;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
    int bytes = bits / 8, rem = bits % 8;
    if (memcmp(a, b, (size_t)bytes))
        return false;
    if (rem) {
        unsigned char mask = (unsigned char)(0xff << (8 - rem));
        if ((a[bytes] & mask) != (b[bytes] & mask))
            return false;
    }
    return true;
}

bool cidr_match(const struct cidr *c, const char *ip)
{
    unsigned char a[16];
    if (!ip)
        return false;
    if (inet_pton(AF_INET, ip, a) == 1)
        return c->family == AF_INET && prefix_equal(a, c->addr, c->prefix);
    if (inet_pton(AF_INET6, ip, a) != 1)
        return false;
    if (c->family == AF_INET6)
        return prefix_equal(a, c->addr, c->prefix);
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    return !memcmp(a, mapped, 12) && prefix_equal(a + 12, c->addr, c->prefix);
}

static bool agent_is(const struct target_agent *a, const char *ref)
{
    return !strcmp(a->agent_id, ref) || !strcmp(a->name, ref);
}

static bool tags_match(const struct target_agent *a, json_t *want)
{
    const char *k;
    json_t *v;
    json_object_foreach(want, k, v) {
        json_t *have = json_object_get(a->tags, k);
        if (!have || !json_is_string(have) || strcmp(json_string_value(have), json_string_value(v)))
            return false;
    }
    return true;
}

static bool ips_match(const struct target_agent *a, const struct cidr *c)
{
    size_t i;
    json_t *ip;
    if (a->primary_ip && cidr_match(c, a->primary_ip))
        return true;
    json_array_foreach(a->ips, i, ip)
        if (json_is_string(ip) && cidr_match(c, json_string_value(ip)))
            return true;
    return false;
}

bool targets_agent_match(const struct target_agent *a, json_t *tags, const struct cidr *net)
{
    return (!tags || tags_match(a, tags)) && (!net || ips_match(a, net));
}

/* Marks the agents named in list. strict: an unknown reference is an error naming it (an unknown
 * name in `exclude` excludes nothing and is not an error). */
static int mark_refs(json_t *list, const struct target_agent *agents, size_t n, bool *mark,
                     bool strict, const char *field, char *err, size_t errlen)
{
    size_t i;
    json_t *ref;
    json_array_foreach(list, i, ref) {
        bool found = false;
        for (size_t j = 0; j < n; j++) {
            if (agent_is(&agents[j], json_string_value(ref))) {
                mark[j] = true;
                found = true;
            }
        }
        if (!found && strict) {
            snprintf(err, errlen, "%s: unknown agent '%.64s'", field, json_string_value(ref));
            return -EINVAL;
        }
    }
    return 0;
}

int targets_resolve(const struct target_spec *spec, const struct target_agent *agents, size_t n,
                    bool *selected, char *err, size_t errlen)
{
    struct cidr net;
    bool *excluded = calloc(n ? n : 1, sizeof *excluded);
    bool base_given = spec->all || (spec->agents && json_array_size(spec->agents));
    bool any = false;
    int rc = -EINVAL;

    if (!excluded) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (spec->cidr && cidr_parse(spec->cidr, &net)) {
        snprintf(err, errlen, "targets.cidr: not an IPv4 or IPv6 network");
        goto out;
    }
    if (!base_given && !spec->tags && !spec->cidr) {
        snprintf(err, errlen, "targets: give agents, tags, cidr or all");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        selected[i] = spec->all || !base_given;
    if (spec->agents && mark_refs(spec->agents, agents, n, selected, true, "targets.agents", err, errlen))
        goto out;
    if (spec->exclude && mark_refs(spec->exclude, agents, n, excluded, false,
                                   "targets.exclude", err,
                                   errlen))
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (selected[i] && !targets_agent_match(&agents[i], spec->tags, spec->cidr ? &net : NULL))
            selected[i] = false;
        if (excluded[i])
            selected[i] = false;
        if (selected[i] && spec->exclude_tags && json_object_size(spec->exclude_tags) &&
            tags_match(&agents[i], spec->exclude_tags))
            selected[i] = false;
        any |= selected[i];
    }
    if (!any) {
        snprintf(err, errlen, "targets: no agent matches");
        goto out;
    }
    rc = 0;
out:
    free(excluded);
    return rc;
}
