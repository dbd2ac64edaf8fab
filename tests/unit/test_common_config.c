/* Unit tests for the options table (common/config.h) and the JSON input helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/jsonutil.h"

struct demo_cfg {
    char *server;
    int64_t workers;
    bool verbose;
    int64_t interval;
    int64_t limit;
};

static const struct cfg_option demo_options[] = {
    { "server", CFG_STR, "http://127.0.0.1:8600", 0, 0, offsetof(struct demo_cfg, server), "server URL" },
    { "workers", CFG_INT, "16", 1, 256, offsetof(struct demo_cfg, workers), "worker threads" },
    { "verbose", CFG_BOOL, "no", 0, 1, offsetof(struct demo_cfg, verbose), "chatty" },
    { "interval", CFG_DURATION, "30s", 1, 3600, offsetof(struct demo_cfg, interval), "interval" },
    { "limit", CFG_SIZE, "4M", 1024, 1LL << 30, offsetof(struct demo_cfg, limit), "limit" },
    { NULL, 0, NULL, 0, 0, 0, NULL },
};

static void test_defaults_and_set(void **state)
{
    (void)state;
    struct demo_cfg c;
    char err[256];
    memset(&c, 0, sizeof c);
    assert_int_equal(cfg_defaults(demo_options, &c), 0);
    assert_string_equal(c.server, "http://127.0.0.1:8600");
    assert_int_equal(c.workers, 16);
    assert_false(c.verbose);
    assert_int_equal(c.interval, 30);
    assert_int_equal(c.limit, 4 * 1024 * 1024);
    assert_int_equal(cfg_set_pair(demo_options, &c, "workers=4", err, sizeof err), 0);
    assert_int_equal(c.workers, 4);
    assert_int_equal(cfg_set_pair(demo_options, &c, "interval=5m", err, sizeof err), 0);
    assert_int_equal(c.interval, 300);
    assert_int_equal(cfg_set_pair(demo_options, &c, "limit=64KiB", err, sizeof err), 0);
    assert_int_equal(c.limit, 65536);
    assert_int_equal(cfg_set_pair(demo_options, &c, "workers=0", err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "workers"));
    assert_int_equal(cfg_set_pair(demo_options, &c, "workers=12x", err, sizeof err), -EINVAL);
    assert_int_equal(cfg_set_pair(demo_options, &c, "nope=1", err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "nope"));
    assert_int_equal(cfg_set_pair(demo_options, &c, "verbose=maybe", err, sizeof err), -EINVAL);
    assert_int_equal(cfg_set_pair(demo_options, &c, "novalue", err, sizeof err), -EINVAL);
    cfg_free(demo_options, &c);
    assert_null(c.server);
}

static void test_file(void **state)
{
    (void)state;
    char path[] = "/tmp/tether-cfg-XXXXXX", err[256];
    struct demo_cfg c;
    int fd = mkstemp(path);
    const char *text = "# comment\n\n server = https://example:8600 \nverbose=yes\nworkers = 300\n";
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    memset(&c, 0, sizeof c);
    cfg_defaults(demo_options, &c);
    assert_int_equal(cfg_load_file(demo_options, &c, path, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, ":5:"));   /* the line of the bad value is named */
    assert_string_equal(c.server, "https://example:8600");
    assert_true(c.verbose);
    assert_int_equal(cfg_load_file(demo_options, &c, "/nonexistent/x.conf", err, sizeof err), -ENOENT);
    cfg_free(demo_options, &c);
    unlink(path);
}

static void test_json_input(void **state)
{
    (void)state;
    char err[256];
    json_t *v = jsonu_parse("{\"a\":1,\"a\":2}", 13, 1024, err, sizeof err);
    assert_null(v);
    assert_non_null(strstr(err, "duplicate"));
    char deep[100];
    memset(deep, '[', 40);
    memset(deep + 40, ']', 40);
    deep[80] = '\0';
    assert_null(jsonu_parse(deep, 80, 1024, err, sizeof err));
    assert_non_null(strstr(err, "deeper"));
    assert_null(jsonu_parse("{\"a\":1}", 7, 3, err, sizeof err));
    assert_null(jsonu_parse("{bad", 4, 1024, err, sizeof err));

    /* jansson refuses embedded NULs in strings at parse time */
    const char *nul = "{\"z\":\"a\\u0000b\"}";
    assert_null(jsonu_parse(nul, strlen(nul), 1024, err, sizeof err));
    const char *doc = "{\"s\":\"x\",\"n\":5,\"b\":true,\"z\":\"ab\"}";
    v = jsonu_parse(doc, strlen(doc), 1024, err, sizeof err);
    assert_non_null(v);
    const char *s;
    int64_t n;
    bool b;
    assert_int_equal(jsonu_str(v, "s", &s, err, sizeof err), 0);
    assert_string_equal(s, "x");
    assert_int_equal(jsonu_str(v, "missing", &s, err, sizeof err), 1);
    assert_int_equal(jsonu_str(v, "n", &s, err, sizeof err), -EINVAL);
    assert_string_equal(err, "n: must be a string");
    assert_int_equal(jsonu_int(v, "n", 1, 10, &n, err, sizeof err), 0);
    assert_int_equal(n, 5);
    assert_int_equal(jsonu_int(v, "n", 6, 10, &n, err, sizeof err), -EINVAL);
    assert_string_equal(err, "n: must be between 6 and 10");
    assert_int_equal(jsonu_bool(v, "b", &b, err, sizeof err), 0);
    assert_true(b);
    const char *allowed[] = { "s", "n", "b", NULL };
    assert_int_equal(jsonu_only_keys(v, allowed, err, sizeof err), -EINVAL);
    assert_string_equal(err, "z: unknown field");
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_set),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_json_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
