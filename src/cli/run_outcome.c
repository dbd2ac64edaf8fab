/* Exit status and summary of a finished `tether run`; see run_args.h. */
#include "cli/run_args.h"

#include <string.h>

#include "cli/reshape.h"
#include "cli/term.h"
#include "common/ids.h"

/* The name to show: the agent name when it is a well-formed name, else the task id. */
static const char *shown_name(json_t *t)
{
    const char *name = json_string_value(json_object_get(t, "name"));
    const char *id = json_string_value(json_object_get(t, "task_id"));

    if (name && name_valid(name))
        return name;
    return id && id_valid(id, ID_TASK) ? id : "?";
}

static const char *str_or(json_t *t, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(t, key));
    return s ? s : def;
}

/* 0..255 when the task has a usable exit code, else -1. */
static int exit_code_of(json_t *t)
{
    json_t *ec = json_object_get(t, "exit_code");
    const char *status = str_or(t, "status", "");

    if (strcmp(status, "succeeded") == 0)
        return json_is_integer(ec) ? (int)(json_integer_value(ec) & 0xff) : 0;
    if (strcmp(status, "failed") == 0 && json_is_integer(ec) && json_integer_value(ec) > 0 &&
        json_integer_value(ec) <= 255)
        return (int)json_integer_value(ec);
    return -1;
}

/* "exit 1", or "timed_out, SIGKILL", or "start_failed: no such user" */
static void describe(json_t *t, struct buf *msg, bool parenthesised_signal, bool color)
{
    const char *sig = str_or(t, "signal", NULL), *err = str_or(t, "error", NULL);
    const char *status = str_or(t, "status", "unknown");
    int code = exit_code_of(t);

    if (code >= 0) {
        buf_printf(msg, "exit %d", code);
        return;
    }
    /* the status comes from the server: only a known word is printed as is */
    if (!term_status_sgr(status) && !task_status_final(status) && strcmp(status, "pending") &&
        strcmp(status, "dispatched"))
        status = "unknown";
    term_paint(msg, status, status, strlen(status), color);
    if (sig && *sig)
        buf_printf(msg, parenthesised_signal ? " (%.32s)" : ", %.32s", sig);
    if (err && *err)
        buf_printf(msg, ": %.200s", err);
}

static void note_dropped(json_t *t, struct buf *msg)
{
    json_t *d = json_object_get(t, "dropped_bytes");

    if (json_is_integer(d) && json_integer_value(d) > 0)
        buf_printf(msg, "tether: %s: %lld bytes of output were dropped (over the output limit; "
                   "raise it with --output-limit)\n", shown_name(t),
                   (long long)json_integer_value(d));
}

int run_outcome(json_t *tasks, struct buf *msg)
{
    return run_outcome_color(tasks, msg, false);
}

int run_outcome_color(json_t *tasks, struct buf *msg, bool color)
{
    size_t n = json_array_size(tasks), ok = 0, i;
    json_t *t;
    bool first = true;
    char count[48];

    if (n == 1) {
        int code;
        t = json_array_get(tasks, 0);
        note_dropped(t, msg);
        code = exit_code_of(t);
        if (code >= 0)
            return code;
        buf_printf(msg, "tether: %s: ", shown_name(t));
        describe(t, msg, true, color);
        buf_append_str(msg, "\n");
        return EXIT_NO_STATUS;
    }
    json_array_foreach(tasks, i, t) {
        note_dropped(t, msg);
        if (strcmp(str_or(t, "status", ""), "succeeded") == 0)
            ok++;
    }
    snprintf(count, sizeof count, "%zu succeeded", ok);
    term_paint(msg, ok ? "succeeded" : NULL, count, strlen(count), color);
    if (ok < n) {
        snprintf(count, sizeof count, "%zu failed", n - ok);
        buf_append_str(msg, ", ");
        term_paint(msg, "failed", count, strlen(count), color);
        buf_append_str(msg, ": ");
        json_array_foreach(tasks, i, t) {
            if (strcmp(str_or(t, "status", ""), "succeeded") == 0)
                continue;
            buf_printf(msg, "%s%s (", first ? "" : ", ", shown_name(t));
            describe(t, msg, false, color);
            buf_append_str(msg, ")");
            first = false;
        }
    }
    buf_append_str(msg, "\n");
    return ok == n ? EXIT_OK : EXIT_API;
}
