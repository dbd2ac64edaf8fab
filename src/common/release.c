/*
 * Release manifests and their Ed25519 signatures (see release.h). The signature covers the exact
 * manifest bytes, so the server stores and serves the text untouched and nobody re-serialises it.
 */
#include "common/release.h"
#include "common/b64.h"
#include "common/crypto.h"
#include "common/fsutil.h"
#include "common/jsonutil.h"
#include "common/tm.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

int release_version_valid(const char *v)
{
    size_t i = 0, n = v ? strlen(v) : 0;
    bool digit = false;

    if (n == 0 || n >= RELEASE_VERSION_MAX || !isdigit((unsigned char)v[0]))
        return 0;
    for (; i < n && (isdigit((unsigned char)v[i]) || v[i] == '.'); i++) {
        if (v[i] == '.' && (!digit || v[i + 1] == '.' || v[i + 1] == '\0'))
            return 0;
        digit = isdigit((unsigned char)v[i]);
    }
    if (i == n)
        return 1;
    if ((v[i] != '-' && v[i] != '+') || i + 1 == n)
        return 0;
    for (i++; i < n; i++)
        if (!isalnum((unsigned char)v[i]) && v[i] != '.' && v[i] != '-')
            return 0;
    return 1;
}

/* Next numeric part of *p (advances past it and one dot); 0 when the numbers are used up. */
static unsigned long long next_part(const char **p)
{
    unsigned long long v = 0;

    while (isdigit((unsigned char)**p)) {
        if (v < 1000000000000ULL)
            v = v * 10 + (unsigned long long)(**p - '0');
        (*p)++;
    }
    if (**p == '.')
        (*p)++;
    return v;
}

int release_version_cmp(const char *a, const char *b)
{
    const char *pa = a, *pb = b;

    while (isdigit((unsigned char)*pa) || isdigit((unsigned char)*pb)) {
        unsigned long long x = next_part(&pa), y = next_part(&pb);
        if (x != y)
            return x < y ? -1 : 1;
    }
    /* Equal numbers: "1.0.0-rc1" < "1.0.0"; two suffixes compare as text. */
    bool sa = *pa == '-', sb = *pb == '-';
    if (sa != sb)
        return sa ? -1 : 1;
    return sa ? (strcmp(pa, pb) > 0) - (strcmp(pa, pb) < 0) : 0;
}

int release_field_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n >= RELEASE_FIELD_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_' &&
            s[i] != '-')
            return 0;
    return 1;
}

static int sha_hex_valid(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
            return 0;
    return 1;
}

static int manifest_valid(const struct release_manifest *m)
{
    return strcmp(m->name, RELEASE_NAME) == 0 && release_version_valid(m->version) &&
           release_field_valid(m->os) && release_field_valid(m->arch) &&
           release_field_valid(m->channel) && m->size > 0 && m->size <= RELEASE_SIZE_MAX &&
           sha_hex_valid(m->sha256) && m->created_at > 0 && m->expires_at > m->created_at;
}

/* Whole seconds, "2026-01-02T03:04:05Z": the canonical text has no fraction. */
static int format_time(int64_t ms, char *buf, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tmv;

    if (!gmtime_r(&t, &tmv) || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tmv) == 0)
        return -EINVAL;
    return 0;
}

int release_manifest_format(const struct release_manifest *m, char **out)
{
    char created[40], expires[40];
    char *text;
    int n;

    *out = NULL;
    if (!manifest_valid(m) || format_time(m->created_at, created, sizeof created) ||
        format_time(m->expires_at, expires, sizeof expires))
        return -EINVAL;
    /* Every value was checked against an allowlist above: nothing needs JSON escaping. */
    n = asprintf(&text,
                 "{\"name\":\"%s\",\"version\":\"%s\",\"os\":\"%s\",\"arch\":\"%s\","
                 "\"channel\":\"%s\",\"size\":%lld,\"sha256\":\"%s\",\"created_at\":\"%s\","
                 "\"expires_at\":\"%s\"}",
                 m->name, m->version, m->os, m->arch, m->channel, (long long)m->size, m->sha256,
                 created, expires);
    if (n < 0)
        return -ENOMEM;
    *out = text;
    return 0;
}

static int copy_str(json_t *j, const char *key, char *dst, size_t n, char *err, size_t errlen)
{
    const char *v = NULL;

    if (jsonu_str(j, key, &v, err, errlen) != 0 || !v) {
        if (!v)
            snprintf(err, errlen, "%s: missing", key);
        return -EINVAL;
    }
    if (strlen(v) >= n)
        return snprintf(err, errlen, "%s: too long", key), -EINVAL;
    snprintf(dst, n, "%s", v);
    return 0;
}

static int copy_time(json_t *j, const char *key, int64_t *out, char *err, size_t errlen)
{
    char text[40];

    if (copy_str(j, key, text, sizeof text, err, errlen))
        return -EINVAL;
    if (tm_parse_rfc3339(text, out))
        return snprintf(err, errlen, "%s: not an RFC 3339 time", key), -EINVAL;
    return 0;
}

