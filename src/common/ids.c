/* Identifier and name allowlist checks; see ids.h. id_new is in ids_new.c: it needs libcrypto,
 * and the task shim, which checks ids but never makes one, must not load it (~3 ms per task). */
#include "common/ids.h"

#include <string.h>

static bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

bool id_valid(const char *s, const char *kind)
{
    if (!s || strlen(s) != ID_LEN || s[3] != '-')
        return false;
    if (kind) {
        if (strncmp(s, kind, 3) != 0)
            return false;
    } else if (strncmp(s, ID_AGENT, 3) && strncmp(s, ID_INVOCATION, 3) && strncmp(s, ID_TASK, 3)) {
        return false;
    }
    for (int i = 4; i < ID_LEN; i++)
        if (!(is_digit(s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

bool name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 63 || !is_alnum(s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(is_alnum(s[i]) || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

bool tag_key_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 63 || !is_alpha(s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(is_alnum(s[i]) || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

bool tag_value_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (!s || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(is_alnum(s[i]) || strchr("_.:/@+-", s[i])))
            return false;
    return true;
}

bool user_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 32 || !(is_alpha(s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++) {
        if (s[i] == '$' && i == n - 1)
            break;
        if (!(is_alnum(s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
            return false;
    }
    return true;
}

bool env_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 128 || !(is_alpha(s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(is_alnum(s[i]) || s[i] == '_'))
            return false;
    return true;
}

bool command_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > COMMAND_NAME_MAX || !is_alnum(s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(is_alnum(s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
            return false;
    return true;
}

bool param_name_valid_n(const char *s, size_t n)
{
    if (n < 1 || n > PARAM_NAME_MAX || !(is_alpha(s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(is_alnum(s[i]) || s[i] == '_'))
            return false;
    return true;
}

bool param_name_valid(const char *s)
{
    return s && param_name_valid_n(s, strlen(s));
}
