/*
 * Query parameters of the operator listings: GET /v1/invocations (status, since, command, limit)
 * and GET /v1/agents (status, tag repeatable, cidr, version). Parsing answers 400 naming the
 * parameter itself; matching an agent reuses the target-selection predicate of targets.c, so a
 * listing filter and an invocation's targets select the same agents.
 */
#ifndef TETHER_SERVER_LIST_QUERY_H
#define TETHER_SERVER_LIST_QUERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "server/store/store.h"
#include "server/targets.h"

struct req;

#define QUERY_COMMAND_MAX 1024   /* bytes of a command filter */

/* The nth (0-based) value of query parameter name, URL-decoded, copied into buf. Returns 1 when
 * present, 0 when absent, -E2BIG when it does not fit len, -EINVAL when it holds a NUL byte. */
int req_query_nth(struct req *r, const char *name, int nth, char *buf, size_t len);

struct inv_list_query {
    struct st_inv_filter f;       /* points into the buffers below */
    char status[16];
    char command[QUERY_COMMAND_MAX + 1];
};

/* Reads ?status=&since=&command=&limit= (limit 1…1000, default 50). Returns 0, or -EINVAL after
 * answering 400 naming the parameter. */
int inv_list_query_parse(struct req *r, struct inv_list_query *q);

struct agent_filter {
    int online;                   /* -1: any; 0: offline only; 1: online only */
    json_t *tags;                 /* every k=v must match; NULL: no condition */
    bool contradictory;           /* the same tag key asked with two values: nothing matches */
    bool has_cidr;
    struct cidr net;
    char version[64];             /* "" : any */
    bool version_prefix;          /* given as "V*": versions starting with V */
};

void agent_filter_init(struct agent_filter *f);
void agent_filter_free(struct agent_filter *f);
/* Each returns 0, or -EINVAL with err naming the parameter and saying what is accepted. */
int agent_filter_add_tag(struct agent_filter *f, const char *kv, char *err, size_t errlen);
int agent_filter_set_cidr(struct agent_filter *f, const char *net, char *err, size_t errlen);
int agent_filter_set_version(struct agent_filter *f, const char *v, char *err, size_t errlen);
int agent_filter_set_status(struct agent_filter *f, const char *s, char *err, size_t errlen);
/* Reads ?status=&tag=&cidr=&version= of r. 0, or -EINVAL after answering 400. */
int agent_filter_parse(struct req *r, struct agent_filter *f);
/* Whether agent a (online as the caller decided) passes every filter. */
bool agent_filter_match(const struct agent_filter *f, const struct st_agent *a, bool online);

#endif
