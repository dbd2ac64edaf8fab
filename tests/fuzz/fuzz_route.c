/* The route matcher over the real route table: a match must copy params that fit and contain no
 * '/', and method/path-known answers must be consistent. The same path goes through the web
 * console's name rules: an accepted name never climbs out of the root or names a dotfile. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/console_path.h"
#include "server/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[1024], params[ROUTE_MAX_PARAMS][ROUTE_PARAM_MAX];
    bool known;
    if (size < 1)
        return 0;
    size_t n = size - 1 < sizeof path - 1 ? size - 1 : sizeof path - 1;
    memcpy(path, data + 1, n);
    path[n] = '\0';
    enum http_method m = (enum http_method)(data[0] % 7);
    memset(params, 0, sizeof params);
    const struct route *rt = route_find(route_table, m, path, params, &known);
    if (rt) {
        if (!known || rt->method != m || !rt->handler)
            abort();
        for (int i = 0; i < ROUTE_MAX_PARAMS; i++)
            if (strchr(params[i], '/') || strlen(params[i]) >= ROUTE_PARAM_MAX)
                abort();
    }
    route_for_upgrade(path);

    char rel[CONSOLE_NAME_MAX];
    const char *ctype = NULL;
    if (console_path_resolve(path, rel, sizeof rel, &ctype) == 0) {
        if (!ctype || rel[0] == '/' || rel[0] == '.' || strstr(rel, "/.") || strstr(rel, "//") ||
            strlen(rel) >= CONSOLE_NAME_MAX)
            abort();
    }
    console_etag_matches(path, "\"1-2-3\"");
    return 0;
}
