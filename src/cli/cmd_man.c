/*
 * `tether man` (also `tether help --man`): a roff man page built from the main usage text and
 * every command's usage text, the same texts --help prints, so the two cannot drift. The build
 * writes it to build/share/man/man1/tether.1 and install/install.sh installs it.
 */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

const char man_usage[] =
    "usage: tether man\n"
    "       tether help --man\n"
    "\n"
    "Prints the tether(1) man page in roff, built from the --help text of every command.\n"
    "\n"
    "example: tether man | man -l -\n"
    "         tether man > /usr/local/share/man/man1/tether.1\n";

enum { M_HELP = 1 };

const struct opt_spec man_specs[] = {
    { "help", 'h', false, M_HELP },
    { NULL, 0, false, 0 },
};

/* Decodes one UTF-8 sequence at s (n bytes left); returns its length, 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cp)
{
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;

    if (len == 0 || len > n)
        return 0;
    *cp = s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        *cp = *cp << 6 | (s[i] & 0x3f);
    }
    return len;
}

/* Text as roff input in no-fill mode: backslashes and minus signs escaped, a leading '.' or '\''
 * neutralised, non-ASCII as \[uXXXX] so any groff reads it the same. */
static void roff_text(FILE *f, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text);
    bool line_start = true;

    for (size_t i = 0; i < n; i++) {
        unsigned cp;
        size_t len;

        if (line_start && (s[i] == '.' || s[i] == '\''))
            fputs("\\&", f);
        line_start = s[i] == '\n';
        if (s[i] == '\\')
            fputs("\\e", f);
        else if (s[i] == '-')
            fputs("\\-", f);
        else if (s[i] < 0x80)
            fputc(s[i], f);
        else if ((len = utf8_decode(s + i, n - i, &cp)) > 0) {
            /* the ellipsis of "tsk-…" also reads right on ASCII-only output devices */
            if (cp == 0x2026)
                fputs("...", f);
            else
                fprintf(f, "\\[u%04X]", cp);
            i += len - 1;
        } else {
            fputc('?', f);
        }
    }
    if (n && s[n - 1] != '\n')
        fputc('\n', f);
}

static void roff_block(FILE *f, const char *text)
{
    fputs(".nf\n", f);
    roff_text(f, text);
    fputs(".fi\n", f);
}

int man_page_print(FILE *f, const struct cli_command *cmds, const char *main_usage,
                   const char *version)
{
    int rc = 0;

    fprintf(f, ".TH TETHER 1 \"\" \"tether %s\" \"User Commands\"\n", version);
    fputs(".SH NAME\n"
          "tether \\- run commands on fleets of hosts through a Tether server\n"
          ".SH SYNOPSIS\n", f);
    /* the usage lines up to the first blank line, then the rest of the overview */
    const char *rest = strstr(main_usage, "\n\n");
    size_t head = rest ? (size_t)(rest - main_usage) + 1 : strlen(main_usage);
    char *synopsis = strndup(main_usage, head);
    if (!synopsis)
        return -1;
    roff_block(f, synopsis);
    free(synopsis);
    if (rest) {
        fputs(".SH DESCRIPTION\n", f);
        roff_block(f, rest + 2);
    }
    fputs(".SH COMMANDS\n"
          "Each command below prints the same text with \\fB\\-\\-help\\fR.\n", f);
    for (const struct cli_command *k = cmds; k->name; k++) {
        char *usage = NULL;

        if (k->flags & CMD_ALIAS)
            continue;
        if (command_usage(k, &usage) != 0) {
            rc = -1;
            continue;
        }
        fprintf(f, ".SS %s\n", k->name);
        roff_block(f, usage);
        free(usage);
    }
    fputs(".SH FILES\n"
          ".TP\n"
          ".I ~/.config/tether/config\n"
          "server, api_key and ca_file as key = value lines ($XDG_CONFIG_HOME/tether/config when "
          "that is set).\n"
          ".SH SEE ALSO\n"
          "docs/cli.md, docs/api.md and docs/operations.md in the Tether sources.\n", f);
    fflush(f);
    return rc;
}
