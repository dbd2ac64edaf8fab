/*
 * Identifiers and names. Everything that comes from the network and may end up in a path, a SQL
 * parameter or a log line is checked here by allowlist first.
 *   ids:   "agt-", "inv-", "tsk-" followed by 20 lowercase hex digits (80 random bits)
 *   names: agent names (host names): [A-Za-z0-9][A-Za-z0-9._-]{0,62}
 *   tags:  key [A-Za-z][A-Za-z0-9_.-]{0,62}, value [A-Za-z0-9_.:/@+-]{0,128}
 */
#ifndef TETHER_IDS_H
#define TETHER_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define ID_LEN 24          /* "tsk-" + 20 hex */
#define ID_BUF (ID_LEN + 1)

#define ID_AGENT "agt"
#define ID_INVOCATION "inv"
#define ID_TASK "tsk"

/* Writes a new random id of the given kind into out (ID_BUF bytes). Returns 0 or -errno. */
int id_new(const char *kind, char out[ID_BUF]);
/* kind NULL accepts any of the three kinds. */
bool id_valid(const char *s, const char *kind);
bool name_valid(const char *s);
bool tag_key_valid(const char *s);
bool tag_value_valid(const char *s);
/* User names as accepted by useradd's default NAME_REGEX, plus uppercase: [a-zA-Z_][a-zA-Z0-9_.-]{0,31}[$]? */
bool user_name_valid(const char *s);
/* Environment variable names: [A-Za-z_][A-Za-z0-9_]{0,127} */
bool env_name_valid(const char *s);

/* Saved commands (issue 7): names [A-Za-z0-9][A-Za-z0-9_.-]{0,63}; parameter names
 * [A-Za-z_][A-Za-z0-9_]{0,63} (param_name_valid_n: n bytes, not NUL-terminated). */
#define COMMAND_NAME_MAX 64
#define PARAM_NAME_MAX 64
bool command_name_valid(const char *s);
bool param_name_valid(const char *s);
bool param_name_valid_n(const char *s, size_t n);

#endif
