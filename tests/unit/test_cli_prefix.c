/* Line prefixer: partial lines, two streams, final flush, the long-line cap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "cli/prefix.h"

struct out { struct buf s[2]; };

static void sink(void *ud, enum out_stream s, const char *data, size_t n)
{
    struct out *o = ud;
    buf_append(&o->s[s], data, n);
}

static void test_partial_lines(void **state)
{
    struct out o = { { BUF_INIT, BUF_INIT } };
    struct prefixer p;
    (void)state;

    assert_int_equal(prefix_init(&p, "web-1", 6, sink, &o), 0);
    prefix_feed(&p, STREAM_STDOUT, "hel", 3);
    assert_null(o.s[0].data);
    prefix_feed(&p, STREAM_STDERR, "oops", 4);
    prefix_feed(&p, STREAM_STDOUT, "lo\nwor", 6);
    prefix_feed(&p, STREAM_STDOUT, "ld\n\nx", 5);
    prefix_feed(&p, STREAM_STDERR, "!\n", 2);
    assert_string_equal(o.s[0].data, "web-1  | hello\nweb-1  | world\nweb-1  | \n");
    assert_string_equal(o.s[1].data, "web-1  | oops!\n");
    prefix_flush(&p);
    assert_string_equal(o.s[0].data, "web-1  | hello\nweb-1  | world\nweb-1  | \nweb-1  | x\n");
    prefix_flush(&p); /* nothing left: no empty line */
    assert_string_equal(o.s[1].data, "web-1  | oops!\n");
    prefix_free(&p);
    buf_free(&o.s[0]);
    buf_free(&o.s[1]);
}

static void test_escape_and_cap(void **state)
{
    struct out o = { { BUF_INIT, BUF_INIT } };
    struct prefixer p;
    static char big[PREFIX_MAX_PARTIAL + 10];
    (void)state;

    prefix_init(&p, "h", 0, sink, &o);
    prefix_set_escape(&p, STREAM_STDOUT, true);
    prefix_feed(&p, STREAM_STDOUT, "a\x1b[2Jb\tc\n", 9);
    assert_string_equal(o.s[0].data, "h | a\\x1B[2Jb\tc\n");
    buf_reset(&o.s[0]);
    prefix_set_escape(&p, STREAM_STDOUT, false);
    memset(big, 'y', sizeof big);
    prefix_feed(&p, STREAM_STDOUT, big, sizeof big);
    /* the cap forced one line out; the rest waits */
    assert_int_equal(o.s[0].len, 4 + PREFIX_MAX_PARTIAL + 10 + 1);
    prefix_free(&p);
    buf_free(&o.s[0]);
    buf_free(&o.s[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partial_lines),
        cmocka_unit_test(test_escape_and_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
