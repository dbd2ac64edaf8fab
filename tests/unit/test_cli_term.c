/* Terminal behaviour: the colour rule, status colours in tables and the run summary. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "cli/run_args.h"
#include "cli/table.h"
#include "cli/term.h"

static void test_color_rule(void **state)
{
    enum color_mode m;
    (void)state;

    /* auto: a terminal, NO_COLOR unset or empty, TERM not dumb */
    assert_true(term_color_decide(COLOR_AUTO, true, NULL, "xterm"));
    assert_true(term_color_decide(COLOR_AUTO, true, "", "xterm"));
    assert_true(term_color_decide(COLOR_AUTO, true, NULL, NULL));
    assert_false(term_color_decide(COLOR_AUTO, false, NULL, "xterm"));
    assert_false(term_color_decide(COLOR_AUTO, true, "1", "xterm"));
    assert_false(term_color_decide(COLOR_AUTO, true, NULL, "dumb"));
    /* the flag decides */
    assert_true(term_color_decide(COLOR_ALWAYS, false, "1", "dumb"));
    assert_false(term_color_decide(COLOR_NEVER, true, NULL, "xterm"));
    assert_int_equal(term_color_mode_parse("always", &m), 0);
    assert_int_equal(m, COLOR_ALWAYS);
    assert_int_equal(term_color_mode_parse("never", &m), 0);
    assert_int_equal(m, COLOR_NEVER);
    assert_int_equal(term_color_mode_parse("auto", &m), 0);
    assert_int_equal(m, COLOR_AUTO);
    assert_int_not_equal(term_color_mode_parse("yes", &m), 0);
}

static void test_status_words(void **state)
{
    struct buf b = BUF_INIT;
    (void)state;

    assert_string_equal(term_status_sgr("succeeded"), "32");
    assert_string_equal(term_status_sgr("failed"), "31");
    assert_string_equal(term_status_sgr("timed_out"), "31");
    assert_string_equal(term_status_sgr("start_failed"), "31");
    assert_string_equal(term_status_sgr("cancelled"), "33");
    assert_string_equal(term_status_sgr("skipped"), "33");
    assert_string_equal(term_status_sgr("expired"), "33");
    assert_string_equal(term_status_sgr("running"), "36");
    assert_string_equal(term_status_sgr("online"), "32");
    assert_string_equal(term_status_sgr("offline"), "31");
    assert_null(term_status_sgr("pending"));
    assert_null(term_status_sgr("Failed"));
    assert_null(term_status_sgr(NULL));
    assert_int_equal(term_paint(&b, "failed", "failed", 6, true), 0);
    assert_string_equal(b.data, "\x1b[31mfailed\x1b[0m");
    buf_reset(&b);
    assert_int_equal(term_paint(&b, "failed", "failed", 6, false), 0);
    assert_string_equal(b.data, "failed");
    buf_free(&b);
}

static void test_table_colours_status_columns(void **state)
{
    static const char *const hdr[] = { "NAME", "STATUS", "NOTE" };
    static const char *const r1[] = { "web-1", "online", "failed" };
    static const char *const r2[] = { "web-22", "\x1b[31mfailed", "x" };
    static const char *const r3[] = { "db", "failed", "x" };
    struct table t;
    struct buf b = BUF_INIT;
    (void)state;

    assert_int_equal(table_init(&t, 3, hdr), 0);
    assert_int_equal(table_add_row(&t, r1), 0);
    assert_int_equal(table_add_row(&t, r2), 0);
    assert_int_equal(table_add_row(&t, r3), 0);
    assert_int_equal(table_render_color(&t, &b, true), 0);
    /* only the STATUS column, only exact status words; a remote ESC stays escaped and plain;
     * the padding counts the visible text only */
    assert_string_equal(b.data,
                        "NAME    STATUS          NOTE\n"
                        "web-1   \x1b[32monline\x1b[0m          failed\n"
                        "web-22  \\x1B[31mfailed  x\n"
                        "db      \x1b[31mfailed\x1b[0m          x\n");
    buf_reset(&b);
    /* without colour: exactly the plain table */
    assert_int_equal(table_render(&t, &b), 0);
    assert_string_equal(b.data,
                        "NAME    STATUS          NOTE\n"
                        "web-1   online          failed\n"
                        "web-22  \\x1B[31mfailed  x\n"
                        "db      failed          x\n");
    buf_reset(&b);
    /* another column marked by hand */
    table_mark_status(&t, 2);
    table_mark_status(&t, 99); /* out of range: ignored */
    assert_int_equal(table_render_color(&t, &b, true), 0);
    assert_non_null(strstr(b.data, "\x1b[32monline\x1b[0m          \x1b[31mfailed\x1b[0m\n"));
    table_free(&t);
    buf_free(&b);
}

static void test_run_summary_colours(void **state)
{
    json_t *tasks = json_pack("[{s:s,s:s,s:i},{s:s,s:s,s:i},{s:s,s:s,s:s}]",
                              "name", "web-1", "status", "succeeded", "exit_code", 0,
                              "name", "web-2", "status", "failed", "exit_code", 3,
                              "name", "web-3", "status", "timed_out", "signal", "SIGKILL");
    json_t *one = json_pack("[{s:s,s:s,s:s}]", "name", "web-1", "status", "\x1b]0;x\x07");
    struct buf b = BUF_INIT;
    (void)state;

    assert_int_equal(run_outcome_color(tasks, &b, true), EXIT_API);
    assert_string_equal(b.data, "\x1b[32m1 succeeded\x1b[0m, \x1b[31m2 failed\x1b[0m: "
                                "web-2 (exit 3), web-3 (\x1b[31mtimed_out\x1b[0m, SIGKILL)\n");
    buf_reset(&b);
    assert_int_equal(run_outcome(tasks, &b), EXIT_API);
    assert_string_equal(b.data, "1 succeeded, 2 failed: web-2 (exit 3), web-3 (timed_out, "
                                "SIGKILL)\n");
    buf_reset(&b);
    /* a status that is not a known word is never printed as sent */
    assert_int_equal(run_outcome_color(one, &b, true), EXIT_NO_STATUS);
    assert_string_equal(b.data, "tether: web-1: unknown\n");
    json_decref(tasks);
    json_decref(one);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_color_rule),
        cmocka_unit_test(test_status_words),
        cmocka_unit_test(test_table_colours_status_columns),
        cmocka_unit_test(test_run_summary_colours),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
