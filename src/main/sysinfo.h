/* Facts about the host sent at registration and in heartbeats. */
#ifndef TETHER_AGENT_SYSINFO_H
#define TETHER_AGENT_SYSINFO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Non-loopback addresses (loopback only when there is nothing else). New reference. */
json_t *sysinfo_ips(void);
/* Source address the kernel picks to reach the server URL's host (UDP connect, nothing sent).
 * Returns 0 or -errno. */
int sysinfo_primary_ip(const char *server_url, char *out, size_t n);
int sysinfo_machine_id(char *out, size_t n);
void sysinfo_load_mem(double *load1, int64_t *mem_total, int64_t *mem_available);
/* Splits a URL into scheme ("http"/"https"), host and port. Returns 0 or -EINVAL. */
int sysinfo_parse_url(const char *url, char *scheme, size_t sn, char *host, size_t hn, int *port);

#endif
