/* Watching work in the CLI: query-string encoding, the `tether top` frame (columns, escaping,
 * fitting a terminal) and its duration format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cli/query.h"
#include "cli/top_view.h"
#include "common/tm.h"

static void test_query_encoding(void **state)
{
    struct buf b = BUF_INIT;
    (void)state;

    assert_int_equal(buf_append_str(&b, "/v1/invocations"), 0);
    assert_int_equal(query_add(&b, "limit", "5"), 0);
    assert_int_equal(query_add(&b, "command", "a&b=c+d e#f%/\xc3\xbc~._-"), 0);
    assert_string_equal(b.data, "/v1/invocations?limit=5&command="
                                "a%26b%3Dc%2Bd%20e%23f%25%2F%C3%BC~._-");
    buf_free(&b);
    assert_int_equal(query_add(&b, "tag", "env=prod"), 0);
    assert_string_equal(b.data, "?tag=env%3Dprod");
    buf_free(&b);
}

static void test_durations(void **state)
{
    char s[32];
    (void)state;
    top_fmt_duration(-5, s, sizeof s);
    assert_string_equal(s, "0s");
    top_fmt_duration(45999, s, sizeof s);
    assert_string_equal(s, "45s");
    top_fmt_duration(125000, s, sizeof s);
    assert_string_equal(s, "2m05s");
    top_fmt_duration(3720000, s, sizeof s);
    assert_string_equal(s, "1h02m");
    top_fmt_duration(3 * 86400000LL + 4 * 3600000LL, s, sizeof s);
    assert_string_equal(s, "3d04h");
}

#define NOW_TEXT "2026-11-22T10:00:00.000Z"

static json_t *agents(void)
{
    return json_pack("[{s:s, s:s, s:s, s:f, s:s, s:s, s:s}, {s:s, s:s, s:s, s:f, s:s, s:s}]",
                     "agent_id", "agt-00000000000000000001", "name", "web-1", "status", "online",
                     "load1", 0.5, "last_heartbeat", NOW_TEXT, "version", "0.1.0", "last_seen",
                     "2026-11-22T09:59:57.000Z",
                     "agent_id", "agt-00000000000000000002", "name", "db-\x1b[2J", "status",
                     "offline", "load1", 0.0, "version", "99.0.0", "last_seen",
                     "2026-11-22T09:00:00.000Z");
}

static json_t *tasks(void)
{
    return json_pack("[{s:s, s:s, s:s, s:s, s:s, s:b}]", "task_id", "tsk-00000000000000000001",
                     "agent_id", "agt-00000000000000000001", "name", "web-1", "started_at",
                     "2026-11-22T09:57:55.000Z", "command", "sleep 300; echo \x1b]0;x\x07\nline 2",
                     "command_truncated", 0);
}

static void test_top_snapshot(void **state)
{
    struct top_size unlimited = { 0, 0 };
    struct top_input in = { "http://srv:8600", agents(), tasks(), 1, NULL, 0 };
    struct buf out = BUF_INIT;
    (void)state;

    assert_int_equal(tm_parse_rfc3339(NOW_TEXT, &in.now_ms), 0);
    assert_int_equal(top_render(&in, &unlimited, "\n", &out), 0);
    assert_string_equal(out.data,
        "tether top  2 agents (1 online), 1 running task  10:00:00 UTC  http://srv:8600\n"
        "\n"
        "NAME        STATUS   RUNNING  LOAD  VERSION  LAST_SEEN\n"
        "web-1       online   1        0.50  0.1.0    3s ago\n"
        "db-\\x1B[2J  offline  0        -     99.0.0   1h ago\n"
        "\n"
        "TASK                      AGENT  RUNNING_FOR  COMMAND\n"
        "tsk-00000000000000000001  web-1  2m05s        sleep 300; echo \\x1B]0;x\\x07…\n");
    buf_free(&out);
    json_decref(in.agents);
    json_decref(in.tasks);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static size_t longest_line(const char *s)
{
    size_t best = 0, w = 0;
    for (; *s; s++) {
        if (*s == '\n') {
            best = w > best ? w : best;
            w = 0;
        } else if (((unsigned char)*s & 0xc0) != 0x80) {
            w++;
        }
    }
    return best;
}

/* A small terminal: every line fits its width, the frame fits its height, and what does not fit
 * is counted ("… N more"). */
static void test_top_fits_terminal(void **state)
{
    struct top_input in = { "http://a-rather-long-server-name.example:8600", json_array(),
                            json_array(), 0, "cannot reach server", 0 };
    struct top_size size = { 40, 16 };
    struct buf out = BUF_INIT;
    (void)state;

    assert_int_equal(tm_parse_rfc3339(NOW_TEXT, &in.now_ms), 0);
    for (int i = 0; i < 30; i++) {
        char name[16], id[32], tid[32];
        snprintf(name, sizeof name, "host-%02d", i);
        snprintf(id, sizeof id, "agt-%020d", i);
        snprintf(tid, sizeof tid, "tsk-%020d", i);
        json_array_append_new(in.agents, json_pack("{s:s, s:s, s:s}", "agent_id", id, "name",
                                                   name, "status", "online"));
        json_array_append_new(in.tasks, json_pack("{s:s, s:s, s:s, s:s, s:s}", "task_id", tid,
                                                  "agent_id", id, "name", name, "started_at",
                                                  NOW_TEXT, "command",
                                                  "a command far longer than forty columns"));
    }
    in.running_total = 45;
    assert_int_equal(top_render(&in, &size, "\n", &out), 0);
    assert_true(longest_line(out.data) <= 40);
    assert_true(count_lines(out.data) <= 16);
    assert_non_null(strstr(out.data, "! cannot reach server"));
    assert_non_null(strstr(out.data, "(showing 30 of 45 running"));
    assert_non_null(strstr(out.data, "more (of 30)"));
    assert_non_null(strstr(out.data, "host-00"));
    buf_free(&out);

    /* few tasks: the agents get the room they leave */
    while (json_array_size(in.tasks) > 1)
        json_array_remove(in.tasks, 1);
    in.running_total = 1;
    size.rows = 30;
    assert_int_equal(top_render(&in, &size, "\x1b[K\n", &out), 0);
    assert_true(count_lines(out.data) <= 30);
    assert_non_null(strstr(out.data, "tsk-00000000000000000000"));
    assert_non_null(strstr(out.data, "host-20"));
    assert_non_null(strstr(out.data, "\x1b[K\n"));
    buf_free(&out);
    json_decref(in.agents);
    json_decref(in.tasks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_encoding),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_top_snapshot),
        cmocka_unit_test(test_top_fits_terminal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
