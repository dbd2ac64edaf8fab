/*
 * tether-agent-rollback-check: run by the supervisor before every start of the agent (systemd
 * ExecStartPre, the tests' supervisor loop). A freshly swapped binary that dies before any of its
 * own code runs cannot roll itself back; this separate program, which self-update never replaces,
 * counts those starts in DATA/update/pending and puts the previous binary back after
 * UPDATE_MAX_STARTS of them or past the health deadline. It always exits 0 so the agent starts.
 *
 *   tether-agent-rollback-check [--config FILE] [--data-dir DIR]
 */
#include "main/agent_config.h"
#include "main/update_files.h"
#include "common/log.h"
#include "common/tm.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *config = AGENT_CONFIG_FILE, *data_dir = NULL;
    struct agent_config cfg;
    char err[512];
    int rc, required = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
            required = 1;
        } else if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc) {
            data_dir = argv[++i];
        } else {
            fprintf(stderr, "usage: tether-agent-rollback-check [--config FILE] [--data-dir DIR]\n");
            return 0;
        }
    }
    if (agent_config_load(&cfg, config, required, err, sizeof err) != 0) {
        fprintf(stderr, "tether-agent-rollback-check: %s\n", err);
        return 0;
    }
    log_open("-", LOG_INFO, "tether-agent-rollback-check", 0);
    rc = update_rollback_check(data_dir ? data_dir : cfg.data_dir, tm_now_ms());
    if (rc == 1)
        fprintf(stderr, "tether-agent-rollback-check: the previous agent binary was restored\n");
    else if (rc < 0)
        fprintf(stderr, "tether-agent-rollback-check: %s\n", strerror(-rc));
    agent_config_free(&cfg);
    log_close();
    return 0;
}
