/*
 * The task journal: DATA/tasks/<task_id>/ per task the agent ever accepted. The directory's
 * existence is the dedupe record (mkdir is atomic), task.json is written at once and made durable
 * together with the spawned marker while the shim starts (it waits for that before running
 * anything), and marker files record progress:
 *   task.json  the validated task (plus agent fields)   spawned   the shim was about to be forked
 *   shim.pid   "pid starttime" written by the shim      result    the shim's verdict (atomic)
 *   output     the spool                                upload.log chunks sent (see upload_log.h)
 *   finished   the server acknowledged finish (kept a day so duplicates stay recognised)
 */
#ifndef TETHER_TASK_JOURNAL_H
#define TETHER_TASK_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/ids.h"

enum journal_state {
    JOURNAL_NEW,       /* accepted, shim never spawned: may still be run */
    JOURNAL_RUNNING,   /* shim alive: adopt it */
    JOURNAL_REPORT,    /* shim gone, result present: upload and report it */
    JOURNAL_LOST,      /* shim gone without a result: report undetermined, never re-run */
    JOURNAL_FINISHED,  /* done */
    JOURNAL_BROKEN,    /* no task.json: accepted by a crash mid-write, never acknowledged */
};

/* DATA/tasks (mode 0711). Returns 0 or -errno. */
int journal_init(const char *data_dir);
/* Writes DATA/tasks/ID into out. Returns 0 or -ENAMETOOLONG/-EINVAL (bad id). */
int journal_dir(const char *data_dir, const char *task_id, char *out, size_t n);
/* Creates the entry and writes task.json (not yet durable). -EEXIST if the id is already
 * journaled. */
int journal_create(const char *data_dir, const char *task_id, const char *json, size_t len);
/* Just before the shim is spawned: the spawned marker (visible at once, not yet durable). */
int journal_mark_spawned(const char *dir);
/* While the shim starts, before it may run anything: makes task.json, the spawned marker and the
 * entry itself durable (three fsyncs: the file, the entry's directory, DATA/tasks). */
int journal_sync_entry(const char *dir);
/* fsyncs DIR/result and DIR: the shim leaves its verdict to the page cache, and the worker makes
 * it durable only when the server has not taken it (finish not acknowledged). */
int journal_sync_result(const char *dir);
/* Creates DIR/name durably (content may be NULL). Returns 0 or -errno. */
int journal_mark(const char *dir, const char *name, const char *content);
/* Same, not fsync'd: for markers whose loss is harmless (re-reported idempotently). */
int journal_mark_fast(const char *dir, const char *name);
bool journal_has(const char *dir, const char *name);
/* Decides what a (re)starting agent does with an entry; pid and starttime receive the live shim's. */
enum journal_state journal_classify(const char *dir, pid_t *pid, uint64_t *starttime);
/* Field 22 of /proc/PID/stat. Returns 0 or -errno. */
int journal_proc_start_time(pid_t pid, uint64_t *out);
/* Removes finished entries older than max_age_ms and broken ones. Returns how many. */
int journal_gc(const char *data_dir, int64_t max_age_ms);
/* Calls cb for every entry with a valid id, in no particular order. */
int journal_foreach(const char *data_dir, void (*cb)(void *ud, const char *task_id, const char *dir),
                    void *ud);

#endif
