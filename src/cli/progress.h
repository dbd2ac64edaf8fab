/*
 * The progress line of a multi-target `tether run` on a terminal: "[12/50 done · 8 running ·
 * 1 failed]" on stderr, redrawn in place as tasks change state. Output lines go around it: the
 * writer hides it (erases the line), prints, and shows it again; progress_end removes it for good.
 * It is only ever enabled when stderr is a terminal, and it never touches stdout.
 *
 * Error paths that print on stderr while a line may be up call progress_hide_active(), so a
 * message never lands on the end of the line: the one enabled progress line is remembered
 * process-wide for that (there is one stderr).
 */
#ifndef TETHER_CLI_PROGRESS_H
#define TETHER_CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

struct progress {
    bool enabled;
    bool shown;           /* the line is on the screen now */
    bool dumb;            /* TERM=dumb: erase with blanks instead of ESC [ K */
    size_t drawn;         /* display width of what was drawn */
    char line[128];
};

/* enabled: stderr is a terminal and the run has several targets. */
void progress_init(struct progress *p, bool enabled);
/* New counts: re-renders the text and draws it. */
void progress_update(struct progress *p, size_t done, size_t total, size_t running,
                     size_t failed);
/* Erases the line if it is shown. */
void progress_hide(struct progress *p);
/* Draws the line again (after progress_hide). */
void progress_show(struct progress *p);
/* Erases the line and disables p. */
void progress_end(struct progress *p);
/* Erases the enabled progress line, if any (before an error message). */
void progress_hide_active(void);

#endif
