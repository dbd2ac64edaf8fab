/* "Since when" for listings; see since.h. */
#include "common/since.h"

#include <errno.h>
#include <string.h>

#include "common/tm.h"

int since_parse(const char *s, int64_t now_ms, int64_t *since_ms)
{
    int64_t secs, ms;

    /* both forms start with a digit (strtoll would also skip blanks and take a sign) */
    if (!s || *s < '0' || *s > '9' || strlen(s) > SINCE_MAX_TEXT)
        return -EINVAL;
    /* an RFC 3339 time starts with a four-digit year and a dash; a duration never has a dash */
    if (strchr(s, '-')) {
        if (tm_parse_rfc3339(s, &ms) != 0 || ms < 0)
            return -EINVAL;
        *since_ms = ms;
        return 0;
    }
    if (tm_parse_duration(s, &secs) != 0 || secs < 1 || secs > SINCE_MAX_AGE_S)
        return -EINVAL;
    *since_ms = now_ms - secs * 1000;
    return 0;
}
