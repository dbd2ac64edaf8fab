/*
 * subjectAltName text for `tether-server cert create --host ...`. Kept apart from the OpenSSL code
 * so it can be unit tested: host names go into an OpenSSL config string, so anything that could
 * smuggle another field (',', ':', '=', spaces, control bytes) is refused by allowlist.
 */
#include "server/tls_cert.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool is_ip(const char *h)
{
    unsigned char b[16];
    return inet_pton(AF_INET, h, b) == 1 || inet_pton(AF_INET6, h, b) == 1;
}

/* RFC 1123 labels, optionally a leading "*." wildcard; at most 253 bytes. */
static bool dns_name_ok(const char *h)
{
    size_t n = strlen(h), label = 0;
    if (n == 0 || n > 253)
        return false;
    if (!strncmp(h, "*.", 2)) {
        h += 2;
        if (!*h)
            return false;
    }
    for (const char *p = h; *p; p++) {
        char c = *p;
        if (c == '.') {
            if (label == 0 || p[-1] == '-')
                return false;
            label = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (c == '-' && label > 0);
        if (!ok || ++label > 63)
            return false;
    }
    return label > 0 && h[strlen(h) - 1] != '-';
}

int tls_san_build(const char *const *hosts, size_t n, char *out, size_t outlen, char *err,
                  size_t errlen)
{
    size_t used = 0;
    if (outlen == 0)
        return -ENOSPC;
    out[0] = '\0';
    if (n == 0 || n > TLS_HOSTS_MAX) {
        snprintf(err, errlen, "give 1 to %d --host names", TLS_HOSTS_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *h = hosts[i];
        const char *kind;
        if (!h || !*h) {
            snprintf(err, errlen, "--host: empty name");
            return -EINVAL;
        }
        if (is_ip(h)) {
            kind = "IP";
        } else if (dns_name_ok(h)) {
            kind = "DNS";
        } else {
            snprintf(err, errlen, "--host: '%.64s' is neither a DNS name nor an IP address", h);
            return -EINVAL;
        }
        int w = snprintf(out + used, outlen - used, "%s%s:%s", i ? "," : "", kind, h);
        if (w < 0 || (size_t)w >= outlen - used) {
            snprintf(err, errlen, "--host: too many names");
            return -ENOSPC;
        }
        used += (size_t)w;
    }
    return 0;
}
