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

/* Agents by id and by name, for the lists of an invocation's targets: a nested loop over 10 000
 * names and 10 000 agents was 10^8 strcmp in one POST (bench/swarm). Chained hash with two entries
 * per agent: entry e is agent e / 2, keyed by its id (e even) or its name (e odd). */
struct ref_index {
    const struct target_agent *agents;
    size_t nbuckets;
    size_t *head;             /* entry + 1, 0 = empty */
    size_t *next;
};

static size_t ref_hash(const char *s)
{
    size_t h = 14695981039346656037u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static const char *ref_key(const struct ref_index *x, size_t e)
{
    const struct target_agent *a = &x->agents[e / 2];
    return e % 2 ? a->name : a->agent_id;
}

static int ref_index_build(struct ref_index *x, const struct target_agent *agents, size_t n)
{
    x->agents = agents;
    x->nbuckets = 2 * n + 1;
    x->head = calloc(x->nbuckets, sizeof *x->head);
    x->next = calloc(2 * n + 1, sizeof *x->next);
    if (!x->head || !x->next)
        return -ENOMEM;
    for (size_t e = 0; e < 2 * n; e++) {
        const char *key = ref_key(x, e);
        size_t b;
        if (!key)
            continue;
        b = ref_hash(key) % x->nbuckets;
        x->next[e] = x->head[b];
        x->head[b] = e + 1;
    }
    return 0;
}

static void ref_index_free(struct ref_index *x)
{
    free(x->head);
    free(x->next);
}

/* Marks the agents named in list (by id or name; every agent that matches). strict: an unknown
 * reference is an error naming it (an unknown name in `exclude` excludes nothing and is not an
 * error). */
static int mark_refs(json_t *list, const struct ref_index *x, bool *mark, bool strict,
                     const char *field, char *err, size_t errlen)
{
    size_t i;
    json_t *ref;
    json_array_foreach(list, i, ref) {
        const char *want = json_string_value(ref);
        bool found = false;
        for (size_t e = want ? x->head[ref_hash(want) % x->nbuckets] : 0; e; e = x->next[e - 1]) {
            if (!strcmp(ref_key(x, e - 1), want)) {
                mark[(e - 1) / 2] = true;
                found = true;
            }
        }
        if (!found && strict) {
            snprintf(err, errlen, "%s: unknown agent '%.64s'", field, want ? want : "");
            return -EINVAL;
        }
    }
    return 0;
}

int targets_resolve(const struct target_spec *spec, const struct target_agent *agents, size_t n,
                    bool *selected, char *err, size_t errlen)
{
    struct cidr net;
    struct ref_index idx = { 0 };
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
    if ((spec->agents || spec->exclude) && ref_index_build(&idx, agents, n)) {
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
        goto out;
    }
    if (spec->agents && mark_refs(spec->agents, &idx, selected, true, "targets.agents", err, errlen))
        goto out;
    if (spec->exclude && mark_refs(spec->exclude, &idx, excluded, false, "targets.exclude", err,
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
    ref_index_free(&idx);
    free(excluded);
    return rc;
}
