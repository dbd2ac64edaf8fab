/*
 * `tether-agent status`: the local view, read from files only (identity.json, status.json that
 * the running agent rewrites on every change, and the journal), so it works without the server.
 */
#include "main/agent_run.h"
#include "task/journal.h"
#include "common/fsutil.h"
#include "common/jsonutil.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct unfinished {
    int n;
};

static void count_unfinished(void *ud, const char *task_id, const char *dir)
{
    struct unfinished *u = ud;
    pid_t pid;
    uint64_t st;
    enum journal_state s = journal_classify(dir, &pid, &st);

    if (s != JOURNAL_FINISHED && s != JOURNAL_BROKEN) {
        printf("  journal: %s %s\n", task_id,
               s == JOURNAL_NEW ? "queued" : s == JOURNAL_RUNNING ? "running" :
               s == JOURNAL_REPORT ? "to report" : "shim lost");
        u->n++;
    }
}

int agent_status_cmd(const char *data_dir)
{
    struct identity id;
    char err[256], path[PATH_MAX], *text = NULL;
    size_t len, i;
    json_t *st = NULL, *v;
    int64_t pid = 0;
    const char *conn = "unknown";
    struct unfinished u = { 0 };
    bool alive = false;

    if (identity_load(data_dir, &id, err, sizeof err) != 0) {
        printf("not registered (%s)\n", err);
        return 1;
    }
    printf("name:       %s\nagent id:   %s\nserver:     %s\n", id.name, id.agent_id, id.server);
    identity_free(&id);
    snprintf(path, sizeof path, "%s/status.json", data_dir);
    if (fs_read_all(path, 1 << 20, &text, &len) == 0)
        st = jsonu_parse(text, len, 1 << 20, err, sizeof err);
    free(text);
    if (st && jsonu_int(st, "pid", 1, INT32_MAX, &pid, err, sizeof err) == 0)
        alive = kill((pid_t)pid, 0) == 0 || errno == EPERM;
    if (!alive) {
        printf("agent:      not running\n");
    } else {
        jsonu_str(st, "connection", &conn, err, sizeof err);
        printf("agent:      running (pid %lld)\nconnection: %s\n", (long long)pid, conn);
        printf("tasks:      %zu running\n", json_array_size(json_object_get(st, "running")));
        json_array_foreach(json_object_get(st, "running"), i, v)
            printf("  %s pid %lld since %s\n", json_string_value(json_object_get(v, "task_id")),
                   (long long)json_integer_value(json_object_get(v, "pid")),
                   json_string_value(json_object_get(v, "started_at")));
    }
    journal_foreach(data_dir, count_unfinished, &u);
    printf("unfinished: %d journal entr%s\n", u.n, u.n == 1 ? "y" : "ies");
    json_decref(st);
    return alive ? 0 : 3;
}
