/* Colour decisions, status colours and the confirmation prompt; see term.h. */
#include "cli/term.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Written once by term_color_setup() before any output; read-only afterwards. */
static bool color_stdout, color_stderr, dumb_terminal;

int term_color_mode_parse(const char *s, enum color_mode *m)
{
    if (!strcmp(s, "auto"))
        *m = COLOR_AUTO;
    else if (!strcmp(s, "always"))
        *m = COLOR_ALWAYS;
    else if (!strcmp(s, "never"))
        *m = COLOR_NEVER;
    else
        return -EINVAL;
    return 0;
}

bool term_color_decide(enum color_mode m, bool is_tty, const char *no_color, const char *term)
{
    if (m == COLOR_ALWAYS)
        return true; /* an explicit flag wins over NO_COLOR (no-color.org) */
    if (m == COLOR_NEVER || !is_tty)
        return false;
    if (no_color && *no_color)
        return false;
    return !(term && !strcmp(term, "dumb"));
}

void term_color_setup(enum color_mode m)
{
    const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");

    dumb_terminal = term && !strcmp(term, "dumb");
    color_stdout = term_color_decide(m, isatty(STDOUT_FILENO) == 1, no_color, term);
    color_stderr = term_color_decide(m, isatty(STDERR_FILENO) == 1, no_color, term);
}

bool term_color_on(FILE *f)
{
    return f == stdout ? color_stdout : f == stderr ? color_stderr : false;
}

bool term_is_dumb(void)
{
    return dumb_terminal;
}

static const struct {
    const char *word;
    const char *sgr;
} status_colors[] = {
    { "succeeded", "32" },    { "online", "32" },
    { "failed", "31" },       { "timed_out", "31" },  { "start_failed", "31" },
    { "undetermined", "31" }, { "offline", "31" },
    { "cancelled", "33" },    { "skipped", "33" },    { "expired", "33" },
    { "running", "36" },
};

const char *term_status_sgr(const char *word)
{
    for (size_t i = 0; word && i < sizeof status_colors / sizeof status_colors[0]; i++)
        if (!strcmp(word, status_colors[i].word))
            return status_colors[i].sgr;
    return NULL;
}

int term_paint(struct buf *out, const char *word, const char *text, size_t n, bool color)
{
    const char *sgr = color ? term_status_sgr(word) : NULL;

    if (!sgr)
        return buf_append(out, text, n);
    if (buf_printf(out, "\x1b[%sm", sgr) || buf_append(out, text, n) ||
        buf_append_str(out, "\x1b[0m"))
        return -ENOMEM;
    return 0;
}

bool term_confirm(const char *question)
{
    char answer[64];
    size_t n;

    fputs(question, stderr);
    fflush(stderr);
    if (!fgets(answer, sizeof answer, stdin)) {
        fputc('\n', stderr); /* end of input: leave the cursor on a fresh line */
        return false;
    }
    n = strcspn(answer, "\r\n");
    answer[n] = '\0';
    return !strcasecmp(answer, "y") || !strcasecmp(answer, "yes");
}
