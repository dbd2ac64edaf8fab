/* Output upload; see uploader.h and chunker.h (chunk boundaries), upload_log.h (resume). */
#include "task/uploader.h"
#include "task/upload_log.h"
#include "common/b64.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/tm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEQ_GAP (-1000)
/* 8 chunks of 64 KiB are ~700 KB of base64, under the server's default max_body (1 MiB). 16
 * (with a 2 MiB limit on the output route) measured no faster here and cost the agent ~0.7 MiB
 * more at its peak. */
#define UPLOAD_BATCH_MAX 8
#define UPLOAD_BATCH_BYTES (720 * 1024)

void uploader_sleep(const atomic_bool *stop, int64_t ms)
{
    while (ms > 0 && !atomic_load(stop)) {
        int64_t step = ms < 100 ? ms : 100;
        tm_sleep_ms(step);
        ms -= step;
    }
}

int uploader_post(struct http_client *hc, const atomic_bool *stop, const char *path,
                  const char *body, size_t len, struct http_response *r)
{
    int64_t delay = 250;
    unsigned failures = 0;

    for (;;) {
        uint32_t rnd = 0;
        if (atomic_load(stop))
            return -ECANCELED;
        if (http_call(hc, "POST", path, body, len, r) == 0 && r->status < 500 &&
            r->status != 401 && r->status != 408 && r->status != 429)
            return 0;
        if (failures++ % 10 == 0)
            log_warn("POST %s failed (%s%ld), retrying", path, r->status ? "HTTP " : "",
                     r->status ? r->status : 0L);
        if (!r->status)
            log_debug("POST %s: %s", path, r->err);
        http_response_free(r);
        crypto_random(&rnd, sizeof rnd);
        uploader_sleep(stop, delay / 2 + (int64_t)(rnd % (uint32_t)(delay / 2 + 1)));
        delay = delay * 2 > 30000 ? 30000 : delay * 2;
    }
}

int64_t uploader_gap_next_seq(const struct http_response *r)
{
    char err[128];
    int64_t next = -1;
    json_t *j = r->status == 409 && r->body ? jsonu_parse(r->body, r->len, 1 << 16, err,
                                                           sizeof err) : NULL;

    if (j && jsonu_int(j, "next_seq", 0, INT64_MAX, &next, err, sizeof err) != 0) {
        json_t *e = json_object_get(j, "error");
        if (!json_is_object(e) || jsonu_int(e, "next_seq", 0, INT64_MAX, &next, err, sizeof err) != 0)
            next = -1;
    }
    json_decref(j);
    return next;
}

/* Notes the server's next_seq from a 2xx answer to an output request. */
static void note_ack(struct uploader *u, const struct http_response *r)
{
    char err[128];
    int64_t next = -1;
    json_t *j = r->body ? jsonu_parse(r->body, r->len, 1 << 16, err, sizeof err) : NULL;

    if (j && jsonu_int(j, "next_seq", 0, INT64_MAX, &next, err, sizeof err) == 0 &&
        (uint64_t)next > u->acked)
        u->acked = (uint64_t)next;
    json_decref(j);
}

