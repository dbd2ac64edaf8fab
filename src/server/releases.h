/* Releases and artifacts (issue 6): helpers shared by releases.c, artifacts.c and agents.c. */
#ifndef TETHER_SERVER_RELEASES_H
#define TETHER_SERVER_RELEASES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "server/store/store.h"

struct server;

#define ARTIFACT_MAX_BODY (128LL << 20)

/* Size of DATA/artifacts/<sha256>, or -1 when absent (or sha256 is not a hex digest). */
int64_t artifact_size(struct server *srv, const char *sha256);
struct req;
struct artifact_io;
/* POST /v1/artifacts streams its body into a temporary file under DATA/artifacts/ while hashing
 * it: begin after authentication (0 or -errno), write each chunk (0 or -1 once it failed). */
int artifact_upload_begin(struct req *r);
int artifact_upload_write(struct req *r, const void *data, size_t len);
/* Closes (and for an unfinished upload, removes) the file. NULL is fine. */
void artifact_io_free(struct artifact_io *io);
/* A download being written: bytes left, and the next at most n of them into buf (-1 on error). */
int64_t artifact_download_left(const struct artifact_io *io);
ssize_t artifact_download_read(struct artifact_io *io, void *buf, size_t n);

/* True when agent_id is in rel's rollout bucket or was pushed the release. */
bool release_targets_agent(const struct st_release *rel, const char *agent_id);
/* Adds "update_state" (and "update_target") of agent_id to the agent object o. */
void releases_decorate_agent(struct server *srv, const char *tenant, const char *agent_id,
                             json_t *o);

#endif
