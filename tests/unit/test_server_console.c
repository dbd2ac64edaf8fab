/* The web console's file names: which paths are console files, traversal and dotfile refusal,
 * Content-Types by extension and If-None-Match matching (server/console_path.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "server/console_path.h"

static void test_owns_path(void **state)
{
    (void)state;
    assert_true(console_owns_path("/"));
    assert_true(console_owns_path("/index.html"));
    assert_true(console_owns_path("/js/app.js"));
    assert_true(console_owns_path("/v1x"));
    assert_true(console_owns_path("/healthz.html"));
    assert_false(console_owns_path("/v1"));
    assert_false(console_owns_path("/v1/"));
    assert_false(console_owns_path("/v1/agents"));
    assert_false(console_owns_path("/v1/nothing/here"));
    assert_false(console_owns_path("/healthz"));
}

static void assert_resolves(const char *path, const char *want_rel, const char *want_type)
{
    char rel[CONSOLE_NAME_MAX];
    const char *ctype = NULL;
    int rc = console_path_resolve(path, rel, sizeof rel, &ctype);
    if (rc)
        fail_msg("'%s' was refused (%d), expected '%s'", path, rc, want_rel);
    assert_string_equal(rel, want_rel);
    assert_string_equal(ctype, want_type);
}

static void assert_refused(const char *path)
{
    char rel[CONSOLE_NAME_MAX] = "";
    const char *ctype = NULL;
    int rc = console_path_resolve(path, rel, sizeof rel, &ctype);
    if (rc == 0)
        fail_msg("'%s' was accepted as '%s'", path, rel);
}

static void test_resolve(void **state)
{
    (void)state;
    assert_resolves("/", "index.html", "text/html; charset=utf-8");
    assert_resolves("/index.html", "index.html", "text/html; charset=utf-8");
    assert_resolves("/js/app.js", "js/app.js", "text/javascript; charset=utf-8");
    assert_resolves("/app.css", "app.css", "text/css; charset=utf-8");
    assert_resolves("/img/logo.svg", "img/logo.svg", "image/svg+xml");
    assert_resolves("/a.b-c_d.png", "a.b-c_d.png", "image/png");
    assert_resolves("/favicon.ico", "favicon.ico", "image/x-icon");
    assert_resolves("/manifest.json", "manifest.json", "application/json");
    assert_resolves("/fonts/x.woff2", "fonts/x.woff2", "font/woff2");
}

static void test_refused(void **state)
{
    char longpath[CONSOLE_NAME_MAX + 16];
    (void)state;
    /* traversal, in every shape that survives URL decoding */
    assert_refused("/../etc/passwd");
    assert_refused("/js/../../etc/passwd.js");
    assert_refused("/..");
    assert_refused("/./index.html");
    assert_refused("/js/./app.js");
    assert_refused("/%2e%2e/index.html");
    assert_refused("/js%2fapp.js");
    assert_refused("/js\\app.js");
    /* dotfiles and dot directories */
    assert_refused("/.env");
    assert_refused("/.git/config");
    assert_refused("/js/.hidden.js");
    /* empty segments, trailing slash, no leading slash */
    assert_refused("//etc/passwd");
    assert_refused("/js//app.js");
    assert_refused("/js/");
    assert_refused("index.html");
    assert_refused("");
    /* extensions outside the allowlist, or none */
    assert_refused("/tether.db");
    assert_refused("/admin.key");
    assert_refused("/script.sh");
    assert_refused("/README");
    assert_refused("/index.html.bak");
    assert_refused("/x.HTML");
    /* characters outside the allowlist */
    assert_refused("/in dex.html");
    assert_refused("/index.html\n");
    assert_refused("/ind\xc3\xa9x.html");
    assert_refused("/a?b.html");
    /* length */
    memset(longpath, 'a', sizeof longpath);
    longpath[0] = '/';
    memcpy(longpath + CONSOLE_NAME_MAX + 10, ".html", 6);
    assert_refused(longpath);
}

static void test_small_buffer(void **state)
{
    char rel[8];
    const char *ctype;
    (void)state;
    assert_int_not_equal(console_path_resolve("/index.html", rel, sizeof rel, &ctype), 0);
}

static void test_content_type(void **state)
{
    (void)state;
    assert_string_equal(console_content_type("a/b/c.js"), "text/javascript; charset=utf-8");
    assert_null(console_content_type("a.js/b"));
    assert_null(console_content_type(".js"));
    assert_null(console_content_type("x.mjs"));
    assert_null(console_content_type("x.txt"));
}

static void test_etag(void **state)
{
    const char *tag = "\"1a-2b-3c\"";
    (void)state;
    assert_true(console_etag_matches("\"1a-2b-3c\"", tag));
    assert_true(console_etag_matches("W/\"1a-2b-3c\"", tag));
    assert_true(console_etag_matches("\"x\", \"1a-2b-3c\"", tag));
    assert_true(console_etag_matches("\"x\",\"1a-2b-3c\" ", tag));
    assert_true(console_etag_matches("*", tag));
    assert_false(console_etag_matches("\"1a-2b-3\"", tag));
    assert_false(console_etag_matches("\"1a-2b-3c\"x", tag));
    assert_false(console_etag_matches("1a-2b-3c", tag));
    assert_false(console_etag_matches("", tag));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owns_path),    cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_refused),      cmocka_unit_test(test_small_buffer),
        cmocka_unit_test(test_content_type), cmocka_unit_test(test_etag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
