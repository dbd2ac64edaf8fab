/*
 * Credentials: "Authorization: Bearer <token>". API keys (tak_) and agent tokens (tag_) are stored
 * as SHA-256 hex only; the shape is checked before hashing so junk never reaches the store.
 */
#include "server/auth.h"

#include "common/crypto.h"
#include "common/log.h"

#include <string.h>

int auth_bearer(const char *header, char *token, size_t len)
{
    const char *p;
    if (!header || strncasecmp(header, "Bearer ", 7))
        return -1;
    p = header + 7;
    while (*p == ' ')
        p++;
    if (strlen(p) >= len)
        return -1;
    snprintf(token, len, "%s", p);
    return 0;
}

int auth_api_key(struct store *st, const char *token, char who[64], char tenant[64],
                 enum role *role)
{
    char hash[65];
    if (!crypto_token_shape_ok(token, "tak_"))
        return -1;
    crypto_sha256_hex(token, strlen(token), hash);
    if (store_apikey_find(st, hash, who, tenant, role))
        return -1;
    return 0;
}

int auth_agent_token(struct store *st, const char *token, struct st_agent *agent)
{
    char hash[65];
    if (!crypto_token_shape_ok(token, "tag_"))
        return -1;
    crypto_sha256_hex(token, strlen(token), hash);
    return store_agent_by_token(st, hash, agent) ? -1 : 0;
}

bool auth_role_allows(enum cred_need need, enum role role)
{
    switch (need) {
    case CRED_NONE: return true;
    case CRED_VIEWER: return role >= ROLE_VIEWER;
    case CRED_OPERATOR: return role >= ROLE_OPERATOR;
    case CRED_ADMIN: return role >= ROLE_ADMIN;
    default: return false;
    }
}
