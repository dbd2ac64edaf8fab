/* Entry points of the agent's bypass threads (pthread start routines taking struct agent *). */
#ifndef TETHER_BYPASS_H
#define TETHER_BYPASS_H

#include "main/agent.h"

void *ping_sender_main(void *agent);
void *schedule_kick_main(void *agent);
void *timeout_checker_main(void *agent);
void *update_checker_main(void *agent);

/* Uniform random in [lo, hi] (milliseconds); for jitter. */
int64_t bypass_jitter(int64_t lo, int64_t hi);

#endif