/* Returns 0, SEQ_GAP with *next set, -ECANCELED, or -errno. */
static int send_chunk(struct uploader *u, uint64_t seq, int stream, const char *data, size_t len,
                      int64_t *next)
{
    char path[128];
    struct http_response r = { 0 };
    long enc;
    int rc;

    buf_reset(&u->body);
    if (buf_printf(&u->body, "{\"seq\":%" PRIu64 ",\"stream\":\"%s\",\"data\":\"", seq,
                   stream == 1 ? "stdout" : "stderr") ||
        buf_reserve(&u->body, b64_encoded_len(len) + 4))
        return -ENOMEM;
    enc = b64_encode(data, len, u->body.data + u->body.len, u->body.cap - u->body.len);
    if (enc < 0)
        return (int)enc;
    u->body.len += (size_t)enc;
    if (buf_append_str(&u->body, "\"}"))
        return -ENOMEM;
    snprintf(path, sizeof path, "/v1/agent/tasks/%s/output?ack=early", u->task_id);
    rc = uploader_post(u->hc, u->stop, path, u->body.data, u->body.len, &r);
    if (rc)
        return rc;
    if (r.status >= 200 && r.status <= 299) {
        note_ack(u, &r);
    } else if (r.status == 409 && (*next = uploader_gap_next_seq(&r)) >= 0) {
        rc = SEQ_GAP;
    } else if (r.status < 200 || r.status > 299) {
        /* task unknown, final or refused: keep draining the spool but stop sending */
        char err[256];
        snprintf(err, sizeof err, "%.*s", (int)(r.len < 200 ? r.len : 200), r.body ? r.body : "");
        log_warn("task %s: output refused (HTTP %ld) %s; not sending more", u->task_id, r.status, err);
        u->gone = true;
    }
    http_response_free(&r);
    return rc;
}

static int send_logged(struct uploader *u, uint64_t seq, int64_t *next)
{
    struct upload_rec rec;
    size_t n;
    int rc = upload_log_read(u->log_fd, seq, &rec);

    if (rc)
        return rc < 0 ? rc : -ENOENT;
    if (!u->xbuf && !(u->xbuf = malloc(CHUNK_MAX)))
        return -ENOMEM;
    rc = spool_read_range(u->spool_fd, (int)rec.stream, rec.start, rec.end, u->xbuf, CHUNK_MAX, &n);
    if (rc)
        return rc;
    if (n == 0)
        return 0; /* nothing to resend (should not happen) */
    return send_chunk(u, seq, (int)rec.stream, u->xbuf, n, next);
}

/* Returns 0, SEQ_GAP with *next set, or -errno. */
static int log_and_send(struct uploader *u, const struct chunk *c, int64_t *next)
{
    struct upload_rec rec = { .seq = u->seq, .start = c->start, .end = c->end,
                              .stream = (uint32_t)c->stream };
    int rc = upload_log_write(u->log_fd, &rec);

    if (rc)
        return rc;
    return send_chunk(u, u->seq, c->stream, c->data, c->len, next);
}

/* Resends the logged chunks [from, u->seq) one per request (after a seq_gap, or to a server that
 * takes no batches). Stops at the first that is not taken; a later chunk resynchronises again. */
static int resend_from(struct uploader *u, uint64_t from)
{
    for (uint64_t s = from; s < u->seq; s++) {
        int64_t next = -1;
        int rc = send_logged(u, s, &next);
        if (rc == -ECANCELED)
            return rc;
        if (rc)
            break;
    }
    return 0;
}

int uploader_resend(struct uploader *u, uint64_t next)
{
    if (u->spool_fd < 0 || u->log_fd < 0 || next >= u->seq)
        return 0;
    log_info("task %s: the server lost output from seq %" PRIu64 "; resending up to %" PRIu64,
             u->task_id, next, u->seq);
    for (uint64_t s = next; s < u->seq; s++) {
        int64_t at = -1;
        int rc = send_logged(u, s, &at);
        if (rc == SEQ_GAP)
            return 0; /* the server moved on meanwhile; finish says where it is */
        if (rc)
            return rc;
        if (u->gone)
            return -EPIPE;
    }
    return 0;
}

/* One chunk per request, resynchronising on seq_gap. */
static int emit_single(struct uploader *u, const struct chunk *c)
{
    int attempts = 0;

    while (!u->gone) {
        int64_t next = -1;
        int rc = log_and_send(u, c, &next);
        if (rc == 0) {
            u->seq++;
            return 0;
        }
        if (rc != SEQ_GAP)
            return rc;
        if (++attempts > 5) {
            log_warn("task %s: output sequence cannot be resynchronised", u->task_id);
            u->gone = true;
            break;
        }
        log_info("task %s: server expects seq %" PRId64 ", we are at %" PRIu64, u->task_id, next,
                 u->seq);
        /* the server is behind: resend what it lacks from the log, then this chunk */
        if ((uint64_t)next < u->seq && resend_from(u, (uint64_t)next) == -ECANCELED)
            return -ECANCELED;
        if ((uint64_t)next > u->seq) /* the server is ahead: continue at its number */
            u->seq = (uint64_t)next;
    }
    return 0;
}

