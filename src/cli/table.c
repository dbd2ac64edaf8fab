/* Aligned text tables; see table.h. */
#include "cli/table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/output.h"
#include "cli/term.h"

static int add(struct table *t, const char *const *values)
{
    char **cells = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof *cells);
    struct buf b = BUF_INIT;

    if (!cells)
        return -ENOMEM;
    t->cells = cells;
    for (size_t c = 0; c < t->ncols; c++) {
        const char *v = values[c] ? values[c] : "-";
        buf_reset(&b);
        if (term_escape_cell(v, strlen(v), &b) != 0 || buf_append(&b, "", 0) != 0)
            goto fail;
        cells[t->nrows * t->ncols + c] = strdup(b.data ? b.data : "");
        if (!cells[t->nrows * t->ncols + c]) {
            for (size_t k = 0; k < c; k++)
                free(cells[t->nrows * t->ncols + k]);
            goto fail;
        }
    }
    t->nrows++;
    buf_free(&b);
    return 0;
fail:
    buf_free(&b);
    return -ENOMEM;
}

int table_init(struct table *t, size_t ncols, const char *const *headers)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    for (size_t c = 0; c < ncols && c < 64; c++)
        if (headers[c] && !strcmp(headers[c], "STATUS"))
            t->status_cols |= 1ULL << c;
    return add(t, headers);
}

void table_mark_status(struct table *t, size_t col)
{
    if (col < t->ncols && col < 64)
        t->status_cols |= 1ULL << col;
}

int table_add_row(struct table *t, const char *const *values)
{
    return add(t, values);
}

int table_render(const struct table *t, struct buf *out)
{
    return table_render_color(t, out, false);
}

int table_render_color(const struct table *t, struct buf *out, bool color)
{
    size_t *width = calloc(t->ncols ? t->ncols : 1, sizeof *width);
    int rc = 0;

    if (!width)
        return -ENOMEM;
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = utf8_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < t->nrows && rc == 0; r++) {
        for (size_t c = 0; c < t->ncols && rc == 0; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            bool status = r > 0 && c < 64 && (t->status_cols >> c & 1);
            rc = term_paint(out, status ? cell : NULL, cell, strlen(cell), color);
            if (rc == 0 && c + 1 < t->ncols)
                rc = buf_printf(out, "%*s", (int)(width[c] - utf8_width(cell) + 2), "");
        }
        if (rc == 0)
            rc = buf_append(out, "\n", 1);
    }
    free(width);
    return rc ? -ENOMEM : 0;
}

int table_print(const struct table *t, FILE *f)
{
    struct buf b = BUF_INIT;
    int rc = table_render_color(t, &b, term_color_on(f));

    if (rc == 0)
        out_write(f, b.data, b.len);
    buf_free(&b);
    return rc;
}

void table_free(struct table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}
