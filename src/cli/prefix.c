/* Per-task line prefixer; see prefix.h. */
#include "cli/prefix.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/output.h"

int prefix_init(struct prefixer *p, const char *name, size_t pad, prefix_sink sink, void *ud)
{
    memset(p, 0, sizeof *p);
    p->name = strdup(name);
    p->pad = pad;
    p->sink = sink;
    p->ud = ud;
    return p->name ? 0 : -ENOMEM;
}

void prefix_set_escape(struct prefixer *p, enum out_stream s, bool escape)
{
    p->escape[s] = escape;
}

/* Emits one line (without its newline; one is added). */
static int emit(struct prefixer *p, enum out_stream s, const char *line, size_t n)
{
    struct buf b = BUF_INIT;
    size_t w = utf8_width(p->name);
    int rc;

    rc = buf_printf(&b, "%s%*s | ", p->name, (int)(p->pad > w ? p->pad - w : 0), "");
    if (rc == 0)
        rc = p->escape[s] ? term_escape_text(line, n, &b) : buf_append(&b, line, n);
    if (rc == 0)
        rc = buf_append(&b, "\n", 1);
    if (rc == 0)
        p->sink(p->ud, s, b.data, b.len);
    buf_free(&b);
    return rc ? -ENOMEM : 0;
}

int prefix_feed(struct prefixer *p, enum out_stream s, const char *data, size_t n)
{
    struct buf *part = &p->partial[s];

    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) : n;
        int rc;

        if (!nl) {
            if (buf_append(part, data, n) != 0)
                return -ENOMEM;
            if (part->len >= PREFIX_MAX_PARTIAL) {
                rc = emit(p, s, part->data, part->len);
                buf_reset(part);
                if (rc)
                    return rc;
            }
            return 0;
        }
        if (part->len > 0) {
            if (buf_append(part, data, take) != 0)
                return -ENOMEM;
            rc = emit(p, s, part->data, part->len);
            buf_reset(part);
        } else {
            rc = emit(p, s, data, take);
        }
        if (rc)
            return rc;
        data += take + 1;
        n -= take + 1;
    }
    return 0;
}

int prefix_flush(struct prefixer *p)
{
    for (int s = 0; s < 2; s++) {
        if (p->partial[s].len > 0) {
            int rc = emit(p, (enum out_stream)s, p->partial[s].data, p->partial[s].len);
            buf_reset(&p->partial[s]);
            if (rc)
                return rc;
        }
    }
    return 0;
}

void prefix_free(struct prefixer *p)
{
    free(p->name);
    buf_free(&p->partial[0]);
    buf_free(&p->partial[1]);
    memset(p, 0, sizeof *p);
}
