/* POST /v1/invocations body validation: defaults, and every bad value names its field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
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
    expect_err("{\"command\":\"x\",\"targets\":{\"all\":true},\"bogus\":1}", "bogus");
}

#define BASE "{\"command\":\"x\",\"targets\":{\"all\":true},"

static void test_rate_fields(void **state)
{
    static const char *const bad_conc[] = { "0", "-1", "\"0%\"", "\"101%\"", "\"50\"",
                                            "\"%\"", "\"5 %\"", "1.5", "true", "\"1e2%\"",
                                            "1000001", NULL };
    static const char *const bad_err[] = { "-1", "\"101%\"", "\"-1%\"", "\"x%\"", "2.0",
                                           "[]", NULL };
    char body[256];
    struct inv_request q;
    char err[256];
    (void)state;
    for (const char *const *v = bad_conc; *v; v++) {
        snprintf(body, sizeof body, BASE "\"max_concurrency\":%s}", *v);
        expect_err(body, "max_concurrency");
    }
    for (const char *const *v = bad_err; *v; v++) {
        snprintf(body, sizeof body, BASE "\"max_errors\":%s}", *v);
        expect_err(body, "max_errors");
    }
    expect_err("{\"command\":\"x\",\"targets\":{\"all\":true,\"exclude_tags\":[]}}",
               "targets.exclude_tags");
    expect_err("{\"command\":\"x\",\"targets\":{\"all\":true,\"exclude_tags\":{\"r\":1}}}",
               "targets.exclude_tags.r");

    json_t *j = json_loads(BASE "\"max_concurrency\":\"25%\",\"max_errors\":0}", 0, NULL);
    assert_int_equal(inv_request_parse(j, &q, err, sizeof err), 0);
    assert_string_equal(json_string_value(q.max_concurrency), "25%");
    assert_int_equal(json_integer_value(q.max_errors), 0);
    /* P% of the task count, rounded up; concurrency at least 1 */
    assert_int_equal(inv_rate_limit(q.max_concurrency, 10, 1, 0), 3);
    assert_int_equal(inv_rate_limit(q.max_concurrency, 1, 1, 0), 1);
    assert_int_equal(inv_rate_limit(q.max_errors, 10, 0, -1), 0);
    assert_int_equal(inv_rate_limit(NULL, 10, 0, -1), -1);
    inv_request_free(&q);
    json_decref(j);
    j = json_string("0%");
    assert_int_equal(inv_rate_limit(j, 7, 0, -1), 0);
    json_decref(j);
    j = json_string("10%");
    assert_int_equal(inv_rate_limit(j, 5, 0, -1), 1);
    assert_int_equal(inv_rate_limit(j, 0, 1, 0), 1);
    json_decref(j);
    j = json_loads(BASE "\"max_concurrency\":1,\"max_errors\":\"100%\"}", 0, NULL);
    assert_int_equal(inv_request_parse(j, &q, err, sizeof err), 0);
    inv_request_free(&q);
    json_decref(j);
}

static void test_targets_only(void **state)
{
    struct inv_request q;
    char err[256] = "";
    json_t *j = json_loads("{\"targets\":{\"tags\":{\"a\":\"b\"},"
                           "\"exclude_tags\":{\"role\":\"db\"}}}", 0, NULL);
    (void)state;
    assert_int_equal(inv_targets_parse(j, &q, err, sizeof err), 0);
    assert_non_null(q.spec.exclude_tags);
    inv_request_free(&q);
    json_decref(j);
    j = json_loads("{\"targets\":{\"all\":true},\"command\":\"x\"}", 0, NULL);
    assert_int_not_equal(inv_targets_parse(j, &q, err, sizeof err), 0);
    assert_string_equal(err, "command: unknown field");
    inv_request_free(&q);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_errors_name_the_field),
        cmocka_unit_test(test_rate_fields),
        cmocka_unit_test(test_targets_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
