/* Control-character escaping, table formatting, relative times, tags. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "cli/output.h"
#include "cli/table.h"

static void esc_all(const char *in, size_t n, struct buf *out)
{
    struct term_escaper e = { { 0 }, 0 };
    assert_int_equal(term_escape_feed(&e, in, n, out), 0);
    assert_int_equal(term_escape_flush(&e, out), 0);
}

static void test_escape(void **state)
{
    struct buf b = BUF_INIT;
    (void)state;

    esc_all("ok\n\t\r", 5, &b);
    assert_string_equal(b.data, "ok\n\t\r");
    buf_reset(&b);
    esc_all("\x1b]0;pwned\x07", 10, &b);
    assert_string_equal(b.data, "\\x1B]0;pwned\\x07");
    buf_reset(&b);
    esc_all("\x7f\x00z", 3, &b);
    assert_string_equal(b.data, "\\x7F\\x00z");
    buf_reset(&b);
    /* C1 CSI as UTF-8 (U+009B), a stray byte, and valid text */
    esc_all("\xc2\x9b" "2J \xff caf\xc3\xa9 \xe2\x82\xac", 16, &b);
    assert_string_equal(b.data, "\\xC2\\x9B2J \\xFF caf\xc3\xa9 \xe2\x82\xac");
    buf_free(&b);
}

/* A multi-byte character split across chunks passes through intact. */
static void test_escape_split(void **state)
{
    const char *text = "a\xe2\x82\xac" "b\xf0\x9f\x98\x80" "c\x1b";
    size_t n = strlen(text);
    (void)state;

    for (size_t cut = 0; cut <= n; cut++) {
        struct term_escaper e = { { 0 }, 0 };
        struct buf b = BUF_INIT;
        term_escape_feed(&e, text, cut, &b);
        term_escape_feed(&e, text + cut, n - cut, &b);
        term_escape_flush(&e, &b);
        assert_string_equal(b.data, "a\xe2\x82\xac" "b\xf0\x9f\x98\x80" "c\\x1B");
        buf_free(&b);
    }
    {
        /* a truncated sequence at the very end is shown as bytes once the stream ends */
        struct term_escaper e = { { 0 }, 0 };
        struct buf b = BUF_INIT;
        term_escape_feed(&e, "x\xe2\x82", 3, &b);
        assert_string_equal(b.data, "x");
        term_escape_flush(&e, &b);
        assert_string_equal(b.data, "x\\xE2\\x82");
        buf_free(&b);
    }
}

static void test_cell(void **state)
{
    struct buf b = BUF_INIT;
    (void)state;
    term_escape_cell("a\nb\tc", 5, &b);
    assert_string_equal(b.data, "a\\x0Ab\\x09c");
    buf_free(&b);
}

static void test_table(void **state)
{
    static const char *const hdr[] = { "NAME", "STATUS", "TAGS" };
    static const char *const r1[] = { "web-1", "online", "env=prod" };
    static const char *const r2[] = { "db-long-name", NULL, "caf\xc3\xa9" };
    struct table t;
    struct buf b = BUF_INIT;
    (void)state;

    assert_int_equal(table_init(&t, 3, hdr), 0);
    assert_int_equal(table_add_row(&t, r1), 0);
    assert_int_equal(table_add_row(&t, r2), 0);
    assert_int_equal(table_render(&t, &b), 0);
    assert_string_equal(b.data,
                        "NAME          STATUS  TAGS\n"
                        "web-1         online  env=prod\n"
                        "db-long-name  -       caf\xc3\xa9\n");
    table_free(&t);
    buf_free(&b);

    /* width counts characters, not bytes */
    static const char *const h2[] = { "A", "B" };
    static const char *const u[] = { "\xc3\xa9\xc3\xa9", "x" };
    table_init(&t, 2, h2);
    table_add_row(&t, u);
    table_render(&t, &b);
    assert_string_equal(b.data, "A   B\n\xc3\xa9\xc3\xa9  x\n");
    table_free(&t);
    buf_free(&b);
}

static void test_relative_and_tags(void **state)
{
    char out[64];
    struct buf b = BUF_INIT;
    json_t *tags = json_pack("{s:s,s:s}", "zone", "a", "env", "prod");
    int64_t base = 1700000000000LL; /* 2023-11-14T22:13:20Z */
    (void)state;

    fmt_relative("2023-11-14T22:13:08.000Z", base, out, sizeof out);
    assert_string_equal(out, "12s ago");
    fmt_relative("2023-11-14T22:08:20.000Z", base, out, sizeof out);
    assert_string_equal(out, "5m ago");
    fmt_relative("2023-11-12T22:13:20.000Z", base, out, sizeof out);
    assert_string_equal(out, "2d ago");
    fmt_relative("garbage", base, out, sizeof out);
    assert_string_equal(out, "garbage");
    fmt_relative(NULL, base, out, sizeof out);
    assert_string_equal(out, "-");
    assert_int_equal(fmt_tags(tags, &b), 0);
    assert_string_equal(b.data, "env=prod,zone=a");
    json_decref(tags);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_escape_split),
        cmocka_unit_test(test_cell),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_relative_and_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
