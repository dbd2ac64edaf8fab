/*
 * tether-agent entry point: subcommand dispatch and command-line parsing.
 *   register   one-time registration with an activation code
 *   run        the agent (daemonizes unless --foreground)
 *   status     local view     version     task-shim DIR (internal, see task/shim.h)
 */
#include "main/agent.h"
#include "main/agent_run.h"
#include "main/update.h"
#include "task/journal.h"
#include "task/shim.h"
#include "common/fsutil.h"
#include "common/http.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SETS 64

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tether-agent register --server URL --activation CODE [--data-dir DIR]\n"
            "                             [--tags k=v,...] [--name NAME] [--machine-id ID]\n"
            "       tether-agent run [--config FILE] [--server URL] [--data-dir DIR] [--foreground]\n"
            "                        [--name N] [--machine-id ID] [--activation CODE]\n"
            "                        [--log-file F] [--log-level L] [--set key=value ...]\n"
            "       tether-agent status [--data-dir DIR] [--config FILE]\n"
            "       tether-agent version\n");
}

enum { O_SERVER = 256, O_ACTIVATION, O_DATA_DIR, O_TAGS, O_NAME, O_MACHINE_ID, O_CONFIG,
       O_FOREGROUND, O_LOG_FILE, O_LOG_LEVEL, O_SET, O_CA_FILE, O_HELP };

static const struct option long_opts[] = {
    { "server", required_argument, NULL, O_SERVER },
    { "activation", required_argument, NULL, O_ACTIVATION },
    { "data-dir", required_argument, NULL, O_DATA_DIR },
    { "tags", required_argument, NULL, O_TAGS },
    { "name", required_argument, NULL, O_NAME },
    { "machine-id", required_argument, NULL, O_MACHINE_ID },
    { "config", required_argument, NULL, O_CONFIG },
    { "foreground", no_argument, NULL, O_FOREGROUND },
    { "log-file", required_argument, NULL, O_LOG_FILE },
    { "log-level", required_argument, NULL, O_LOG_LEVEL },
    { "set", required_argument, NULL, O_SET },
    { "ca-file", required_argument, NULL, O_CA_FILE },
    { "help", no_argument, NULL, O_HELP },
    { NULL, 0, NULL, 0 },
};

static const char *const opt_names[] = {
    [O_SERVER - O_SERVER] = "server", [O_ACTIVATION - O_SERVER] = "activation",
    [O_DATA_DIR - O_SERVER] = "data_dir", [O_TAGS - O_SERVER] = "tags",
    [O_NAME - O_SERVER] = "name", [O_MACHINE_ID - O_SERVER] = "machine_id",
    [O_LOG_FILE - O_SERVER] = "log_file", [O_LOG_LEVEL - O_SERVER] = "log_level",
    [O_CA_FILE - O_SERVER] = "ca_file",
};

struct cmdline {
    const char *config;
    bool config_given, foreground, log_file_given, help;
    struct { const char *name, *value; } sets[MAX_SETS];
    int nsets;
};

/* Parses options into cl; option values are applied later, in order: file, flags, --set. */
static int parse_args(int argc, char **argv, struct cmdline *cl)
{
    int c;

    cl->config = AGENT_CONFIG_FILE;
    optind = 2;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (c == O_CONFIG) {
            cl->config = optarg;
            cl->config_given = true;
        } else if (c == O_FOREGROUND) {
            cl->foreground = true;
        } else if (c == O_HELP) {
            cl->help = true;
        } else if (c >= O_SERVER && c <= O_CA_FILE && (c == O_SET || opt_names[c - O_SERVER])) {
            if (cl->nsets == MAX_SETS)
                return -E2BIG;
            cl->sets[cl->nsets].name = c == O_SET ? NULL : opt_names[c - O_SERVER];
            cl->sets[cl->nsets++].value = optarg;
            cl->log_file_given |= c == O_LOG_FILE;
        } else {
            return -EINVAL;
        }
    }
    return optind < argc ? -EINVAL : 0;
}

/* File, then flags, then --set pairs (the latter override everything). */
static int load_config(struct cmdline *cl, struct agent_config *cfg)
{
    char err[512];
    int rc = agent_config_load(cfg, cl->config, cl->config_given, err, sizeof err);

    for (int pass = 0; !rc && pass < 2; pass++)
        for (int i = 0; !rc && i < cl->nsets; i++) {
            if (pass == 0 && cl->sets[i].name)
                rc = cfg_set(agent_config_options, cfg, cl->sets[i].name, cl->sets[i].value, err,
                             sizeof err);
            else if (pass == 1 && !cl->sets[i].name)
                rc = cfg_set_pair(agent_config_options, cfg, cl->sets[i].value, err, sizeof err);
        }
    if (rc)
        fprintf(stderr, "tether-agent: %s\n", err);
    return rc;
}

