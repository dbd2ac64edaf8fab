/* Task environment: parsing a captured `env -0`, the profile plan per shell, /etc/environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "task/shim_env.h"
#include "task/shim_profile.h"

static void parses_nul_separated(void **state)
{
    static const char in[] = "HOME=/home/u\0PATH=/x:/y\0EMPTY=\0EQ=a=b\0LINES=l1\nl2\0";
    struct shim_env e = { 0 };
    (void)state;
    assert_int_equal(shim_env_parse_nul(&e, in, sizeof in - 1), 5);
    assert_string_equal(shim_env_get(&e, "HOME"), "/home/u");
    assert_string_equal(shim_env_get(&e, "PATH"), "/x:/y");
    assert_string_equal(shim_env_get(&e, "EMPTY"), "");
    assert_string_equal(shim_env_get(&e, "EQ"), "a=b");
    assert_string_equal(shim_env_get(&e, "LINES"), "l1\nl2");
    assert_null(e.vars[e.n]);
    shim_env_free(&e);
}

static void skips_malformed_entries(void **state)
{
    static const char in[] = "noequals\0=novalue\0BAD-NAME=1\0" "1X=2\0PWD=/tmp\0SHLVL=3\0_=/usr/bin/env\0"
                             "GOOD=1\0\0CUT=unterminated";
    struct shim_env e = { 0 };
    (void)state;
    assert_int_equal(shim_env_parse_nul(&e, in, sizeof in - 1), 1);
    assert_string_equal(shim_env_get(&e, "GOOD"), "1");
    assert_null(shim_env_get(&e, "PWD"));
    assert_null(shim_env_get(&e, "SHLVL"));
    assert_null(shim_env_get(&e, "CUT"));
    shim_env_free(&e);
}

static void later_entries_replace(void **state)
{
    static const char in[] = "A=1\0A=2\0";
    struct shim_env e = { 0 };
    (void)state;
    shim_env_set(&e, "A", "0");
    assert_int_equal(shim_env_parse_nul(&e, in, sizeof in - 1), 2);
    assert_int_equal(e.n, 1);
    assert_string_equal(shim_env_get(&e, "A"), "2");
    shim_env_free(&e);
}

static void profile_plan_by_shell(void **state)
{
    const char *shell, *script;
    (void)state;
    if (access("/bin/bash", X_OK) == 0) {
        shim_profile_plan("/bin/bash", &shell, &script);
        assert_string_equal(shell, "/bin/bash");
        assert_non_null(strstr(script, ".bash_profile"));
        assert_non_null(strstr(script, ".bash_login"));
        /* bash order: /etc/profile, then the first of the three */
        assert_true(strstr(script, "/etc/profile") < strstr(script, ".bash_profile"));
        assert_true(strstr(script, ".bash_profile") < strstr(script, ".bash_login"));
        assert_true(strstr(script, ".bash_login") < strstr(script, "/.profile"));
        assert_non_null(strstr(script, "elif"));
    }
    shim_profile_plan("/usr/bin/zsh", &shell, &script);
    assert_string_equal(shell, "/bin/sh");
    assert_null(strstr(script, "bash"));
    assert_non_null(strstr(script, "/etc/profile"));
    assert_non_null(strstr(script, "$HOME/.profile"));
    shim_profile_plan("/bin/sh", &shell, &script);
    assert_string_equal(shell, "/bin/sh");
    /* a bash that does not exist is not run */
    shim_profile_plan("/nonexistent/bash", &shell, &script);
    assert_string_equal(shell, "/bin/sh");
    shim_profile_plan(NULL, &shell, &script);
    assert_string_equal(shell, "/bin/sh");
    assert_non_null(strstr(script, "env -0 >&3"));
}

static void loads_etc_environment_style(void **state)
{
    char path[] = "/tmp/test_shim_env_XXXXXX";
    int fd = mkstemp(path);
    struct shim_env e = { 0 };
    FILE *f;
    (void)state;
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fputs("# comment\nLANG=\"C.UTF-8\"\nexport EDITOR='vi'\njunk line\nPATH=/evil\nX=1\n", f);
    fclose(f);
    assert_int_equal(shim_env_load_file(&e, path), 0);
    assert_string_equal(shim_env_get(&e, "LANG"), "C.UTF-8");
    assert_string_equal(shim_env_get(&e, "EDITOR"), "vi");
    assert_string_equal(shim_env_get(&e, "X"), "1");
    assert_null(shim_env_get(&e, "PATH"));
    unlink(path);
    shim_env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_nul_separated),
        cmocka_unit_test(skips_malformed_entries),
        cmocka_unit_test(later_entries_replace),
        cmocka_unit_test(profile_plan_by_shell),
        cmocka_unit_test(loads_etc_environment_style),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
