/* The frame of `tether top`; see top_view.h. */
#include "cli/top_view.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/output.h"
#include "cli/table.h"
#include "common/ids.h"
#include "common/tm.h"

void top_fmt_duration(int64_t ms, char *out, size_t n)
{
    int64_t s = ms < 0 ? 0 : ms / 1000;

    if (s < 60)
        snprintf(out, n, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(out, n, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else if (s < 86400)
        snprintf(out, n, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else
        snprintf(out, n, "%lldd%02lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

/* Bytes of s that make up at most cols code points. */
static size_t cut_at(const char *s, size_t len, size_t cols)
{
    size_t i = 0, w = 0;

    while (i < len && w < cols) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xc0) == 0x80)
            i++;
        w++;
    }
    return i;
}

/* The first line of a command, escaped, cut to cols code points with an ellipsis. */
static int command_cell(const char *cmd, bool truncated, size_t cols, struct buf *out)
{
    struct buf esc = BUF_INIT;
    size_t line = strcspn(cmd, "\n"), keep;
    bool more = truncated || cmd[line] != '\0';
    int rc = term_escape_cell(cmd, line, &esc);

    if (rc == 0) {
        if (!more && utf8_width(esc.data ? esc.data : "") <= cols) {
            keep = esc.len;
        } else {
            keep = cut_at(esc.data ? esc.data : "", esc.len, cols > 1 ? cols - 1 : 1);
            more = true;
        }
        rc = buf_append(out, esc.data ? esc.data : "", keep) ||
             (more && buf_append_str(out, "…"));
    }
    buf_free(&esc);
    return rc ? -ENOMEM : 0;
}

/* Lines of text (each ended by '\n'), every one cut to cols, at most max_lines of them: when
 * there are more, the last one kept says how many were left out. */
static int emit_lines(const char *text, size_t len, const struct top_size *size,
                      size_t max_lines, size_t rows_of_items, const char *eol, struct buf *out)
{
    size_t lines = 0, pos = 0, total = 0;

    for (size_t i = 0; i < len; i++)
        total += text[i] == '\n';
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        if (max_lines && lines + 1 == max_lines && total > max_lines) {
            size_t hidden = total - lines;
            if (buf_printf(out, "… %zu more (of %zu)%s", hidden, rows_of_items, eol))
                return -ENOMEM;
            return 0;
        }
        if (buf_append(out, text + pos, size->cols ? cut_at(text + pos, end - pos, size->cols)
                                                   : end - pos) ||
            buf_append_str(out, eol))
            return -ENOMEM;
        lines++;
        pos = end + 1;
    }
    return 0;
}

static int64_t running_on(json_t *tasks, const char *agent_id)
{
    int64_t n = 0;
    size_t i;
    json_t *t;

    json_array_foreach(tasks, i, t)
        n += agent_id && !strcmp(jstr(t, "agent_id", ""), agent_id);
    return n;
}

static int agents_table(const struct top_input *in, struct buf *text)
{
    static const char *const hdr[] = { "NAME", "STATUS", "RUNNING", "LOAD", "VERSION",
                                       "LAST_SEEN" };
    struct table t;
    size_t i;
    json_t *a;
    int rc;

    if (table_init(&t, 6, hdr))
        return -ENOMEM;
    json_array_foreach(in->agents, i, a) {
        char running[24], load[32], seen[64];
        json_t *l = json_object_get(a, "load1");

        snprintf(running, sizeof running, "%lld",
                 (long long)running_on(in->tasks, jstr(a, "agent_id", NULL)));
        if (json_is_number(l) && jstr(a, "last_heartbeat", NULL))
            snprintf(load, sizeof load, "%.2f", json_number_value(l));
        else
            snprintf(load, sizeof load, "-");
        fmt_relative(jstr(a, "last_seen", NULL), in->now_ms, seen, sizeof seen);
        const char *row[] = { jstr(a, "name", "-"), jstr(a, "status", "-"), running, load,
                              jstr(a, "version", "-"), seen };
        if (table_add_row(&t, row)) {
            table_free(&t);
            return -ENOMEM;
        }
    }
    rc = table_render(&t, text);
    table_free(&t);
    return rc;
}

static int tasks_table(const struct top_input *in, const struct top_size *size, struct buf *text)
{
    static const char *const hdr[] = { "TASK", "AGENT", "RUNNING_FOR", "COMMAND" };
    size_t i, fixed = 0, cmd_cols;
    struct table t;
    json_t *x;
    int rc = 0;

    /* widths of the first three columns decide how much of the command fits */
    json_array_foreach(in->tasks, i, x) {
        size_t w = strlen(jstr(x, "name", "-"));
        if (w > fixed)
            fixed = w;
    }
    fixed = ID_LEN + 2 + (fixed > 5 ? fixed : 5) + 2 + 11 + 2;
    cmd_cols = !size->cols ? TOP_COMMAND_COLS : size->cols > fixed + 20 ? size->cols - fixed : 20;
    if (table_init(&t, 4, hdr))
        return -ENOMEM;
    json_array_foreach(in->tasks, i, x) {
        char ran[32];
        struct buf cmd = BUF_INIT;
        int64_t started;

        if (tm_parse_rfc3339(jstr(x, "started_at", ""), &started) == 0)
            top_fmt_duration(in->now_ms - started, ran, sizeof ran);
        else
            snprintf(ran, sizeof ran, "-");
        rc = command_cell(jstr(x, "command", ""),
                          json_is_true(json_object_get(x, "command_truncated")), cmd_cols, &cmd);
        const char *row[] = { jstr(x, "task_id", "-"), jstr(x, "name", "-"), ran,
                              cmd.data ? cmd.data : "" };
        if (rc == 0)
            rc = table_add_row(&t, row);
        buf_free(&cmd);
        if (rc)
            break;
    }
    if (rc == 0)
        rc = table_render(&t, text);
    table_free(&t);
    return rc ? -ENOMEM : 0;
}

static size_t count_online(json_t *agents)
{
    size_t n = 0, i;
    json_t *a;
    json_array_foreach(agents, i, a)
        n += !strcmp(jstr(a, "status", ""), "online");
    return n;
}

int top_render(const struct top_input *in, const struct top_size *size, const char *eol,
               struct buf *out)
{
    struct buf head = BUF_INIT, at = BUF_INIT, tt = BUF_INIT;
    size_t na = json_array_size(in->agents), nt = json_array_size(in->tasks);
    size_t avail = 0, give_a = 0, give_t = 0;
    char now[32];
    int rc;

    now[0] = '\0';
    if (tm_format_rfc3339(in->now_ms, now, sizeof now) == 0) {
        memmove(now, now + 11, 8); /* HH:MM:SS */
        now[8] = '\0';
    }
    /* the server last: a narrow terminal cuts that first */
    rc = buf_printf(&head, "tether top  %zu agent%s (%zu online), %lld running task%s  %s UTC  %s",
                    na, na == 1 ? "" : "s", count_online(in->agents),
                    (long long)in->running_total, in->running_total == 1 ? "" : "s",
                    now[0] ? now : "-", in->server ? in->server : "");
    if (rc == 0 && in->error) {
        rc = buf_append_str(&head, "\n! ") ||
             term_escape_cell(in->error, strlen(in->error), &head);
    }
    if (rc == 0 && (size_t)in->running_total > nt)
        rc = buf_printf(&head, "\n(showing %zu of %lld running tasks)", nt,
                        (long long)in->running_total);
    if (rc == 0)
        rc = buf_append_str(&head, "\n\n");
    if (rc == 0)
        rc = agents_table(in, &at);
    if (rc == 0)
        rc = tasks_table(in, size, &tt);
    if (rc)
        goto out;
    if (size->rows) {
        /* the header, then the two tables split what is left; a table that needs less gives
         * its share to the other */
        size_t used = 0;
        for (size_t i = 0; i < head.len; i++)
            used += head.data[i] == '\n';
        avail = size->rows > used + 2 ? size->rows - used - 2 : 2;
        if (na + 1 + nt + 1 <= avail) {
            give_a = na + 1;
            give_t = nt + 1;
        } else {
            /* tasks are kept at least half the room when they need it */
            give_t = nt + 1 < avail - avail / 2 ? nt + 1 : avail - avail / 2;
            give_a = na + 1 < avail - give_t ? na + 1 : avail - give_t;
            give_t = avail - give_a;
        }
    }
    rc = emit_lines(head.data, head.len, size, 0, 0, eol, out) ||
         emit_lines(at.data, at.len, size, give_a, na, eol, out) ||
         buf_append_str(out, eol) ||
         emit_lines(tt.data, tt.len, size, give_t, nt, eol, out);
    rc = rc ? -ENOMEM : 0;
out:
    buf_free(&head);
    buf_free(&at);
    buf_free(&tt);
    return rc;
}
