/* Server-Sent Events parser; see sse.h. */
#include "cli/sse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SSE_DEFAULT_MAX (8u * 1024 * 1024)

void sse_init(struct sse_parser *p, size_t max_bytes, sse_event_cb cb, void *ud)
{
    memset(p, 0, sizeof *p);
    p->max_bytes = max_bytes ? max_bytes : SSE_DEFAULT_MAX;
    p->cb = cb;
    p->ud = ud;
}

void sse_reset(struct sse_parser *p)
{
    buf_reset(&p->line);
    buf_reset(&p->data);
    p->event[0] = '\0';
    p->have_data = false;
    p->skip_lf = false;
}

void sse_free(struct sse_parser *p)
{
    buf_free(&p->line);
    buf_free(&p->data);
}

static int dispatch(struct sse_parser *p)
{
    int rc = 0;

    /* An event without data lines is not dispatched (spec), but its name is still dropped. */
    if (p->have_data)
        rc = p->cb(p->ud, p->event[0] ? p->event : "message", p->data.data ? p->data.data : "",
                   p->data.len);
    buf_reset(&p->data);
    p->event[0] = '\0';
    p->have_data = false;
    return rc;
}

/* One complete line, without its terminator. */
static int process_line(struct sse_parser *p, const char *line, size_t len)
{
    const char *colon, *value;
    size_t name_len, value_len;

    if (len == 0)
        return dispatch(p);
    if (line[0] == ':')
        return 0;
    colon = memchr(line, ':', len);
    name_len = colon ? (size_t)(colon - line) : len;
    value = colon ? colon + 1 : line + len;
    value_len = colon ? len - name_len - 1 : 0;
    if (value_len > 0 && value[0] == ' ') {
        value++;
        value_len--;
    }
    if (name_len == 4 && memcmp(line, "data", 4) == 0) {
        if (p->data.len + value_len + 1 > p->max_bytes)
            return -E2BIG;
        if (p->have_data && buf_append(&p->data, "\n", 1) != 0)
            return -ENOMEM;
        if (buf_append(&p->data, value, value_len) != 0)
            return -ENOMEM;
        p->have_data = true;
    } else if (name_len == 5 && memcmp(line, "event", 5) == 0) {
        /* Names longer than the buffer are not ours; keep them unmatchable rather than cut. */
        if (value_len >= sizeof p->event)
            snprintf(p->event, sizeof p->event, "?");
        else {
            memcpy(p->event, value, value_len);
            p->event[value_len] = '\0';
        }
    }
    /* id, retry and unknown fields are ignored: the CLI resumes by task seq, not Last-Event-ID. */
    return 0;
}

int sse_feed(struct sse_parser *p, const char *data, size_t n)
{
    size_t i = 0;
    int rc;

    if (p->skip_lf && n > 0) {
        p->skip_lf = false;
        if (data[0] == '\n')
            i = 1;
    }
    while (i < n) {
        const char *start = data + i;
        size_t avail = n - i, k = 0;

        while (k < avail && start[k] != '\n' && start[k] != '\r')
            k++;
        if (k == avail) {
            /* no line end in this chunk: keep the fragment */
            if (p->line.len + k > p->max_bytes)
                return -E2BIG;
            return buf_append(&p->line, start, k) ? -ENOMEM : 0;
        }
        if (p->line.len > 0) {
            if (p->line.len + k > p->max_bytes)
                return -E2BIG;
            if (buf_append(&p->line, start, k) != 0)
                return -ENOMEM;
            rc = process_line(p, p->line.data, p->line.len);
            buf_reset(&p->line);
        } else {
            if (k > p->max_bytes)
                return -E2BIG;
            rc = process_line(p, start, k);
        }
        i += k + 1;
        if (start[k] == '\r') {
            if (i < n && data[i] == '\n')
                i++;
            else if (i == n)
                p->skip_lf = true;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}
