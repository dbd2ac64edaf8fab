/* Detecting the host's cgroup hierarchies and naming task cgroups; see cgroup.h. No I/O here
 * except cgroup_host_detect, so the rest is unit-tested with sample texts. */
#include "task/cgroup.h"
#include "common/fsutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ctrl_names[CG_NCTRL] = { "memory", "pids", "cpu", "freezer" };

const char *cgroup_ctrl_name(enum cgroup_ctrl c)
{
    return c < CG_NCTRL ? ctrl_names[c] : "?";
}

/* Copies the mountinfo field [s, s+len) undoing "\040"-style octal escapes. */
static int unescape(const char *s, size_t len, char *out, size_t n)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\\' && i + 3 < len && s[i + 1] >= '0' &&
            s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' &&
            s[i + 3] <= '7') {
            c = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        }
        if (o + 1 >= n)
            return -ENAMETOOLONG;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

/* Is `word` one of the comma-separated tokens of [list, list+len)? */
static bool has_token(const char *list, size_t len, const char *word)
{
    size_t wl = strlen(word);
    const char *p = list, *end = list + len;

    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t tl = comma ? (size_t)(comma - p) : (size_t)(end - p);
        if (tl == wl && memcmp(p, word, wl) == 0)
            return true;
        p += tl + 1;
    }
    return false;
}

/* Splits one mountinfo line into its fields; returns the count (at most max). */
static int split_fields(const char *line, size_t len, const char **f, size_t *fl, int max)
{
    int n = 0;
    size_t i = 0;

    while (i < len && n < max) {
        while (i < len && line[i] == ' ')
            i++;
        if (i >= len)
            break;
        f[n] = line + i;
        while (i < len && line[i] != ' ')
            i++;
        fl[n] = (size_t)(line + i - f[n]);
        n++;
    }
    return n;
}

static void parse_mount_line(const char *line, size_t len, struct cgroup_host *h)
{
    const char *f[32];
    size_t fl[32];
    int n = split_fields(line, len, f, fl, 32), sep = -1;

    /* id parent maj:min root mountpoint options [optional...] - fstype source superoptions */
    for (int i = 6; i < n; i++)
        if (fl[i] == 1 && f[i][0] == '-') {
            sep = i;
            break;
        }
    if (sep < 0 || sep + 3 >= n)
        return;
    if (fl[sep + 1] == 7 && memcmp(f[sep + 1], "cgroup2", 7) == 0) {
        if (!h->v2[0])
            unescape(f[4], fl[4], h->v2, sizeof h->v2);
        return;
    }
    if (fl[sep + 1] != 6 || memcmp(f[sep + 1], "cgroup", 6) != 0)
        return;
    for (int c = 0; c < CG_NCTRL; c++) {
        if (h->v1[c][0] || !has_token(f[sep + 3], fl[sep + 3], ctrl_names[c]))
            continue;
        if (unescape(f[4], fl[4], h->v1[c], sizeof h->v1[c]) != 0 ||
            unescape(f[3], fl[3], h->v1_root[c], sizeof h->v1_root[c]) != 0)
            h->v1[c][0] = h->v1_root[c][0] = '\0';
    }
}

int cgroup_parse_mountinfo(const char *text, struct cgroup_host *h)
{
    const char *p = text;

    if (!text)
        return -EINVAL;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        parse_mount_line(p, len, h);
        p += len + (nl ? 1 : 0);
    }
    return 0;
}

int cgroup_parse_self(const char *text, struct cgroup_host *h)
{
    const char *p = text;

    if (!text)
        return -EINVAL;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *c1 = memchr(p, ':', len), *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - p)) : NULL;
        if (c2) {
            size_t plen = len - (size_t)(c2 + 1 - p);
            for (int c = 0; c < CG_NCTRL; c++) {
                if (!has_token(c1 + 1, (size_t)(c2 - c1 - 1), ctrl_names[c]) ||
                    plen + 1 > sizeof h->v1_self[c])
                    continue;
                memcpy(h->v1_self[c], c2 + 1, plen);
                h->v1_self[c][plen] = '\0';
            }
        }
        p += len + (nl ? 1 : 0);
    }
    return 0;
}

int cgroup_v1_path(const struct cgroup_host *h, enum cgroup_ctrl c, const char *task_id, char *out,
                   size_t n)
{
    const char *self = h->v1_self[c], *root = h->v1_root[c];
    size_t rl = strlen(root);
    int w;

    out[0] = '\0';
    if (!h->v1[c][0])
        return 0;
    /* our cgroup path is relative to the hierarchy root; the mount may show only a subtree */
    if (rl > 1 && strncmp(self, root, rl) == 0 && (self[rl] == '/' || self[rl] == '\0'))
        self += rl;
    else if (rl > 1)
        self = "";
    if (strcmp(self, "/") == 0)
        self = "";
    w = task_id ? snprintf(out, n, "%s%s/tether/%s", h->v1[c], self, task_id)
                : snprintf(out, n, "%s%s/tether", h->v1[c], self);
    if (w < 0 || (size_t)w >= n) {
        out[0] = '\0';
        return -ENAMETOOLONG;
    }
    return 0;
}

int cgroup_host_detect(struct cgroup_host *h, char *why, size_t whylen)
{
    char *text = NULL;
    size_t len;
    int rc;

    memset(h, 0, sizeof *h);
    rc = fs_read_all("/proc/self/mountinfo", 1 << 22, &text, &len);
    if (rc) {
        snprintf(why, whylen, "cannot read /proc/self/mountinfo: %s", strerror(-rc));
        return rc;
    }
    cgroup_parse_mountinfo(text, h);
    free(text);
    text = NULL;
    if (fs_read_all("/proc/self/cgroup", 1 << 20, &text, &len) == 0)
        cgroup_parse_self(text, h);
    free(text);
    for (int c = 0; c < CG_NCTRL; c++)
        if (h->v1[c][0])
            return 0;
    if (h->v2[0])
        return 0;
    snprintf(why, whylen, "no cgroup filesystem is mounted");
    return -ENOENT;
}

void cgroup_host_describe(const struct cgroup_host *h, char *out, size_t n)
{
    size_t o = 0;
    int w;

    out[0] = '\0';
    if (h->v2[0]) {
        w = snprintf(out, n, "v2 at %s", h->v2);
        o = w > 0 && (size_t)w < n ? (size_t)w : o;
    }
    for (int c = 0; c < CG_NCTRL; c++) {
        if (!h->v1[c][0])
            continue;
        w = snprintf(out + o, n - o, "%sv1 %s at %s", o ? ", " : "", ctrl_names[c], h->v1[c]);
        if (w < 0 || (size_t)w >= n - o)
            break;
        o += (size_t)w;
    }
    if (!o)
        snprintf(out, n, "none");
}

void cgroup_limit_error(unsigned hits, const struct cgroup_limits *lim, char *out, size_t n)
{
    out[0] = '\0';
    if (hits & CG_HIT_MEMORY)
        snprintf(out, n, "memory limit of %" PRId64 " bytes exceeded (killed by the OOM killer)",
                 lim->memory_bytes);
    else if (hits & CG_HIT_PIDS)
        snprintf(out, n, "pids limit of %" PRId64 " reached", lim->pids);
}
