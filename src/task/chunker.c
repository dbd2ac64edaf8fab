/* Output chunker; see chunker.h. */
#include "task/chunker.h"
#include "common/utf8.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void chunker_init(struct chunker *c, chunk_emit_fn emit, void *ud)
{
    memset(c, 0, sizeof *c);
    c->emit = emit;
    c->ud = ud;
}

void chunker_free(struct chunker *c)
{
    for (int i = 0; i < 3; i++)
        free(c->s[i].buf);
    memset(c->s, 0, sizeof c->s);
}

void chunker_set_cursor(struct chunker *c, int stream, uint64_t off)
{
    if (stream == 1 || stream == 2)
        c->cursor[stream] = off;
}

size_t chunker_pending(const struct chunker *c)
{
    return c->s[1].len + c->s[2].len;
}

/* File offset of buffered byte i; only valid for the last noffs bytes. */
static uint64_t offset_of(const struct chunker_stream *s, size_t i)
{
    return s->offs[s->noffs - (s->len - i)];
}

static void push_offsets(struct chunker_stream *s, uint64_t off, size_t n)
{
    size_t take = n < 4 ? n : 4;
    for (size_t j = n - take; j < n; j++) {
        if (s->noffs == 4) {
            memmove(s->offs, s->offs + 1, 3 * sizeof s->offs[0]);
            s->noffs--;
        }
        s->offs[s->noffs++] = off + j;
    }
}

/* Emits the first k buffered bytes of a stream and keeps the rest (at most 3 bytes unless k is
 * 0, in which case nothing happens). */
static int emit_prefix(struct chunker *c, int stream, size_t k)
{
    struct chunker_stream *s = &c->s[stream];
    struct chunk ch;
    uint64_t carry_offs[4];
    size_t rest = s->len - k;
    int rc;

    if (k == 0)
        return 0;
    ch.stream = stream;
    ch.start = c->cursor[stream];
    ch.end = offset_of(s, k - 1) + 1;
    ch.data = s->buf;
    ch.len = k;
    rc = c->emit(c->ud, &ch);
    if (rc)
        return rc;
    c->cursor[stream] = ch.end;
    for (size_t j = 0; j < rest; j++)
        carry_offs[j] = offset_of(s, k + j);
    memmove(s->buf, s->buf + k, rest);
    s->len = rest;
    memcpy(s->offs, carry_offs, rest * sizeof carry_offs[0]);
    s->noffs = rest;
    return 0;
}

static int flush_stream(struct chunker *c, int stream, bool final)
{
    struct chunker_stream *s = &c->s[stream];
    if (s->len == 0)
        return 0;
    return emit_prefix(c, stream, final ? s->len : utf8_complete_prefix(s->buf, s->len));
}

int chunker_feed(struct chunker *c, int stream, uint64_t off, const char *data, size_t n)
{
    struct chunker_stream *s;
    int rc;

    if (stream != 1 && stream != 2)
        return -EINVAL;
    /* skip what a previous run already sent (resume) */
    if (off < c->cursor[stream]) {
        uint64_t skip = c->cursor[stream] - off;
        if (skip >= n)
            return 0;
        off += skip;
        data += skip;
        n -= (size_t)skip;
    }
    /* keep the arrival order of the two streams roughly intact on the server */
    if (c->last_stream && c->last_stream != stream) {
        rc = flush_stream(c, c->last_stream, false);
        if (rc)
            return rc;
    }
    c->last_stream = stream;
    s = &c->s[stream];
    if (!s->buf && !(s->buf = malloc(CHUNK_MAX)))
        return -ENOMEM;
    while (n > 0) {
        size_t room = CHUNK_MAX - s->len, take = n < room ? n : room;
        memcpy(s->buf + s->len, data, take);
        s->len += take;
        push_offsets(s, off, take);
        off += take;
        data += take;
        n -= take;
        if (s->len == CHUNK_MAX) {
            rc = flush_stream(c, stream, false);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int chunker_flush(struct chunker *c, bool final)
{
    int rc = 0;
    /* the stream written longest ago first */
    int first = c->last_stream == 1 ? 2 : 1;
    rc = flush_stream(c, first, final);
    if (!rc)
        rc = flush_stream(c, 3 - first, final);
    return rc;
}
