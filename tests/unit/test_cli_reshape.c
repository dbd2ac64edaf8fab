/* JSON reshaping for -o json, and the follow engine's event handling (dedupe by seq). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "cli/follow.h"
#include "cli/reshape.h"

static void test_reshape(void **state)
{
    const char *in =
        "{\"invocation_id\":\"inv-0123456789abcdef0123\",\"status\":\"failed\",\"command\":\"x\","
        "\"counts\":{\"failed\":1},\"tasks\":[{\"task_id\":\"tsk-0123456789abcdef0123\","
        "\"invocation_id\":\"inv-0123456789abcdef0123\",\"agent_id\":\"agt-0123456789abcdef0123\","
        "\"name\":\"web-1\",\"status\":\"failed\",\"exit_code\":2,\"signal\":null,\"error\":null,"
        "\"output_bytes\":3,\"dropped_bytes\":0,\"created_at\":\"c\",\"started_at\":\"s\","
        "\"finished_at\":\"f\",\"output\":\"ab\\n\",\"stdout\":\"a\",\"stderr\":\"b\\n\"},"
        "{\"task_id\":\"tsk-1123456789abcdef0123\",\"status\":\"pending\"}]}";
    const char *want =
        "{\"invocation_id\":\"inv-0123456789abcdef0123\",\"status\":\"failed\",\"tasks\":["
        "{\"task_id\":\"tsk-0123456789abcdef0123\",\"agent_id\":\"agt-0123456789abcdef0123\","
        "\"name\":\"web-1\",\"status\":\"failed\",\"exit_code\":2,\"signal\":null,\"error\":null,"
        "\"output\":\"ab\\n\",\"stdout\":\"a\",\"stderr\":\"b\\n\",\"dropped_bytes\":0,"
        "\"started_at\":\"s\",\"finished_at\":\"f\"},"
        "{\"task_id\":\"tsk-1123456789abcdef0123\",\"agent_id\":null,\"name\":null,"
        "\"status\":\"pending\",\"exit_code\":null,\"signal\":null,\"error\":null,\"output\":\"\","
        "\"stdout\":\"\",\"stderr\":\"\",\"dropped_bytes\":0,\"started_at\":null,"
        "\"finished_at\":null}]}";
    json_t *inv = json_loads(in, 0, NULL), *out;
    char *got;
    (void)state;

    assert_non_null(inv);
    out = reshape_invocation(inv);
    assert_non_null(out);
    got = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(got, want);
    free(got);
    json_decref(out);
    json_decref(inv);
    assert_null(reshape_invocation(NULL));
    assert_true(task_status_final("timed_out"));
    assert_false(task_status_final("running"));
    assert_false(task_status_final(NULL));
}

struct got { struct buf out[2]; int tasks; };

static void on_out(void *ud, size_t idx, enum out_stream s, const char *d, size_t n)
{
    struct got *g = ud;
    assert_int_equal(idx, 0);
    buf_append(&g->out[s], d, n);
}

static void on_task(void *ud, size_t idx)
{
    struct got *g = ud;
    (void)idx;
    g->tasks++;
}

static void ev(struct follow *f, const char *event, const char *data)
{
    follow_on_event(f, event, data, strlen(data));
}

static void test_follow_events(void **state)
{
    struct got g = { { BUF_INIT, BUF_INIT }, 0 };
    struct follow_sink sink = { on_out, on_task, &g };
    struct follow f;
    (void)state;

    assert_int_equal(follow_init(&f, NULL, "inv-0123456789abcdef0123", NULL, NULL, &sink), 0);
    ev(&f, "task", "{\"task_id\":\"tsk-0123456789abcdef0123\",\"name\":\"web-1\","
                   "\"status\":\"running\"}");
    assert_int_equal(f.ntasks, 1);
    assert_string_equal(f.tasks[0].name, "web-1");
    ev(&f, "output", "{\"task_id\":\"tsk-0123456789abcdef0123\",\"seq\":0,\"stream\":\"stdout\","
                     "\"data\":\"aGVs\"}");
    ev(&f, "output", "{\"task_id\":\"tsk-0123456789abcdef0123\",\"seq\":1,\"stream\":\"stderr\","
                     "\"data\":\"ZXJy\"}");
    /* a reconnect replays seq 0 and 1: ignored */
    ev(&f, "output", "{\"task_id\":\"tsk-0123456789abcdef0123\",\"seq\":0,\"stream\":\"stdout\","
                     "\"data\":\"aGVs\"}");
    ev(&f, "output", "{\"task_id\":\"tsk-0123456789abcdef0123\",\"seq\":2,\"stream\":\"stdout\","
                     "\"data\":\"bG8K\"}");
    /* garbage and unknown tasks are ignored */
    ev(&f, "output", "{\"task_id\":\"tsk-9999999999abcdef0123\",\"seq\":0,\"stream\":\"stdout\","
                     "\"data\":\"eA==\"}");
    ev(&f, "output", "{\"task_id\":\"tsk-0123456789abcdef0123\",\"seq\":3,\"stream\":\"tty\","
                     "\"data\":\"eA==\"}");
    ev(&f, "output", "{\"task_id\":\"tsk-0123456789abcdef0123\",\"seq\":3,\"stream\":\"stdout\","
                     "\"data\":\"!!\"}");
    ev(&f, "output", "not json");
    ev(&f, "task", "{\"task_id\":\"../etc\",\"status\":\"running\"}");
    assert_int_equal(f.ntasks, 1);
    assert_string_equal(g.out[0].data, "hello\n");
    assert_string_equal(g.out[1].data, "err");
    assert_int_equal(f.tasks[0].delivered[0], 6);
    assert_false(f.tasks[0].final);
    ev(&f, "task", "{\"task_id\":\"tsk-0123456789abcdef0123\",\"name\":\"\\u001b[31m\","
                   "\"status\":\"succeeded\",\"exit_code\":0}");
    assert_true(f.tasks[0].final);
    assert_string_equal(f.tasks[0].name, "tsk-0123456789abcdef0123");
    assert_int_equal(g.tasks, 2);
    assert_int_equal(follow_on_event(&f, "end", "{}", 2), 1);
    assert_true(f.ended);
    follow_free(&f);
    buf_free(&g.out[0]);
    buf_free(&g.out[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reshape),
        cmocka_unit_test(test_follow_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
