/* Task validation: a good task parses; every bad field is rejected with a message naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/b64.h"
#include "task/task_spec.h"

static json_t *good(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:{s:s}, s:i, s:i, s:{s:i, s:i, s:i}}",
                     "task_id", "tsk-0123456789abcdef0123", "invocation_id",
                     "inv-0123456789abcdef0123", "kind", "command", "command", "ZWNobyBoaQ==",
                     "interpreter", "bash", "user", "root", "workdir", "env", "K", "V",
                     "timeout_s", 10, "output_limit", 4096, "limits", "memory_bytes", 0,
                     "cpu_percent", 0, "pids", 0);
}

static void parses_good_task(void **state)
{
    struct task_spec s;
    char err[256] = "";
    json_t *t = good();

    (void)state;
    assert_int_equal(task_spec_parse(t, &s, err, sizeof err), 0);
    assert_string_equal(s.task_id, "tsk-0123456789abcdef0123");
    assert_string_equal(s.interpreter, "bash");
    assert_string_equal(s.command, "echo hi");
    assert_int_equal(s.command_len, 7);
    assert_null(s.workdir);
    assert_int_equal(s.timeout_s, 10);
    assert_string_equal(json_string_value(json_object_get(s.env, "K")), "V");
    assert_int_equal(s.profile_timeout_s, 10);
    assert_false(s.cgroups_off);
    assert_int_equal(s.pids, 0);
    task_spec_free(&s);
    json_decref(t);
}

static void parses_limits_and_agent_fields(void **state)
{
    struct task_spec s;
    char err[256] = "";
    json_t *t = good();

    (void)state;
    json_object_set_new(t, "limits", json_pack("{s:I, s:i, s:i}", "memory_bytes",
                                               (json_int_t)67108864, "cpu_percent", 50, "pids",
                                               64));
    json_object_set_new(t, "cgroups", json_string("off"));
    json_object_set_new(t, "profile_timeout_s", json_integer(3));
    assert_int_equal(task_spec_parse(t, &s, err, sizeof err), 0);
    assert_int_equal(s.memory_bytes, 67108864);
    assert_int_equal(s.cpu_percent, 50);
    assert_int_equal(s.pids, 64);
    assert_true(s.cgroups_off);
    assert_int_equal(s.profile_timeout_s, 3);
    task_spec_free(&s);
    json_decref(t);
}

static void expect_bad(const char *field, json_t *value, const char *must_mention)
{
    struct task_spec s;
    char err[256] = "";
    json_t *t = good();

    if (value)
        json_object_set_new(t, field, value);
    else
        json_object_del(t, field);
    assert_int_equal(task_spec_parse(t, &s, err, sizeof err), -EINVAL);
    if (!strstr(err, must_mention))
        fail_msg("field %s: error '%s' does not name '%s'", field, err, must_mention);
    json_decref(t);
}

static void rejects_every_bad_field(void **state)
{
    char *big = malloc(b64_encoded_len(65537) + 1);
    char *raw = calloc(1, 65537);

    (void)state;
    expect_bad("task_id", json_string("tsk-../../etc"), "task_id");
    expect_bad("task_id", NULL, "task_id");
    expect_bad("invocation_id", json_string("inv-XYZ"), "invocation_id");
    expect_bad("kind", json_string("package"), "kind");
    expect_bad("interpreter", json_string("zsh"), "interpreter");
    expect_bad("interpreter", json_integer(1), "interpreter");
    expect_bad("user", json_string("root;rm"), "user");
    expect_bad("user", json_string(""), "user");
    expect_bad("workdir", json_string("relative/dir"), "workdir");
    expect_bad("timeout_s", json_integer(0), "timeout_s");
    expect_bad("timeout_s", json_integer(86401), "timeout_s");
    expect_bad("timeout_s", json_string("10"), "timeout_s");
    expect_bad("output_limit", json_integer(10), "output_limit");
    expect_bad("output_limit", json_integer(67108865), "output_limit");
    expect_bad("env", json_string("K=V"), "env");
    expect_bad("env", json_pack("{s:s}", "1BAD", "v"), "env");
    expect_bad("env", json_pack("{s:i}", "K", 1), "env.K");
    expect_bad("command", json_string("not base64!"), "command");
    expect_bad("command", NULL, "command");
    b64_encode(raw, 65537, big, b64_encoded_len(65537) + 1);
    expect_bad("command", json_string(big), "command");
    expect_bad("limits", json_string("none"), "limits");
    expect_bad("limits", json_pack("{s:i}", "pids", -1), "pids");
    expect_bad("limits", json_pack("{s:i}", "pids", 4194305), "pids");
    expect_bad("limits", json_pack("{s:i}", "cpu_percent", 10001), "cpu_percent");
    expect_bad("limits", json_pack("{s:i}", "memory_bytes", 4096), "memory_bytes");
    expect_bad("cgroups", json_string("on"), "cgroups");
    expect_bad("profile_timeout_s", json_integer(0), "profile_timeout_s");
    free(big);
    free(raw);
}

static void id_only(void **state)
{
    char id[ID_BUF];
    json_t *t = json_pack("{s:s, s:i}", "task_id", "tsk-0123456789abcdef0123", "timeout_s", -1);

    (void)state;
    assert_int_equal(task_spec_id(t, id), 0);
    assert_string_equal(id, "tsk-0123456789abcdef0123");
    json_decref(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_good_task),
        cmocka_unit_test(parses_limits_and_agent_fields),
        cmocka_unit_test(rejects_every_bad_field),
        cmocka_unit_test(id_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
