/* The agent's options table (DESIGN §3.4, brief "Config"). */
#include "main/agent_config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define OPT(n, t, d, lo, hi, f, h) { n, t, d, lo, hi, offsetof(struct agent_config, f), h }

const struct cfg_option agent_config_options[] = {
    OPT("server", CFG_STR, NULL, 0, 0, server, "server URL, e.g. https://tether.example:8600"),
    OPT("data_dir", CFG_STR, "/var/lib/tether", 0, 0, data_dir, "state directory"),
    OPT("activation", CFG_STR, NULL, 0, 0, activation, "activation code for the first start"),
    OPT("name", CFG_STR, NULL, 0, 0, name, "agent name; unset means the host name"),
    OPT("machine_id", CFG_STR, NULL, 0, 0, machine_id, "machine id; unset means /etc/machine-id"),
    OPT("tags", CFG_STR, NULL, 0, 0, tags, "k=v,k2=v2 tags sent at registration"),
    OPT("log_file", CFG_STR, "/var/log/tether/agent.log", 0, 0, log_file, "log file"),
    OPT("log_level", CFG_STR, "info", 0, 0, log_level, "error, warn, info or debug"),
    OPT("ca_file", CFG_STR, NULL, 0, 0, ca_file, "CA bundle to verify the server; unset means the system store"),
    OPT("heartbeat_interval", CFG_DURATION, "30", 1, 3600, heartbeat_interval,
        "seconds between heartbeats"),
    OPT("poll_interval", CFG_DURATION, "60", 1, 86400, poll_interval,
        "seconds between fallback pulls (±20% jitter)"),
    OPT("max_concurrent_tasks", CFG_INT, "16", 1, 256, max_concurrent_tasks,
        "tasks run at once; the rest wait in order"),
    OPT("kill_grace", CFG_DURATION, "5", 0, 3600, kill_grace,
        "seconds between SIGTERM and SIGKILL on timeout/cancel"),
    OPT("spool_limit", CFG_SIZE, "256M", 4096, 1LL << 40, spool_limit,
        "output kept on disk per task; the rest is counted as dropped"),
    OPT("profile_timeout", CFG_DURATION, "10", 1, 3600, profile_timeout,
        "seconds a task user's login profile may take; after that the task runs without it"),
    OPT("login_profile", CFG_BOOL, "yes", 0, 1, login_profile,
        "yes: tasks get their user's login environment (profile files sourced); no: a plain one"),
    OPT("profile_cache", CFG_DURATION, "300", 0, 86400, profile_cache,
        "seconds a captured login environment is reused while no profile file changed (0: never)"),
    OPT("hide_secrets", CFG_BOOL, "yes", 0, 1, hide_secrets,
        "yes: root tasks run in their own mount namespace with the agent's identity, config and "
        "client key covered (their mounts stay private to them); no: the host's namespace"),
    OPT("cgroups", CFG_STR, "auto", 0, 0, cgroups,
        "auto: a cgroup per task where the host allows (needed for limits); off: never"),
    OPT("ws_ping_interval", CFG_DURATION, "20", 1, 3600, ws_ping_interval,
        "seconds between WebSocket pings (the peer is dropped after 2.5 intervals of silence)"),
    OPT("log_max_size", CFG_SIZE, "10M", 0, 1LL << 40, log_max_size,
        "rotate the log file past this size (0: never)"),
    OPT("client_cert", CFG_STR, NULL, 0, 0, client_cert,
        "mutual TLS: PEM certificate this agent presents (tether-server cert create --client)"),
    OPT("client_key", CFG_STR, NULL, 0, 0, client_key, "mutual TLS: PEM key of client_cert"),
    OPT("update_pubkey", CFG_STR, NULL, 0, 0, update_pubkey,
        "Ed25519 public key (base64) releases must be signed with; unset: self-update is off"),
    OPT("update_interval", CFG_DURATION, "3600", 1, 7 * 86400, update_interval,
        "seconds between update checks (jittered; an `update` kick checks at once)"),
    OPT("update_channel", CFG_STR, "stable", 0, 0, update_channel, "release channel to follow"),
    OPT("update_when_idle", CFG_BOOL, "no", 0, 1, update_when_idle,
        "yes: swap binaries only when no task runs (tasks survive a swap either way)"),
    OPT("update_health_deadline", CFG_DURATION, "60", 5, 3600, update_health_deadline,
        "seconds a new binary has to connect and heartbeat before the previous one is restored"),
    { NULL, 0, NULL, 0, 0, 0, NULL },
};

int agent_config_load(struct agent_config *c, const char *path, int required, char *err,
                      size_t errlen)
{
    int rc;

    memset(c, 0, sizeof *c);
    rc = cfg_defaults(agent_config_options, c);
    if (rc) {
        snprintf(err, errlen, "bad defaults");
        return rc;
    }
    rc = cfg_load_file(agent_config_options, c, path, err, errlen);
    if (rc == -ENOENT && !required)
        rc = 0;
    return rc;
}

void agent_config_free(struct agent_config *c)
{
    cfg_free(agent_config_options, c);
}
