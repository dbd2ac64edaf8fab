/*
 * A small local CA for installations without a PKI (tls_cert.h). OpenSSL 3 EVP APIs only: EC
 * P-256 keys from EVP_EC_gen, v3 certificates with the extensions a verifier checks (basic
 * constraints, key usage, SAN, SKI/AKI). The CA key never leaves DATA/tls (0600 in a 0700 dir).
 */
#include "server/tls_cert.h"

#include "common/fsutil.h"
#include "common/ids.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CA_DAYS 3650

struct cert_spec {
    const char *cn;
    const char *san;        /* subjectAltName value or NULL */
    bool is_ca;
    bool client;            /* extendedKeyUsage clientAuth instead of serverAuth */
    int days;
};

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -EINVAL;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -EINVAL;
}

static int set_serial(X509 *cert)
{
    unsigned char raw[16];
    BIGNUM *bn = NULL;
    int rc = -EIO;
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -EIO;
    raw[0] &= 0x7f;   /* positive, as RFC 5280 asks */
    bn = BN_bin2bn(raw, sizeof raw, NULL);
    if (bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)))
        rc = 0;
    BN_free(bn);
    return rc;
}

/* Signs a new certificate for key with the issuer's key (self-signed when issuer is NULL). */
static X509 *make_cert(const struct cert_spec *s, EVP_PKEY *key, X509 *issuer,
                       EVP_PKEY *issuer_key)
{
    X509 *cert = X509_new();
    X509_NAME *name;
    bool ok = false;

    if (!cert || !X509_set_version(cert, 2) || set_serial(cert))
        goto out;
    if (!X509_gmtime_adj(X509_getm_notBefore(cert), -300) ||
        !X509_time_adj_ex(X509_getm_notAfter(cert), s->days, 0, NULL))
        goto out;
    name = X509_get_subject_name(cert);
    if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Tether", -1,
                                    -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)s->cn, -1,
                                    -1, 0))
        goto out;
    if (!X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name) ||
        !X509_set_pubkey(cert, key))
        goto out;
    X509 *iss = issuer ? issuer : cert;
    if (add_ext(cert, iss, NID_basic_constraints, s->is_ca ? "critical,CA:TRUE,pathlen:0"
                                                           : "critical,CA:FALSE") ||
        add_ext(cert, iss, NID_key_usage, s->is_ca ? "critical,keyCertSign,cRLSign"
                                                   : "critical,digitalSignature") ||
        add_ext(cert, iss, NID_subject_key_identifier, "hash"))
        goto out;
    if (!s->is_ca &&
        (add_ext(cert, iss, NID_authority_key_identifier, "keyid:always") ||
         add_ext(cert, iss, NID_ext_key_usage, s->client ? "clientAuth" : "serverAuth")))
        goto out;
    if (s->san && add_ext(cert, iss, NID_subject_alt_name, s->san))
        goto out;
    if (!X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256()))
        goto out;
    ok = true;
out:
    if (!ok) {
        X509_free(cert);
        cert = NULL;
    }
    return cert;
}

/* Writes a PEM object through a memory BIO so the file appears atomically with its mode. */
static int write_pem(const char *path, EVP_PKEY *key, X509 *cert, mode_t mode)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    long n;
    int rc = -EIO;
    if (!b)
        return -ENOMEM;
    if (key ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
            : PEM_write_bio_X509(b, cert)) {
        n = BIO_get_mem_data(b, &data);
        rc = n > 0 ? fs_write_atomic(path, data, (size_t)n, mode, true) : -EIO;
    }
    BIO_free(b);
    return rc;
}

static int load_ca(const char *dir, X509 **ca, EVP_PKEY **key)
{
    char path[4400];
    FILE *f;
    snprintf(path, sizeof path, "%s/ca.pem", dir);
    f = fopen(path, "re");
    if (!f)
        return -errno;
    *ca = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    snprintf(path, sizeof path, "%s/ca.key", dir);
    f = fopen(path, "re");
    if (!f)
        return -errno;
    *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return *ca && *key ? 0 : -EINVAL;
}

