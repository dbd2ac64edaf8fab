/*
 * How the CLI behaves on a terminal (docs/cli.md, "On a terminal"): whether to colour, which
 * colour a status word gets, and the yes/no question `tether run` asks before a large run.
 *
 * Colour is decided once, in main(), from --color auto|always|never, NO_COLOR, TERM and whether
 * stdout and stderr are terminals; the table renderer and the run summary then ask
 * term_color_on(stream). That decision is process-wide state (like isatty itself): the listings
 * print through helpers that do not carry struct cli, and every listing must colour the same way.
 * Colour codes only ever wrap text that was already escaped, so remote bytes cannot use them.
 */
#ifndef TETHER_CLI_TERM_H
#define TETHER_CLI_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/buf.h"

enum color_mode { COLOR_AUTO = 0, COLOR_ALWAYS, COLOR_NEVER };

/* "auto", "always", "never". Returns 0 or -EINVAL. */
int term_color_mode_parse(const char *s, enum color_mode *m);
/* The rule for one stream: always → yes; never → no; auto → a terminal, NO_COLOR unset or
 * empty, TERM not "dumb". no_color and term are the variables' values (NULL when unset). */
bool term_color_decide(enum color_mode m, bool is_tty, const char *no_color, const char *term);
/* Applies the rule to stdout and stderr (reads NO_COLOR, TERM, isatty). Call once, early. */
void term_color_setup(enum color_mode m);
/* Whether text for this stream (stdout or stderr; anything else: no) is coloured. */
bool term_color_on(FILE *f);
/* TERM=dumb: no cursor-control sequences either (the progress line erases with blanks). */
bool term_is_dumb(void);

/* SGR parameter of a status word ("32" for succeeded ...), or NULL for a word with no colour. */
const char *term_status_sgr(const char *word);
/* Appends text[0..n), wrapped in the colour of status word `word` when color is set and the
 * word has one. The text must already be safe for a terminal. Returns 0 or -ENOMEM. */
int term_paint(struct buf *out, const char *word, const char *text, size_t n, bool color);

/* Prints question on stderr and reads one line from stdin (a terminal). Returns true only for
 * "y" or "yes" (any case); end of input or anything else is no. */
bool term_confirm(const char *question);

#endif
