/* Task verdicts: exit codes, signals, timeouts, limit hits and the spool cap, in priority order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>

#include "task/verdict.h"

#define EXITED(c) ((c) << 8)
#define KILLED(s) (s)

static struct task_outcome base(int status)
{
    return (struct task_outcome){ .wait_status = status, .timeout_s = 2,
                                  .limits = { .memory_bytes = 67108864, .pids = 64 },
                                  .spool_limit = 4096 };
}

static void exit_codes_and_signals(void **state)
{
    struct task_outcome o = base(EXITED(0));
    struct task_verdict v;
    (void)state;
    task_verdict_decide(&o, &v);
    assert_string_equal(v.status, "succeeded");
    assert_true(v.has_exit_code);
    assert_string_equal(v.error, "");
    o = base(EXITED(3));
    task_verdict_decide(&o, &v);
    assert_string_equal(v.status, "failed");
    assert_int_equal(v.exit_code, 3);
    o = base(KILLED(SIGSEGV));
    task_verdict_decide(&o, &v);
    assert_string_equal(v.status, "failed");
    assert_false(v.has_exit_code);
    assert_string_equal(v.signal, "SIGSEGV");
}

static void timeout_and_cancel_win(void **state)
{
    struct task_outcome o = base(KILLED(SIGKILL));
    struct task_verdict v;
    (void)state;
    o.reason = KILL_TIMEOUT;
    o.hits = CG_HIT_PIDS;
    o.dropped = 10;
    task_verdict_decide(&o, &v);
    assert_string_equal(v.status, "timed_out");
    assert_string_equal(v.error, "timed out after 2 s");
    assert_string_equal(v.signal, "SIGKILL");
    o.reason = KILL_CANCEL;
    task_verdict_decide(&o, &v);
    assert_string_equal(v.status, "cancelled");
    assert_string_equal(v.error, "cancelled");
}

static void limit_hits(void **state)
{
    struct task_outcome o = base(KILLED(SIGKILL));
    struct task_verdict v;
    (void)state;
    o.hits = CG_HIT_MEMORY;
    o.dropped = 100;
    task_verdict_decide(&o, &v);
    assert_string_equal(v.status, "failed");
    assert_string_equal(v.error,
                        "memory limit of 67108864 bytes exceeded (killed by the OOM killer)");
    /* a fork bomb's main process may exit 0: still not a success */
    o = base(EXITED(0));
    o.hits = CG_HIT_PIDS;
    task_verdict_decide(&o, &v);
    assert_string_equal(v.status, "failed");
    assert_int_equal(v.exit_code, 0);
    assert_string_equal(v.error, "pids limit of 64 reached");
}

static void spool_cap_is_reported(void **state)
{
    struct task_outcome o = base(EXITED(0));
    struct task_verdict v;
    (void)state;
    o.dropped = 98304;
    task_verdict_decide(&o, &v);
    assert_string_equal(v.status, "succeeded");
    assert_string_equal(v.error, "spool limit of 4096 bytes reached; 98304 bytes dropped");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exit_codes_and_signals),
        cmocka_unit_test(timeout_and_cancel_win),
        cmocka_unit_test(limit_hits),
        cmocka_unit_test(spool_cap_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
