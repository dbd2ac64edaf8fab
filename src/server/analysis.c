/* Invocation analysis; see analysis.h. */
#include "server/analysis.h"

#include "common/utf8.h"
#include "server/server.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

bool analysis_unsuccessful(const char *status)
{
    return task_status_final(status) && strcmp(status, "succeeded") != 0;
}

static int by_name(const void *a, const void *b)
{
    const struct analysis_item *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->task->task_id, y->task->task_id);
}

static int64_t duration_ms(const struct analysis_item *it)
{
    const struct st_task *t = it->task;
    return t->started_at && t->finished_at >= t->started_at ? t->finished_at - t->started_at : -1;
}

static int by_duration(const void *a, const void *b)
{
    int64_t x = duration_ms(a), y = duration_ms(b);
    return x != y ? (x < y ? 1 : -1) : by_name(a, b);
}

/* Grouped items first, by digest, then by name; the rest after. */
static int by_digest(const void *a, const void *b)
{
    const struct analysis_item *x = a, *y = b;
    if (x->grouped != y->grouped)
        return x->grouped ? -1 : 1;
    int c = x->grouped ? memcmp(x->digest, y->digest, sizeof x->digest) : 0;
    return c ? c : by_name(a, b);
}

static json_t *task_ref(const struct analysis_item *it)
{
    const struct st_task *t = it->task;
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "task_id", t->task_id, "agent_id",
                     t->agent_id, "name", it->name, "status", t->status, "exit_code",
                     t->has_exit_code ? json_integer(t->exit_code) : json_null(), "signal",
                     t->signal[0] ? json_string(t->signal) : json_null(), "error",
                     t->error && *t->error ? json_string(t->error) : json_null());
}

static int add_counts(json_t *o, const struct analysis_item *items, size_t n)
{
    json_t *counts = json_object();
    for (size_t i = 0; counts && i < n; i++) {
        json_t *c = json_object_get(counts, items[i].task->status);
        if (json_object_set_new(counts, items[i].task->status,
                                json_integer(c ? json_integer_value(c) + 1 : 1))) {
            json_decref(counts);
            return -1;
        }
    }
    return counts ? json_object_set_new(o, "counts", counts) : -1;
}

static int add_failed(json_t *o, struct analysis_item *items, size_t n)
{
    json_t *arr = json_array();
    size_t total = 0;

    qsort(items, n, sizeof *items, by_name);
    for (size_t i = 0; arr && i < n; i++) {
        if (!analysis_unsuccessful(items[i].task->status))
            continue;
        if (total++ < ANALYSIS_FAILED_MAX && json_array_append_new(arr, task_ref(&items[i]))) {
            json_decref(arr);
            return -1;
        }
    }
    if (!arr || json_object_set_new(o, "failed", arr))
        return -1;
    return json_object_set_new(o, "failed_total", json_integer((json_int_t)total));
}

static int add_slowest(json_t *o, struct analysis_item *items, size_t n)
{
    json_t *arr = json_array();

    qsort(items, n, sizeof *items, by_duration);
    for (size_t i = 0; arr && i < n && i < ANALYSIS_SLOWEST; i++) {
        json_t *t;
        if (duration_ms(&items[i]) < 0)
            break; /* never started or not finished: the rest are the same */
        t = task_ref(&items[i]);
        if (!t || json_object_set_new(t, "duration_ms", json_integer(duration_ms(&items[i]))) ||
            json_array_append_new(arr, t)) {
            json_decref(t);
            json_decref(arr);
            return -1;
        }
    }
    return arr ? json_object_set_new(o, "slowest", arr) : -1;
}

struct group {
    size_t first, count;   /* a run of items with one digest */
};

static int by_count(const void *a, const void *b, void *ud)
{
    const struct group *x = a, *y = b;
    const struct analysis_item *items = ud;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return by_name(&items[x->first], &items[y->first]);
}

