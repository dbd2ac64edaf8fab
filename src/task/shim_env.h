/* A task's environment, built in the shim before forking the command. */
#ifndef TETHER_TASK_SHIM_ENV_H
#define TETHER_TASK_SHIM_ENV_H

#include <stdbool.h>
#include <stddef.h>

struct shim_env {
    char **vars; /* NULL-terminated "K=V" array, owned */
    size_t n, cap;
};

const char *shim_env_path(void);
/* Adds or replaces NAME. Returns 0 or -ENOMEM. */
int shim_env_set(struct shim_env *e, const char *name, const char *value);
/* Adds the pairs of an /etc/environment style file (missing file: nothing). Returns 0 or -errno. */
int shim_env_load_file(struct shim_env *e, const char *path);
/* Adds the entries of a NUL-separated "K=V" list (`env -0` output). Entries without '=', with an
 * invalid name, cut off at the end, or set by the shell itself (PWD OLDPWD SHLVL _) are skipped.
 * Returns how many were taken, or -ENOMEM. */
int shim_env_parse_nul(struct shim_env *e, const char *buf, size_t len);
/* The value of NAME, or NULL. */
const char *shim_env_get(const struct shim_env *e, const char *name);
void shim_env_free(struct shim_env *e);

#endif
