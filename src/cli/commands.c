/*
 * What the command table (main.c) says about each command, for help, completion and the man
 * page: its usage text and its option words. A command whose table entry has no usage text or no
 * option table yet is asked: its `--help` text is captured and the options are read from it, so
 * every command shows up even before its file exports its tables.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE_MAX (256 * 1024)

/* Runs `NAME --help` with stdout sent to a temporary file and reads that back. */
static int capture_help(const struct cli_command *k, char **out)
{
    char *argv[] = { (char *)k->name, (char *)"--help", NULL };
    FILE *tmp = tmpfile();
    struct buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    int saved = -1, rc = -EIO;

    if (!tmp)
        return -errno;
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    if (saved < 0 || dup2(fileno(tmp), STDOUT_FILENO) < 0)
        goto out;
    k->fn(NULL, 2, argv);
    fflush(stdout);
    if (dup2(saved, STDOUT_FILENO) < 0)
        goto out;
    rewind(tmp);
    while ((n = fread(chunk, 1, sizeof chunk, tmp)) > 0 && b.len < USAGE_MAX)
        if (buf_append(&b, chunk, n)) {
            rc = -ENOMEM;
            goto out;
        }
    if (buf_append(&b, "", 0)) {
        rc = -ENOMEM;
        goto out;
    }
    *out = b.data;
    b.data = NULL;
    rc = 0;
out:
    if (saved >= 0)
        close(saved);
    fclose(tmp);
    buf_free(&b);
    return rc;
}

int command_usage(const struct cli_command *k, char **out)
{
    *out = NULL;
    if (k->usage) {
        *out = strdup(k->usage);
        return *out ? 0 : -ENOMEM;
    }
    return capture_help(k, out);
}

static bool word_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
}

/* Whether " word " is already in the space-separated list. */
static bool listed(const struct buf *list, const char *word, size_t n)
{
    const char *p = list->data;

    while (p && (p = strstr(p, word)) != NULL) {
        bool start = p == list->data || p[-1] == ' ';
        bool end = p[n] == ' ' || p[n] == '\0';
        if (start && end)
            return true;
        p += n;
    }
    return false;
}

static int add_word(struct buf *list, const char *word, size_t n)
{
    char w[80];

    if (n == 0 || n >= sizeof w)
        return 0;
    memcpy(w, word, n);
    w[n] = '\0';
    if (listed(list, w, n))
        return 0;
    return buf_printf(list, "%s%s", list->len ? " " : "", w);
}

/* Options as the usage text shows them: "--name" or "-x" after a blank, '[' or '|'; one that is
 * followed by a blank and a value word (not an option, not a bracket) takes a value. */
static int words_from_usage(const char *usage, struct buf *words, struct buf *valued)
{
    for (const char *p = usage; *p; p++) {
        size_t n;
        const char *after;

        if (*p != '-' || (p > usage && !strchr(" [|,\n", p[-1])))
            continue;
        if (p[1] == '-' && word_char(p[2]) && p[2] != '-') {
            for (n = 2; word_char(p[n]); n++)
                ;
        } else if (((p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z')) &&
                   strchr(" ,]|\n", p[2])) {
            n = 2;
        } else {
            continue;
        }
        after = p + n;
        if (add_word(words, p, n))
            return -ENOMEM;
        if ((*after == ' ' || *after == '=') && after[1] && !strchr("-[]|( \n", after[1]) &&
            add_word(valued, p, n))
            return -ENOMEM;
        p += n - 1;
    }
    return 0;
}

int command_option_words(const struct cli_command *k, const char *usage, struct buf *words,
                         struct buf *valued)
{
    char w[80];

    if (!k->opts) {
        /* every command takes --help, whether its text says so or not */
        if ((usage && words_from_usage(usage, words, valued)) || add_word(words, "--help", 6) ||
            add_word(words, "-h", 2))
            return -ENOMEM;
        return 0;
    }
    for (const struct opt_spec *s = k->opts; s->long_name || s->short_name; s++) {
        if (s->long_name) {
            snprintf(w, sizeof w, "--%s", s->long_name);
            if (add_word(words, w, strlen(w)) || (s->has_arg && add_word(valued, w, strlen(w))))
                return -ENOMEM;
        }
        if (s->short_name) {
            snprintf(w, sizeof w, "-%c", s->short_name);
            if (add_word(words, w, 2) || (s->has_arg && add_word(valued, w, 2)))
                return -ENOMEM;
        }
    }
    return 0;
}
