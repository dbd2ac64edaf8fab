/* GET /healthz: 200 when the store answers (SELECT 1), else 503. No credentials. */
#include "server/server.h"

void h_healthz(struct req *r)
{
    if (store_ping(r->srv->st)) {
        resp_error(r, 503, "unavailable", "store does not answer");
        return;
    }
    resp_json(r, 200, json_pack("{s:s}", "status", "ok"));
}
