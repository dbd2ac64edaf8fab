/*
 * `tether release …` (issue 6): the operator's side of self-update. keygen and the signature in
 * publish run locally — the private key never leaves this machine and the server only stores
 * the manifest text and its signature — then the binary and the signed manifest are uploaded.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/list.h"
#include "cli/output.h"
#include "cli/table.h"
#include "common/crypto.h"
#include "common/fsutil.h"
#include "common/release.h"
#include "common/tm.h"

const char release_usage[] =
    "usage: tether release keygen --out DIR\n"
    "       tether release publish --key FILE --version V [--os linux] [--arch x86_64]\n"
    "                              [--channel stable] [--expires 30d] [--rollout PERCENT] BINARY\n"
    "       tether release ls [-o json]\n"
    "       tether release rollout V PERCENT\n"
    "       tether release push V [AGENT...]\n"
    "       tether release status V [-o json]\n"
    "\n"
    "keygen writes DIR/ed25519.key (0600, keep it offline) and DIR/ed25519.pub and prints the\n"
    "public key: put it in every agent's config as update_pubkey. publish signs the manifest\n"
    "locally and uploads binary and manifest (admin key); a release reaches no agent until\n"
    "rollout gives it a percentage of the fleet (a stable hash of the agent id) or push names\n"
    "agents (push without agents makes the agents in the rollout check now).\n"
    "\n"
    "example: tether release keygen --out ~/tether-release-key\n"
    "         tether release publish --key ~/tether-release-key/ed25519.key --version 1.2.0 \\\n"
    "             --rollout 10 build/bin/tether-agent\n"
    "         tether release status 1.2.0\n";

enum { R_OUTPUT = 1, R_HELP, R_OUT, R_KEY, R_VERSION, R_OS, R_ARCH, R_CHANNEL, R_EXPIRES,
       R_ROLLOUT };

const struct opt_spec release_specs[] = {
    { "output", 'o', true, R_OUTPUT },   { "help", 'h', false, R_HELP },
    { "out", 0, true, R_OUT },           { "key", 0, true, R_KEY },
    { "version", 0, true, R_VERSION },   { "os", 0, true, R_OS },
    { "arch", 0, true, R_ARCH },         { "channel", 0, true, R_CHANNEL },
    { "expires", 0, true, R_EXPIRES },   { "rollout", 0, true, R_ROLLOUT },
    { NULL, 0, false, 0 },
};

#define MAX_POS 256

struct release_args {
    const char *pos[MAX_POS];
    int npos;
    const char *out, *key, *version, *os, *arch, *channel, *expires, *rollout;
    enum out_format fmt;
    bool help;
};

static int do_keygen(const struct release_args *a)
{
    char key[4096], pub[4096], b64[RELEASE_PUB_B64_MAX];
    int rc;

    if (!a->out || a->npos != 1)
        return cli_usage("release keygen", "--out DIR is required");
    if (fs_mkdir_p(a->out, 0700) != 0)
        return cli_fail("release keygen: cannot create %s: %s", a->out, strerror(errno));
    snprintf(key, sizeof key, "%s/ed25519.key", a->out);
    snprintf(pub, sizeof pub, "%s/ed25519.pub", a->out);
    rc = release_keygen(key, pub, b64);
    if (rc == -EEXIST)
        return cli_fail("release keygen: %s exists; not overwriting a signing key", key);
    if (rc)
        return cli_fail("release keygen: %s", strerror(-rc));
    printf("%s\n", b64);
    return 0;
}

/* Uploads the binary; fills sha with what the server computed (must equal ours). */
static int upload_artifact(struct cli *c, const char *data, size_t len, const char *sha)
{
    struct http_client *h = cli_http(c);
    struct http_response r = { 0 };
    json_t *doc = NULL;
    int rc = EXIT_API;

    if (!h)
        return EXIT_API;
    http_client_set_timeout(h, 600000);
    if (http_call(h, "POST", "/v1/artifacts", data, len, &r) != 0 || r.status != 201) {
        cli_report(c, r.status ? 0 : -EIO, &r);
        goto out;
    }
    doc = json_loads(r.body ? r.body : "", 0, NULL);
    if (!doc || strcmp(jstr(doc, "sha256", ""), sha) != 0) {
        cli_fail("release publish: the server stored the artifact under another digest");
        goto out;
    }
    rc = 0;
out:
    json_decref(doc);
    http_response_free(&r);
    return rc;
}

static int fill_manifest(const struct release_args *a, const char *data, size_t len,
                         struct release_manifest *m)
{
    int64_t secs = 30 * 86400;

