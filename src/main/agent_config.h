/* tether-agent options (the table in agent_config.c drives the file, --set and --help). */
#ifndef TETHER_AGENT_CONFIG_H
#define TETHER_AGENT_CONFIG_H

#include <stdint.h>

#include "common/config.h"

#define AGENT_CONFIG_FILE "/etc/tether/agent.conf"

struct agent_config {
    char *server;
    char *data_dir;
    char *activation;
    char *name;
    char *machine_id;
    char *tags;
    char *log_file;
    char *log_level;
    char *ca_file;
    int64_t heartbeat_interval;
    int64_t poll_interval;
    int64_t max_concurrent_tasks;
    int64_t kill_grace;
    int64_t spool_limit;
    int64_t profile_timeout;
    bool login_profile;
    int64_t profile_cache;
    bool hide_secrets;
    char *cgroups;
    int64_t ws_ping_interval;
    int64_t log_max_size;
    char *client_cert;
    char *client_key;
    char *update_pubkey;
    int64_t update_interval;
    char *update_channel;
    bool update_when_idle;
    int64_t update_health_deadline;
};

extern const struct cfg_option agent_config_options[];

/* Defaults, then the file (a missing file is fine unless required). Returns 0 or -errno with err
 * filled. */
int agent_config_load(struct agent_config *c, const char *path, int required, char *err,
                      size_t errlen);
void agent_config_free(struct agent_config *c);

#endif
