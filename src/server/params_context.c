/*
 * Where a placeholder sits in a command text (params.h, params_context_check). The literal that
 * replaces {{name}} is safe where the interpreter reads code: as an argument of a shell command,
 * an expression of Python or Perl. Inside a string, a comment, a here-document or a backquoted
 * command it is not: "echo \"hi {{x}}\"" would give the shell "hi 'v'" and expand $(…) in the
 * value. So a small lexer per interpreter follows quotes, comments and the constructs that nest
 * code, and refuses a placeholder that is not in code. It errs on the side of refusing: a
 * construct it does not model ends up as a false refusal with a message, not a silent pass.
 *
 * Not modelled (documented in docs/api.md): Perl's q{}/qq{}/regex/here-doc operators and POD.
 */
#include "server/params.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum lex_kind {
    L_CODE,      /* shell code (the text, or inside $(…)), Python/Perl code */
    L_PARAM,     /* sh ${…}: code-like when its parent is code */
    L_SQ,        /* '…' */
    L_DQ,        /* "…" */
    L_ANSI,      /* bash $'…' */
    L_BQ,        /* `…` */
    L_TSQ,       /* Python '''…''' */
    L_TDQ,       /* Python """…""" */
    L_COMMENT,   /* # to the end of the line */
    L_HEREDOC,   /* sh here-document body */
};

#define LEX_DEPTH 64
#define HEREDOC_MAX 8

struct frame {
    enum lex_kind kind;
    int parens;        /* L_CODE inside $(…): open '(' not yet closed */
    bool quoted;       /* L_PARAM: inside "…" */
};

struct heredoc {
    const char *delim;
    size_t len;
    bool strip_tabs;
};

struct lexer {
    const char *s;
    size_t n, i;
    enum { LANG_SH, LANG_PY, LANG_PL } lang;
    struct frame st[LEX_DEPTH];
    int top;
    struct heredoc pending[HEREDOC_MAX];
    int npending;
};

static const char *kind_name(enum lex_kind k)
{
    switch (k) {
    case L_SQ: return "a single-quoted string";
    case L_DQ: return "a double-quoted string";
    case L_ANSI: return "a $'...' string";
    case L_BQ: return "a backquoted command";
    case L_TSQ: case L_TDQ: return "a triple-quoted string";
    case L_COMMENT: return "a comment";
    case L_HEREDOC: return "a here-document";
    case L_PARAM: return "a ${...} inside a double-quoted string";
    default: return "code";
    }
}

static int push(struct lexer *x, enum lex_kind k, bool quoted)
{
    if (x->top + 1 >= LEX_DEPTH)
        return -E2BIG;
    x->top++;
    x->st[x->top].kind = k;
    x->st[x->top].parens = 0;
    x->st[x->top].quoted = quoted;
    return 0;
}

static void pop(struct lexer *x)
{
    if (x->top > 0)
        x->top--;
}

static bool at(const struct lexer *x, const char *lit)
{
    size_t k = strlen(lit);
    return x->i + k <= x->n && !memcmp(x->s + x->i, lit, k);
}

/* Length of the placeholder token {{name}} at x->i, 0 when there is none. */
static size_t placeholder_at(const struct lexer *x)
{
    size_t j = x->i + 2;
    if (!at(x, "{{"))
        return 0;
    while (j < x->n && ((x->s[j] >= 'a' && x->s[j] <= 'z') || (x->s[j] >= 'A' && x->s[j] <= 'Z') ||
                        (x->s[j] >= '0' && x->s[j] <= '9') || x->s[j] == '_'))
        j++;
    if (!param_name_valid_n(x->s + x->i + 2, j - x->i - 2) || j + 1 >= x->n ||
        x->s[j] != '}' || x->s[j + 1] != '}')
        return 0;
    return j + 2 - x->i;
}

/* A placeholder may stand in code, or in a ${…} that is itself in code. */
static bool in_code(const struct lexer *x)
{
    const struct frame *f = &x->st[x->top];
    return f->kind == L_CODE || (f->kind == L_PARAM && !f->quoted);
}

static bool sh_word_start(const struct lexer *x)
{
    char p = x->i ? x->s[x->i - 1] : '\n';
    return strchr(" \t\n;&|()<>", p) != NULL;
}

