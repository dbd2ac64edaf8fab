/* Unit tests for the self-update state files (issue 6): the version ratchet, the bad list, the
 * pending record and the supervisor-side rollback check. */
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
#include "main/update_files.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tether-upd-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fs_rm_rf(dir);
    return 0;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    assert_int_equal(fs_write_atomic(path, text, strlen(text), mode, false), 0);
}

static char *read_text(const char *path)
{
    char *text = NULL;
    size_t len;
    assert_int_equal(fs_read_all(path, 1 << 20, &text, &len), 0);
    return text;
}

static void test_ratchet(void **state)
{
    (void)state;
    char v[64], path[256];

    assert_int_equal(update_ratchet_read(dir, v, sizeof v), 0);
    assert_string_equal(v, "");
    assert_int_equal(update_ratchet_raise(dir, "0.1.9"), 0);
    assert_int_equal(update_ratchet_raise(dir, "0.1.10"), 0);
    assert_int_equal(update_ratchet_read(dir, v, sizeof v), 0);
    assert_string_equal(v, "0.1.10");
    /* never lowered */
    assert_int_equal(update_ratchet_raise(dir, "0.1.2"), 0);
    assert_int_equal(update_ratchet_read(dir, v, sizeof v), 0);
    assert_string_equal(v, "0.1.10");
    assert_int_equal(update_ratchet_raise(dir, "not a version"), -EINVAL);
    /* a damaged file is an error, not "no ratchet" */
    snprintf(path, sizeof path, "%s/update/ratchet", dir);
    write_text(path, "garbage\n", 0600);
    assert_int_equal(update_ratchet_read(dir, v, sizeof v), -EINVAL);
}

static void test_bad_list(void **state)
{
    (void)state;
    assert_false(update_is_bad(dir, "1.0.0"));
    assert_int_equal(update_mark_bad(dir, "1.0.0"), 0);
    assert_int_equal(update_mark_bad(dir, "1.0.0"), 0);
    assert_int_equal(update_mark_bad(dir, "2.0.0"), 0);
    assert_true(update_is_bad(dir, "1.0.0"));
    assert_true(update_is_bad(dir, "2.0.0"));
    assert_false(update_is_bad(dir, "1.0"));   /* whole lines only */
    assert_false(update_is_bad(dir, "1.0.00"));
    char path[256], *text;
    snprintf(path, sizeof path, "%s/update/bad", dir);
    text = read_text(path);
    assert_string_equal(text, "1.0.0\n2.0.0\n");
    free(text);
}

/* A fake installation: exe holds "new", exe.prev holds "old". */
static void pending_fixture(struct update_pending *p, int64_t deadline)
{
    memset(p, 0, sizeof *p);
    snprintf(p->version, sizeof p->version, "9.0.0");
    snprintf(p->previous, sizeof p->previous, "1.0.0");
    snprintf(p->exe, sizeof p->exe, "%s/tether-agent", dir);
    snprintf(p->prev_path, sizeof p->prev_path, "%s/tether-agent.prev", dir);
    p->deadline = deadline;
    write_text(p->exe, "new", 0755);
    write_text(p->prev_path, "old", 0755);
    assert_int_equal(update_pending_write(dir, p), 0);
}

static void test_pending_roundtrip(void **state)
{
    (void)state;
    struct update_pending p, back;

    assert_int_equal(update_pending_read(dir, &back), -ENOENT);
    pending_fixture(&p, 123456);
    p.starts = 2;
    assert_int_equal(update_pending_write(dir, &p), 0);
    assert_int_equal(update_pending_read(dir, &back), 0);
    assert_string_equal(back.version, "9.0.0");
    assert_string_equal(back.exe, p.exe);
    assert_int_equal(back.deadline, 123456);
    assert_int_equal(back.starts, 2);
    assert_int_equal(update_pending_remove(dir), 0);
    assert_int_equal(update_pending_read(dir, &back), -ENOENT);
}

static void test_rollback_check_after_three_starts(void **state)
{
    (void)state;
    struct update_pending p;
    char *text, state_[128], target[32];

    pending_fixture(&p, INT64_MAX / 2);
    assert_int_equal(update_rollback_check(dir, 1000), 0);
    assert_int_equal(update_rollback_check(dir, 1000), 0);
    text = read_text(p.exe);
    assert_string_equal(text, "new"); /* not yet */
    free(text);
    assert_int_equal(update_rollback_check(dir, 1000), 1);
    text = read_text(p.exe);
    assert_string_equal(text, "old");
    free(text);
    assert_int_equal(access(p.prev_path, F_OK), -1);
    assert_true(update_is_bad(dir, "9.0.0"));
    assert_int_equal(update_pending_read(dir, &p), -ENOENT);
    update_last_read(dir, state_, sizeof state_, target, sizeof target);
    assert_string_equal(state_, "rolled_back: did not stay up");
    assert_string_equal(target, "9.0.0");
    /* nothing pending: nothing to do */
    assert_int_equal(update_rollback_check(dir, 1000), 0);
}

static void test_rollback_check_past_deadline(void **state)
{
    (void)state;
    struct update_pending p;
    char *text;

    pending_fixture(&p, 5000);
    assert_int_equal(update_rollback_check(dir, 6000), 1);
    text = read_text(p.exe);
    assert_string_equal(text, "old");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ratchet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_check_after_three_starts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_check_past_deadline, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