    memset(m, 0, sizeof *m);
    if (a->expires && (tm_parse_duration(a->expires, &secs) != 0 || secs <= 0))
        return cli_usage("release publish", "--expires: '%s' is not a duration", a->expires);
    if (!release_version_valid(a->version))
        return cli_usage("release publish", "--version: '%s' is not a version like 1.2.3",
                         a->version);
    snprintf(m->name, sizeof m->name, "%s", RELEASE_NAME);
    snprintf(m->version, sizeof m->version, "%s", a->version);
    snprintf(m->os, sizeof m->os, "%s", a->os ? a->os : "linux");
    snprintf(m->arch, sizeof m->arch, "%s", a->arch ? a->arch : "x86_64");
    snprintf(m->channel, sizeof m->channel, "%s", a->channel ? a->channel : "stable");
    if (!release_field_valid(m->os) || !release_field_valid(m->arch) ||
        !release_field_valid(m->channel))
        return cli_usage("release publish", "--os, --arch, --channel: [a-z0-9_-] only");
    m->size = (int64_t)len;
    crypto_sha256_hex(data, len, m->sha256);
    /* Whole seconds: the manifest's RFC 3339 text has no fraction to carry more. */
    m->created_at = tm_now_ms() / 1000 * 1000;
    m->expires_at = m->created_at + secs * 1000;
    return 0;
}

static int do_publish(struct cli *c, const struct release_args *a)
{
    struct release_manifest m;
    char *data = NULL, *text = NULL, sig[RELEASE_SIG_B64_MAX];
    size_t len = 0;
    int64_t rollout = 0;
    json_t *body = NULL, *doc = NULL;
    int rc;

    if (!a->key || !a->version || a->npos != 2)
        return cli_usage("release publish", "--key, --version and a BINARY are required");
    if (a->rollout && (sscanf(a->rollout, "%lld", (long long *)&rollout) != 1 || rollout < 0 ||
                       rollout > 100))
        return cli_usage("release publish", "--rollout: a percentage 0..100");
    rc = fs_read_all(a->pos[1], (size_t)RELEASE_SIZE_MAX, &data, &len);
    if (rc)
        return cli_fail("release publish: cannot read %s: %s", a->pos[1], strerror(-rc));
    rc = len ? fill_manifest(a, data, len, &m) : cli_fail("release publish: empty binary");
    if (rc)
        goto out;
    rc = EXIT_API;
    if (release_manifest_format(&m, &text) != 0) {
        cli_fail("release publish: cannot build the manifest");
        goto out;
    }
    if (release_sign(a->key, text, strlen(text), sig, NULL) != 0) {
        cli_fail("release publish: cannot sign with %s (an Ed25519 PEM key?)", a->key);
        goto out;
    }
    rc = upload_artifact(c, data, len, m.sha256);
    if (rc)
        goto out;
    body = json_pack("{s:s, s:s, s:I}", "manifest", text, "signature", sig, "rollout",
                     (json_int_t)rollout);
    rc = cli_api(c, "POST", "/v1/releases", body, &doc);
    if (!rc)
        printf("published %s (%s/%s, channel %s, %lld bytes, sha256 %s), rollout %lld%%\n",
               m.version, m.os, m.arch, m.channel, (long long)m.size, m.sha256,
               (long long)rollout);
out:
    json_decref(body);
    json_decref(doc);
    free(text);
    free(data);
    return rc;
}

static void release_row(json_t *r, const char **row, char scratch[LIST_SCRATCH][32])
{
    snprintf(scratch[0], sizeof scratch[0], "%lld%%",
             (long long)json_integer_value(json_object_get(r, "rollout")));
    snprintf(scratch[1], sizeof scratch[1], "%lld",
             (long long)json_integer_value(json_object_get(r, "size")));
    row[0] = jstr(r, "version", "?");
    row[1] = jstr(r, "os", "?");
    row[2] = jstr(r, "arch", "?");
    row[3] = jstr(r, "channel", "?");
    row[4] = scratch[0];
    row[5] = scratch[1];
    row[6] = jstr(r, "created_at", "-");
}

static int do_list(struct cli *c, const struct release_args *a)
{
    static const char *const heads[] = { "VERSION", "OS", "ARCH", "CHANNEL", "ROLLOUT",
                                         "SIZE", "CREATED" };
    return cli_list(c, "/v1/releases", "releases", a->fmt, heads, 7, release_row);
}

