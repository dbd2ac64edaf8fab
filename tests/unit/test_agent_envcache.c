/* Login environment cache: the validity rules (age, watched files changed, appeared, vanished,
 * profile.d entries) and the file round trip (key match, corrupt file). */
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
#include "task/envcache.h"

struct fx {
    char root[64], etc[128], home[128], data[128];
    struct envcache_key key;
};

static void put(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(fs_write_atomic(path, text, strlen(text), 0644, false), 0);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/tether-envcache-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->etc, sizeof f->etc, "%s/etc", f->root);
    snprintf(f->home, sizeof f->home, "%s/home", f->root);
    snprintf(f->data, sizeof f->data, "%s/data", f->root);
    assert_int_equal(mkdir(f->etc, 0755), 0);
    assert_int_equal(mkdir(f->home, 0755), 0);
    assert_int_equal(mkdir(f->data, 0711), 0);
    put(f->etc, "profile", "export A=1\n");
    put(f->etc, "environment", "B=2\n");
    char pd[256];
    snprintf(pd, sizeof pd, "%s/profile.d", f->etc);
    assert_int_equal(mkdir(pd, 0755), 0);
    put(pd, "x.sh", "export X=1\n");
    put(f->home, ".profile", "export P=1\n");
    f->key = (struct envcache_key){ .uid = 4242, .user = "u", .home = f->home,
                                    .shell = "/bin/bash", .etc = f->etc };
    usleep(30 * 1000); /* past the coarse clock's tick: the capture is strictly newer */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    fs_rm_rf(f->root);
    free(f);
    return 0;
}

/* Captures "now" and waits a tick so later edits are strictly newer. */
static int64_t capture(struct fx *f, uint32_t *present)
{
    int64_t t = envcache_now_ns();
    *present = envcache_present(&f->key);
    usleep(30 * 1000);
    return t;
}

static void fresh_while_nothing_changed(void **state)
{
    struct fx *f = *state;
    uint32_t present;
    int64_t t = capture(f, &present);

    assert_true(envcache_fresh(&f->key, t, present, envcache_now_ns(), 300));
    /* the bits: etc/profile, profile.d, environment and ~/.profile exist; the rest do not */
    assert_int_equal(present, (1u << 0) | (1u << 1) | (1u << 3) | (1u << 4));
}

static void stale_by_age_or_clock(void **state)
{
    struct fx *f = *state;
    uint32_t present;
    int64_t t = capture(f, &present);

    assert_false(envcache_fresh(&f->key, t, present, t + 300 * 1000000000LL, 300));
    assert_true(envcache_fresh(&f->key, t, present, t + 299 * 1000000000LL, 300));
    assert_false(envcache_fresh(&f->key, t, present, envcache_now_ns(), 0)); /* disabled */
    assert_false(envcache_fresh(&f->key, t, present, t - 1000000000LL, 300)); /* clock went back */
}

static void stale_when_a_file_changes(void **state)
{
    struct fx *f = *state;
    uint32_t present;
    int64_t t = capture(f, &present);
    char path[PATH_MAX];
    struct stat st;

    snprintf(path, sizeof path, "%s/.profile", f->home);
    assert_int_equal(stat(path, &st), 0);
    put(f->home, ".profile", "export P=2\n");
    /* the old mtime put back (cp -p, touch -d): the ctime still tells */
    struct timespec ts[2] = { st.st_atim, st.st_mtim };
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
    assert_false(envcache_fresh(&f->key, t, present, envcache_now_ns(), 300));
}

static void stale_when_a_file_appears_or_vanishes(void **state)
{
    struct fx *f = *state;
    uint32_t present;
    int64_t t = capture(f, &present);
    char path[PATH_MAX];

    put(f->home, ".bash_profile", "export Q=1\n");
    assert_false(envcache_fresh(&f->key, t, present, envcache_now_ns(), 300));
    snprintf(path, sizeof path, "%s/.bash_profile", f->home);
    unlink(path);
    t = capture(f, &present);
    assert_true(envcache_fresh(&f->key, t, present, envcache_now_ns(), 300));
    snprintf(path, sizeof path, "%s/environment", f->etc);
    unlink(path);
    assert_false(envcache_fresh(&f->key, t, present, envcache_now_ns(), 300));
}

static void stale_when_profile_d_changes(void **state)
{
    struct fx *f = *state;
    uint32_t present;
    int64_t t = capture(f, &present);
    char pd[256], path[PATH_MAX];
    int fd;

    snprintf(pd, sizeof pd, "%s/profile.d", f->etc);
    snprintf(path, sizeof path, "%s/x.sh", pd);
    /* edited in place (the directory's times do not move) */
    fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "#\n", 2), 2);
    close(fd);
    assert_false(envcache_fresh(&f->key, t, present, envcache_now_ns(), 300));
    t = capture(f, &present);
    put(pd, "y.sh", "export Y=1\n"); /* a new entry */
    assert_false(envcache_fresh(&f->key, t, present, envcache_now_ns(), 300));
}

static void store_and_load(void **state)
{
    struct fx *f = *state;
    struct shim_env in = { 0 }, out = { 0 };
    struct envcache_key other;
    uint32_t present;
    int64_t t = capture(f, &present);
    char path[PATH_MAX];
    struct stat st;

    shim_env_set(&in, "PATH", "/a:/b");
    shim_env_set(&in, "LINES", "l1\nl2");
    assert_int_equal(envcache_store(f->data, &f->key, t, present, &in), 0);
    snprintf(path, sizeof path, "%s/envcache/4242.env", f->data);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(envcache_load(f->data, &f->key, 300, &out), 0);
    assert_string_equal(shim_env_get(&out, "PATH"), "/a:/b");
    assert_string_equal(shim_env_get(&out, "LINES"), "l1\nl2");
    shim_env_free(&out);
    /* another home, shell or name for the uid: a miss */
    other = f->key;
    other.shell = "/bin/sh";
    assert_int_equal(envcache_load(f->data, &other, 300, &out), 1);
    assert_int_equal(envcache_load(f->data, &f->key, 0, &out), 1);
    /* a damaged file is a miss, never an error the task would see */
    assert_int_equal(fs_write_atomic(path, "garbage", 7, 0600, false), 0);
    assert_int_equal(envcache_load(f->data, &f->key, 300, &out), 1);
    assert_int_equal(out.n, 0);
    /* a symlink in place of the file is not followed */
    unlink(path);
    assert_int_equal(symlink("/etc/passwd", path), 0);
    assert_true(envcache_load(f->data, &f->key, 300, &out) < 0);
    shim_env_free(&in);
}

static void refuses_a_loose_cache_dir(void **state)
{
    struct fx *f = *state;
    struct shim_env in = { 0 };
    char path[PATH_MAX];
    uint32_t present;
    int64_t t = capture(f, &present);

    snprintf(path, sizeof path, "%s/envcache", f->data);
    assert_int_equal(mkdir(path, 0777), 0);
    assert_int_equal(chmod(path, 0777), 0);
    shim_env_set(&in, "A", "1");
    assert_int_equal(envcache_store(f->data, &f->key, t, present, &in), -EPERM);
    shim_env_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(fresh_while_nothing_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_by_age_or_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_when_a_file_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_when_a_file_appears_or_vanishes, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_when_profile_d_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(store_and_load, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_a_loose_cache_dir, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
