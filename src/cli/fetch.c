/*
 * GET /v1/invocations/{id}?output=1, made whole: a server that leaves out a task's "output",
 * "stdout" or "stderr" text (an older or partial server) gets them filled in from
 * GET /v1/tasks/{id}/output, converted to text the same way (invalid UTF-8 becomes U+FFFD), so
 * the -o json shape never silently comes out empty.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "common/ids.h"
#include "common/utf8.h"

static int fill_text(struct cli *c, json_t *task, const char *id, const char *key,
                     const char *query)
{
    struct http_response r;
    struct buf text = BUF_INIT;
    char path[128];
    int rc;

    if (json_is_string(json_object_get(task, key)))
        return 0;
    snprintf(path, sizeof path, "/v1/tasks/%s/output%s", id, query);
    if ((rc = cli_get_raw(c, path, &r, false)) != 0)
        return rc;
    rc = utf8_sanitize(&text, r.body ? r.body : "", r.len);
    if (rc == 0)
        rc = json_object_set_new(task, key, json_stringn(text.data ? text.data : "", text.len));
    buf_free(&text);
    http_response_free(&r);
    return rc ? cli_fail("out of memory") : 0;
}

int cli_get_invocation_output(struct cli *c, const char *inv_id, json_t **out)
{
    json_t *inv = NULL, *t;
    char path[96];
    size_t i;
    int rc;

    *out = NULL;
    snprintf(path, sizeof path, "/v1/invocations/%s?output=1", inv_id);
    if ((rc = cli_api(c, "GET", path, NULL, &inv)) != 0)
        return rc;
    json_array_foreach(json_object_get(inv, "tasks"), i, t) {
        const char *id = json_string_value(json_object_get(t, "task_id"));
        if (!id || !id_valid(id, ID_TASK))
            continue;
        if ((rc = fill_text(c, t, id, "output", "")) != 0 ||
            (rc = fill_text(c, t, id, "stdout", "?stream=stdout")) != 0 ||
            (rc = fill_text(c, t, id, "stderr", "?stream=stderr")) != 0) {
            json_decref(inv);
            return rc;
        }
    }
    *out = inv;
    return 0;
}
