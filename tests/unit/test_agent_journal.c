/* Journal: create/dedupe, re-attach decisions, GC; upload.log resume. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "task/journal.h"
#include "task/upload_log.h"

#define ID "tsk-0123456789abcdef0123"

static int setup(void **state)
{
    char *d = strdup("/tmp/test_journal_XXXXXX");
    assert_non_null(mkdtemp(d));
    assert_int_equal(journal_init(d), 0);
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    fs_rm_rf(*state);
    free(*state);
    return 0;
}

static void create_and_dedupe(void **state)
{
    const char *data = *state;
    char dir[PATH_MAX];
    struct stat st;

    assert_int_equal(journal_create(data, ID, "{}", 2), 0);
    assert_int_equal(journal_create(data, ID, "{}", 2), -EEXIST);
    assert_int_equal(journal_create(data, "tsk-../../x", "{}", 2), -EINVAL);
    assert_int_equal(journal_dir(data, ID, dir, sizeof dir), 0);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0711);
    assert_true(journal_has(dir, "task.json"));
}

static void reattach_decisions(void **state)
{
    const char *data = *state;
    char dir[PATH_MAX], pidtext[64];
    pid_t pid;
    uint64_t start;

    journal_create(data, ID, "{}", 2);
    journal_dir(data, ID, dir, sizeof dir);
    assert_int_equal(journal_classify(dir, &pid, &start), JOURNAL_NEW);
    assert_int_equal(journal_sync_result(dir), -ENOENT); /* nothing to sync yet */
    assert_int_equal(journal_mark_spawned(dir), 0);
    assert_int_equal(journal_sync_entry(dir), 0);
    /* spawned, no pid file, no result: the shim may have run: never again */
    assert_int_equal(journal_classify(dir, &pid, &start), JOURNAL_LOST);
    /* a live process with the right start time is adopted */
    assert_int_equal(journal_proc_start_time(getpid(), &start), 0);
    snprintf(pidtext, sizeof pidtext, "%d %llu\n", (int)getpid(), (unsigned long long)start);
    journal_mark(dir, "shim.pid", pidtext);
    assert_int_equal(journal_classify(dir, &pid, &start), JOURNAL_RUNNING);
    assert_int_equal(pid, getpid());
    /* same pid, other start time: a recycled pid, not our shim */
    snprintf(pidtext, sizeof pidtext, "%d %llu\n", (int)getpid(), (unsigned long long)start + 1);
    journal_mark(dir, "shim.pid", pidtext);
    assert_int_equal(journal_classify(dir, &pid, &start), JOURNAL_LOST);
    journal_mark_fast(dir, "result");
    assert_int_equal(journal_sync_result(dir), 0);
    assert_int_equal(journal_classify(dir, &pid, &start), JOURNAL_REPORT);
    journal_mark(dir, "finished", NULL);
    assert_int_equal(journal_classify(dir, &pid, &start), JOURNAL_FINISHED);
}

/* the entry is made durable with its task.json: an entry without one cannot be synced */
static void spawned_needs_task(void **state)
{
    const char *data = *state;
    char dir[PATH_MAX];

    journal_create(data, ID, "{}", 2);
    journal_dir(data, ID, dir, sizeof dir);
    assert_int_equal(journal_mark_spawned(dir), 0);
    assert_true(journal_has(dir, "spawned"));
    assert_int_equal(journal_sync_entry(dir), 0);
    assert_int_equal(journal_sync_entry("/nonexistent/tasks/" ID), -ENOENT);
}

static void gc_keeps_recent(void **state)
{
    const char *data = *state;
    char dir[PATH_MAX];

    journal_create(data, ID, "{}", 2);
    journal_dir(data, ID, dir, sizeof dir);
    journal_mark(dir, "finished", NULL);
    assert_int_equal(journal_gc(data, 3600 * 1000), 0);
    assert_true(journal_has(dir, "task.json"));
    assert_int_equal(journal_gc(data, -1000), 1);
    assert_false(journal_has(dir, "task.json"));
}

static void upload_log_resume(void **state)
{
    const char *data = *state;
    char dir[PATH_MAX];
    struct upload_rec r, last;
    uint64_t cursor[3];
    int fd;

    journal_create(data, ID, "{}", 2);
    journal_dir(data, ID, dir, sizeof dir);
    fd = upload_log_open(dir);
    assert_true(fd >= 0);
    assert_int_equal(upload_log_last(fd, &last, cursor), 0);
    r = (struct upload_rec){ .seq = 0, .start = 0, .end = 100, .stream = 1 };
    assert_int_equal(upload_log_write(fd, &r), 0);
    r = (struct upload_rec){ .seq = 1, .start = 0, .end = 120, .stream = 2 };
    assert_int_equal(upload_log_write(fd, &r), 0);
    r = (struct upload_rec){ .seq = 2, .start = 100, .end = 200, .stream = 1 };
    assert_int_equal(upload_log_write(fd, &r), 0);
    assert_int_equal(upload_log_last(fd, &last, cursor), 1);
    assert_int_equal(last.seq, 2);
    assert_int_equal(cursor[1], 200);
    assert_int_equal(cursor[2], 120);
    assert_int_equal(upload_log_read(fd, 1, &r), 0);
    assert_int_equal(r.end, 120);
    assert_int_equal(upload_log_read(fd, 7, &r), 1);
    /* a torn last record is ignored */
    assert_int_equal(pwrite(fd, "xx", 2, 3 * sizeof(struct upload_rec)), 2);
    assert_int_equal(upload_log_last(fd, &last, cursor), 1);
    assert_int_equal(last.seq, 2);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_and_dedupe, setup, teardown),
        cmocka_unit_test_setup_teardown(reattach_decisions, setup, teardown),
        cmocka_unit_test_setup_teardown(spawned_needs_task, setup, teardown),
        cmocka_unit_test_setup_teardown(gc_keeps_recent, setup, teardown),
        cmocka_unit_test_setup_teardown(upload_log_resume, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
