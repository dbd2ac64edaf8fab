/* DATA/identity.json: who this agent is to its server (0600, written atomically). */
#ifndef TETHER_AGENT_IDENTITY_H
#define TETHER_AGENT_IDENTITY_H

#include <stddef.h>

#include "common/ids.h"

struct identity {
    char agent_id[ID_BUF];
    char *agent_token; /* secret: never logged */
    char *server;
    char *name;
    char *machine_id;
};

/* Returns 0, -ENOENT when not registered, or -errno/-EINVAL (err says why). */
int identity_load(const char *data_dir, struct identity *id, char *err, size_t errlen);
int identity_save(const char *data_dir, const struct identity *id);
void identity_free(struct identity *id);

struct register_opts {
    const char *server;
    const char *activation;
    const char *data_dir;
    const char *tags;       /* "k=v,k2=v2" or NULL */
    const char *name;       /* NULL: host name */
    const char *machine_id; /* NULL: /etc/machine-id */
    const char *ca_file;
};

/* POST /v1/agent/register and save the identity. Returns 0 or -errno with err filled. */
int identity_register(const struct register_opts *o, struct identity *out, char *err,
                      size_t errlen);

#endif