/* After "<<" (not "<<<"): [-] blanks WORD; the body starts at the next newline. */
static int sh_heredoc_start(struct lexer *x)
{
    struct heredoc *h;
    size_t j = x->i + 2, start;

    if (x->npending == HEREDOC_MAX)
        return -E2BIG;
    h = &x->pending[x->npending];
    h->strip_tabs = j < x->n && x->s[j] == '-';
    j += h->strip_tabs;
    while (j < x->n && (x->s[j] == ' ' || x->s[j] == '\t'))
        j++;
    /* The delimiter, quotes removed: 'EOF', "EOF" and \EOF all mean EOF (and a body that is
     * not expanded, but a placeholder there would still show its quotes: refused as well). */
    if (j < x->n && (x->s[j] == '\'' || x->s[j] == '"')) {
        char q = x->s[j++];
        start = j;
        while (j < x->n && x->s[j] != q)
            j++;
        h->delim = x->s + start;
        h->len = j - start;
        j += j < x->n;
    } else {
        j += j < x->n && x->s[j] == '\\';
        start = j;
        while (j < x->n && !strchr(" \t\n;&|()<>'\"", x->s[j]))
            j++;
        h->delim = x->s + start;
        h->len = j - start;
    }
    if (h->len == 0)
        return 0;
    x->npending++;
    x->i = j;
    return 1;
}

/* At the start of a line of a here-document body: is it the delimiter line? */
static bool sh_heredoc_end(struct lexer *x)
{
    const struct heredoc *h = &x->pending[0];
    size_t j = x->i, end;

    if (h->strip_tabs)
        while (j < x->n && x->s[j] == '\t')
            j++;
    end = j;
    while (end < x->n && x->s[end] != '\n')
        end++;
    if (end - j != h->len || memcmp(x->s + j, h->delim, h->len))
        return false;
    x->i = end;    /* the newline after it, if any, is read as code */
    memmove(&x->pending[0], &x->pending[1], (size_t)(x->npending - 1) * sizeof x->pending[0]);
    x->npending--;
    return true;
}

/* One step of the shell lexer at x->i (not a placeholder). Returns 0 or -E2BIG. */
static int sh_step(struct lexer *x)
{
    struct frame *f = &x->st[x->top];
    char c = x->s[x->i];
    int rc = 0;

    switch (f->kind) {
    case L_SQ:
        if (c == '\'')
            pop(x);
        break;
    case L_ANSI:
        if (c == '\\')
            x->i++;
        else if (c == '\'')
            pop(x);
        break;
    case L_BQ:
        if (c == '\\')
            x->i++;
        else if (c == '`')
            pop(x);
        break;
    case L_COMMENT:
        if (c == '\n') {
            pop(x);
            x->i--;   /* the newline is code's: it may start here-document bodies */
        }
        break;
    case L_HEREDOC:
        if (x->i == 0 || x->s[x->i - 1] == '\n') {
            if (sh_heredoc_end(x)) {
                if (x->npending == 0)
                    pop(x);
                return 0;
            }
        }
        break;
    case L_DQ:
        if (c == '\\')
            x->i++;
        else if (c == '"')
            pop(x);
        else if (at(x, "$("))
            rc = push(x, L_CODE, false), x->i++;
        else if (at(x, "${"))
            rc = push(x, L_PARAM, true), x->i++;
        else if (c == '`')
            rc = push(x, L_BQ, false);
        break;
    case L_PARAM:
    case L_CODE:
        if (c == '\\') {
            x->i++;
        } else if (c == '\'' && !(f->kind == L_PARAM && f->quoted)) {
            rc = push(x, L_SQ, false);
        } else if (c == '"') {
            rc = push(x, L_DQ, false);
        } else if (c == '`') {
            rc = push(x, L_BQ, false);
        } else if (at(x, "$'") && !(f->kind == L_PARAM && f->quoted)) {
            rc = push(x, L_ANSI, false), x->i++;
        } else if (at(x, "$(")) {
            rc = push(x, L_CODE, false), x->i++;
        } else if (at(x, "${")) {
            rc = push(x, L_PARAM, f->kind == L_PARAM ? f->quoted : false), x->i++;
        } else if (f->kind == L_PARAM && c == '}') {
            pop(x);
        } else if (f->kind == L_CODE && c == '(') {
            f->parens++;
        } else if (f->kind == L_CODE && c == ')') {
            /* closes a $( at parens 0; at the outermost level it is a case pattern's */
            if (f->parens > 0)
                f->parens--;
            else
                pop(x);
        } else if (f->kind == L_CODE && c == '#' && sh_word_start(x)) {
            rc = push(x, L_COMMENT, false);
        } else if (f->kind == L_CODE && at(x, "<<") && !at(x, "<<<")) {
            rc = sh_heredoc_start(x);
            if (rc == 0)
                x->i += 2;   /* no delimiter the lexer understands: the shell will complain */
            return rc < 0 ? rc : 0;   /* else x->i is past the delimiter */
        } else if (f->kind == L_CODE && c == '\n' && x->npending > 0) {
            rc = push(x, L_HEREDOC, false);
        }
        break;
    default:
        break;
    }
    x->i++;
    return rc;
}

