/* Target resolution: names, ids, tags AND, CIDR (IPv4/IPv6, any IP), all, exclude. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "server/targets.h"

static void test_cidr(void **state)
{
    struct cidr c;
    (void)state;
    assert_int_equal(cidr_parse("10.0.0.0/8", &c), 0);
    assert_true(cidr_match(&c, "10.1.2.3"));
    assert_false(cidr_match(&c, "11.0.0.1"));
    assert_true(cidr_match(&c, "::ffff:10.9.9.9"));
    assert_false(cidr_match(&c, "fd00::1"));
    assert_int_equal(cidr_parse("192.168.1.128/25", &c), 0);
    assert_true(cidr_match(&c, "192.168.1.200"));
    assert_false(cidr_match(&c, "192.168.1.127"));
    assert_int_equal(cidr_parse("fd00:1::/32", &c), 0);
    assert_true(cidr_match(&c, "fd00:1:ffff::5"));
    assert_false(cidr_match(&c, "fd00:2::5"));
    assert_int_equal(cidr_parse("0.0.0.0/0", &c), 0);
    assert_true(cidr_match(&c, "8.8.8.8"));
    assert_int_equal(cidr_parse("10.0.0.5", &c), 0);
    assert_true(cidr_match(&c, "10.0.0.5"));
    assert_false(cidr_match(&c, "10.0.0.6"));
    assert_int_equal(cidr_parse("10.0.0.0/33", &c), -EINVAL);
    assert_int_equal(cidr_parse("10.0.0.0/", &c), -EINVAL);
    assert_int_equal(cidr_parse("10.0.0.0/-1", &c), -EINVAL);
    assert_int_equal(cidr_parse("nope/8", &c), -EINVAL);
    assert_int_equal(cidr_parse("fd00::/129", &c), -EINVAL);
    assert_false(cidr_match(&c, "garbage"));
}

struct fleet {
    struct target_agent a[3];
};

static void fleet_init(struct fleet *f)
{
    f->a[0] = (struct target_agent){ "agt-00000000000000000001", "web-1",
                                     json_pack("{s:s, s:s}", "env", "prod", "role", "web"),
                                     json_pack("[s, s]", "10.0.0.5", "fd00::5"), "10.0.0.5" };
    f->a[1] = (struct target_agent){ "agt-00000000000000000002", "web-2",
                                     json_pack("{s:s, s:s}", "env", "dev", "role", "web"),
                                     json_pack("[s]", "192.168.1.4"), "192.168.1.4" };
    f->a[2] = (struct target_agent){ "agt-00000000000000000003", "db-1",
                                     json_pack("{s:s, s:s}", "env", "prod", "role", "db"),
                                     json_pack("[s, s]", "172.16.0.9", "10.0.1.1"), "172.16.0.9" };
}

static void fleet_free(struct fleet *f)
{
    for (int i = 0; i < 3; i++) {
        json_decref(f->a[i].tags);
        json_decref(f->a[i].ips);
    }
}

static int run(struct fleet *f, const char *spec_json, bool sel[3], char *err)
{
    json_t *j = json_loads(spec_json, 0, NULL);
    struct target_spec s = { 0 };
    int rc;
    assert_non_null(j);
    s.agents = json_object_get(j, "agents");
    s.tags = json_object_get(j, "tags");
    s.cidr = json_string_value(json_object_get(j, "cidr"));
    s.all = json_is_true(json_object_get(j, "all"));
    s.exclude = json_object_get(j, "exclude");
    s.exclude_tags = json_object_get(j, "exclude_tags");
    rc = targets_resolve(&s, f->a, 3, sel, err, 256);
    json_decref(j);
    return rc;
}

#define EXPECT(f, spec, x, y, z)                                    \
    do {                                                            \
        bool sel_[3];                                               \
        char err_[256] = "";                                        \
        assert_int_equal(run(f, spec, sel_, err_), 0);              \
        assert_int_equal(sel_[0], x);                               \
        assert_int_equal(sel_[1], y);                               \
        assert_int_equal(sel_[2], z);                               \
    } while (0)

static void test_resolve(void **state)
{
    struct fleet f;
    bool sel[3];
    char err[256];
    (void)state;
    fleet_init(&f);
    EXPECT(&f, "{\"all\":true}", 1, 1, 1);
    EXPECT(&f, "{\"agents\":[\"web-1\",\"agt-00000000000000000003\"]}", 1, 0, 1);
    EXPECT(&f, "{\"tags\":{\"env\":\"prod\"}}", 1, 0, 1);
    EXPECT(&f, "{\"tags\":{\"env\":\"prod\",\"role\":\"web\"}}", 1, 0, 0);
    EXPECT(&f, "{\"cidr\":\"10.0.0.0/8\"}", 1, 0, 1);          /* db-1 via its second IP */
    EXPECT(&f, "{\"cidr\":\"fd00::/16\"}", 1, 0, 0);
    EXPECT(&f, "{\"all\":true,\"exclude\":[\"web-2\"]}", 1, 0, 1);
    EXPECT(&f, "{\"agents\":[\"web-1\",\"web-2\"],\"tags\":{\"role\":\"web\"},\"cidr\":\"192.168.0.0/16\"}",
           0, 1, 0);
    EXPECT(&f, "{\"tags\":{\"env\":\"prod\"},\"exclude\":[\"unknown-host\"]}", 1, 0, 1);
    EXPECT(&f, "{\"all\":true,\"exclude_tags\":{\"role\":\"db\"}}", 1, 1, 0);
    /* several exclude tags: only agents carrying all of them are left out */
    EXPECT(&f, "{\"all\":true,\"exclude_tags\":{\"env\":\"prod\",\"role\":\"web\"}}", 0, 1, 1);

    assert_int_equal(run(&f, "{\"agents\":[\"nope\"]}", sel, err), -EINVAL);
    assert_string_equal(err, "targets.agents: unknown agent 'nope'");
    assert_int_equal(run(&f, "{\"tags\":{\"env\":\"qa\"}}", sel, err), -EINVAL);
    assert_string_equal(err, "targets: no agent matches");
    assert_int_equal(run(&f, "{}", sel, err), -EINVAL);
    assert_int_equal(run(&f, "{\"all\":true,\"exclude_tags\":{\"env\":\"prod\"},"
                             "\"exclude\":[\"web-2\"]}", sel, err), -EINVAL);
    assert_string_equal(err, "targets: no agent matches");
    assert_int_equal(run(&f, "{\"cidr\":\"10.0.0.0/99\"}", sel, err), -EINVAL);
    assert_string_equal(err, "targets.cidr: not an IPv4 or IPv6 network");
    fleet_free(&f);
}

