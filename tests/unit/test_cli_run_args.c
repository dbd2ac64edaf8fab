/* `tether run` argument parsing (targets, env, -- handling, errors) and its exit status rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/run_args.h"
#include "common/jsonutil.h"

/* Parses a NULL-terminated argument list; returns the rc and leaves the body in o. */
static int parse(struct run_opts *o, const char *const *args)
{
    char *argv[64];
    int argc = 0;

    argv[argc++] = "run";
    while (*args)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    return run_args_parse(o, argc, argv);
}

static void assert_body(struct run_opts *o, const char *want)
{
    char *got = json_dumps(o->body, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(got, want);
    free(got);
}

static void test_targets_and_command(void **state)
{
    struct run_opts o;
    const char *a1[] = { "-t", "web-1,web-2", "--target=agt-0123456789abcdef0123", "-tdb-1",
                         "--tag", "env=prod,zone=a", "--exclude", "web-3", "--", "echo", "hi",
                         "-x", NULL };
    (void)state;

    assert_int_equal(parse(&o, a1), 0);
    assert_body(&o, "{\"command\":\"echo hi -x\",\"targets\":{\"agents\":[\"web-1\",\"web-2\","
                    "\"agt-0123456789abcdef0123\",\"db-1\"],\"exclude\":[\"web-3\"],"
                    "\"tags\":{\"env\":\"prod\",\"zone\":\"a\"}}}");
    run_opts_free(&o);
}

static void test_without_dashdash(void **state)
{
    struct run_opts o;
    const char *a[] = { "--all", "--env", "A=b=c", "-e", "PATH_X=", "uname", "-a", NULL };
    (void)state;

    assert_int_equal(parse(&o, a), 0);
    assert_body(&o, "{\"command\":\"uname -a\",\"env\":{\"A\":\"b=c\",\"PATH_X\":\"\"},"
                    "\"targets\":{\"all\":true}}");
    run_opts_free(&o);
}

static void test_options(void **state)
{
    struct run_opts o;
    const char *a[] = { "--cidr", "10.0.0.0/8", "--user", "deploy", "--workdir", "/srv",
                        "--timeout", "5m", "--interpreter", "bash", "--output-limit", "8M",
                        "--max-concurrency", "10%", "--max-errors", "2", "-o", "json", "--",
                        "true", NULL };
    (void)state;

    assert_int_equal(parse(&o, a), 0);
    assert_int_equal(o.format, OUT_JSON);
    assert_false(o.no_wait);
    assert_body(&o, "{\"command\":\"true\",\"interpreter\":\"bash\",\"max_concurrency\":\"10%\","
                    "\"max_errors\":2,\"output_limit\":8388608,\"targets\":{\"cidr\":"
                    "\"10.0.0.0/8\"},\"timeout_s\":300,\"user\":\"deploy\",\"workdir\":\"/srv\"}");
    run_opts_free(&o);

    const char *b[] = { "--no-wait", "-t", "h", "--max-concurrency", "3", "x", NULL };
    assert_int_equal(parse(&o, b), 0);
    assert_true(o.no_wait);
    assert_int_equal(json_integer_value(json_object_get(o.body, "max_concurrency")), 3);
    run_opts_free(&o);
}

static void test_errors(void **state)
{
    static const char *const bad[][8] = {
        { "echo", NULL },                              /* no targets */
        { "-t", "web-1", NULL },                       /* no command */
        { "-t", "web-1", "--", NULL },                 /* no command after -- */
        { "-t", "bad name", "x", NULL },
        { "-t", "a,,b", "x", NULL },
        { "-t", "a,", "x", NULL },
        { "-t", "a", "--env", "1X=y", "x", NULL },
        { "-t", "a", "--env", "NOEQ", "x", NULL },
        { "-t", "a", "--tag", "env", "x", NULL },
        { "-t", "a", "--timeout", "0", "x", NULL },
        { "-t", "a", "--timeout", "2d", "x", NULL },
        { "-t", "a", "--interpreter", "ruby", "x", NULL },
        { "-t", "a", "--workdir", "rel", "x", NULL },
        { "-t", "a", "--max-concurrency", "0", "x", NULL },
        { "-t", "a", "--max-concurrency", "200%", "x", NULL },
        { "-t", "a", "--bogus", "x", NULL },
        { "-t", "a", "-o", "yaml", "x", NULL },
        { "-t", NULL },
        { "-t", "a", "--no-wait", "-o", "json", "x", NULL },
        { "-t", "a", "--all=yes", "x", NULL },
        { "-t", "a", "--max-errors", "-1", "x", NULL },
        { "-t", "a", "--max-errors", "101%", "x", NULL },
        { "-t", "a", "--max-errors", "x%", "x", NULL },
        { "-t", "a", "--exclude", "tag:role", "x", NULL },
        { "-t", "a", "--exclude", "tag:=v", "x", NULL },
        { "-t", "a", "--exclude", "web-1,", "x", NULL },
        { "--exclude", "tag:role=db", "x", NULL },          /* exclude alone selects nothing */
        { "--include-file", "/nonexistent/hosts", "x", NULL },
    };
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct run_opts o;
        int rc = parse(&o, bad[i]);
        if (rc != EXIT_USAGE)
            fail_msg("case %zu: rc %d, want %d", i, rc, EXIT_USAGE);
        run_opts_free(&o);
    }
}

