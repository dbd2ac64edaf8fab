/* The route table: matching, 404 vs 405, parameters, and that nothing is open by accident. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "server/routes.h"

static void test_match(void **state)
{
    char p[ROUTE_MAX_PARAMS][ROUTE_PARAM_MAX];
    (void)state;
    assert_true(route_match("/v1/tasks/{id}/output", "/v1/tasks/tsk-1/output", p));
    assert_string_equal(p[0], "tsk-1");
    assert_false(route_match("/v1/tasks/{id}/output", "/v1/tasks//output", p));
    assert_false(route_match("/v1/tasks/{id}/output", "/v1/tasks/a/b/output", p));
    assert_false(route_match("/v1/tasks/{id}", "/v1/tasks/a/", p));
    assert_false(route_match("/v1/agents", "/v1/agents/", p));
    assert_true(route_match("/healthz", "/healthz", p));
    assert_false(route_match("/healthz", "/healthzz", p));
}

static void test_find(void **state)
{
    char p[ROUTE_MAX_PARAMS][ROUTE_PARAM_MAX];
    bool known;
    const struct route *rt;
    (void)state;
    rt = route_find(route_table, M_GET, "/v1/invocations/inv-1/events", p, &known);
    assert_non_null(rt);
    assert_ptr_equal(rt->handler, h_invocation_events);
    assert_string_equal(p[0], "inv-1");
    rt = route_find(route_table, M_PATCH, "/v1/agents/web-1", p, &known);
    assert_non_null(rt);
    assert_int_equal(rt->need, CRED_OPERATOR);
    rt = route_find(route_table, M_DELETE, "/v1/invocations", p, &known);
    assert_null(rt);
    assert_true(known);
    rt = route_find(route_table, M_GET, "/v2/nothing", p, &known);
    assert_null(rt);
    assert_false(known);
}

/* Default identity is nobody: only health and registration go without credentials, agent
 * routes need an agent token, every write of an operator needs operator or admin. */
static void test_table_auth(void **state)
{
    (void)state;
    for (const struct route *rt = route_table; rt->pattern; rt++) {
        if (!strcmp(rt->pattern, "/healthz") || !strcmp(rt->pattern, "/v1/agent/register")) {
            assert_int_equal(rt->need, CRED_NONE);
            continue;
        }
        assert_int_not_equal(rt->need, CRED_NONE);
        if (!strncmp(rt->pattern, "/v1/agent/", 10))
            assert_int_equal(rt->need, CRED_AGENT);
        else if (rt->method != M_GET)
            assert_true(rt->need >= CRED_OPERATOR);
        assert_non_null(rt->handler);
    }
}

/* Saved commands: operators read and write them; invoke is its own route under the name. */
static void test_commands_routes(void **state)
{
    char p[ROUTE_MAX_PARAMS][ROUTE_PARAM_MAX];
    bool known;
    const struct route *rt;
    (void)state;
    rt = route_find(route_table, M_POST, "/v1/commands/echo.it/invoke", p, &known);
    assert_non_null(rt);
    assert_ptr_equal(rt->handler, h_command_invoke);
    assert_string_equal(p[0], "echo.it");
    assert_int_equal(rt->need, CRED_OPERATOR);
    assert_true(rt->writes);
    rt = route_find(route_table, M_GET, "/v1/commands/echo.it", p, &known);
    assert_non_null(rt);
    assert_int_equal(rt->need, CRED_VIEWER);
    rt = route_find(route_table, M_DELETE, "/v1/commands/x", p, &known);
    assert_ptr_equal(rt->handler, h_command_delete);
    assert_null(route_find(route_table, M_PATCH, "/v1/commands/x", p, &known));
    assert_true(known);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_table_auth),
        cmocka_unit_test(test_commands_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
