/* jsonu_parse (duplicate keys, depth limit) and the POST /v1/invocations body validator. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "server/invocation_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    json_t *v = jsonu_parse((const char *)data, size, 1 << 20, err, sizeof err);
    if (!v)
        return 0;
    if (json_is_object(v)) {
        struct inv_request req;
        /* As the server does: free whatever the parse returned. */
        memset(&req, 0, sizeof req);
        inv_request_parse(v, &req, err, sizeof err);
        inv_request_free(&req);
    }
    char *text = jsonu_dump(v);
    free(text);
    json_decref(v);
    return 0;
}