static void test_issue7_forms(void **state)
{
    struct run_opts o;
    char path[] = "/tmp/tether-run-args-XXXXXX";
    int fd = mkstemp(path);
    static const char text[] = "# hosts\nweb-1\n  web-2  # second\n\n";
    (void)state;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    const char *a[] = { "--include-file", path, "--exclude", "tag:role=db,web-3",
                        "--exclude", "tag:env=prod", "--max-errors", "10%", "--dry-run", NULL };
    assert_int_equal(parse(&o, a), 0);
    assert_true(o.dry_run);
    assert_body(&o, "{\"max_errors\":\"10%\",\"targets\":{\"agents\":[\"web-1\",\"web-2\"],"
                    "\"exclude\":[\"web-3\"],"
                    "\"exclude_tags\":{\"env\":\"prod\",\"role\":\"db\"}}}");
    run_opts_free(&o);

    /* a bad line names the file and line */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("web-1\nnot a host\n", f);
    fclose(f);
    const char *b[] = { "--include-file", path, "x", NULL };
    assert_int_equal(parse(&o, b), EXIT_USAGE);
    run_opts_free(&o);
    /* an empty list is an error, not "no targets" later */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("# nothing\n", f);
    fclose(f);
    assert_int_equal(parse(&o, b), EXIT_USAGE);
    run_opts_free(&o);
    unlink(path);

    const char *c[] = { "-t", "a", "--max-errors", "0", "x", NULL };
    assert_int_equal(parse(&o, c), 0);
    assert_int_equal(json_integer_value(json_object_get(o.body, "max_errors")), 0);
    run_opts_free(&o);
}

static void test_help(void **state)
{
    struct run_opts o;
    const char *a[] = { "--help", NULL };
    (void)state;
    assert_int_equal(parse(&o, a), 0);
    assert_true(o.help);
    run_opts_free(&o);
}

/* `commands invoke`: the same parser, run's targeting and rate options only, --param. */
static int parse_invoke(struct run_opts *o, const char *const *args)
{
    char *argv[64];
    int argc = 0;

    argv[argc++] = "invoke";
    while (*args)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    return invoke_args_parse(o, argc, argv);
}

static void test_invoke_args(void **state)
{
    struct run_opts o;
    const char *a[] = { "-t", "web-1,web-2", "echoit", "--param", "text=it's $(id)", "-p",
                        "n=", "--param=x_1=a=b", "--exclude", "tag:role=db",
                        "--max-concurrency", "50%", "--max-errors", "1", "-o", "json", NULL };
    (void)state;

    assert_int_equal(parse_invoke(&o, a), 0);
    assert_string_equal(o.name, "echoit");
    assert_string_equal(o.cmd, "commands invoke");
    assert_int_equal(o.format, OUT_JSON);
    assert_body(&o, "{\"max_concurrency\":\"50%\",\"max_errors\":1,\"params\":{\"n\":\"\","
                    "\"text\":\"it's $(id)\",\"x_1\":\"a=b\"},\"targets\":{\"agents\":"
                    "[\"web-1\",\"web-2\"],\"exclude_tags\":{\"role\":\"db\"}}}");
    run_opts_free(&o);

    const char *b[] = { "up", "--all", "--no-wait", "--dry-run", NULL };
    assert_int_equal(parse_invoke(&o, b), 0);
    assert_true(o.no_wait);
    assert_true(o.dry_run);
    assert_body(&o, "{\"targets\":{\"all\":true}}");
    run_opts_free(&o);

    const char *h[] = { "--help", NULL };
    assert_int_equal(parse_invoke(&o, h), 0);
    assert_true(o.help);
    run_opts_free(&o);
}

