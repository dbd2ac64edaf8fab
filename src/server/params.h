/*
 * Parameters of saved commands (docs/api.md "Saved commands"): the {{name}} placeholders of a
 * command text, the quoting of a value as a literal of each interpreter, and the checks a value
 * must pass. Pure functions without I/O, so they are unit-tested and fuzzed directly.
 *
 * Security rule: a value never reaches the interpreter as code. Each {{name}} is replaced by the
 * value written as one string literal of the command's interpreter (sh/bash: single quotes with
 * ' as '\''; python3: an ASCII-only '...' literal with escapes; perl: '...' with \ and ' escaped),
 * in a single pass, so text inside a value is never looked at again.
 */
#ifndef TETHER_SERVER_PARAMS_H
#define TETHER_SERVER_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/ids.h"

#define PARAMS_MAX 64           /* parameters per command (= the invocation's env cap) */
#define PARAM_VALUE_MAX 4096    /* bytes (= the invocation's env value cap) */
#define PARAM_PATTERN_MAX 512   /* bytes */
#define PARAM_ENV_PREFIX "TETHER_PARAM_"

/* Names of commands and parameters are checked by command_name_valid / param_name_valid
 * (common/ids.h: the CLI checks them too). */

/* Called for each placeholder of a command text, in order: name[0..len) is a valid parameter
 * name, offset the byte offset of its "{{". A non-zero return stops the scan and is returned. */
typedef int (*params_placeholder_fn)(void *ud, const char *name, size_t len, size_t offset);

/* Finds every placeholder {{name}} (no spaces) in cmd[0..n), a command text for interp (NULL:
 * any interpreter). A "{{" that does not start one is -EINVAL with err naming its byte offset.
 * So is a placeholder written next to a quote character ('{{x}}' or "{{x}}": the value is quoted
 * already, and quotes around it would undo that), or right after a character that changes how
 * its literal is read: \ for every interpreter, $ for sh/bash ($'…'), a letter, digit or _ for
 * python3 (f'…' would evaluate the value) and perl (qx'…', s'…'), and $ @ % & * for perl; and
 * one that is not in code (params_context_check). Returns 0, -EINVAL or what fn returned. */
int params_scan(const char *cmd, size_t n, const char *interp, params_placeholder_fn fn,
                void *ud, char *err, size_t errlen);

/* params_context.c: every placeholder of cmd[0..n) stands where interp (NULL: sh) reads code,
 * not inside a string, a comment, a here-document or a backquoted command, where its literal
 * would not be one value ("echo \"hi {{x}}\"" would let the shell expand $(…) in it). 0, or
 * -EINVAL with err naming the placeholder, its offset and what it is inside. params_scan calls
 * it. */
int params_context_check(const char *cmd, size_t n, const char *interp, char *err,
                         size_t errlen);

/* True for "sh", "bash", "python3" and "perl". */
bool params_interpreter_known(const char *interp);

/* Appends value[0..n) as one string literal of the interpreter. The value must be valid UTF-8
 * without NUL (params_value_check). Returns 0, -ENOMEM, or -EINVAL (unknown interpreter). */
int params_quote(struct buf *out, const char *interp, const char *value, size_t n);

/* A pattern as given in a command file: 1..512 bytes, a POSIX extended regular expression that
 * regcomp(REG_EXTENDED|REG_NOSUB) accepts, without back-references, and small once compiled
 * (at most 1024 positions with repetitions expanded, 32 nested groups: compiling and matching
 * run on the server's only thread). 0 or -EINVAL (err says why, without the field name). */
int params_pattern_check(const char *pattern, char *err, size_t errlen);

/* A value: at most 4096 bytes of UTF-8 without NUL and, with a pattern, matched by it as a
 * whole (the match must span every byte, as if written ^(…)$). 0 or -EINVAL with err saying why
 * (never quoting the value). */
int params_value_check(const char *value, size_t n, const char *pattern, char *err,
                       size_t errlen);

/* The environment variable that carries a parameter: TETHER_PARAM_<NAME upper-cased>.
 * out must hold sizeof PARAM_ENV_PREFIX + PARAM_NAME_MAX bytes. */
void params_env_name(const char *name, char *out, size_t outlen);

struct param_binding {
    const char *name;
    const char *value;
    size_t len;
};

/* Writes cmd[0..n) to out with every placeholder replaced by the quoted value of the binding of
 * that name. A placeholder without a binding is -EINVAL (err names it); -ENOMEM. */
int params_render(const char *cmd, size_t n, const char *interp,
                  const struct param_binding *b, size_t nb, struct buf *out, char *err,
                  size_t errlen);

#endif