/* Sends the batch being built. Returns 0, -ECANCELED or -errno. */
static int flush_batch(struct uploader *u)
{
    struct http_response r = { 0 };
    char path[128];
    int64_t next;
    int rc;

    if (!u->batch_n)
        return 0;
    if (buf_append_str(&u->batch, "]}"))
        return -ENOMEM;
    snprintf(path, sizeof path, "/v1/agent/tasks/%s/output?ack=early", u->task_id);
    rc = uploader_post(u->hc, u->stop, path, u->batch.data, u->batch.len, &r);
    if (rc)
        return rc; /* stopping: the chunks are logged, the next start resends them */
    u->batch_n = 0;
    buf_reset(&u->batch);
    if (r.status >= 200 && r.status <= 299) {
        note_ack(u, &r);
        rc = 0;
    } else if (r.status == 409 && (next = uploader_gap_next_seq(&r)) >= 0) {
        log_info("task %s: server expects seq %" PRId64 ", we are at %" PRIu64, u->task_id, next,
                 u->seq);
        if ((uint64_t)next > u->seq)
            u->seq = (uint64_t)next;
        else
            rc = resend_from(u, (uint64_t)next);
    } else if (r.status == 400 || r.status == 413) {
        /* a server from before batches (400), or one whose body limit is below the batch
         * (413): the same chunks, one per request from now on */
        log_info("task %s: server takes no output batches; sending chunks one by one", u->task_id);
        u->no_batch = true;
        rc = resend_from(u, u->batch_first);
    } else {
        log_warn("task %s: output refused (HTTP %ld) %.200s; not sending more", u->task_id,
                 r.status, r.body ? r.body : "");
        u->gone = true;
    }
    http_response_free(&r);
    return rc;
}

/* Chunker callback: log the chunk, add it to the batch, send the batch when it is full. */
static int emit(void *ud, const struct chunk *c)
{
    struct uploader *u = ud;
    struct upload_rec rec = { .seq = u->seq, .start = c->start, .end = c->end,
                              .stream = (uint32_t)c->stream };
    int rc;

    if (u->gone)
        return 0;
    if (u->no_batch)
        return emit_single(u, c);
    if ((rc = upload_log_write(u->log_fd, &rec)) != 0)
        return rc;
    if (!u->batch_n)
        u->batch_first = u->seq;
    if (buf_append_str(&u->batch, u->batch_n ? "," : "{\"chunks\":[") ||
        buf_printf(&u->batch, "{\"seq\":%" PRIu64 ",\"stream\":\"%s\",\"data\":\"", u->seq,
                   c->stream == 1 ? "stdout" : "stderr") ||
        buf_reserve(&u->batch, b64_encoded_len(c->len) + 8))
        return -ENOMEM;
    long enc = b64_encode(c->data, c->len, u->batch.data + u->batch.len,
                          u->batch.cap - u->batch.len);
    if (enc < 0)
        return (int)enc;
    u->batch.len += (size_t)enc;
    if (buf_append_str(&u->batch, "\"}"))
        return -ENOMEM;
    u->seq++;
    u->batch_n++;
    if (u->batch_n >= UPLOAD_BATCH_MAX || u->batch.len >= UPLOAD_BATCH_BYTES)
        return flush_batch(u);
    return 0;
}

