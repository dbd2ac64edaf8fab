/*
 * Per-user cache of the captured login environment (DATA/envcache/<uid>.env). Sourcing a login
 * profile costs from a few milliseconds to seconds (pyenv, conda, nvm init scripts); most tasks of
 * a fleet run as the same few users whose profiles rarely change. The shim reuses a capture while
 * it is younger than profile_cache seconds and none of the files a login shell reads has changed
 * since the capture began (stat only: cheap). A timed-out or failed profile is never cached.
 *
 * File: one header record, then the `env -0` style entries, every record NUL-terminated. Written
 * atomically, 0600, in a 0700 directory, opened with O_NOFOLLOW.
 */
#ifndef TETHER_TASK_ENVCACHE_H
#define TETHER_TASK_ENVCACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "task/shim_env.h"

struct envcache_key {
    uid_t uid;
    const char *user;  /* name, home and shell are part of the key: a changed passwd entry */
    const char *home;  /* (moved home, other shell) makes a different login environment */
    const char *shell;
    const char *etc;   /* "/etc" (tests point it elsewhere) */
};

/* Bit per watched file that existed when the capture began; a file appearing or vanishing
 * invalidates the cache just like one that changed. */
uint32_t envcache_present(const struct envcache_key *k);

/* Whether a capture that began at captured_ns (CLOCK_REALTIME) with the files in `present` is
 * still good at now_ns: younger than max_age_s, not from the future, and no watched file changed
 * (mtime or ctime at or after the capture start, or appeared/vanished). */
bool envcache_fresh(const struct envcache_key *k, int64_t captured_ns, uint32_t present,
                    int64_t now_ns, int64_t max_age_s);

/* Loads DATA/envcache/<uid>.env into out when it matches k and is fresh. Returns 0 on a hit, 1 on
 * a miss (absent, stale, other key), or -errno. */
int envcache_load(const char *data_dir, const struct envcache_key *k, int64_t max_age_s,
                  struct shim_env *out);

/* Stores env as the capture that began at captured_ns with the files in `present`. Returns 0 or
 * -errno. */
int envcache_store(const char *data_dir, const struct envcache_key *k, int64_t captured_ns,
                   uint32_t present, const struct shim_env *env);

/* CLOCK_REALTIME_COARSE in nanoseconds: the clock file times are taken from. */
int64_t envcache_now_ns(void);

#endif
