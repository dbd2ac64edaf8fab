/*
 * `tether-server cert create`: a local certificate authority and the certificates it signs
 * (tls_cert.c). Files live in DATA/tls/: ca.pem + ca.key (made once), server.pem + server.key
 * (remade on every call, for the host names given), and client certificates for mutual TLS.
 * Keys are EC P-256, written 0600 atomically; the directory is 0700.
 */
#ifndef TETHER_SERVER_TLS_CERT_H
#define TETHER_SERVER_TLS_CERT_H

#include <stdbool.h>
#include <stddef.h>

#define TLS_HOSTS_MAX 32

/* Builds an OpenSSL subjectAltName value ("DNS:a,IP:127.0.0.1") from host names and IP
 * addresses. Names are checked against an allowlist (letters, digits, '-', '.', a leading "*.").
 * Returns 0, -EINVAL naming the bad host in err, or -ENOSPC. Pure: no files, no OpenSSL. */
int tls_san_build(const char *const *hosts, size_t n, char *out, size_t outlen, char *err,
                  size_t errlen);

/* Makes DATA/tls/ca.{pem,key} if missing, then server.{pem,key} for hosts (valid for days).
 * Prints nothing; 0 or -errno with err filled. */
int tls_cert_create_server(const char *data_dir, const char *const *hosts, size_t n, int days,
                           char *err, size_t errlen);

/* Issues DATA/tls/clients/<agent>.{pem,key} signed by the CA: CN = agent, SAN URI
 * tether:agent:<agent>, extendedKeyUsage clientAuth. agent is an agent id or name. */
int tls_cert_create_client(const char *data_dir, const char *agent, int days, char *err,
                           size_t errlen);

/* `tether-server cert ...` (argv[0] is "cert"). Returns the process exit code. */
int tls_cert_main(int argc, char **argv);

#endif
