/* The strict fast scanner for output bodies: accepts exactly the protocol shape, nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/b64.h"
#include "server/output_body.h"

static int scan(const char *s, struct output_body *o)
{
    return output_body_fast(s, strlen(s), o);
}

static void test_accepts(void **state)
{
    struct output_body o;
    (void)state;
    assert_int_equal(scan("{\"seq\":12,\"stream\":\"stdout\",\"data\":\"aGkK\"}", &o), 0);
    assert_int_equal(o.seq, 12);
    assert_int_equal(o.stream_len, 6);
    assert_memory_equal(o.stream, "stdout", 6);
    assert_int_equal(o.data_len, 4);
    assert_int_equal(scan(" { \"data\" : \"aA==\" , \"stream\":\"stderr\", \"seq\" : 0 } \n", &o), 0);
    assert_int_equal(o.seq, 0);
    assert_memory_equal(o.stream, "stderr", 6);
}

static void test_rejects(void **state)
{
    struct output_body o;
    (void)state;
    const char *bad[] = {
        "",
        "{}",
        "{\"seq\":1,\"stream\":\"stdout\"}",
        "{\"seq\":1,\"stream\":\"stdout\",\"data\":\"aGkK\",\"x\":1}",
        "{\"seq\":1,\"seq\":2,\"data\":\"aGkK\"}",
        "{\"seq\":-1,\"stream\":\"stdout\",\"data\":\"aGkK\"}",
        "{\"seq\":01,\"stream\":\"stdout\",\"data\":\"aGkK\"}",
        "{\"seq\":1.5,\"stream\":\"stdout\",\"data\":\"aGkK\"}",
        "{\"seq\":1234567890123456,\"stream\":\"stdout\",\"data\":\"aGkK\"}",
        "{\"seq\":1,\"stream\":\"std\\u006fut\",\"data\":\"aGkK\"}",
        "{\"seq\":1,\"stream\":\"stdout\",\"data\":\"aGkK\"",
        "{\"seq\":1,\"stream\":\"stdout\",\"data\":\"aGkK\"}x",
        "{\"seq\":1,\"stream\":\"stdout\",,\"data\":\"aGkK\"}",
        "[\"seq\",1]",
        NULL,
    };
    for (int i = 0; bad[i]; i++)
        if (scan(bad[i], &o) == 0)
            fail_msg("accepted %s", bad[i]);
    /* data is only delimited here (memchr for the quote); b64_decode refuses what is not base64,
     * an escape included, so such a chunk is still a 400 */
    assert_int_equal(scan("{\"seq\":1,\"stream\":\"stdout\",\"data\":\"aG\\nkK\"}", &o), 0);
    unsigned char raw[8];
    assert_true(b64_decode(o.data, o.data_len, raw, sizeof raw) < 0);
}

static int batch(const char *s, struct output_body *o, size_t max, size_t *n)
{
    return output_batch_fast(s, strlen(s), o, max, n);
}

static void test_batch(void **state)
{
    struct output_body o[4];
    size_t n = 99;
    (void)state;
    assert_int_equal(batch("{\"chunks\":[{\"seq\":3,\"stream\":\"stdout\",\"data\":\"aGkK\"},"
                           " {\"data\":\"aA==\",\"stream\":\"stderr\",\"seq\":4}]}\n", o, 4, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(o[0].seq, 3);
    assert_int_equal(o[1].seq, 4);
    assert_memory_equal(o[1].stream, "stderr", 6);
    assert_int_equal(o[1].data_len, 4);
    /* one element is a batch too */
    assert_int_equal(batch("{ \"chunks\" : [ {\"seq\":0,\"stream\":\"stdout\",\"data\":\"aGkK\"} ] }", o,
                           4, &n), 0);
    assert_int_equal(n, 1);
    const char *bad[] = {
        "{\"chunks\":[]}",
        "{\"chunks\":{}}",
        "{\"chunks\":[{\"seq\":1,\"stream\":\"stdout\",\"data\":\"aGkK\"},]}",
        "{\"chunks\":[{\"seq\":1,\"stream\":\"stdout\",\"data\":\"aGkK\"}],\"x\":1}",
        "{\"chunks\":[{\"seq\":1,\"stream\":\"stdout\",\"data\":\"aGkK\"}]",
        "{\"chunks\":[{\"seq\":1,\"stream\":\"stdout\",\"data\":\"aGkK\"}]}x",
        "{\"chunks\":[{\"seq\":1,\"stream\":\"stdout\"}]}",
        "{\"chunks\":[{\"seq\":1,\"stream\":\"std\\u006fut\",\"data\":\"aGkK\"}]}",
        "[{\"seq\":1,\"stream\":\"stdout\",\"data\":\"aGkK\"}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(batch(bad[i], o, 4, &n), -1);
    /* more elements than max: refused, not truncated */
    assert_int_equal(batch("{\"chunks\":[{\"seq\":1,\"stream\":\"stdout\",\"data\":\"aGkK\"},"
                           "{\"seq\":2,\"stream\":\"stdout\",\"data\":\"aGkK\"}]}", o, 1, &n), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