/* Python and Perl: strings (with \ escapes), Python's triple-quoted ones, comments; Perl's
 * backquotes run a shell. */
static int script_step(struct lexer *x)
{
    struct frame *f = &x->st[x->top];
    char c = x->s[x->i];
    int rc = 0;

    switch (f->kind) {
    case L_SQ: case L_DQ: case L_BQ:
        if (c == '\\')
            x->i++;
        else if (c == (f->kind == L_SQ ? '\'' : f->kind == L_DQ ? '"' : '`'))
            pop(x);
        break;
    case L_TSQ: case L_TDQ:
        if (c == '\\')
            x->i++;
        else if (at(x, f->kind == L_TSQ ? "'''" : "\"\"\"")) {
            pop(x);
            x->i += 2;
        }
        break;
    case L_COMMENT:
        if (c == '\n')
            pop(x);
        break;
    default:
        if (x->lang == LANG_PY && (at(x, "'''") || at(x, "\"\"\""))) {
            rc = push(x, c == '\'' ? L_TSQ : L_TDQ, false);
            x->i += 2;
        } else if (c == '\'' || c == '"') {
            rc = push(x, c == '\'' ? L_SQ : L_DQ, false);
        } else if (x->lang == LANG_PL && c == '`') {
            rc = push(x, L_BQ, false);
        } else if (c == '#' && !(x->lang == LANG_PL && x->i > 0 && x->s[x->i - 1] == '$')) {
            rc = push(x, L_COMMENT, false);   /* Perl's $#array is no comment */
        }
        break;
    }
    x->i++;
    return rc;
}

int params_context_check(const char *cmd, size_t n, const char *interp, char *err,
                         size_t errlen)
{
    struct lexer x;
    int rc = 0;

    memset(&x, 0, sizeof x);
    x.s = cmd;
    x.n = n;
    if (!interp || !strcmp(interp, "sh") || !strcmp(interp, "bash"))
        x.lang = LANG_SH;
    else if (!strcmp(interp, "python3"))
        x.lang = LANG_PY;
    else
        x.lang = LANG_PL;
    x.st[0].kind = L_CODE;
    while (x.i < x.n && rc == 0) {
        size_t len = placeholder_at(&x);
        if (len) {
            /* Python reads no raw newline from a value (it is escaped): a comment is fine. */
            bool ok = in_code(&x) ||
                      (x.lang == LANG_PY && x.st[x.top].kind == L_COMMENT);
            if (!ok) {
                char name[PARAM_NAME_MAX + 1], env[sizeof PARAM_ENV_PREFIX + PARAM_NAME_MAX];
                snprintf(name, sizeof name, "%.*s", (int)(len - 4), cmd + x.i + 2);
                params_env_name(name, env, sizeof env);
                snprintf(err, errlen, "command: the placeholder {{%s}} at byte %zu is inside %s, "
                         "where its quoted value would not be one literal; put it in code (close "
                         "the quotes before it) or use the environment variable %s there",
                         name, x.i, kind_name(x.st[x.top].kind), env);
                return -EINVAL;
            }
            x.i += len;
            continue;
        }
        rc = x.lang == LANG_SH ? sh_step(&x) : script_step(&x);
    }
    if (rc) {
        snprintf(err, errlen, "command: nested too deeply (quotes, $(...), here-documents) for "
                 "the placeholder check");
        return -EINVAL;
    }
    return 0;
}
