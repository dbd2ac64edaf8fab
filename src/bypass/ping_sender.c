/*
 * ping_sender: POST /v1/agent/heartbeat every heartbeat_interval (±10 % jitter) with version,
 * uptime, running tasks, load, memory, addresses and the self-update state; the server may move the interval with
 * next_interval. (WebSocket pings are lws's job: see the retry policy in ws_client.c.)
 */
#include "bypass/bypass.h"
#include "bypass/running_tasks.h"
#include "main/sysinfo.h"
#include "main/update.h"
#include "common/http.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/tm.h"

static json_t *heartbeat_body(struct agent *a)
{
    char primary[64] = "", ustate[128], utarget[32];
    double load1;
    int64_t total, avail;
    json_t *body;

    sysinfo_load_mem(&load1, &total, &avail);
    if (sysinfo_primary_ip(a->ident.server, primary, sizeof primary) != 0)
        primary[0] = '\0';
    body = json_pack("{s:s, s:I, s:i, s:f, s:I, s:I, s:o, s:s?}", "version", TETHER_VERSION,
                     "uptime_s", (json_int_t)((tm_mono_ms() - a->start_mono) / 1000), "running",
                     running_tasks_count(a->rt), "load1", load1, "mem_total", (json_int_t)total,
                     "mem_available", (json_int_t)avail, "ips", sysinfo_ips(), "primary_ip",
                     primary[0] ? primary : NULL);
    update_state_get(a, ustate, utarget);
    if (body && ustate[0]) {
        json_object_set_new(body, "update_state", json_string(ustate));
        json_object_set_new(body, "update_target", json_string(utarget));
    }
    return body;
}

void *ping_sender_main(void *arg)
{
    struct agent *a = arg;
    struct http_client *hc = http_client_create(a->ident.server, a->ident.agent_token,
                                                a->cfg.ca_file);
    int64_t interval = a->cfg.heartbeat_interval;
    bool warned = false;

    if (!hc)
        return NULL;
    http_client_set_timeout(hc, 15000);
    while (!atomic_load(&a->stopping)) {
        struct http_response r = { 0 };
        json_t *body = heartbeat_body(a), *resp = NULL;
        int64_t next = 0;
        char err[128];

        if (body && http_call_json(hc, "POST", "/v1/agent/heartbeat", body, &r, &resp) == 0 &&
            r.status == 200) {
            if (resp && jsonu_int(resp, "next_interval", 1, 3600, &next, err, sizeof err) == 0)
                interval = next;
            atomic_fetch_add(&a->heartbeats_ok, 1); /* the health of a fresh update */
            warned = false;
        } else if (!warned) {
            log_warn("heartbeat failed: %s", r.status ? r.err : r.err[0] ? r.err : "no response");
            warned = true;
        }
        json_decref(body);
        json_decref(resp);
        http_response_free(&r);
        waiter_wait(&a->heartbeat, bypass_jitter(interval * 900, interval * 1100));
    }
    http_client_destroy(hc);
    return NULL;
}
