/* Saved command definitions (every bad field named) and the invocation body an invoke makes:
 * unknown, missing and mismatching parameters, defaults, quoting, TETHER_PARAM_ variables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "server/command_body.h"
#include "server/invocation_body.h"

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_ALLOW_NUL, &e);
    if (!j)
        fail_msg("bad test JSON %s: %s", text, e.text);
    return j;
}

static void assert_json(json_t *v, const char *want)
{
    char *got = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(got, want);
    free(got);
}

static void test_minimal_definition_gets_defaults(void **state)
{
    json_t *j = load("{\"name\":\"up\",\"command\":\"uptime\"}");
    struct cmd_def d;
    char err[512];
    (void)state;
    assert_int_equal(cmd_def_parse(j, &d, err, sizeof err), 0);
    assert_json(d.normalized, "{\"command\":\"uptime\",\"description\":null,\"interpreter\":\"sh\","
                              "\"name\":\"up\",\"parameters\":{},\"timeout_s\":3600,"
                              "\"user\":\"root\",\"workdir\":null}");
    assert_int_equal(d.nparams, 0);
    cmd_def_free(&d);
    json_decref(j);
}

static const char full_def[] =
    "{\"name\":\"echoit\",\"description\":\"says it\",\"command\":\"echo {{text}} {{n}}\","
    "\"interpreter\":\"bash\",\"user\":\"nobody\",\"workdir\":\"/tmp\",\"timeout_s\":60,"
    "\"parameters\":{\"text\":{\"default\":\"x\",\"pattern\":\"^[a-z]+$\",\"description\":\"t\"},"
    "\"n\":{},\"unused\":{\"default\":\"\"}},"
    "\"created_at\":\"2026-01-01T00:00:00Z\",\"updated_by\":\"someone\"}";

static void test_full_definition(void **state)
{
    json_t *j = load(full_def);
    struct cmd_def d;
    char err[512];
    (void)state;
    assert_int_equal(cmd_def_parse(j, &d, err, sizeof err), 0);
    assert_int_equal(d.nparams, 3);
    assert_string_equal(d.params[0].name, "text");
    assert_string_equal(d.params[0].deflt, "x");
    assert_null(d.params[1].deflt);
    assert_int_equal(d.params[2].deflt_len, 0);
    /* read-only fields are dropped; parameters kept in order, as given */
    assert_json(d.normalized,
                "{\"command\":\"echo {{text}} {{n}}\",\"description\":\"says it\","
                "\"interpreter\":\"bash\",\"name\":\"echoit\",\"parameters\":{\"n\":{},"
                "\"text\":{\"default\":\"x\",\"description\":\"t\",\"pattern\":\"^[a-z]+$\"},"
                "\"unused\":{\"default\":\"\"}},\"timeout_s\":60,\"user\":\"nobody\","
                "\"workdir\":\"/tmp\"}");
    cmd_def_free(&d);
    json_decref(j);
}

static void expect_def_err(const char *text, const char *want)
{
    json_t *j = load(text);
    struct cmd_def d;
    char err[512] = "";
    int rc = cmd_def_parse(j, &d, err, sizeof err);
    if (rc == 0 || !strstr(err, want))
        fail_msg("definition %s: rc %d, error '%s' lacks '%s'", text, rc, err, want);
    cmd_def_free(&d);
    json_decref(j);
}