static void test_invoke_errors(void **state)
{
    struct run_opts o;
    (void)state;
    const char *const cases[][8] = {
        { "--all", NULL },                                  /* no name */
        { "bad/name", "--all", NULL },                      /* not a command name */
        { "a", "b", "--all", NULL },                        /* two names */
        { "a", NULL },                                      /* no targets */
        { "a", "--all", "--param", "noeq", NULL },          /* not NAME=VALUE */
        { "a", "--all", "--param", "1x=v", NULL },          /* bad parameter name */
        { "a", "--all", "--param", "p=1", "--param", "p=2", NULL },   /* twice */
        { "a", "--all", "--param", "p=\xff", NULL },        /* not UTF-8 */
        /* run's other options are not invoke's: the definition fixes them */
        { "a", "--all", "--user", "root", NULL },
        { "a", "--all", "--env", "A=b", NULL },
        { "a", "--all", "--timeout", "5", NULL },
        { "a", "--all", "--interpreter", "sh", NULL },
        { "a", "--all", "--no-wait", "-o", "json", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (parse_invoke(&o, cases[i]) != EXIT_USAGE)
            fail_msg("case %zu (%s %s %s) was accepted", i, cases[i][0], cases[i][1],
                     cases[i][2] ? cases[i][2] : "");
        run_opts_free(&o);
    }
}

static json_t *task(const char *name, const char *status, json_t *exit_code, const char *sig,
                    const char *err)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:i}", "task_id", "tsk-0123456789abcdef0123",
                     "name", name, "status", status, "exit_code", exit_code,
                     "signal", sig ? json_string(sig) : json_null(),
                     "error", err ? json_string(err) : json_null(), "dropped_bytes", 0);
}

static void check_outcome(json_t *tasks, int want, const char *want_msg)
{
    struct buf msg = BUF_INIT;
    int rc = run_outcome(tasks, &msg);
    assert_int_equal(rc, want);
    assert_string_equal(msg.data ? msg.data : "", want_msg);
    buf_free(&msg);
    json_decref(tasks);
}

static void test_outcome(void **state)
{
    (void)state;
    check_outcome(json_pack("[o]", task("web-1", "succeeded", json_integer(0), NULL, NULL)), 0,
                  "");
    check_outcome(json_pack("[o]", task("web-1", "failed", json_integer(3), NULL, NULL)), 3, "");
    check_outcome(json_pack("[o]", task("web-1", "timed_out", json_null(), "SIGKILL", NULL)),
                  255, "tether: web-1: timed_out (SIGKILL)\n");
    check_outcome(json_pack("[o]", task("web-1", "start_failed", json_null(), NULL,
                                        "no such user")),
                  255, "tether: web-1: start_failed: no such user\n");
    check_outcome(json_pack("[o]", task("web-1", "failed", json_null(), "SIGSEGV", NULL)), 255,
                  "tether: web-1: failed (SIGSEGV)\n");
    check_outcome(json_pack("[o,o,o]", task("a", "succeeded", json_integer(0), NULL, NULL),
                            task("b", "succeeded", json_integer(0), NULL, NULL),
                            task("c", "succeeded", json_integer(0), NULL, NULL)),
                  0, "3 succeeded\n");
    check_outcome(json_pack("[o,o,o]", task("a", "succeeded", json_integer(0), NULL, NULL),
                            task("b", "failed", json_integer(1), NULL, NULL),
                            task("c", "cancelled", json_null(), "SIGTERM", NULL)),
                  1, "1 succeeded, 2 failed: b (exit 1), c (cancelled, SIGTERM)\n");
    /* a hostile name is not printed */
    check_outcome(json_pack("[o]", task("\x1b[2J", "expired", json_null(), NULL, NULL)), 255,
                  "tether: tsk-0123456789abcdef0123: expired\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_targets_and_command),
        cmocka_unit_test(test_without_dashdash),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_issue7_forms),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_invoke_args),
        cmocka_unit_test(test_invoke_errors),
        cmocka_unit_test(test_outcome),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