int uploader_open(struct uploader *u, struct http_client *hc, const atomic_bool *stop,
                  const char *task_id, const char *dir)
{
    struct upload_rec last;
    uint64_t cursor[3];
    int rc;

    memset(u, 0, sizeof *u);
    u->log_fd = u->spool_fd = -1;
    /* the id goes into URLs and the dir into paths: re-checked here, whoever the caller is */
    if (!id_valid(task_id, ID_TASK))
        return -EINVAL;
    u->hc = hc;
    u->stop = stop;
    u->spool_fd = -1;
    snprintf(u->task_id, sizeof u->task_id, "%s", task_id);
    snprintf(u->dir, sizeof u->dir, "%s", dir);
    chunker_init(&u->chunker, emit, u);
    u->rbuf = malloc(CHUNK_MAX);
    if (!u->rbuf)
        return -ENOMEM;
    u->log_fd = upload_log_open(dir);
    if (u->log_fd < 0)
        return u->log_fd;
    rc = upload_log_last(u->log_fd, &last, cursor);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        u->seq = last.seq;
        u->resend_last = true;
        chunker_set_cursor(&u->chunker, 1, cursor[1]);
        chunker_set_cursor(&u->chunker, 2, cursor[2]);
        log_info("task %s: resuming output at seq %" PRIu64, task_id, last.seq);
    }
    return 0;
}

static int open_spool(struct uploader *u)
{
    char path[PATH_MAX + 16];

    snprintf(path, sizeof path, "%s/output", u->dir);
    u->spool_fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (u->spool_fd < 0)
        return errno == ENOENT ? 1 : -errno;
    u->reader.fd = u->spool_fd;
    return 0;
}

static int feed_record(struct uploader *u, const struct spool_record *rec)
{
    uint64_t done = 0;

    if (rec->data_off + rec->len <= u->chunker.cursor[rec->stream])
        return 0; /* already sent before a restart */
    while (done < rec->len) {
        size_t want = rec->len - done > CHUNK_MAX ? CHUNK_MAX : (size_t)(rec->len - done);
        ssize_t got = pread(u->spool_fd, u->rbuf, want, (off_t)(rec->data_off + done));
        int rc;
        if (got <= 0)
            return got < 0 ? -errno : -EIO;
        rc = chunker_feed(&u->chunker, rec->stream, rec->data_off + done, u->rbuf, (size_t)got);
        if (rc)
            return rc;
        done += (uint64_t)got;
    }
    return 0;
}

int uploader_pump(struct uploader *u, bool final)
{
    struct spool_record rec;
    int rc;

    if (u->spool_fd < 0 && (rc = open_spool(u)) != 0)
        return rc > 0 ? 0 : rc;
    if (u->resend_last) {
        int64_t next = -1;
        rc = send_logged(u, u->seq, &next);
        if (rc == -ECANCELED)
            return rc;
        u->resend_last = false;
        u->seq++;
        /* a batch cut short by a stop leaves several logged chunks the server lacks */
        if (rc == SEQ_GAP && next >= 0 && (uint64_t)next < u->seq &&
            resend_from(u, (uint64_t)next) == -ECANCELED)
            return -ECANCELED;
    }
    while ((rc = spool_next(&u->reader, &rec)) == 1) {
        if ((rc = feed_record(u, &rec)) != 0)
            return rc;
        if (atomic_load(u->stop))
            return -ECANCELED;
    }
    if (rc < 0)
        log_warn("task %s: spool damaged at offset %llu: %s", u->task_id,
                 (unsigned long long)u->reader.pos, strerror(-rc));
    rc = chunker_flush(&u->chunker, final);
    return rc ? rc : flush_batch(u);
}

void uploader_close(struct uploader *u)
{
    if (u->spool_fd >= 0)
        close(u->spool_fd);
    if (u->log_fd > 0)
        close(u->log_fd);
    chunker_free(&u->chunker);
    free(u->rbuf);
    free(u->xbuf);
    buf_free(&u->body);
    buf_free(&u->batch);
    u->spool_fd = u->log_fd = -1;
    u->rbuf = u->xbuf = NULL;
}