static int do_rollout(struct cli *c, const struct release_args *a)
{
    char path[128];
    long long pct;
    char *end;
    json_t *body;
    int rc;

    if (a->npos != 3 || !release_version_valid(a->pos[1]))
        return cli_usage("release rollout", "give a VERSION and a PERCENT");
    errno = 0;
    pct = strtoll(a->pos[2], &end, 10);
    if (errno || (*end && strcmp(end, "%") != 0) || pct < 0 || pct > 100)
        return cli_usage("release rollout", "PERCENT: 0..100");
    snprintf(path, sizeof path, "/v1/releases/%s", a->pos[1]);
    body = json_pack("{s:I}", "rollout", (json_int_t)pct);
    rc = cli_api(c, "PATCH", path, body, NULL);
    json_decref(body);
    if (!rc)
        printf("release %s: rollout %lld%%\n", a->pos[1], pct);
    return rc;
}

static int do_push(struct cli *c, const struct release_args *a)
{
    char path[128];
    json_t *targets = json_array(), *body, *doc = NULL;
    int rc;

    if (a->npos < 2 || !release_version_valid(a->pos[1]) || !targets) {
        json_decref(targets);
        return cli_usage("release push", "give a VERSION (and agents)");
    }
    for (int i = 2; i < a->npos; i++)
        json_array_append_new(targets, json_string(a->pos[i]));
    snprintf(path, sizeof path, "/v1/releases/%s/push", a->pos[1]);
    body = json_pack("{s:o}", "targets", targets);
    rc = cli_api(c, "POST", path, body, &doc);
    json_decref(body);
    if (!rc)
        printf("release %s: %zu agent(s) told to update\n", a->pos[1],
               json_array_size(json_object_get(doc, "kicked")));
    json_decref(doc);
    return rc;
}

static int do_status(struct cli *c, const struct release_args *a)
{
    char path[128];
    json_t *doc = NULL, *states, *v;
    const char *k;
    int rc;

    if (a->npos != 2 || !release_version_valid(a->pos[1]))
        return cli_usage("release status", "give a VERSION");
    snprintf(path, sizeof path, "/v1/releases/%s/status", a->pos[1]);
    rc = cli_api(c, "GET", path, NULL, &doc);
    if (rc)
        return rc;
    if (a->fmt == OUT_JSON) {
        print_json(doc);
    } else {
#define N(key) (long long)json_integer_value(json_object_get(doc, key))
        printf("release %s: rollout %lld%%, %lld agents, %lld targeted: %lld on it, %lld "
               "pending, %lld failed\n", a->pos[1], N("rollout"), N("agents"), N("targeted"),
               N("updated"), N("pending"), N("failed"));
#undef N
        states = json_object_get(doc, "states");
        json_object_foreach(states, k, v)
            printf("  %-24s %lld\n", k, (long long)json_integer_value(v));
    }
    json_decref(doc);
    return 0;
}

static int parse(int argc, char **argv, struct release_args *a)
{
    struct opt_iter it;
    const char *val;
    int id;

    opt_iter_init(&it, "release", argc, argv, false);
    while ((id = opt_next(&it, release_specs, &val)) != OPT_END) {
        switch (id) {
        case OPT_ERROR: return EXIT_USAGE;
        case R_HELP: a->help = true; break;
        case R_OUT: a->out = val; break;
        case R_KEY: a->key = val; break;
        case R_VERSION: a->version = val; break;
        case R_OS: a->os = val; break;
        case R_ARCH: a->arch = val; break;
        case R_CHANNEL: a->channel = val; break;
        case R_EXPIRES: a->expires = val; break;
        case R_ROLLOUT: a->rollout = val; break;
        case R_OUTPUT:
            if (opt_format(val, &a->fmt) != 0)
                return cli_usage("release", "-o: '%s' is not json or table", val);
            break;
        case OPT_POSITIONAL:
            if (a->npos == MAX_POS)
                return cli_usage("release", "too many arguments");
            a->pos[a->npos++] = val;
            break;
        default: return EXIT_USAGE;
        }
    }
    return 0;
}

int cmd_release(struct cli *c, int argc, char **argv)
{
    struct release_args a = { 0 };
    const char *sub;
    int rc = parse(argc, argv, &a);

    if (rc)
        return rc;
    if (a.help) {
        fputs(release_usage, stdout);
        return 0;
    }
    if (a.npos == 0)
        return cli_usage("release", "give a subcommand: keygen, publish, ls, rollout, push, status");
    sub = a.pos[0];
    if (!strcmp(sub, "keygen"))
        return do_keygen(&a);
    if (!strcmp(sub, "publish"))
        return do_publish(c, &a);
    if ((!strcmp(sub, "ls") || !strcmp(sub, "list")) && a.npos == 1)
        return do_list(c, &a);
    if (!strcmp(sub, "rollout"))
        return do_rollout(c, &a);
    if (!strcmp(sub, "push"))
        return do_push(c, &a);
    if (!strcmp(sub, "status"))
        return do_status(c, &a);
    return cli_usage("release", "unknown subcommand '%s'", sub);
}
