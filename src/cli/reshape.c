/* JSON reshaping for the CLI's -o json views; see reshape.h. */
#include "cli/reshape.h"

#include <string.h>

static const char *const final_statuses[] = {
    "succeeded", "failed", "timed_out", "cancelled", "start_failed", "undetermined", "expired",
    "skipped", NULL,
};

bool task_status_final(const char *status)
{
    if (!status)
        return false;
    for (size_t i = 0; final_statuses[i]; i++)
        if (strcmp(status, final_statuses[i]) == 0)
            return true;
    return false;
}

/* Copies src[key] (or def, or null) into dst[key]. Takes ownership of def. */
static int copy_key(json_t *dst, json_t *src, const char *key, json_t *def)
{
    json_t *v = json_object_get(src, key);

    if (v) {
        v = json_incref(v);
        json_decref(def);
    } else
        v = def ? def : json_null();
    return json_object_set_new(dst, key, v);
}

static json_t *reshape_task(json_t *t)
{
    static const char *const plain[] = { "task_id", "agent_id", "name", "status", "exit_code",
                                         "signal", "error", NULL };
    static const char *const text[] = { "output", "stdout", "stderr", NULL };
    static const char *const tail[] = { "started_at", "finished_at", NULL };
    json_t *o = json_object();
    int rc = 0;

    if (!o)
        return NULL;
    for (size_t i = 0; plain[i]; i++)
        rc |= copy_key(o, t, plain[i], NULL);
    for (size_t i = 0; text[i]; i++)
        rc |= copy_key(o, t, text[i], json_string(""));
    rc |= copy_key(o, t, "dropped_bytes", json_integer(0));
    for (size_t i = 0; tail[i]; i++)
        rc |= copy_key(o, t, tail[i], NULL);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *reshape_invocation(json_t *inv)
{
    json_t *o, *tasks, *src_tasks, *t;
    size_t i;

    if (!json_is_object(inv))
        return NULL;
    o = json_object();
    tasks = json_array();
    if (!o || !tasks)
        goto fail;
    if (copy_key(o, inv, "invocation_id", NULL) || copy_key(o, inv, "status", NULL))
        goto fail;
    src_tasks = json_object_get(inv, "tasks");
    json_array_foreach(src_tasks, i, t) {
        json_t *rt = json_is_object(t) ? reshape_task(t) : NULL;
        if (!rt || json_array_append_new(tasks, rt))
            goto fail;
    }
    if (json_object_set_new(o, "tasks", tasks))
        goto fail_tasks_owned;
    return o;
fail:
    json_decref(tasks);
fail_tasks_owned:
    json_decref(o);
    return NULL;
}