/* DATA/tls with the CA, creating both when missing. */
static int ensure_ca(const char *dir, X509 **ca, EVP_PKEY **key, char *err, size_t errlen)
{
    char path[4400];
    int rc = fs_mkdir_p(dir, 0700);
    if (rc) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-rc));
        return rc;
    }
    snprintf(path, sizeof path, "%s/ca.pem", dir);
    if (access(path, F_OK) == 0) {
        rc = load_ca(dir, ca, key);
        if (rc)
            snprintf(err, errlen, "cannot read the CA in %s: %s", dir, strerror(-rc));
        return rc;
    }
    struct cert_spec spec = { .cn = "Tether local CA", .is_ca = true, .days = CA_DAYS };
    *key = EVP_EC_gen("P-256");
    *ca = *key ? make_cert(&spec, *key, NULL, NULL) : NULL;
    if (!*ca) {
        snprintf(err, errlen, "cannot make the CA certificate");
        return -EIO;
    }
    /* Key first: a crash in between leaves a key without a certificate, which is remade. */
    snprintf(path, sizeof path, "%s/ca.key", dir);
    rc = write_pem(path, *key, NULL, 0600);
    snprintf(path, sizeof path, "%s/ca.pem", dir);
    if (!rc)
        rc = write_pem(path, NULL, *ca, 0644);
    if (rc)
        snprintf(err, errlen, "cannot write the CA: %s", strerror(-rc));
    return rc;
}

static int issue(const char *dir, const char *base, const struct cert_spec *spec, char *err,
                 size_t errlen)
{
    char tls_dir[4200], path[4400];
    X509 *ca = NULL, *cert = NULL;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    int rc;

    snprintf(tls_dir, sizeof tls_dir, "%s/tls", dir);
    rc = ensure_ca(tls_dir, &ca, &ca_key, err, errlen);
    if (rc)
        goto out;
    key = EVP_EC_gen("P-256");
    cert = key ? make_cert(spec, key, ca, ca_key) : NULL;
    if (!cert) {
        snprintf(err, errlen, "cannot make the certificate for %s", spec->cn);
        rc = -EIO;
        goto out;
    }
    snprintf(path, sizeof path, "%s/%s.key", tls_dir, base);
    rc = write_pem(path, key, NULL, 0600);
    snprintf(path, sizeof path, "%s/%s.pem", tls_dir, base);
    if (!rc)
        rc = write_pem(path, NULL, cert, 0644);
    if (rc)
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
out:
    X509_free(cert);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return rc;
}

int tls_cert_create_server(const char *data_dir, const char *const *hosts, size_t n, int days,
                           char *err, size_t errlen)
{
    char san[4096];
    int rc = tls_san_build(hosts, n, san, sizeof san, err, errlen);
    if (rc)
        return rc;
    struct cert_spec spec = { .cn = hosts[0], .san = san, .days = days };
    return issue(data_dir, "server", &spec, err, errlen);
}

int tls_cert_create_client(const char *data_dir, const char *agent, int days, char *err,
                           size_t errlen)
{
    char san[128], base[128], dir[4200];
    if (!id_valid(agent, ID_AGENT) && !name_valid(agent)) {
        snprintf(err, errlen, "--client: '%.64s' is not an agent id or name", agent);
        return -EINVAL;
    }
    snprintf(dir, sizeof dir, "%s/tls/clients", data_dir);
    int rc = fs_mkdir_p(dir, 0700);
    if (rc) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-rc));
        return rc;
    }
    snprintf(san, sizeof san, "URI:tether:agent:%s", agent);
    snprintf(base, sizeof base, "clients/%s", agent);
    struct cert_spec spec = { .cn = agent, .san = san, .client = true, .days = days };
    return issue(data_dir, base, &spec, err, errlen);
}
