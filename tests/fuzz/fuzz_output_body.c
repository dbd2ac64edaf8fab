/* The fast scanner of POST /v1/agent/tasks/{id}/output bodies: whatever it accepts, jansson must
 * read the same way (so the fast path never accepts what the slow path would refuse). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "server/output_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct output_body ob;
    char err[128];
    if (output_body_fast((const char *)data, size, &ob) != 0)
        return 0;
    if (ob.stream < (const char *)data || ob.stream + ob.stream_len > (const char *)data + size ||
        ob.data < (const char *)data || ob.data + ob.data_len > (const char *)data + size)
        abort();
    json_t *v = jsonu_parse((const char *)data, size, size + 1, err, sizeof err);
    if (!v)
        abort();   /* accepted by the fast path, refused by the full parser */
    json_t *seq = json_object_get(v, "seq"), *st = json_object_get(v, "stream"),
           *d = json_object_get(v, "data");
    if (!json_is_integer(seq) || json_integer_value(seq) != ob.seq || !json_is_string(st) ||
        json_string_length(st) != ob.stream_len ||
        memcmp(json_string_value(st), ob.stream, ob.stream_len) || !json_is_string(d) ||
        json_string_length(d) != ob.data_len || memcmp(json_string_value(d), ob.data, ob.data_len))
        abort();
    json_decref(v);
    return 0;
}
