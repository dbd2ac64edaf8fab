/* "Since when" of listings: durations back from now and RFC 3339 times, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "common/since.h"

#define NOW 1800000000000LL /* 2027-01-15T08:00:00Z */

static void test_durations(void **state)
{
    int64_t ms = 0;
    (void)state;

    assert_int_equal(since_parse("1h", NOW, &ms), 0);
    assert_int_equal(ms, NOW - 3600000);
    assert_int_equal(since_parse("90", NOW, &ms), 0);
    assert_int_equal(ms, NOW - 90000);
    assert_int_equal(since_parse("90s", NOW, &ms), 0);
    assert_int_equal(ms, NOW - 90000);
    assert_int_equal(since_parse("15m", NOW, &ms), 0);
    assert_int_equal(ms, NOW - 900000);
    assert_int_equal(since_parse("7d", NOW, &ms), 0);
    assert_int_equal(ms, NOW - 7 * 86400000LL);
    assert_int_equal(since_parse("3650d", NOW, &ms), 0);
}

static void test_times(void **state)
{
    int64_t ms = 0;
    (void)state;

    assert_int_equal(since_parse("2026-11-01T00:00:00Z", NOW, &ms), 0);
    assert_int_equal(ms, 1793491200000LL);
    assert_int_equal(since_parse("2026-11-01T00:00:00.250Z", NOW, &ms), 0);
    assert_int_equal(ms, 1793491200250LL);
    assert_int_equal(since_parse("2026-11-01T00:00:00+00:00", NOW, &ms), 0);
    assert_int_equal(ms, 1793491200000LL);
}

static void test_refused(void **state)
{
    static const char *const bad[] = {
        "", "0", "0s", "-1h", "+1h", "1w", "1hh", "h", "3651d", "1.5h", " 1h", "1h ",
        "2026-11-01", "2026-11-01T00:00:00", "2026-11-01T00:00:00+02:00", "2026-13-01T00:00:00Z",
        "yesterday", "99999999999999999999999", "2026-11-01T00:00:00Zjunk",
        "1111111111111111111111111111111111111111111111111h",
    };
    int64_t ms = 42;
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (since_parse(bad[i], NOW, &ms) != -EINVAL)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(ms, 42); /* untouched */
    }
    assert_int_equal(since_parse(NULL, NOW, &ms), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
