/*
 * Signed release manifests (issue 6): the canonical manifest text, Ed25519 signing (CLI, offline)
 * and verification (agent, pinned key), version ordering and the staged-rollout bucket. Shared by
 * the CLI, the server (parses manifests, buckets agents) and the agent, so all three agree.
 */
#ifndef TETHER_RELEASE_H
#define TETHER_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#define RELEASE_NAME "tether-agent"
#define RELEASE_VERSION_MAX 32
#define RELEASE_FIELD_MAX 32
#define RELEASE_MANIFEST_MAX 4096
#define RELEASE_SIG_B64_MAX 96      /* 64-byte signature, base64 */
#define RELEASE_PUB_B64_MAX 48      /* 32-byte public key, base64 */
#define RELEASE_SIZE_MAX (128LL << 20)

struct release_manifest {
    char name[RELEASE_FIELD_MAX];
    char version[RELEASE_VERSION_MAX];
    char os[RELEASE_FIELD_MAX];
    char arch[RELEASE_FIELD_MAX];
    char channel[RELEASE_FIELD_MAX];
    int64_t size;
    char sha256[65];
    int64_t created_at;   /* wall ms */
    int64_t expires_at;   /* wall ms */
};

/* "1.2.3", "0.1.10-rc1": digits and dots first, then an optional -/+ suffix of [A-Za-z0-9.-]. */
int release_version_valid(const char *v);
/* Numeric dot-separated comparison ("0.1.10" > "0.1.9"); a missing part counts as 0; on equal
 * numbers a version with a -suffix is older than without one. <0, 0, >0. */
int release_version_cmp(const char *a, const char *b);
/* os, arch, channel: [a-z0-9_-], 1..31 chars. */
int release_field_valid(const char *s);

/* Writes the canonical JSON text of m (fixed key order, no spaces) into a malloc'd string.
 * Returns 0, -EINVAL (a field is not valid) or -ENOMEM. */
int release_manifest_format(const struct release_manifest *m, char **out);
/* Parses and validates manifest text (exact keys, types, bounds). 0 or -EINVAL with err. */
int release_manifest_parse(const char *text, size_t len, struct release_manifest *m, char *err,
                           size_t errlen);

/* Key pair: the private key as PKCS#8 PEM (written 0600), the public key as one base64 line of
 * its raw 32 bytes (written 0644 and copied into pub_b64). 0 or -errno. */
int release_keygen(const char *key_path, const char *pub_path, char pub_b64[RELEASE_PUB_B64_MAX]);
/* Signs data with the PEM private key in key_path; sig_b64 receives the base64 signature.
 * Also returns the matching public key (base64) when pub_b64 is not NULL. 0 or -errno. */
int release_sign(const char *key_path, const void *data, size_t len,
                 char sig_b64[RELEASE_SIG_B64_MAX], char pub_b64[RELEASE_PUB_B64_MAX]);
/* 0 when sig_b64 is a valid Ed25519 signature of data by pub_b64; -EINVAL (malformed key or
 * signature) or -EBADMSG (does not verify). */
int release_verify(const char *pub_b64, const void *data, size_t len, const char *sig_b64);

/* Staged rollout: an agent is in a rollout of P % when its bucket < P. Bucket = first 4 bytes of
 * SHA-256(agent_id), big-endian, mod 100: stable across servers and restarts. */
int release_rollout_bucket(const char *agent_id);

#endif