/* Paths must survive the daemon's chdir("/"). Replaces *p with an absolute copy. */
static int make_absolute(char **p)
{
    char cwd[PATH_MAX], *abs;
    size_t n;

    if (!*p || (*p)[0] == '/' || strcmp(*p, "-") == 0)
        return 0;
    if (!getcwd(cwd, sizeof cwd))
        return -errno;
    n = strlen(cwd) + strlen(*p) + 2;
    abs = malloc(n);
    if (!abs)
        return -ENOMEM;
    snprintf(abs, n, "%s/%s", cwd, *p);
    free(*p);
    *p = abs;
    return 0;
}

static int cmd_register(int argc, char **argv)
{
    struct cmdline cl = { 0 };
    struct agent_config cfg;
    struct identity id;
    char err[512];
    int rc;

    if (parse_args(argc, argv, &cl) != 0 || cl.help) {
        usage(cl.help ? stdout : stderr);
        return cl.help ? 0 : 2;
    }
    if (load_config(&cl, &cfg) != 0)
        return 2;
    if (!cfg.server || !cfg.activation) {
        fprintf(stderr, "tether-agent register: --server and --activation are required\n");
        agent_config_free(&cfg);
        return 2;
    }
    log_open("-", LOG_WARN, "tether-agent", 0);
    http_global_init();
    if (http_global_set_client_cert(cfg.client_cert, cfg.client_key)) {
        http_global_cleanup();
        agent_config_free(&cfg);
        return 1;
    }
    struct register_opts o = { .server = cfg.server, .activation = cfg.activation,
                               .data_dir = cfg.data_dir, .tags = cfg.tags, .name = cfg.name,
                               .machine_id = cfg.machine_id, .ca_file = cfg.ca_file };
    rc = identity_register(&o, &id, err, sizeof err);
    if (rc == 0) {
        printf("registered as %s (%s)\n", id.name, id.agent_id);
        identity_free(&id);
    } else {
        fprintf(stderr, "tether-agent register: %s\n", err);
    }
    http_global_cleanup();
    agent_config_free(&cfg);
    return rc ? 1 : 0;
}

/* Double fork, setsid, stdio to /dev/null. Returns 0 in the daemon; the parents exit. */
static int daemonize(void)
{
    pid_t pid = fork();
    int fd;

    if (pid < 0)
        return -errno;
    if (pid > 0)
        _exit(0);
    if (setsid() < 0)
        return -errno;
    pid = fork();
    if (pid < 0)
        return -errno;
    if (pid > 0)
        _exit(0);
    umask(022);
    if (chdir("/") < 0)
        return -errno;
    fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
        return -errno;
    if (fd > 2)
        close(fd);
    return 0;
}

/* One agent per data directory: an flock on DATA/agent.pid, held for the process's life. */
static int lock_pidfile(const char *data_dir, int *fd_out)
{
    char path[PATH_MAX], text[32];
    int fd;

    snprintf(path, sizeof path, "%s/agent.pid", data_dir);
    fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        return -EBUSY;
    }
    snprintf(text, sizeof text, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || fs_write_full(fd, text, strlen(text)) != 0) {
        close(fd);
        return -EIO;
    }
    *fd_out = fd;
    return 0;
}

static int ensure_identity(struct agent *a)
{
    char err[512];
    int rc = identity_load(a->cfg.data_dir, &a->ident, err, sizeof err);

    if (rc == -ENOENT && a->cfg.activation && a->cfg.server) {
        struct register_opts o = { .server = a->cfg.server, .activation = a->cfg.activation,
                                   .data_dir = a->cfg.data_dir, .tags = a->cfg.tags,
                                   .name = a->cfg.name, .machine_id = a->cfg.machine_id,
                                   .ca_file = a->cfg.ca_file };
        rc = identity_register(&o, &a->ident, err, sizeof err);
        if (rc == 0)
            log_info("registered as %s (%s)", a->ident.name, a->ident.agent_id);
    }
    if (rc) {
        fprintf(stderr, "tether-agent: %s\n", rc == -ENOENT ?
                "not registered: run `tether-agent register` or set `activation`" : err);
        log_error("%s", rc == -ENOENT ? "not registered" : err);
        return rc;
    }
    /* an explicit server overrides the one recorded at registration (moved server, tests) */
    if (a->cfg.server && strcmp(a->cfg.server, a->ident.server) != 0) {
        char *s = strdup(a->cfg.server);
        if (!s)
            return -ENOMEM;
        free(a->ident.server);
        a->ident.server = s;
    }
    return 0;
}

static int open_log(struct cmdline *cl, struct agent_config *cfg)
{
    enum log_level level = LOG_INFO;
    const char *path = cl->foreground && !cl->log_file_given ? "-" : cfg->log_file;
    char dir[PATH_MAX];

    if (cfg->log_level && log_level_parse(cfg->log_level, &level) != 0) {
        fprintf(stderr, "tether-agent: log_level: '%s' is not valid\n", cfg->log_level);
        return -EINVAL;
    }
    if (strcmp(path, "-") != 0) {
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = '\0';
            fs_mkdir_p(dir, 0755);
        }
    }
    if (log_open(path, level, "tether-agent", (long)cfg->log_max_size) != 0) {
        fprintf(stderr, "tether-agent: cannot open log %s: %s\n", path, strerror(errno));
        return -EIO;
    }
    return 0;
}

