/* Id, name, tag, user and env-name allowlists, and the TLS SAN builder: whatever passes must be
 * free of path and separator characters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "server/tls_cert.h"

/* Safe as one path component: no separator, not "." or "..", no line breaks or commas. */
static void no_path_chars(const char *s)
{
    if (strchr(s, '/') || !strcmp(s, ".") || !strcmp(s, "..") || strchr(s, '\n') ||
        strchr(s, ','))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[512], san[4096], err[256];
    size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
    memcpy(s, data, n);
    s[n] = '\0';
    if (id_valid(s, NULL)) {
        no_path_chars(s);
        if (strlen(s) != ID_LEN)
            abort();
    }
    if (name_valid(s)) {
        no_path_chars(s);
        if (s[0] == '.' || s[0] == '-')
            abort();
    }
    if (user_name_valid(s))
        no_path_chars(s);
    if (tag_key_valid(s))
        no_path_chars(s);
    tag_value_valid(s);
    env_name_valid(s);
    /* Several hosts separated by NULs in the input. */
    const char *hosts[TLS_HOSTS_MAX];
    size_t nh = 0;
    for (char *p = s; nh < TLS_HOSTS_MAX && p <= s + n; p += strlen(p) + 1)
        hosts[nh++] = p;
    if (tls_san_build(hosts, nh, san, sizeof san, err, sizeof err) == 0 &&
        (strchr(san, '\n') || strchr(san, ' ')))
        abort();
    return 0;
}
