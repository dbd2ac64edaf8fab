/* Host facts; see sysinfo.h. */
#include "main/sysinfo.h"
#include "common/fsutil.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int sysinfo_parse_url(const char *url, char *scheme, size_t sn, char *host, size_t hn, int *port)
{
    const char *p = strstr(url, "://"), *h, *end;
    size_t len;

    if (!p || (size_t)(p - url) >= sn)
        return -EINVAL;
    snprintf(scheme, sn, "%.*s", (int)(p - url), url);
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        return -EINVAL;
    *port = strcmp(scheme, "https") == 0 ? 443 : 80;
    h = p + 3;
    if (*h == '[') { /* IPv6 literal */
        end = strchr(h, ']');
        if (!end)
            return -EINVAL;
        h++;
        len = (size_t)(end - h);
        end++;
    } else {
        len = strcspn(h, ":/");
        end = h + len;
    }
    if (len == 0 || len >= hn)
        return -EINVAL;
    snprintf(host, hn, "%.*s", (int)len, h);
    if (*end == ':') {
        char *e;
        long v = strtol(end + 1, &e, 10);
        if (e == end + 1 || v < 1 || v > 65535 || (*e && *e != '/'))
            return -EINVAL;
        *port = (int)v;
    } else if (*end && *end != '/') {
        return -EINVAL;
    }
    return 0;
}

json_t *sysinfo_ips(void)
{
    struct ifaddrs *ifa = NULL;
    json_t *ips = json_array(), *lo = json_array();
    char buf[INET6_ADDRSTRLEN];

    if (!ips || !lo || getifaddrs(&ifa) < 0)
        goto out;
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
        const void *addr;
        if (!i->ifa_addr || !(i->ifa_flags & IFF_UP))
            continue;
        if (i->ifa_addr->sa_family == AF_INET)
            addr = &((struct sockaddr_in *)i->ifa_addr)->sin_addr;
        else if (i->ifa_addr->sa_family == AF_INET6) {
            const struct in6_addr *a6 = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
            if (IN6_IS_ADDR_LINKLOCAL(a6))
                continue; /* not reachable without a scope: useless to the server */
            addr = a6;
        } else
            continue;
        if (!inet_ntop(i->ifa_addr->sa_family, addr, buf, sizeof buf))
            continue;
        json_array_append_new((i->ifa_flags & IFF_LOOPBACK) ? lo : ips, json_string(buf));
    }
out:
    if (ifa)
        freeifaddrs(ifa);
    if (ips && json_array_size(ips) == 0 && lo) {
        json_decref(ips);
        return lo;
    }
    json_decref(lo);
    return ips;
}

int sysinfo_primary_ip(const char *server_url, char *out, size_t n)
{
    char scheme[16], host[256], port[8];
    struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int p, fd = -1, rc = -EINVAL;

    if (sysinfo_parse_url(server_url, scheme, sizeof scheme, host, sizeof host, &p))
        return -EINVAL;
    snprintf(port, sizeof port, "%d", p);
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        return -EHOSTUNREACH;
    fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    /* connect() on UDP sends nothing; it only makes the kernel pick the route and source */
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        rc = -errno;
        goto out;
    }
    if (ss.ss_family == AF_INET)
        rc = inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)n) ? 0 : -errno;
    else
        rc = inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)n) ? 0 : -errno;
out:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return rc;
}

int sysinfo_machine_id(char *out, size_t n)
{
    char *text = NULL;
    size_t len;
    int rc = fs_read_all("/etc/machine-id", 256, &text, &len);

    if (rc)
        return rc;
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        text[--len] = '\0';
    rc = len > 0 && len < n ? 0 : -EINVAL;
    if (!rc)
        snprintf(out, n, "%s", text);
    free(text);
    return rc;
}

void sysinfo_load_mem(double *load1, int64_t *mem_total, int64_t *mem_available)
{
    char *text = NULL, *p;
    size_t len;

    *load1 = 0;
    *mem_total = *mem_available = 0;
    if (fs_read_all("/proc/loadavg", 256, &text, &len) == 0) {
        *load1 = strtod(text, NULL);
        free(text);
        text = NULL;
    }
    if (fs_read_all("/proc/meminfo", 1 << 16, &text, &len) == 0) {
        if ((p = strstr(text, "MemTotal:")))
            *mem_total = strtoll(p + 9, NULL, 10) * 1024;
        if ((p = strstr(text, "MemAvailable:")))
            *mem_available = strtoll(p + 13, NULL, 10) * 1024;
        free(text);
    }
}
