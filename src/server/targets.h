/*
 * Target resolution for invocations (docs/api.md): the union of named agents and `all`, narrowed
 * by tags (all must match) and a CIDR over any of the agent's IPs, minus `exclude` and minus the
 * agents matching every tag of `exclude_tags`. Pure: the
 * caller loads the agents; tests call it directly.
 */
#ifndef TETHER_SERVER_TARGETS_H
#define TETHER_SERVER_TARGETS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct cidr {
    int family;               /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int prefix;
};

/* "10.0.0.0/8", "fd00::/64", or a bare address (a host route). 0 or -EINVAL. */
int cidr_parse(const char *s, struct cidr *out);
/* True when ip (text) is inside c. IPv4-mapped IPv6 addresses match IPv4 ranges. */
bool cidr_match(const struct cidr *c, const char *ip);

struct target_agent {
    const char *agent_id;
    const char *name;
    json_t *tags;             /* object */
    json_t *ips;              /* array of strings */
    const char *primary_ip;
};

struct target_spec {
    json_t *agents;           /* array of names or ids, or NULL */
    json_t *tags;             /* object, or NULL */
    const char *cidr;         /* or NULL */
    bool all;
    json_t *exclude;          /* array, or NULL */
    json_t *exclude_tags;     /* object, or NULL: agents carrying all of these are left out */
};

/* True when a carries every tag in tags (an object; NULL: no condition) and, when net is not
 * NULL, has an address inside it. The one predicate behind targets_resolve and the agent listing
 * filters (GET /v1/agents?tag=&cidr=). */
bool targets_agent_match(const struct target_agent *a, json_t *tags, const struct cidr *net);

/* Sets selected[i] for every chosen agent. 0, or -EINVAL with err naming the field. */
int targets_resolve(const struct target_spec *spec, const struct target_agent *agents, size_t n,
                    bool *selected, char *err, size_t errlen);

#endif