int release_manifest_parse(const char *text, size_t len, struct release_manifest *m, char *err,
                           size_t errlen)
{
    static const char *const keys[] = { "name", "version", "os", "arch", "channel", "size",
                                        "sha256", "created_at", "expires_at", NULL };
    json_t *j;
    int rc = -EINVAL;

    if (errlen)
        err[0] = '\0';
    j = jsonu_parse(text, len, RELEASE_MANIFEST_MAX, err, errlen);

    memset(m, 0, sizeof *m);
    if (!j)
        return -EINVAL;
    if (!json_is_object(j)) {
        snprintf(err, errlen, "manifest: not an object");
        goto out;
    }
    if (jsonu_only_keys(j, keys, err, errlen) ||
        copy_str(j, "name", m->name, sizeof m->name, err, errlen) ||
        copy_str(j, "version", m->version, sizeof m->version, err, errlen) ||
        copy_str(j, "os", m->os, sizeof m->os, err, errlen) ||
        copy_str(j, "arch", m->arch, sizeof m->arch, err, errlen) ||
        copy_str(j, "channel", m->channel, sizeof m->channel, err, errlen) ||
        copy_str(j, "sha256", m->sha256, sizeof m->sha256, err, errlen) ||
        copy_time(j, "created_at", &m->created_at, err, errlen) ||
        copy_time(j, "expires_at", &m->expires_at, err, errlen))
        goto out;
    if (jsonu_int(j, "size", 1, RELEASE_SIZE_MAX, &m->size, err, errlen) != 0) {
        if (!err[0])
            snprintf(err, errlen, "size: missing");
        goto out;
    }
    if (!manifest_valid(m)) {
        snprintf(err, errlen, "manifest: a field is not valid");
        goto out;
    }
    rc = 0;
out:
    json_decref(j);
    return rc;
}

static int pub_to_b64(EVP_PKEY *pk, char out[RELEASE_PUB_B64_MAX])
{
    unsigned char raw[32];
    size_t n = sizeof raw;

    if (EVP_PKEY_get_raw_public_key(pk, raw, &n) != 1 || n != 32)
        return -EINVAL;
    return b64_encode(raw, n, out, RELEASE_PUB_B64_MAX) < 0 ? -ENOSPC : 0;
}

int release_keygen(const char *key_path, const char *pub_path, char pub_b64[RELEASE_PUB_B64_MAX])
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    FILE *f = NULL;
    char line[RELEASE_PUB_B64_MAX + 2], b64[RELEASE_PUB_B64_MAX];
    int fd = -1, rc = -EIO;

    if (!pk || pub_to_b64(pk, b64))
        goto out;
    fd = open(key_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    f = fdopen(fd, "w");
    if (!f)
        goto out;
    fd = -1;
    if (PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) != 1 || fflush(f) != 0 ||
        fsync(fileno(f)) != 0)
        goto out;
    snprintf(line, sizeof line, "%s\n", b64);
    rc = fs_write_atomic(pub_path, line, strlen(line), 0644, true);
    if (rc == 0)
        memcpy(pub_b64, b64, sizeof b64);
out:
    if (f && fclose(f) != 0 && rc == 0)
        rc = -EIO;
    if (fd >= 0)
        close(fd);
    EVP_PKEY_free(pk);
    return rc;
}

int release_sign(const char *key_path, const void *data, size_t len,
                 char sig_b64[RELEASE_SIG_B64_MAX], char pub_b64[RELEASE_PUB_B64_MAX])
{
    EVP_MD_CTX *md = NULL;
    EVP_PKEY *pk = NULL;
    unsigned char sig[64];
    size_t siglen = sizeof sig;
    FILE *f = fopen(key_path, "re");
    int rc = -EINVAL;

    if (!f)
        return -errno;
    pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_ED25519)
        goto out;
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestSignInit(md, NULL, NULL, NULL, pk) != 1 ||
        EVP_DigestSign(md, sig, &siglen, data, len) != 1 || siglen != 64)
        goto out;
    if (b64_encode(sig, siglen, sig_b64, RELEASE_SIG_B64_MAX) < 0)
        goto out;
    if (pub_b64 && pub_to_b64(pk, pub_b64))
        goto out;
    rc = 0;
out:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    return rc;
}

int release_verify(const char *pub_b64, const void *data, size_t len, const char *sig_b64)
{
    unsigned char raw[48], sig[80];
    long nraw, nsig;
    EVP_PKEY *pk = NULL;
    EVP_MD_CTX *md = NULL;
    int rc = -EINVAL;

    if (!pub_b64 || !sig_b64)
        return -EINVAL;
    nraw = b64_decode(pub_b64, strlen(pub_b64), raw, sizeof raw);
    nsig = b64_decode(sig_b64, strlen(sig_b64), sig, sizeof sig);
    if (nraw != 32 || nsig != 64)
        return -EINVAL;
    pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
    md = EVP_MD_CTX_new();
    if (!pk || !md || EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) != 1)
        goto out;
    rc = EVP_DigestVerify(md, sig, 64, data, len) == 1 ? 0 : -EBADMSG;
out:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    return rc;
}

int release_rollout_bucket(const char *agent_id)
{
    uint8_t h[32];

    crypto_sha256(agent_id, strlen(agent_id), h);
    return (int)((((uint32_t)h[0] << 24) | ((uint32_t)h[1] << 16) | ((uint32_t)h[2] << 8) | h[3]) %
                 100);
}
