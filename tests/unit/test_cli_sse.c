/* SSE parser: events split across arbitrary chunk boundaries, comments, multi-line data. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "cli/sse.h"
#include "common/buf.h"

struct seen {
    struct buf log;  /* "event=data;" per event */
    int count;
    int stop_after;
};

static int collect(void *ud, const char *event, const char *data, size_t len)
{
    struct seen *s = ud;
    assert_int_equal(strlen(data), len);
    buf_printf(&s->log, "%s=%s;", event, data);
    s->count++;
    return s->stop_after && s->count >= s->stop_after ? 7 : 0;
}

static const char stream[] =
    ": keepalive\n"
    "event: task\n"
    "data: {\"a\":1}\n"
    "\n"
    "event: output\r\n"
    "data: line1\r\n"
    "data: line2\r\n"
    "\r\n"
    "data:nospace\r"
    "\r"
    "id: 5\n"
    "retry: 100\n"
    "event: end\n"
    "data\n"
    "\n"
    "event: ignored-without-data\n"
    "\n";

static const char expected[] =
    "task={\"a\":1};output=line1\nline2;message=nospace;end=;";

static void test_whole(void **state)
{
    struct seen s = { BUF_INIT, 0, 0 };
    struct sse_parser p;
    (void)state;

    sse_init(&p, 0, collect, &s);
    assert_int_equal(sse_feed(&p, stream, strlen(stream)), 0);
    assert_string_equal(s.log.data, expected);
    sse_free(&p);
    buf_free(&s.log);
}

/* Every split into two chunks and byte-by-byte feeding give the same events. */
static void test_every_split(void **state)
{
    size_t n = strlen(stream);
    (void)state;

    for (size_t cut = 0; cut <= n; cut++) {
        struct seen s = { BUF_INIT, 0, 0 };
        struct sse_parser p;

        sse_init(&p, 0, collect, &s);
        assert_int_equal(sse_feed(&p, stream, cut), 0);
        assert_int_equal(sse_feed(&p, stream + cut, n - cut), 0);
        assert_string_equal(s.log.data, expected);
        sse_free(&p);
        buf_free(&s.log);
    }
    {
        struct seen s = { BUF_INIT, 0, 0 };
        struct sse_parser p;

        sse_init(&p, 0, collect, &s);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(sse_feed(&p, stream + i, 1), 0);
        assert_string_equal(s.log.data, expected);
        sse_free(&p);
        buf_free(&s.log);
    }
}

static void test_cap_and_stop(void **state)
{
    struct seen s = { BUF_INIT, 0, 0 };
    struct sse_parser p;
    char big[300];
    (void)state;

    memset(big, 'x', sizeof big);
    sse_init(&p, 100, collect, &s);
    assert_int_equal(sse_feed(&p, "data: ", 6), 0);
    assert_int_equal(sse_feed(&p, big, sizeof big), -E2BIG);
    sse_free(&p);

    s.stop_after = 1;
    sse_init(&p, 0, collect, &s);
    assert_int_equal(sse_feed(&p, "data: a\n\ndata: b\n\n", 18), 7);
    assert_int_equal(s.count, 1);
    sse_free(&p);
    buf_free(&s.log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_cap_and_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
