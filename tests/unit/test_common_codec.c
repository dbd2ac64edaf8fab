/* Unit tests for the common codecs: base64, UTF-8 chunk boundaries and sanitising, ids, time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/b64.h"
#include "common/buf.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/tm.h"
#include "common/utf8.h"

static void test_b64_roundtrip(void **state)
{
    (void)state;
    const char *cases[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
    const char *want[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
    for (size_t i = 0; i < 7; i++) {
        char enc[32], dec[32];
        long n = b64_encode(cases[i], strlen(cases[i]), enc, sizeof enc);
        assert_int_equal(n, strlen(want[i]));
        assert_string_equal(enc, want[i]);
        n = b64_decode(enc, strlen(enc), dec, sizeof dec);
        assert_int_equal(n, strlen(cases[i]));
        assert_memory_equal(dec, cases[i], (size_t)n);
    }
}

static void test_b64_binary(void **state)
{
    (void)state;
    unsigned char in[256], out[256];
    char enc[400];
    for (int i = 0; i < 256; i++)
        in[i] = (unsigned char)i;
    long n = b64_encode(in, sizeof in, enc, sizeof enc);
    assert_true(n > 0);
    assert_int_equal(b64_decode(enc, (size_t)n, out, sizeof out), 256);
    assert_memory_equal(in, out, 256);
    /* every length 0..256: the fast whole-triple path and each tail shape, exact buffer sizes */
    for (size_t len = 0; len <= sizeof in; len++) {
        n = b64_encode(in + (256 - len), len, enc, b64_encoded_len(len) + 1);
        assert_int_equal(n, (long)b64_encoded_len(len));
        assert_int_equal(b64_decode(enc, (size_t)n, out, len), (long)len);
        assert_memory_equal(in + (256 - len), out, len);
        if (len)
            assert_int_equal(b64_decode(enc, (size_t)n, out, len - 1), -ENOSPC);
    }
}

static void test_b64_rejects(void **state)
{
    (void)state;
    char out[16];
    const char *bad[] = { "Zg=", "Zg=a", "Z===", "Zm9v!", "Zh==", "=Zg=", "Zg==Zg==", "Zm 9",
                          "Zm9v=m9v", "Zm9v\x80" "mFyYmFy", "Zm9vYmF\xff" "YmFy" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_true(b64_decode(bad[i], strlen(bad[i]), out, sizeof out) < 0);
    assert_int_equal(b64_decode("Zm9vYmFy", 8, out, 5), -ENOSPC);
    assert_int_equal(b64_encode("foobar", 6, out, 8), -ENOSPC);
}

static void test_utf8_prefix(void **state)
{
    (void)state;
    const char *euro = "a\xe2\x82\xac"; /* a + € */
    assert_int_equal(utf8_complete_prefix(euro, 4), 4);
    assert_int_equal(utf8_complete_prefix(euro, 3), 1);
    assert_int_equal(utf8_complete_prefix(euro, 2), 1);
    assert_int_equal(utf8_complete_prefix("abc", 3), 3);
    /* invalid bytes are not held back */
    assert_int_equal(utf8_complete_prefix("ab\xff", 3), 3);
    /* a 4-byte sequence cut after 3 bytes */
    assert_int_equal(utf8_complete_prefix("\xf0\x9f\x98", 3), 0);
    assert_int_equal(utf8_complete_prefix("\xf0\x9f\x98\x80", 4), 4);
}

static void test_utf8_sanitize(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(utf8_sanitize(&b, "ok\xff\x00x", 5), 0);
    assert_int_equal(b.len, 2 + 3 + 1 + 1);
    assert_memory_equal(b.data, "ok\xef\xbf\xbd\x00x", 7);
    assert_true(utf8_valid(b.data, b.len));
    assert_false(utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    assert_false(utf8_valid("\xc0\xaf", 2));     /* overlong */
    buf_free(&b);
}

static void test_ids(void **state)
{
    (void)state;
    char id[ID_BUF];
    assert_int_equal(id_new(ID_TASK, id), 0);
    assert_true(id_valid(id, ID_TASK));
    assert_true(id_valid(id, NULL));
    assert_false(id_valid(id, ID_AGENT));
    assert_false(id_valid("tsk-../../etc/passwd", NULL));
    assert_false(id_valid("tsk-0123456789abcdef012", NULL));
    assert_false(id_valid("tsk-0123456789ABCDEF0123", NULL));
    assert_false(id_valid("", NULL));
    assert_true(name_valid("web-1.example"));
    assert_false(name_valid("-web"));
    assert_false(name_valid("a/b"));
    assert_false(name_valid("<img src=x>"));
    assert_true(user_name_valid("nobody"));
    assert_false(user_name_valid("../root"));
    assert_true(env_name_valid("_A1"));
    assert_false(env_name_valid("1A"));
    assert_false(env_name_valid("A=B"));
    assert_true(tag_key_valid("env"));
    assert_false(tag_key_valid("1env"));
    assert_true(tag_value_valid(""));
    assert_false(tag_value_valid("a b"));
}

static void test_time(void **state)
{
    (void)state;
    char buf[32];
    int64_t ms;
    assert_int_equal(tm_format_rfc3339(1795316714123LL, buf, sizeof buf), 0);
    assert_string_equal(buf, "2026-11-22T03:05:14.123Z");
    assert_int_equal(tm_parse_rfc3339(buf, &ms), 0);
    assert_int_equal(ms, 1795316714123LL);
    assert_int_equal(tm_parse_rfc3339("2026-11-22T03:05:14Z", &ms), 0);
    assert_int_equal(ms, 1795316714000LL);
    assert_true(tm_parse_rfc3339("2026-13-22T03:05:14Z", &ms) < 0);
    assert_true(tm_parse_rfc3339("yesterday", &ms) < 0);
    int64_t s;
    assert_int_equal(tm_parse_duration("90", &s), 0);
    assert_int_equal(s, 90);
    assert_int_equal(tm_parse_duration("15m", &s), 0);
    assert_int_equal(s, 900);
    assert_int_equal(tm_parse_duration("2d", &s), 0);
    assert_int_equal(s, 172800);
    assert_true(tm_parse_duration("-5", &s) < 0);
    assert_true(tm_parse_duration("5x", &s) < 0);
    assert_true(tm_parse_duration("", &s) < 0);
}

static void test_log_redact(void **state)
{
    (void)state;
    char line[256];
    snprintf(line, sizeof line, "key tak_abcdefghijklmnop and Authorization: Bearer xyz123456 ok");
    log_redact(line);
    assert_string_equal(line, "key tak_*** and Authorization: Bearer *** ok");
    snprintf(line, sizeof line, "token=tag_QWERTY-_09 code tac_zzzz");
    log_redact(line);
    assert_string_equal(line, "token=tag_*** code tac_***");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_roundtrip), cmocka_unit_test(test_b64_binary),
        cmocka_unit_test(test_b64_rejects),   cmocka_unit_test(test_utf8_prefix),
        cmocka_unit_test(test_utf8_sanitize), cmocka_unit_test(test_ids),
        cmocka_unit_test(test_time),          cmocka_unit_test(test_log_redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
