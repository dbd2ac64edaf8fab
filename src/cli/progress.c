/* The in-place progress line on stderr; see progress.h. */
#include "cli/progress.h"

#include <stdio.h>
#include <string.h>

#include "cli/output.h"
#include "cli/term.h"

static struct progress *active;

void progress_init(struct progress *p, bool enabled)
{
    memset(p, 0, sizeof *p);
    p->enabled = enabled;
    p->dumb = term_is_dumb();
    if (enabled)
        active = p;
}

void progress_hide(struct progress *p)
{
    char blanks[sizeof p->line + 2];

    if (!p->enabled || !p->shown)
        return;
    if (p->dumb) {
        size_t n = p->drawn < sizeof p->line ? p->drawn : sizeof p->line;
        blanks[0] = '\r';
        memset(blanks + 1, ' ', n);
        blanks[n + 1] = '\r';
        out_write(stderr, blanks, n + 2);
    } else {
        out_write(stderr, "\r\x1b[K", 4);
    }
    p->shown = false;
}

void progress_show(struct progress *p)
{
    if (!p->enabled || !p->line[0])
        return;
    if (p->shown)
        out_write(stderr, "\r", 1);
    out_write(stderr, p->line, strlen(p->line));
    p->drawn = utf8_width(p->line);
    p->shown = true;
}

void progress_update(struct progress *p, size_t done, size_t total, size_t running,
                     size_t failed)
{
    char line[sizeof p->line];

    if (!p->enabled)
        return;
    snprintf(line, sizeof line, "[%zu/%zu done \xc2\xb7 %zu running \xc2\xb7 %zu failed]", done,
             total, running, failed);
    if (p->shown && !strcmp(line, p->line))
        return; /* nothing new: no redraw */
    /* a shorter line must not leave the tail of the longer one behind */
    if (p->shown && utf8_width(line) < p->drawn)
        progress_hide(p);
    memcpy(p->line, line, sizeof line);
    progress_show(p);
}

void progress_end(struct progress *p)
{
    progress_hide(p);
    p->enabled = false;
    if (active == p)
        active = NULL;
}

void progress_hide_active(void)
{
    if (active)
        progress_hide(active);
}
