/* The "key = value" config file parser, driven by the server's real options table. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/config.h"
#include "server/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    char path[64], err[512];
    struct server_config cfg;

    if (fd < 0)
        fd = memfd_create("fuzz-config", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
        return 0;
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    memset(&cfg, 0, sizeof cfg);
    if (cfg_defaults(server_options, &cfg) == 0)
        cfg_load_file(server_options, &cfg, path, err, sizeof err);
    cfg_free(server_options, &cfg);
    /* The same bytes as a --set pair. */
    char pair[512];
    size_t n = size < sizeof pair - 1 ? size : sizeof pair - 1;
    memcpy(pair, data, n);
    pair[n] = '\0';
    memset(&cfg, 0, sizeof cfg);
    if (cfg_defaults(server_options, &cfg) == 0)
        cfg_set_pair(server_options, &cfg, pair, err, sizeof err);
    cfg_free(server_options, &cfg);
    return 0;
}
