/* Spool record framing: writer/reader round trip, partial records at EOF, corruption, ranges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "task/spool.h"

static int tmpfile_fd(void)
{
    char path[] = "/tmp/test_spool_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

static void roundtrip(void **state)
{
    int fd = tmpfile_fd();
    struct spool_reader r = { .fd = fd };
    struct spool_record rec;
    char buf[16];

    (void)state;
    assert_int_equal(spool_append(fd, SPOOL_STDOUT, "hello", 5), 0);
    assert_int_equal(spool_append(fd, SPOOL_STDERR, "err", 3), 0);
    assert_int_equal(spool_next(&r, &rec), 1);
    assert_int_equal(rec.stream, SPOOL_STDOUT);
    assert_int_equal(rec.len, 5);
    assert_int_equal(rec.data_off, SPOOL_HDR);
    assert_int_equal(pread(fd, buf, rec.len, (off_t)rec.data_off), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(spool_next(&r, &rec), 1);
    assert_int_equal(rec.stream, SPOOL_STDERR);
    assert_int_equal(rec.len, 3);
    assert_int_equal(spool_next(&r, &rec), 0);
    close(fd);
}

static void partial_record_waits(void **state)
{
    int fd = tmpfile_fd();
    struct spool_reader r = { .fd = fd };
    struct spool_record rec;
    const unsigned char hdr[] = { 1, 10, 0, 0, 0 };

    (void)state;
    /* header only, then half the payload: not yet a record */
    assert_int_equal(write(fd, hdr, 3), 3);
    assert_int_equal(spool_next(&r, &rec), 0);
    assert_int_equal(write(fd, hdr + 3, 2), 2);
    assert_int_equal(spool_next(&r, &rec), 0);
    assert_int_equal(write(fd, "01234", 5), 5);
    assert_int_equal(spool_next(&r, &rec), 0);
    assert_int_equal(r.pos, 0);
    assert_int_equal(write(fd, "56789", 5), 5);
    assert_int_equal(spool_next(&r, &rec), 1);
    assert_int_equal(rec.len, 10);
    close(fd);
}

static void corrupt_header(void **state)
{
    int fd = tmpfile_fd();
    struct spool_reader r = { .fd = fd };
    struct spool_record rec;
    const unsigned char bad_stream[] = { 7, 1, 0, 0, 0, 'x' };

    (void)state;
    assert_int_equal(write(fd, bad_stream, sizeof bad_stream), (ssize_t)sizeof bad_stream);
    assert_int_equal(spool_next(&r, &rec), -EBADMSG);
    assert_int_equal(spool_append(fd, 3, "x", 1), -EINVAL);
    assert_int_equal(spool_append(fd, 1, "x", 0), -EINVAL);
    close(fd);
}

static void read_range_skips_other_stream(void **state)
{
    int fd = tmpfile_fd();
    char out[32];
    size_t n;

    (void)state;
    spool_append(fd, 1, "abc", 3);  /* payload at 5..8 */
    spool_append(fd, 2, "XY", 2);   /* 13..15 */
    spool_append(fd, 1, "def", 3);  /* 20..23 */
    assert_int_equal(spool_read_range(fd, 1, 6, 22, out, sizeof out, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "bcde", 4);
    assert_int_equal(spool_read_range(fd, 2, 0, 100, out, sizeof out, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(out, "XY", 2);
    assert_int_equal(spool_read_range(fd, 1, 0, 100, out, 2, &n), -ENOSPC);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roundtrip),
        cmocka_unit_test(partial_record_waits),
        cmocka_unit_test(corrupt_header),
        cmocka_unit_test(read_range_skips_other_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