/* Many names against a large fleet (the hashed lookup), a name equal to another agent's id (both
 * are marked, as a reference matches an id or a name), and exclusions by id. */
static void test_resolve_many(void **state)
{
    enum { N = 5000 };
    static struct target_agent a[N];
    static char ids[N][32], names[N][32];
    static bool sel[N];
    json_t *list = json_array(), *excl = json_array();
    struct target_spec s = { 0 };
    char err[256] = "";
    (void)state;
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "agt-%020d", i);
        snprintf(names[i], sizeof names[i], "host-%05d", i);
        a[i] = (struct target_agent){ ids[i], names[i], NULL, NULL, NULL };
    }
    snprintf(names[7], sizeof names[7], "%s", ids[9]);      /* agent 7 is named like agent 9's id */
    for (int i = N - 1; i >= 0; i -= 2)                      /* every odd agent, by name */
        json_array_append_new(list, json_string(names[i]));
    json_array_append_new(list, json_string(ids[9]));        /* agent 9 by id, and agent 7 */
    json_array_append_new(excl, json_string(ids[N - 1]));
    s.agents = list;
    s.exclude = excl;
    assert_int_equal(targets_resolve(&s, a, N, sel, err, sizeof err), 0);
    for (int i = 0; i < N; i++) {
        bool want = (i % 2 == 1 && i != N - 1) || i == 9 || i == 7;
        if (sel[i] != want)
            fail_msg("agent %d: selected %d, expected %d", i, sel[i], want);
    }
    json_array_append_new(list, json_string("host-99999"));
    assert_int_equal(targets_resolve(&s, a, N, sel, err, sizeof err), -EINVAL);
    assert_string_equal(err, "targets.agents: unknown agent 'host-99999'");
    json_decref(list);
    json_decref(excl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_resolve_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
