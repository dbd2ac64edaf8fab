/* POST /v1/invocations body validation: defaults, and every bad value names its field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "server/invocation_body.h"

static int parse(const char *text, struct inv_request *q, char *err)
{
    json_t *j = json_loads(text, 0, NULL);
    int rc;
    assert_non_null(j);
    rc = inv_request_parse(j, q, err, 256);
    inv_request_free(q);
    json_decref(j);
    return rc;
}

static void test_defaults(void **state)
{
    struct inv_request q;
    char err[256];
    json_t *j = json_loads("{\"command\":\"uname -a\",\"targets\":{\"all\":true}}", 0, NULL);
    (void)state;
    assert_int_equal(inv_request_parse(j, &q, err, sizeof err), 0);
    assert_string_equal(q.interpreter, "sh");
    assert_string_equal(q.user, "root");
    assert_null(q.workdir);
    assert_int_equal(q.timeout_s, 3600);
    assert_int_equal(q.output_limit, 4194304);
    assert_int_equal(q.expires_in_s, 3600);
    assert_true(q.spec.all);
    assert_int_equal(json_object_size(q.env), 0);
    inv_request_free(&q);
    json_decref(j);
}

static void expect_err(const char *body, const char *field)
{
    struct inv_request q;
    char err[256] = "";
    assert_int_not_equal(parse(body, &q, err), 0);
    if (strncmp(err, field, strlen(field)))
        fail_msg("body %s: error '%s' does not start with '%s'", body, err, field);
}

static void test_errors_name_the_field(void **state)
{
    (void)state;
    expect_err("{\"targets\":{\"all\":true}}", "command");
    expect_err("{\"command\":\"\",\"targets\":{\"all\":true}}", "command");
    expect_err("{\"command\":5,\"targets\":{\"all\":true}}", "command");
    expect_err("{\"command\":\"x\"}", "targets");
    expect_err("{\"command\":\"x\",\"targets\":[]}", "targets");
    expect_err("{\"command\":\"x\",\"targets\":{\"all\":true,\"who\":1}}", "targets.who");
    expect_err("{\"command\":\"x\",\"targets\":{\"agents\":[\"../etc\"]}}", "targets.agents[0]");
    expect_err("{\"command\":\"x\",\"targets\":{\"tags\":{\"env\":5}}}", "targets.tags.env");
    expect_err("{\"command\":\"x\",\"targets\":{\"cidr\":\"10.0.0.0/40\"}}", "targets.cidr");
    expect_err("{\"command\":\"x\",\"targets\":{\"all\":\"yes\"}}", "all");
    expect_err("{\"command\":\"x\",\"targets\":{\"all\":true},\"interpreter\":\"ruby\"}",
               "interpreter");
    expect_err("{\"command\":\"x\",\"targets\":{\"all\":true},\"user\":\"a b\"}", "user");
    expect_err("{\"command\":\"x\",\"targets\":{\"all\":true},\"workdir\":\"tmp\"}", "workdir");
    expect_err("{\"command\":\"x\",\"targets\":{\"all\":true},\"timeout_s\":0}", "timeout_s");
    expect_err("{\"command\":\"x\",\"targets\":{\"all\":true},\"timeout_s\":86401}", "timeout_s");
    expect_err("{\"command\":\"x\",\"targets\":{\"all\":true},\"output_limit\":10}", "output_limit");
    expect_err("{\"command\":\"x\",\"targets\":{\"all\":true},\"expires_in_s\":0}", "expires_in_s");
    expect_err("{\"command\":\"x\",\"targets\":{\"all\":true},\"env\":{\"1A\":\"v\"}}", "env.1A");
    expect_err("{\"command\":\"x\",\"targets\":{\"all\":true},\"env\":{\"A\":1}}", "env.A");
    expect_err("{\"command\":\"x\",\"targets\":{\"all\":true},\"max_errors\":1}", "max_errors");
    expect_err("{\"command\":\"x\",\"targets\":{\"all\":true},\"bogus\":1}", "bogus");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_errors_name_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