static void test_definition_errors(void **state)
{
    struct buf b = BUF_INIT;
    (void)state;
    expect_def_err("{\"command\":\"x\"}", "name: required");
    expect_def_err("{\"name\":\"a b\",\"command\":\"x\"}", "name: required, 1-64");
    expect_def_err("{\"name\":\"..\",\"command\":\"x\"}", "name:");
    expect_def_err("{\"name\":\"-x\",\"command\":\"x\"}", "name:");
    expect_def_err("{\"name\":5,\"command\":\"x\"}", "name: must be a string");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\",\"env\":{}}", "env: unknown field");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\",\"targets\":{}}", "targets: unknown field");
    expect_def_err("{\"name\":\"a\"}", "command: required");
    expect_def_err("{\"name\":\"a\",\"command\":\"\"}", "command: required");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\",\"interpreter\":\"ruby\"}", "interpreter:");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\",\"timeout_s\":0}", "timeout_s:");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\",\"user\":\"a b\"}", "user:");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\",\"workdir\":\"rel\"}", "workdir:");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\",\"description\":7}", "description:");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\",\"parameters\":[]}", "parameters: must be");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\",\"parameters\":{\"1x\":{}}}",
                   "parameters.1x: not a valid parameter name");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\",\"parameters\":{\"a-b\":{}}}",
                   "parameters.a-b: not a valid");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\",\"parameters\":{\"p\":\"v\"}}",
                   "parameters.p: must be an object");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\",\"parameters\":{\"p\":{\"required\":true}}}",
                   "parameters.p.required: unknown field");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\",\"parameters\":{\"p\":{\"default\":3}}}",
                   "parameters.p.default: must be a string");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\",\"parameters\":{\"p\":{\"pattern\":\"(\"}}}",
                   "parameters.p.pattern: not a valid POSIX extended regular expression");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\",\"parameters\":{\"p\":{\"pattern\":\"\"}}}",
                   "parameters.p.pattern: must be 1 to 512");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\",\"parameters\":{\"p\":{\"pattern\":1}}}",
                   "parameters.p.pattern: must be a string");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\",\"parameters\":{\"p\":{\"default\":\"UP\","
                   "\"pattern\":\"[a-z]+\"}}}",
                   "parameters.p.default: does not match the pattern [a-z]+");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\","
                   "\"parameters\":{\"p\":{\"default\":\"a\\u0000\"}}}",
                   "parameters.p.default: contains a NUL");
    expect_def_err("{\"name\":\"a\",\"command\":\"x\",\"parameters\":{\"host\":{},\"HOST\":{}}}",
                   "parameters.HOST: same environment variable TETHER_PARAM_HOST as 'host'");
    expect_def_err("{\"name\":\"a\",\"command\":\"echo {{who}}\"}",
                   "command: placeholder {{who}} (at byte 5) is not declared");
    expect_def_err("{\"name\":\"a\",\"command\":\"echo {{p}} {{q}}\",\"parameters\":{\"p\":{}}}",
                   "{{q}}");
    expect_def_err("{\"name\":\"a\",\"command\":\"echo {{ p }}\",\"parameters\":{\"p\":{}}}",
                   "the '{{' at byte 5 does not start a placeholder");
    expect_def_err("{\"name\":\"a\",\"command\":\"echo \\\"{{p}}\\\"\",\"parameters\":{\"p\":{}}}",
                   "{{p}} at byte 6 is inside a double-quoted string");
    /* 65 parameters, and a description over the cap */
    buf_append_str(&b, "{\"name\":\"a\",\"command\":\"x\",\"parameters\":{");
    for (int i = 0; i < 65; i++)
        buf_printf(&b, "%s\"p%d\":{}", i ? "," : "", i);
    buf_append_str(&b, "}}");
    expect_def_err(b.data, "parameters: at most 64");
    buf_reset(&b);
    buf_append_str(&b, "{\"name\":\"a\",\"command\":\"x\",\"description\":\"");
    for (int i = 0; i < COMMAND_DESCRIPTION_MAX + 1; i++)
        buf_append_str(&b, "d");
    buf_append_str(&b, "\"}");
    expect_def_err(b.data, "description: must be text of at most 1024");
    buf_free(&b);
}

/* ---- invoke ---- */

static json_t *invoke(const char *def, const char *body, char *err)
{
    json_t *dj = load(def), *bj = load(body), *out;
    struct cmd_def d;
    assert_int_equal(cmd_def_parse(dj, &d, err, 512), 0);
    err[0] = '\0';
    out = cmd_invocation_body(&d, bj, err, 512);
    cmd_def_free(&d);
    json_decref(bj);
    json_decref(dj);
    return out;
}

