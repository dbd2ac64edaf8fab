/* Chunker: stream switching, 64 KiB cap, UTF-8 carry, offsets, resume skipping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "task/chunker.h"

struct got {
    int n;
    struct { int stream; uint64_t start, end; size_t len; char data[CHUNK_MAX]; } c[16];
};

static int collect(void *ud, const struct chunk *c)
{
    struct got *g = ud;
    assert_true(g->n < 16);
    g->c[g->n].stream = c->stream;
    g->c[g->n].start = c->start;
    g->c[g->n].end = c->end;
    g->c[g->n].len = c->len;
    memcpy(g->c[g->n].data, c->data, c->len);
    g->n++;
    return 0;
}

static void utf8_carry_to_next_chunk(void **state)
{
    struct got *g = calloc(1, sizeof *g);
    struct chunker c;

    (void)state;
    chunker_init(&c, collect, g);
    /* "a€" split inside the euro sign across two records */
    assert_int_equal(chunker_feed(&c, 1, 5, "a\xe2\x82", 3), 0);
    assert_int_equal(chunker_flush(&c, false), 0);
    assert_int_equal(g->n, 1);
    assert_int_equal(g->c[0].len, 1);
    assert_int_equal(g->c[0].start, 0);
    assert_int_equal(g->c[0].end, 6);
    assert_int_equal(chunker_pending(&c), 2);
    assert_int_equal(chunker_feed(&c, 1, 13, "\xac", 1), 0);
    assert_int_equal(chunker_flush(&c, false), 0);
    assert_int_equal(g->n, 2);
    assert_int_equal(g->c[1].len, 3);
    assert_memory_equal(g->c[1].data, "\xe2\x82\xac", 3);
    assert_int_equal(g->c[1].start, 6);
    assert_int_equal(g->c[1].end, 14);
    chunker_free(&c);
    free(g);
}

static void stream_switch_flushes(void **state)
{
    struct got *g = calloc(1, sizeof *g);
    struct chunker c;

    (void)state;
    chunker_init(&c, collect, g);
    chunker_feed(&c, 1, 5, "out1", 4);
    chunker_feed(&c, 2, 14, "err", 3);
    chunker_feed(&c, 1, 22, "out2", 4);
    chunker_flush(&c, true);
    assert_int_equal(g->n, 3);
    assert_int_equal(g->c[0].stream, 1);
    assert_memory_equal(g->c[0].data, "out1", 4);
    assert_int_equal(g->c[1].stream, 2);
    assert_int_equal(g->c[1].start, 0);
    assert_int_equal(g->c[1].end, 17);
    assert_int_equal(g->c[2].stream, 1);
    assert_int_equal(g->c[2].start, 9);
    assert_int_equal(g->c[2].end, 26);
    chunker_free(&c);
    free(g);
}

static void cap_at_64k(void **state)
{
    struct got *g = calloc(1, sizeof *g);
    struct chunker c;
    size_t n = CHUNK_MAX * 2 + 100;
    char *data = malloc(n);

    (void)state;
    memset(data, 'x', n);
    /* a 3-byte sequence straddling the 64 KiB boundary must not be split */
    memcpy(data + CHUNK_MAX - 1, "\xe2\x82\xac", 3);
    chunker_init(&c, collect, g);
    assert_int_equal(chunker_feed(&c, 1, 0, data, n), 0);
    assert_int_equal(g->n, 2);
    assert_int_equal(g->c[0].len, CHUNK_MAX - 1);
    assert_int_equal(g->c[0].end, CHUNK_MAX - 1);
    assert_true(g->c[1].len <= CHUNK_MAX);
    assert_memory_equal(g->c[1].data, "\xe2\x82\xac", 3);
    chunker_flush(&c, true);
    size_t total = 0;
    for (int i = 0; i < g->n; i++)
        total += g->c[i].len;
    assert_int_equal(total, n);
    assert_int_equal(g->c[g->n - 1].end, n);
    chunker_free(&c);
    free(data);
    free(g);
}

static void final_flush_sends_invalid_tail(void **state)
{
    struct got *g = calloc(1, sizeof *g);
    struct chunker c;

    (void)state;
    chunker_init(&c, collect, g);
    chunker_feed(&c, 2, 0, "\xf0\x9f", 2);
    chunker_flush(&c, false);
    assert_int_equal(g->n, 0);
    chunker_flush(&c, true);
    assert_int_equal(g->n, 1);
    assert_int_equal(g->c[0].len, 2);
    chunker_free(&c);
    free(g);
}

static void resume_skips_sent_bytes(void **state)
{
    struct got *g = calloc(1, sizeof *g);
    struct chunker c;

    (void)state;
    chunker_init(&c, collect, g);
    chunker_set_cursor(&c, 1, 8); /* bytes 5..7 of stdout were sent before a restart */
    chunker_feed(&c, 1, 5, "abcdef", 6);
    chunker_flush(&c, true);
    assert_int_equal(g->n, 1);
    assert_int_equal(g->c[0].len, 3);
    assert_memory_equal(g->c[0].data, "def", 3);
    assert_int_equal(g->c[0].start, 8);
    assert_int_equal(g->c[0].end, 11);
    chunker_free(&c);
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_carry_to_next_chunk),
        cmocka_unit_test(stream_switch_flushes),
        cmocka_unit_test(cap_at_64k),
        cmocka_unit_test(final_flush_sends_invalid_tail),
        cmocka_unit_test(resume_skips_sent_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
