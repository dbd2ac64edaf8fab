/* Bearer-token authentication for API keys and agent tokens (auth.c). */
#ifndef TETHER_SERVER_AUTH_H
#define TETHER_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "server/routes.h"
#include "server/store/store.h"

/* Extracts the token of a "Bearer x" header into token (len bytes). 0 or -1. */
int auth_bearer(const char *header, char *token, size_t len);
/* 0 when token is a live API key: who/tenant/role filled. -1 otherwise. */
int auth_api_key(struct store *st, const char *token, char who[64], char tenant[64],
                 enum role *role);
/* 0 when token belongs to a live agent (agent filled; caller frees with st_agent_free). */
int auth_agent_token(struct store *st, const char *token, struct st_agent *agent);
bool auth_role_allows(enum cred_need need, enum role role);

#endif
