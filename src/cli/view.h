/*
 * Where followed output goes on the operator's side: one task raw (stdout to stdout, stderr to
 * stderr, escaped on a terminal), several tasks as "NAME | line" through one prefixer per task.
 * Used by `tether run` and `tether logs`.
 */
#ifndef TETHER_CLI_VIEW_H
#define TETHER_CLI_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "cli/prefix.h"
#include "cli/progress.h"

struct out_view {
    struct cli *cli;
    bool multi;                 /* prefix lines with the task name */
    int only_stream;            /* -1 for both, else an enum out_stream */
    size_t pad;                 /* name column width */
    struct term_escaper esc[2]; /* raw mode on a terminal */
    struct prefixer *pfx;       /* multi mode: one per task index */
    size_t npfx;
    struct progress *progress;  /* hidden around every write to a terminal, or NULL */
};

void view_init(struct out_view *v, struct cli *c, bool multi, int only_stream, size_t pad);
/* Output lines then go around this progress line (progress.h); NULL for none. */
void view_set_progress(struct out_view *v, struct progress *p);
/* Output of task idx called name (names must be given for idx 0..idx in order of first use). */
void view_output(struct out_view *v, size_t idx, const char *name, enum out_stream s,
                 const char *data, size_t n);
/* Ends task idx: its partial lines are printed. */
void view_end_task(struct out_view *v, size_t idx);
/* Prints what is still buffered and frees the view. */
void view_finish(struct out_view *v);

#endif
