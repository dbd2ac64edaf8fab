/* Entry points of the agent's subcommands (main.c parses the command line). */
#ifndef TETHER_AGENT_RUN_H
#define TETHER_AGENT_RUN_H

#include "main/agent.h"

/* Runs until SIGTERM/SIGINT. a->cfg and a->ident are filled. Returns 0 or -errno. */
int agent_run(struct agent *a);
/* `tether-agent status`: returns the process exit code (0, 1 not registered, 3 not running). */
int agent_status_cmd(const char *data_dir);

#endif
