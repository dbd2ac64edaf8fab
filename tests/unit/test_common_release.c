/* Unit tests for release manifests (issue 6): canonical form, Ed25519 sign/verify round trip,
 * version order and validity, the staged-rollout bucket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/release.h"
#include "common/tm.h"

static void sample(struct release_manifest *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "tether-agent");
    snprintf(m->version, sizeof m->version, "1.2.3");
    snprintf(m->os, sizeof m->os, "linux");
    snprintf(m->arch, sizeof m->arch, "x86_64");
    snprintf(m->channel, sizeof m->channel, "stable");
    m->size = 4242;
    memset(m->sha256, 'a', 64);
    tm_parse_rfc3339("2026-01-02T03:04:05Z", &m->created_at);
    tm_parse_rfc3339("2026-02-01T03:04:05Z", &m->expires_at);
}

static void test_version_cmp(void **state)
{
    (void)state;
    assert_true(release_version_cmp("0.1.10", "0.1.9") > 0);
    assert_true(release_version_cmp("0.1.9", "0.1.10") < 0);
    assert_int_equal(release_version_cmp("1.0", "1.0.0"), 0);
    assert_true(release_version_cmp("2.0.0", "10.0.0") < 0);
    assert_true(release_version_cmp("1.0.0-rc1", "1.0.0") < 0);
    assert_true(release_version_cmp("1.0.0-rc2", "1.0.0-rc1") > 0);
    assert_true(release_version_cmp("99.0.0", "0.1.0") > 0);
}

static void test_version_valid(void **state)
{
    (void)state;
    const char *good[] = { "0.1.0", "1", "10.20.30", "1.0.0-rc.1", "1.2.3+build5" };
    const char *bad[] = { "", "v1.0", "1..2", "1.", ".1", "1.0-", "1.0 ", "1/2", "1.0-a b",
                          "123456789012345678901234567890123" };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(release_version_valid(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(release_version_valid(bad[i]));
    assert_true(release_field_valid("x86_64"));
    assert_false(release_field_valid("X86"));
    assert_false(release_field_valid("a/b"));
}

static void test_manifest_canonical(void **state)
{
    (void)state;
    struct release_manifest m, back;
    char *text = NULL, err[128];

    sample(&m);
    assert_int_equal(release_manifest_format(&m, &text), 0);
    assert_string_equal(text,
                        "{\"name\":\"tether-agent\",\"version\":\"1.2.3\",\"os\":\"linux\","
                        "\"arch\":\"x86_64\",\"channel\":\"stable\",\"size\":4242,\"sha256\":\""
                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
                        "\"created_at\":\"2026-01-02T03:04:05Z\","
                        "\"expires_at\":\"2026-02-01T03:04:05Z\"}");
    assert_int_equal(release_manifest_parse(text, strlen(text), &back, err, sizeof err), 0);
    assert_int_equal(memcmp(&m, &back, sizeof m), 0);
    free(text);

    /* refused: another program, an unknown key, a duplicate key, a bad digest */
    const char *bad[] = {
        "{\"name\":\"sshd\",\"version\":\"1\",\"os\":\"linux\",\"arch\":\"x\",\"channel\":\"s\","
        "\"size\":1,\"sha256\":\"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "\",\"created_at\":\"2026-01-02T03:04:05Z\",\"expires_at\":\"2026-02-01T03:04:05Z\"}",
        "{\"name\":\"tether-agent\",\"version\":\"1\",\"os\":\"linux\",\"arch\":\"x\","
        "\"channel\":\"s\",\"size\":1,\"sha256\":\""
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"created_at\":"
        "\"2026-01-02T03:04:05Z\",\"expires_at\":\"2026-02-01T03:04:05Z\",\"url\":\"x\"}",
        "{\"name\":\"tether-agent\",\"name\":\"tether-agent\"}",
        "{\"name\":\"tether-agent\",\"version\":\"1\",\"os\":\"linux\",\"arch\":\"x\","
        "\"channel\":\"s\",\"size\":1,\"sha256\":\"zz\",\"created_at\":"
        "\"2026-01-02T03:04:05Z\",\"expires_at\":\"2026-02-01T03:04:05Z\"}",
        "[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(release_manifest_parse(bad[i], strlen(bad[i]), &back, err, sizeof err),
                         -EINVAL);
    /* a manifest that cannot be formatted */
    sample(&m);
    snprintf(m.version, sizeof m.version, "1\"");
    assert_int_equal(release_manifest_format(&m, &text), -EINVAL);
}

static void test_sign_verify(void **state)
{
    (void)state;
    char dir[] = "/tmp/tether-release-XXXXXX", key[128], pub[128], key2[128], pub2[128];
    char b64[RELEASE_PUB_B64_MAX], b64_2[RELEASE_PUB_B64_MAX], sig[RELEASE_SIG_B64_MAX];
    char again[RELEASE_PUB_B64_MAX], sig2[RELEASE_SIG_B64_MAX];
    const char *msg = "{\"name\":\"tether-agent\"}";
    struct stat sb;

    assert_non_null(mkdtemp(dir));
    snprintf(key, sizeof key, "%s/k", dir);
    snprintf(pub, sizeof pub, "%s/k.pub", dir);
    snprintf(key2, sizeof key2, "%s/k2", dir);
    snprintf(pub2, sizeof pub2, "%s/k2.pub", dir);
    assert_int_equal(release_keygen(key, pub, b64), 0);
    assert_int_equal(stat(key, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(release_keygen(key, pub, b64), -EEXIST); /* never overwrites a key */
    assert_int_equal(release_keygen(key2, pub2, b64_2), 0);
    assert_string_not_equal(b64, b64_2);

    assert_int_equal(release_sign(key, msg, strlen(msg), sig, again), 0);
    assert_string_equal(again, b64);
    assert_int_equal(release_verify(b64, msg, strlen(msg), sig), 0);
    /* one byte of the manifest changed, another key, a signature of another key */
    assert_int_equal(release_verify(b64, "{\"name\":\"tether-agenT\"}", strlen(msg), sig),
                     -EBADMSG);
    assert_int_equal(release_verify(b64_2, msg, strlen(msg), sig), -EBADMSG);
    assert_int_equal(release_sign(key2, msg, strlen(msg), sig2, NULL), 0);
    assert_int_equal(release_verify(b64, msg, strlen(msg), sig2), -EBADMSG);
    /* malformed key or signature */
    assert_int_equal(release_verify("AAAA", msg, strlen(msg), sig), -EINVAL);
    assert_int_equal(release_verify(b64, msg, strlen(msg), "not base64!"), -EINVAL);
    assert_int_equal(release_verify(NULL, msg, strlen(msg), sig), -EINVAL);
    fs_rm_rf(dir);
}

static void test_rollout_bucket(void **state)
{
    (void)state;
    /* the values tests/e2e/test_update.py computes with hashlib */
    assert_int_equal(release_rollout_bucket("agt_0123456789abcdef"), 35);
    assert_int_equal(release_rollout_bucket("x"), 86);
    int seen[100] = { 0 }, distinct = 0;
    for (int i = 0; i < 1000; i++) {
        char id[32];
        snprintf(id, sizeof id, "agent-%d", i);
        int b = release_rollout_bucket(id);
        assert_in_range(b, 0, 99);
        distinct += !seen[b]++;
    }
    assert_true(distinct > 90); /* spread over the range */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_cmp),      cmocka_unit_test(test_version_valid),
        cmocka_unit_test(test_manifest_canonical), cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_rollout_bucket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
