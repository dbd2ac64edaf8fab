/*
 * Self-update state on disk, DATA/update/ (issue 6):
 *   ratchet   the highest version ever accepted: nothing at or below it is installed again
 *   bad       versions that were rolled back, one a line: never tried again
 *   pending   {version, previous, exe, prev_path, deadline, starts, checks} from the swap until the
 *             new binary is healthy (or rolled back)
 *   last      {state, target}: the outcome reported in heartbeats after a restart
 *   staged.part   the download in progress (resumed with Range)
 * Shared by the agent and tether-agent-rollback-check, which restores a binary that cannot even
 * start (see docs/operations.md).
 */
#ifndef TETHER_UPDATE_FILES_H
#define TETHER_UPDATE_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UPDATE_MAX_STARTS 3

struct update_pending {
    char version[32];     /* the new binary's */
    char previous[32];    /* the binary it replaced */
    char exe[4096];       /* path that was swapped */
    char prev_path[4200]; /* the previous binary kept beside it */
    int64_t deadline;     /* wall ms by which the new binary must be healthy */
    int64_t starts;       /* starts of the new agent (counted by itself) */
    int64_t checks;       /* supervisor restarts (counted by the rollback check) */
};

/* DATA/update/NAME into buf. 0 or -ENAMETOOLONG. */
int update_path(const char *data_dir, const char *name, char *buf, size_t n);

/* Highest accepted version into v ("" when none). 0 or -errno (not -ENOENT). */
int update_ratchet_read(const char *data_dir, char *v, size_t n);
/* Raises the ratchet to version (never lowers it). 0 or -errno. */
int update_ratchet_raise(const char *data_dir, const char *version);
bool update_is_bad(const char *data_dir, const char *version);
int update_mark_bad(const char *data_dir, const char *version);

/* 0, -ENOENT when there is no pending update, -EINVAL when the file is unreadable. */
int update_pending_read(const char *data_dir, struct update_pending *p);
int update_pending_write(const char *data_dir, const struct update_pending *p);
int update_pending_remove(const char *data_dir);

int update_last_write(const char *data_dir, const char *state, const char *target);
/* "" when none. */
void update_last_read(const char *data_dir, char *state, size_t sn, char *target, size_t tn);

/* Puts p->prev_path back at p->exe (atomic rename), marks p->version bad, records
 * "rolled_back: <why>" and removes pending. 0 or -errno (pending is kept on failure). */
int update_rollback(const char *data_dir, const struct update_pending *p, const char *why);

/* What tether-agent-rollback-check does before each (re)start: counts the start and rolls back
 * after UPDATE_MAX_STARTS starts or past the deadline. 1 rolled back, 0 nothing to do, <0 error. */
int update_rollback_check(const char *data_dir, int64_t now_ms);

#endif
