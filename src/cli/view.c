/* Operator-side output of followed tasks; see view.h. */
#include "cli/view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *stream_file(enum out_stream s)
{
    return s == STREAM_STDOUT ? stdout : stderr;
}

/* Writes to the stream, taking the progress line off the terminal while it does. */
static void view_write(struct out_view *v, enum out_stream s, const char *data, size_t n)
{
    bool tty = s == STREAM_STDOUT ? v->cli->out_tty : v->cli->err_tty;
    bool around = v->progress && tty && n > 0;

    if (around)
        progress_hide(v->progress);
    out_write(stream_file(s), data, n);
    if (around)
        progress_show(v->progress);
}

static void write_prefixed(void *ud, enum out_stream s, const char *data, size_t n)
{
    view_write(ud, s, data, n);
}

void view_set_progress(struct out_view *v, struct progress *p)
{
    v->progress = p;
}

void view_init(struct out_view *v, struct cli *c, bool multi, int only_stream, size_t pad)
{
    memset(v, 0, sizeof *v);
    v->cli = c;
    v->multi = multi;
    v->only_stream = only_stream;
    v->pad = pad;
}

static struct prefixer *prefixer_for(struct out_view *v, size_t idx, const char *name)
{
    struct prefixer *p;

    if (idx >= v->npfx) {
        /* slots are made on first output; a slot never used stays zeroed (name NULL) */
        p = realloc(v->pfx, (idx + 1) * sizeof *p);
        if (!p)
            return NULL;
        memset(p + v->npfx, 0, (idx + 1 - v->npfx) * sizeof *p);
        v->pfx = p;
        v->npfx = idx + 1;
    }
    p = &v->pfx[idx];
    if (!p->name) {
        if (prefix_init(p, name, v->pad, write_prefixed, v) != 0)
            return NULL;
        prefix_set_escape(p, STREAM_STDOUT, v->cli->out_tty);
        prefix_set_escape(p, STREAM_STDERR, v->cli->err_tty);
    }
    return p;
}

void view_output(struct out_view *v, size_t idx, const char *name, enum out_stream s,
                 const char *data, size_t n)
{
    bool tty = s == STREAM_STDOUT ? v->cli->out_tty : v->cli->err_tty;

    if (v->only_stream >= 0 && (int)s != v->only_stream)
        return;
    if (v->multi) {
        struct prefixer *p = prefixer_for(v, idx, name);
        if (p)
            prefix_feed(p, s, data, n);
        return;
    }
    if (tty) {
        struct buf b = BUF_INIT;
        if (term_escape_feed(&v->esc[s], data, n, &b) == 0)
            view_write(v, s, b.data, b.len);
        buf_free(&b);
        return;
    }
    view_write(v, s, data, n);
}

void view_end_task(struct out_view *v, size_t idx)
{
    if (idx < v->npfx && v->pfx[idx].name)
        prefix_flush(&v->pfx[idx]);
}

void view_finish(struct out_view *v)
{
    for (size_t i = 0; i < v->npfx; i++) {
        if (!v->pfx[i].name)
            continue;
        prefix_flush(&v->pfx[i]);
        prefix_free(&v->pfx[i]);
    }
    free(v->pfx);
    v->pfx = NULL;
    v->npfx = 0;
    for (int s = 0; s < 2; s++) {
        struct buf b = BUF_INIT;
        if (term_escape_flush(&v->esc[s], &b) == 0)
            view_write(v, (enum out_stream)s, b.data, b.len);
        buf_free(&b);
    }
}
