/* Agent options table: defaults, file, --set overrides, bound errors. */
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

#include "main/agent_config.h"

static char *write_conf(const char *text)
{
    static char path[64];
    int fd;
    snprintf(path, sizeof path, "/tmp/test_agent_conf_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void defaults(void **state)
{
    struct agent_config c;
    char err[256];

    (void)state;
    assert_int_equal(agent_config_load(&c, "/nonexistent/agent.conf", 0, err, sizeof err), 0);
    assert_string_equal(c.data_dir, "/var/lib/tether");
    assert_string_equal(c.log_file, "/var/log/tether/agent.log");
    assert_null(c.server);
    assert_int_equal(c.heartbeat_interval, 30);
    assert_int_equal(c.poll_interval, 60);
    assert_int_equal(c.max_concurrent_tasks, 16);
    assert_int_equal(c.kill_grace, 5);
    assert_int_equal(c.spool_limit, 256LL << 20);
    assert_int_equal(c.ws_ping_interval, 20);
    agent_config_free(&c);
    /* an explicitly given file must exist */
    assert_int_equal(agent_config_load(&c, "/nonexistent/agent.conf", 1, err, sizeof err), -ENOENT);
    agent_config_free(&c);
}

static void file_and_overrides(void **state)
{
    struct agent_config c;
    char err[256];
    char *path = write_conf("# comment\nserver = https://t.example:8600\npoll_interval = 2m\n"
                            "spool_limit = 1M\n\nmax_concurrent_tasks=4\n");

    (void)state;
    assert_int_equal(agent_config_load(&c, path, 1, err, sizeof err), 0);
    assert_string_equal(c.server, "https://t.example:8600");
    assert_int_equal(c.poll_interval, 120);
    assert_int_equal(c.spool_limit, 1 << 20);
    assert_int_equal(c.max_concurrent_tasks, 4);
    assert_int_equal(cfg_set_pair(agent_config_options, &c, "poll_interval=2", err, sizeof err), 0);
    assert_int_equal(c.poll_interval, 2);
    agent_config_free(&c);
    unlink(path);
}

static void bound_errors(void **state)
{
    struct agent_config c;
    char err[256];
    char *path = write_conf("max_concurrent_tasks = 0\n");

    (void)state;
    assert_int_equal(agent_config_load(&c, path, 1, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "max_concurrent_tasks"));
    assert_non_null(strstr(err, ":1:"));
    agent_config_free(&c);
    unlink(path);
    assert_int_equal(agent_config_load(&c, "/nonexistent", 0, err, sizeof err), 0);
    assert_int_equal(cfg_set_pair(agent_config_options, &c, "heartbeat_interval=0", err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "heartbeat_interval"));
    assert_int_equal(cfg_set_pair(agent_config_options, &c, "nosuch=1", err, sizeof err), -ENOENT);
    assert_int_equal(cfg_set_pair(agent_config_options, &c, "kill_grace=abc", err, sizeof err),
                     -EINVAL);
    agent_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(file_and_overrides),
        cmocka_unit_test(bound_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