/* After a self-update (or a rollback) agent_run returns with a->reexec set: the binary at
 * exe_path is replaced, so exec it with the same arguments — same pid, so the task shims stay
 * our children and the journal re-attaches them. Returns only on failure. */
static void reexec(const char *exe, char **argv)
{
    /* Nothing of this process's sockets or files goes over (curl's fds are not CLOEXEC). */
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    /* The exec'd agent is already the daemon: it must not fork away from a supervisor. */
    if (setenv("TETHER_AGENT_REEXEC", "1", 1) != 0)
        return;
    /* agent_run blocked SIGTERM & co. for sigwaitinfo; a blocked mask survives exec, and a
     * binary that is not ours (being rolled back) must still die of the supervisor's SIGTERM. */
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    execv(exe, argv);
    log_error("update: cannot exec %s: %s", exe, strerror(errno));
}

static int cmd_run(int argc, char **argv)
{
    struct cmdline cl = { 0 };
    struct agent *a = calloc(1, sizeof *a);
    int rc = 2, lock_fd = -1, prc;
    const char *re = getenv("TETHER_AGENT_REEXEC");
    bool reexeced = re && strcmp(re, "1") == 0, exec_now = false;
    char exe[4096] = "";

    if (!a)
        return 1;
    unsetenv("TETHER_AGENT_REEXEC");
    /* Resolved before any swap: afterwards /proc/self/exe names the replaced (deleted) file. */
    ssize_t n = readlink("/proc/self/exe", a->exe_path, sizeof a->exe_path - 1);
    a->exe_path[n > 0 ? n : 0] = '\0';
    prc = parse_args(argc, argv, &cl);
    if (prc == 0 && !cl.foreground && !reexeced)
        close_range(3, ~0U, 0); /* a daemon keeps nothing its parent left open */
    if (prc != 0 || cl.help) {
        usage(cl.help ? stdout : stderr);
        if (cl.help) {
            printf("\noptions (config file keys, also --set key=value):\n");
            cfg_print_help(agent_config_options, stdout);
        }
        free(a);
        return cl.help ? 0 : 2;
    }
    if (load_config(&cl, &a->cfg) != 0)
        goto out_cfg;
    if (make_absolute(&a->cfg.data_dir) || make_absolute(&a->cfg.log_file) ||
        make_absolute(&a->cfg.ca_file) || make_absolute(&a->cfg.client_cert) ||
        make_absolute(&a->cfg.client_key) || open_log(&cl, &a->cfg))
        goto out_cfg;
    /* root tasks get the config file covered (it may hold an activation code) */
    if (!realpath(cl.config, a->config_file))
        a->config_file[0] = '\0';
    rc = 1;
    if (fs_mkdir_p(a->cfg.data_dir, 0711) != 0 || journal_init(a->cfg.data_dir) != 0) {
        fprintf(stderr, "tether-agent: cannot prepare %s: %s\n", a->cfg.data_dir, strerror(errno));
        goto out_cfg;
    }
    http_global_init();
    /* Every HTTPS client of the agent's threads presents this certificate (mutual TLS). */
    if (http_global_set_client_cert(a->cfg.client_cert, a->cfg.client_key) != 0)
        goto out_http;
    if (ensure_identity(a) != 0)
        goto out_http;
    if (!cl.foreground && !reexeced && daemonize() != 0)
        goto out_ident;
    if (lock_pidfile(a->cfg.data_dir, &lock_fd) != 0) {
        log_error("another agent is running on %s", a->cfg.data_dir);
        fprintf(stderr, "tether-agent: another agent is running on %s\n", a->cfg.data_dir);
        goto out_ident;
    }
    if (update_startup(a) == 1) {
        exec_now = true; /* a rollback put the previous binary back */
    } else {
        rc = agent_run(a) == 0 ? 0 : 1;
        exec_now = atomic_load(&a->reexec);
    }
    if (exec_now)
        snprintf(exe, sizeof exe, "%s", a->exe_path);
    close(lock_fd);
out_ident:
    identity_free(&a->ident);
out_http:
    http_global_cleanup();
out_cfg:
    agent_config_free(&a->cfg);
    free(a);
    if (exe[0]) {
        log_info("update: exec %s", exe);
        reexec(exe, argv);
        rc = 1;
    }
    log_close();
    return rc;
}

static int cmd_status(int argc, char **argv)
{
    struct cmdline cl = { 0 };
    struct agent_config cfg;
    int rc;

    if (parse_args(argc, argv, &cl) != 0 || load_config(&cl, &cfg) != 0) {
        usage(stderr);
        return 2;
    }
    rc = agent_status_cmd(cfg.data_dir);
    agent_config_free(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";

    if (strcmp(cmd, "task-shim") == 0)
        return shim_main_args(argc, argv);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("tether-agent %s\n", TETHER_VERSION);
        return 0;
    }
    if (strcmp(cmd, "register") == 0)
        return cmd_register(argc, argv);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc, argv);
    if (strcmp(cmd, "status") == 0)
        return cmd_status(argc, argv);
    usage(strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ? stdout : stderr);
    return strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ? 0 : 2;
}
