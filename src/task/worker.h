/*
 * Task worker thread: one per task. Runs (or adopts, or only reports) one journal entry through
 * start -> shim -> output upload -> finish. See docs/agent.md "A task's life".
 */
#ifndef TETHER_TASK_WORKER_H
#define TETHER_TASK_WORKER_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/ids.h"

struct agent;

enum worker_mode {
    WORKER_RUN,     /* new task: start, spawn, upload, finish */
    WORKER_ADOPT,   /* restart found its shim alive: tail and finish */
    WORKER_REPORT,  /* shim gone with a result: upload the rest and finish */
    WORKER_LOST,    /* shim gone without a result: finish undetermined */
    WORKER_INVALID, /* failed validation: finish start_failed with `error` */
    WORKER_REFINISH,/* finished entry delivered again: repeat the stored verdict, run nothing */
};

struct worker_job {
    struct worker_job *next;  /* dispatcher queue link */
    struct agent *agent;
    enum worker_mode mode;
    char task_id[ID_BUF];
    char dir[PATH_MAX];
    int64_t timeout_s;
    pid_t adopt_pid;
    char error[256];
    /* Called at the end of the thread; takes ownership of the job. */
    void (*done)(void *ud, struct worker_job *job);
    void *done_ud;
};

/* pthread start routine; arg is a struct worker_job *. */
void *worker_main(void *job);

#endif
