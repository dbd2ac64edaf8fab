/* Task cgroups: mountinfo and /proc/self/cgroup parsing for pure v2, hybrid, v1-only and no
 * cgroups; where task cgroups go; the limit-hit error texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "task/cgroup.h"

static const char pure_v2[] =
    "22 28 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
    "28 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
    "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

static const char hybrid[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

/* v1 only, a container that sees a subtree of each hierarchy, and an escaped mount point */
static const char v1_only[] =
    "50 40 0:40 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n"
    "51 40 0:41 /docker/abc /sys/fs/cgroup/my\\040pids rw,nosuid shared:9 master:3 - cgroup "
    "cgroup rw,pids\n"
    "52 40 0:42 / /sys/fs/cgroup/freezer rw - cgroup none rw,freezer\n"
    "53 40 0:43 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n";

static const char none[] =
    "28 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
    "29 28 0:5 / /dev rw - devtmpfs udev rw\n"
    "garbage line\n\n - cgroup\n";

static void parses_pure_v2(void **state)
{
    struct cgroup_host *h = calloc(1, sizeof *h);
    (void)state;
    assert_int_equal(cgroup_parse_mountinfo(pure_v2, h), 0);
    assert_string_equal(h->v2, "/sys/fs/cgroup");
    for (int c = 0; c < CG_NCTRL; c++)
        assert_string_equal(h->v1[c], "");
    free(h);
}

static void parses_hybrid(void **state)
{
    struct cgroup_host *h = calloc(1, sizeof *h);
    char p[CG_PATH];
    (void)state;
    assert_int_equal(cgroup_parse_mountinfo(hybrid, h), 0);
    assert_string_equal(h->v2, "/sys/fs/cgroup/unified");
    assert_string_equal(h->v1[CG_MEMORY], "/sys/fs/cgroup/memory");
    assert_string_equal(h->v1[CG_PIDS], "/sys/fs/cgroup/pids");
    /* "cpuacct" alone must not match "cpu", the combined mount must */
    assert_string_equal(h->v1[CG_CPU], "/sys/fs/cgroup/cpu,cpuacct");
    assert_string_equal(h->v1[CG_FREEZER], "/sys/fs/cgroup/freezer");
    assert_int_equal(cgroup_parse_self("9:name=systemd:/\n8:pids:/\n6:freezer:/\n"
                                       "4:memory:/process_api/abc\n1:cpu,cpuacct:/\n0::/\n", h),
                     0);
    assert_int_equal(cgroup_v1_path(h, CG_MEMORY, "tsk-0123456789abcdef0123", p, sizeof p), 0);
    assert_string_equal(p, "/sys/fs/cgroup/memory/process_api/abc/tether/tsk-0123456789abcdef0123");
    assert_int_equal(cgroup_v1_path(h, CG_PIDS, "tsk-0123456789abcdef0123", p, sizeof p), 0);
    assert_string_equal(p, "/sys/fs/cgroup/pids/tether/tsk-0123456789abcdef0123");
    assert_int_equal(cgroup_v1_path(h, CG_CPU, NULL, p, sizeof p), 0);
    assert_string_equal(p, "/sys/fs/cgroup/cpu,cpuacct/tether");
    free(h);
}

static void parses_v1_only_in_a_container(void **state)
{
    struct cgroup_host *h = calloc(1, sizeof *h);
    char p[CG_PATH];
    (void)state;
    assert_int_equal(cgroup_parse_mountinfo(v1_only, h), 0);
    assert_string_equal(h->v2, "");
    assert_string_equal(h->v1[CG_MEMORY], "/sys/fs/cgroup/memory");
    assert_string_equal(h->v1_root[CG_MEMORY], "/docker/abc");
    assert_string_equal(h->v1[CG_PIDS], "/sys/fs/cgroup/my pids");
    assert_string_equal(h->v1[CG_CPU], "");
    cgroup_parse_self("5:memory:/docker/abc/agent\n4:pids:/docker/abc\n3:freezer:/\n", h);
    /* the mount shows the container's subtree: strip it from our own path */
    cgroup_v1_path(h, CG_MEMORY, "tsk-0123456789abcdef0123", p, sizeof p);
    assert_string_equal(p, "/sys/fs/cgroup/memory/agent/tether/tsk-0123456789abcdef0123");
    cgroup_v1_path(h, CG_PIDS, "tsk-0123456789abcdef0123", p, sizeof p);
    assert_string_equal(p, "/sys/fs/cgroup/my pids/tether/tsk-0123456789abcdef0123");
    cgroup_v1_path(h, CG_CPU, "tsk-0123456789abcdef0123", p, sizeof p);
    assert_string_equal(p, "");
    free(h);
}

static void parses_none(void **state)
{
    struct cgroup_host *h = calloc(1, sizeof *h);
    char d[256];
    (void)state;
    assert_int_equal(cgroup_parse_mountinfo(none, h), 0);
    assert_string_equal(h->v2, "");
    for (int c = 0; c < CG_NCTRL; c++)
        assert_string_equal(h->v1[c], "");
    cgroup_host_describe(h, d, sizeof d);
    assert_string_equal(d, "none");
    assert_int_equal(cgroup_parse_mountinfo(NULL, h), -EINVAL);
    free(h);
}

static void create_refuses_bad_ids_and_no_hierarchy(void **state)
{
    struct cgroup_host *h = calloc(1, sizeof *h);
    struct cgroup_task *t = calloc(1, sizeof *t);
    struct cgroup_limits lim = { .pids = 64 };
    char why[256] = "";
    (void)state;
    assert_int_equal(cgroup_task_create(h, "../../etc", &lim, t, why, sizeof why), -EINVAL);
    assert_int_equal(cgroup_task_create(h, "tsk-0123456789abcdef0123", &lim, t, why, sizeof why),
                     -ENOTSUP);
    assert_non_null(strstr(why, "no cgroup hierarchy"));
    assert_false(cgroup_task_active(t));
    free(t);
    free(h);
}

static void limit_errors(void **state)
{
    struct cgroup_limits lim = { .memory_bytes = 67108864, .pids = 64 };
    char e[256];
    (void)state;
    cgroup_limit_error(CG_HIT_MEMORY, &lim, e, sizeof e);
    assert_string_equal(e, "memory limit of 67108864 bytes exceeded (killed by the OOM killer)");
    cgroup_limit_error(CG_HIT_PIDS, &lim, e, sizeof e);
    assert_string_equal(e, "pids limit of 64 reached");
    cgroup_limit_error(CG_HIT_PIDS | CG_HIT_MEMORY, &lim, e, sizeof e);
    assert_non_null(strstr(e, "memory limit"));
    cgroup_limit_error(0, &lim, e, sizeof e);
    assert_string_equal(e, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_pure_v2),
        cmocka_unit_test(parses_hybrid),
        cmocka_unit_test(parses_v1_only_in_a_container),
        cmocka_unit_test(parses_none),
        cmocka_unit_test(create_refuses_bad_ids_and_no_hierarchy),
        cmocka_unit_test(limit_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