static void test_invoke_body(void **state)
{
    char err[512];
    json_t *b;
    struct inv_request q;
    (void)state;

    b = invoke(full_def, "{\"params\":{\"n\":\"it's $(id)\"},\"targets\":{\"agents\":[\"web-1\"]},"
                         "\"max_concurrency\":\"50%\",\"max_errors\":1,\"expires_in_s\":60}", err);
    assert_non_null(b);
    assert_json(b, "{\"command\":\"echo 'x' 'it'\\\\''s $(id)'\",\"env\":{"
                   "\"TETHER_PARAM_N\":\"it's $(id)\",\"TETHER_PARAM_TEXT\":\"x\","
                   "\"TETHER_PARAM_UNUSED\":\"\"},\"expires_in_s\":60,\"interpreter\":\"bash\","
                   "\"max_concurrency\":\"50%\",\"max_errors\":1,\"targets\":{\"agents\":"
                   "[\"web-1\"]},\"timeout_s\":60,\"user\":\"nobody\",\"workdir\":\"/tmp\"}");
    /* and it is a valid POST /v1/invocations body */
    assert_int_equal(inv_request_parse(b, &q, err, 512), 0);
    assert_string_equal(q.command, "echo 'x' 'it'\\''s $(id)'");
    inv_request_free(&q);
    json_decref(b);

    /* null means "not given": the default */
    b = invoke(full_def, "{\"params\":{\"n\":\"1\",\"text\":null},\"targets\":{\"all\":true}}", err);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "command")), "echo 'x' '1'");
    json_decref(b);

    /* python3 and perl literals */
    b = invoke("{\"name\":\"py\",\"interpreter\":\"python3\",\"command\":\"print({{v}})\","
               "\"parameters\":{\"v\":{}}}", "{\"params\":{\"v\":\"a'\\n\\u00e9\"},"
               "\"targets\":{\"all\":true}}", err);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "command")),
                        "print('a\\'\\n\\u00e9')");
    assert_json(json_object_get(b, "env"), "{\"TETHER_PARAM_V\":\"a'\\n\xc3\xa9\"}");
    json_decref(b);
    b = invoke("{\"name\":\"pl\",\"interpreter\":\"perl\",\"command\":\"print {{v}};\","
               "\"parameters\":{\"v\":{}}}", "{\"params\":{\"v\":\"a'\\\\b\"},"
               "\"targets\":{\"all\":true}}", err);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "command")), "print 'a\\'\\\\b';");
    json_decref(b);

    /* no params at all, no workdir: none in the body */
    b = invoke("{\"name\":\"up\",\"command\":\"uptime\"}", "{\"targets\":{\"all\":true}}", err);
    assert_non_null(b);
    assert_json(b, "{\"command\":\"uptime\",\"env\":{},\"interpreter\":\"sh\",\"targets\":"
                   "{\"all\":true},\"timeout_s\":3600,\"user\":\"root\"}");
    json_decref(b);
}

static void expect_invoke_err(const char *def, const char *body, const char *want)
{
    char err[512];
    json_t *b = invoke(def, body, err);
    if (b || !strstr(err, want))
        fail_msg("invoke %s: error '%s' lacks '%s'", body, err, want);
    json_decref(b);
}