static json_t *group_json(const struct analysis_item *items, const struct group *g,
                          analysis_sample_fn sample, void *ud)
{
    char hex[65];
    json_t *names = json_array(), *o;

    for (int k = 0; k < 32; k++)
        snprintf(hex + 2 * k, 3, "%02x", items[g->first].digest[k]);
    for (size_t k = 0; names && k < g->count && k < ANALYSIS_GROUP_NAMES; k++)
        json_array_append_new(names, json_string(items[g->first + k].name));
    o = names ? json_pack("{s:s, s:I, s:o, s:I}", "sha256", hex, "count", (json_int_t)g->count,
                          "names", names, "output_bytes",
                          (json_int_t)items[g->first].output_bytes) : NULL;
    if (o && sample(ud, &items[g->first], o)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

static int add_groups(json_t *o, struct analysis_item *items, size_t n,
                      analysis_sample_fn sample, void *ud)
{
    struct group *groups = calloc(n ? n : 1, sizeof *groups);
    json_t *arr = json_array();
    size_t ng = 0, grouped = 0;
    int rc = -1;

    if (!groups || !arr)
        goto out;
    qsort(items, n, sizeof *items, by_digest);
    for (size_t i = 0; i < n && items[i].grouped; i++) {
        grouped++;
        if (ng && !memcmp(items[groups[ng - 1].first].digest, items[i].digest, 32))
            groups[ng - 1].count++;
        else
            groups[ng++] = (struct group){ i, 1 };
    }
    qsort_r(groups, ng, sizeof *groups, by_count, items);
    for (size_t g = 0; g < ng && g < ANALYSIS_GROUPS; g++) {
        json_t *gj = group_json(items, &groups[g], sample, ud);
        if (!gj || json_array_append_new(arr, gj))
            goto out;
    }
    if (json_object_set_new(o, "grouped", json_integer((json_int_t)grouped)) ||
        json_object_set_new(o, "outputs_total", json_integer((json_int_t)ng)))
        goto out;
    rc = json_object_set(o, "outputs", arr);
out:
    json_decref(arr);
    free(groups);
    return rc;
}

json_t *analysis_build(struct analysis_item *items, size_t n, analysis_sample_fn sample,
                       void *ud)
{
    json_t *o = json_pack("{s:I}", "total", (json_int_t)n);

    if (!o || add_counts(o, items, n) || add_failed(o, items, n) || add_slowest(o, items, n) ||
        add_groups(o, items, n, sample, ud)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- the route ---- */

struct hash_state {
    EVP_MD_CTX *md;
    int64_t bytes;
};

static int hash_chunk(void *ud, const struct st_chunk *c)
{
    struct hash_state *h = ud;
    h->bytes += (int64_t)c->len;
    return EVP_DigestUpdate(h->md, c->data, c->len) == 1 ? 0 : -1;
}

/* SHA-256 over the task's stored output, read chunk by chunk (never all of it in memory). */
static int hash_output(struct store *st, struct analysis_item *it)
{
    struct hash_state h = { EVP_MD_CTX_new(), 0 };
    unsigned int len = 0;
    int rc = -1;

    if (!h.md || EVP_DigestInit_ex(h.md, EVP_sha256(), NULL) != 1)
        goto out;
    if (store_output_each(st, it->task->task_id, 0, hash_chunk, &h) ||
        EVP_DigestFinal_ex(h.md, it->digest, &len) != 1 || len != 32)
        goto out;
    it->output_bytes = h.bytes;
    rc = 0;
out:
    EVP_MD_CTX_free(h.md);
    return rc;
}

#define SAMPLE_ENOUGH 1  /* stops store_output_each once the sample is full */

static int sample_chunk(void *ud, const struct st_chunk *c)
{
    struct buf *b = ud;
    size_t room = ANALYSIS_SAMPLE + 4 - b->len; /* a little more: cut on a UTF-8 boundary */
    if (buf_append(b, c->data, c->len < room ? c->len : room))
        return -1;
    return b->len >= ANALYSIS_SAMPLE + 4 ? SAMPLE_ENOUGH : 0;
}

static int sample_output(void *ud, const struct analysis_item *rep, json_t *group)
{
    struct store *st = ud;
    struct buf raw = BUF_INIT, text = BUF_INIT;
    size_t keep;
    int rc = store_output_each(st, rep->task->task_id, 0, sample_chunk, &raw);

    if (rc != 0 && rc != SAMPLE_ENOUGH)
        goto out;
    keep = raw.len > ANALYSIS_SAMPLE ? utf8_complete_prefix(raw.data, ANALYSIS_SAMPLE) : raw.len;
    rc = -1;
    if (utf8_sanitize(&text, raw.data ? raw.data : "", keep) ||
        json_object_set_new(group, "output", json_stringn(text.data ? text.data : "",
                                                          text.len)) ||
        json_object_set_new(group, "truncated", json_boolean((int64_t)keep < rep->output_bytes)))
        goto out;
    rc = 0;
out:
    buf_free(&raw);
    buf_free(&text);
    return rc;
}

void h_invocation_analysis(struct req *r)
{
    struct st_invocation inv;
    struct st_task *tasks = NULL;
    struct analysis_item *items = NULL;
    char (*names)[64] = NULL;
    size_t n = 0;
    json_t *o = NULL;
    int rc = -ENOENT;

    if (id_valid(r->params[0], ID_INVOCATION))
        rc = store_invocation_get(r->srv->st, r->tenant, r->params[0], &inv);
    if (rc) {
        if (rc == -ENOENT)
            resp_error(r, 404, "not_found", "no such invocation");
        else
            resp_error(r, 503, "unavailable", "store not readable");
        return;
    }
    if (store_task_list_by_invocation(r->srv->st, inv.invocation_id, &tasks, &n))
        goto unavailable;
    items = calloc(n ? n : 1, sizeof *items);
    names = calloc(n ? n : 1, sizeof *names);
    if (!items || !names)
        goto unavailable;
    for (size_t i = 0; i < n; i++) {
        items[i].task = &tasks[i];
        items[i].name = names[i];
        if (store_agent_name(r->srv->st, tasks[i].agent_id, names[i]))
            goto unavailable;
        items[i].grouped = task_status_final(tasks[i].status) && tasks[i].started_at;
        if (items[i].grouped && hash_output(r->srv->st, &items[i]))
            goto unavailable;
    }
    /* the status first: analysis_build reorders the items, not the tasks */
    o = json_pack("{s:s, s:s, s:s, s:o}", "invocation_id", inv.invocation_id, "status",
                  invocation_status(&inv, tasks, n), "command", inv.command, "created_at",
                  render_ts(inv.created_at));
    json_t *a = o ? analysis_build(items, n, sample_output, r->srv->st) : NULL;
    if (!a || json_object_update(o, a)) {
        json_decref(a);
        goto unavailable;
    }
    json_decref(a);
    resp_json(r, 200, o);
    o = NULL;
    goto out;
unavailable:
    resp_error(r, 503, "unavailable", "store not readable");
out:
    json_decref(o);
    free(names);
    free(items);
    st_task_array_free(tasks, n);
    st_invocation_free(&inv);
}
