/* Issue 5 pure pieces: the failed-auth limiter, the TLS SAN builder and the route table walk
 * (every route declares a credential; only the health check and registration are open). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/ratelimit.h"
#include "server/routes.h"
#include "server/tls_cert.h"

static void test_bucket(void **state)
{
    struct ratelimit *rl = calloc(1, sizeof *rl);
    int64_t retry = 0, t = 1000000;
    (void)state;
    rl_init(rl, 3, 60);   /* 3 failures, then one a second */
    assert_false(rl_blocked(rl, "10.0.0.1", t, NULL));
    for (int i = 0; i < 3; i++)
        rl_fail(rl, "10.0.0.1", t);
    assert_true(rl_blocked(rl, "10.0.0.1", t, &retry));
    assert_int_equal(retry, 1);
    /* Other addresses are unaffected. */
    assert_false(rl_blocked(rl, "10.0.0.2", t, NULL));
    /* A token comes back after a second. */
    assert_false(rl_blocked(rl, "10.0.0.1", t + 1000, NULL));
    rl_fail(rl, "10.0.0.1", t + 1000);
    assert_true(rl_blocked(rl, "10.0.0.1", t + 1000, NULL));
    /* A long flood is capped: the debt never exceeds one burst. */
    for (int i = 0; i < 10000; i++)
        rl_fail(rl, "10.0.0.1", t + 1000);
    assert_true(rl_blocked(rl, "10.0.0.1", t + 1000, &retry));
    assert_in_range(retry, 1, 7);
    assert_false(rl_blocked(rl, "10.0.0.1", t + 1000 + 7000, NULL));
    free(rl);
}

static void test_bucket_table_full(void **state)
{
    struct ratelimit *rl = calloc(1, sizeof *rl);
    char addr[32];
    (void)state;
    rl_init(rl, 1, 1);
    /* Far more addresses than slots: memory stays fixed and nothing crashes. */
    for (int i = 0; i < RL_SLOTS * 4; i++) {
        snprintf(addr, sizeof addr, "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
        rl_fail(rl, addr, 5000);
    }
    assert_true(rl_blocked(rl, addr, 5000, NULL));
    free(rl);
}

static void test_san(void **state)
{
    const char *ok[] = { "localhost", "127.0.0.1", "::1", "tether.example.com", "*.fleet.io" };
    const char *bad[] = { "a,DNS:evil", "a b", "x:y", "-lead", "trail-", "a..b", "", "a/b",
                          "email:x@y", "\n" };
    char out[512], err[128];
    (void)state;
    assert_int_equal(tls_san_build(ok, 5, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "DNS:localhost,IP:127.0.0.1,IP:::1,DNS:tether.example.com,"
                             "DNS:*.fleet.io");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *one[] = { bad[i] };
        assert_int_equal(tls_san_build(one, 1, out, sizeof out, err, sizeof err), -EINVAL);
    }
    assert_int_equal(tls_san_build(ok, 0, out, sizeof out, err, sizeof err), -EINVAL);
    assert_int_equal(tls_san_build(ok, 5, out, 20, err, sizeof err), -ENOSPC);
}

static void test_route_walk(void **state)
{
    int open = 0, n = 0;
    (void)state;
    for (const struct route *rt = route_table; rt->pattern; rt++, n++) {
        assert_non_null(rt->handler);
        assert_true(rt->method != M_OTHER);
        if (rt->need == CRED_NONE) {
            /* The only open doors: the health check and registration (activation code). */
            assert_true(!strcmp(rt->pattern, "/healthz") ||
                        !strcmp(rt->pattern, "/v1/agent/register"));
            open++;
        }
        /* Agent routes take agent tokens, everything else API keys. */
        if (!strncmp(rt->pattern, "/v1/agent/", 10) && rt->need != CRED_NONE)
            assert_int_equal(rt->need, CRED_AGENT);
        /* ... except the release download, which DESIGN §4 puts at /v1/artifacts/{sha256}. */
        if (!strcmp(rt->pattern, "/v1/artifacts/{sha256}"))
            assert_int_equal(rt->need, CRED_AGENT);
        else if (strncmp(rt->pattern, "/v1/agent/", 10) && rt->need != CRED_NONE)
            assert_true(rt->need >= CRED_VIEWER);
        /* Key management and the audit trail are admin only; writes need at least operator. */
        if (!strncmp(rt->pattern, "/v1/apikeys", 11) || !strcmp(rt->pattern, "/v1/audit"))
            assert_int_equal(rt->need, CRED_ADMIN);
        if (rt->writes && rt->need >= CRED_VIEWER)
            assert_true(rt->need >= CRED_OPERATOR);
    }
    assert_int_equal(open, 2);
    assert_true(n >= 25);
    /* The WebSocket upgrade is in the table, for agents. */
    const struct route *ws = route_for_upgrade(ROUTE_AGENT_WS);
    assert_non_null(ws);
    assert_int_equal(ws->need, CRED_AGENT);
    assert_null(route_for_upgrade("/v1/agents"));
    /* No route writes or deletes the audit trail. */
    for (const struct route *rt = route_table; rt->pattern; rt++)
        if (!strncmp(rt->pattern, "/v1/audit", 9))
            assert_int_equal(rt->method, M_GET);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket),
        cmocka_unit_test(test_bucket_table_full),
        cmocka_unit_test(test_san),
        cmocka_unit_test(test_route_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