static void test_invoke_errors(void **state)
{
    struct buf big = BUF_INIT;
    (void)state;
    expect_invoke_err(full_def, "{\"params\":{\"n\":\"1\",\"x\":\"2\"},\"targets\":{\"all\":true}}",
                      "params: unknown parameter 'x'");
    expect_invoke_err(full_def, "{\"params\":{\"n\":\"1\",\"$(id)\":\"2\"}}",
                      "params: unknown parameter (not a valid parameter name)");
    expect_invoke_err(full_def, "{\"params\":{},\"targets\":{\"all\":true}}",
                      "params: missing required parameter 'n'");
    expect_invoke_err(full_def, "{\"targets\":{\"all\":true}}", "missing required parameter 'n'");
    expect_invoke_err(full_def, "{\"params\":{\"n\":\"1\",\"text\":\"Nope; rm -rf /\"}}",
                      "params: 'text' does not match the pattern ^[a-z]+$");
    expect_invoke_err(full_def, "{\"params\":{\"n\":1}}", "params: 'n' must be a string");
    expect_invoke_err(full_def, "{\"params\":{\"n\":\"a\\u0000b\"}}", "params: 'n' contains a NUL");
    expect_invoke_err(full_def, "{\"params\":[\"n\"]}", "params: must be an object");
    expect_invoke_err(full_def, "{\"params\":{\"n\":\"1\"},\"command\":\"id\"}",
                      "command: unknown field");
    expect_invoke_err(full_def, "{\"params\":{\"n\":\"1\"},\"env\":{}}", "env: unknown field");
    buf_append_str(&big, "{\"params\":{\"n\":\"");
    for (int i = 0; i < PARAM_VALUE_MAX + 1; i++)
        buf_append_str(&big, "v");
    buf_append_str(&big, "\"}}");
    expect_invoke_err(full_def, big.data, "params: 'n' is 4097 bytes; at most 4096");
    buf_free(&big);
}

/* 64 parameters of 4096 bytes: 64 env variables, the caps of POST /v1/invocations exactly. The
 * command text is capped after substitution. */
static void test_many_params(void **state)
{
    struct buf def = BUF_INIT, body = BUF_INIT, value = BUF_INIT;
    struct inv_request q;
    char err[512];
    json_t *b;
    (void)state;

    for (int i = 0; i < PARAM_VALUE_MAX; i++)
        buf_append_str(&value, "'");
    buf_append_str(&def, "{\"name\":\"many\",\"command\":\"echo {{p0}} {{p63}}\",\"parameters\":{");
    buf_append_str(&body, "{\"targets\":{\"all\":true},\"params\":{");
    for (int i = 0; i < PARAMS_MAX; i++) {
        buf_printf(&def, "%s\"p%d\":{}", i ? "," : "", i);
        buf_printf(&body, "%s\"p%d\":\"%s\"", i ? "," : "", i, value.data);
    }
    buf_append_str(&def, "}}");
    buf_append_str(&body, "}}");
    b = invoke(def.data, body.data, err);
    assert_non_null(b);
    assert_int_equal(json_object_size(json_object_get(b, "env")), 64);
    /* every ' becomes '\'' : 4 bytes each, plus the outer quotes */
    assert_int_equal(strlen(json_string_value(json_object_get(b, "command"))),
                     5 + 2 * (2 + 4 * PARAM_VALUE_MAX) + 1);
    assert_int_equal(inv_request_parse(b, &q, err, 512), 0);
    inv_request_free(&q);
    json_decref(b);

    /* the same value in 5 placeholders: 5 * 16 KiB is over 64 KiB */
    buf_reset(&def);
    buf_append_str(&def, "{\"name\":\"long\",\"command\":\"echo {{a}} {{a}} {{a}} {{a}} {{a}}\","
                         "\"parameters\":{\"a\":{}}}");
    buf_reset(&body);
    buf_printf(&body, "{\"params\":{\"a\":\"%s\"}}", value.data);
    expect_invoke_err(def.data, body.data, "command: 81939 bytes once the parameters are "
                                           "substituted; at most 65536");
    buf_free(&def);
    buf_free(&body);
    buf_free(&value);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_definition_gets_defaults),
        cmocka_unit_test(test_full_definition),
        cmocka_unit_test(test_definition_errors),
        cmocka_unit_test(test_invoke_body),
        cmocka_unit_test(test_invoke_errors),
        cmocka_unit_test(test_many_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
