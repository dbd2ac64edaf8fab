/*
 * tether-swarm entry point: options, the phases (register -> connect -> serve kicks until
 * SIGINT/SIGTERM or --duration), progress on stderr once a second, and one JSON line per phase
 * on stdout for scripts (bench/swarm.py). See swarm.h for the file map and bench/README.md.
 */
#include "swarm.h"

#include "common/b64.h"
#include "common/config.h"
#include "common/log.h"
#include "common/tm.h"

#include <errno.h>
#ifdef SWARM_HAVE_LIBEV
#include <ev.h>
#endif
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define OPT(n, t, d, lo, hi, f, h) { n, t, d, lo, hi, offsetof(struct swarm_config, f), h }

static const struct cfg_option swarm_options[] = {
    OPT("server", CFG_STR, "http://127.0.0.1:8600", 0, 0, server,
        "server base URL (plain http:// on loopback)"),
    OPT("n", CFG_INT, "1000", 1, 1000000, n, "number of simulated agents"),
    OPT("first", CFG_INT, "1", 1, 9999999, first, "number of the first agent (PREFIX-00001)"),
    OPT("activation_code", CFG_STR, NULL, 0, 0, activation_code,
        "activation code for agents not in the state file (default $TETHER_ACTIVATION_CODE)"),
    OPT("state", CFG_STR, NULL, 0, 0, state,
        "file keeping agent identities between runs (0600; holds tokens)"),
    OPT("prefix", CFG_STR, "swarm", 0, 0, prefix, "agent names are PREFIX-00001, ..."),
    OPT("tags", CFG_STR, "swarm=1", 0, 0, tags, "tags sent at registration, k=v,k2=v2"),
    OPT("mode", CFG_STR, "instant", 0, 0, mode,
        "instant: finish each task at once (exit 0); true: run /bin/true, then finish"),
    OPT("output_bytes", CFG_SIZE, "0", 0, 65536, output_bytes,
        "send one output chunk of this many bytes per task (0: none)"),
    OPT("http_conns", CFG_INT, "64", 1, 4096, http_conns,
        "keep-alive HTTP connections, i.e. requests in flight at most"),
    OPT("connect_concurrency", CFG_INT, "256", 1, 100000, connect_concurrency,
        "WebSocket handshakes in flight at most"),
    OPT("max_children", CFG_INT, "32", 1, 4096, max_children,
        "mode true: /bin/true processes running at once"),
    OPT("pull_max", CFG_INT, "16", 1, 256, pull_max, "the \"max\" of each pull"),
    OPT("ping_s", CFG_DURATION, "20", 0, 3600, ping_s,
        "WebSocket ping interval per agent, phases spread evenly (0: none)"),
    OPT("heartbeat_s", CFG_DURATION, "30", 0, 3600, heartbeat_s,
        "heartbeat interval per agent, phases spread evenly (0: none)"),
    OPT("source_ips", CFG_INT, "1", 1, 254, source_ips,
        "bind sockets across 127.0.0.1 ... 127.0.0.K (more than ~28k sockets)"),
    OPT("report_every", CFG_INT, "0", 0, 100000000, report_every,
        "print a \"tasks\" line each time this many more tasks have finished (0: never)"),
    OPT("duration", CFG_DURATION, "0", 0, 31536000, duration,
        "exit after this long (0: at SIGINT/SIGTERM)"),
    OPT("register_only", CFG_BOOL, "no", 0, 0, register_only,
        "register the agents missing from the state file, save it, exit"),
    OPT("event_lib", CFG_STR, "libev", 0, 0, event_lib,
        "libev (epoll, via lws's libev plugin) or poll (lws's default loop: poll() over every "
        "socket on each turn, O(n))"),
    OPT("log_level", CFG_STR, "warn", 0, 0, log_level, "error, warn, info or debug (stderr)"),
    { NULL, 0, NULL, 0, 0, 0, NULL },
};

static volatile sig_atomic_t stop_flag;
static struct lws_context *signal_ctx;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
    if (signal_ctx)
        lws_cancel_service(signal_ctx);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: tether-swarm [--OPTION VALUE ...]   (option names with - or _)\n"
                 "Simulates N agents against a tether-server; see bench/README.md.\n\n");
    cfg_print_help(swarm_options, out);
}

void swarm_emit(struct swarm *sw, const char *phase, const char *fmt, ...)
{
    va_list ap;
    printf("{\"phase\":\"%s\",\"n\":%d,\"t_ms\":%lld,", phase, sw->n, (long long)tm_now_ms());
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("}\n");
    fflush(stdout);
}

void swarm_on_task_finished(struct swarm *sw)
{
    if (sw->cfg.report_every <= 0 || sw->st.tasks_finished % (uint64_t)sw->cfg.report_every)
        return;
    swarm_emit(sw, "tasks",
               "\"finished\":%llu,\"kicks\":%llu,\"first_kick_ms\":%lld,\"last_kick_ms\":%lld,"
               "\"failed\":%llu,\"http_errors\":%llu",
               (unsigned long long)sw->st.tasks_finished, (unsigned long long)sw->window_kicks,
               (long long)sw->window_first_kick_ms, (long long)sw->window_last_kick_ms,
               (unsigned long long)sw->st.tasks_failed, (unsigned long long)sw->st.http_errors);
    sw->window_kicks = 0;
    sw->window_first_kick_ms = sw->window_last_kick_ms = 0;
}

static int parse_args(struct swarm_config *cfg, int argc, char **argv)
{
    char err[200], name[64];

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value, *eq;
        const struct cfg_option *o;
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (strncmp(arg, "--", 2) || !arg[2]) {
            fprintf(stderr, "tether-swarm: unexpected argument '%s' (see --help)\n", arg);
            return -EINVAL;
        }
        eq = strchr(arg, '=');
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - arg - 2) : (int)strlen(arg + 2),
                 arg + 2);
        for (char *p = name; *p; p++)
            if (*p == '-')
                *p = '_';
        for (o = swarm_options; o->name && strcmp(o->name, name); o++)
            ;
        if (eq)
            value = eq + 1;
        else if (o->name && o->type == CFG_BOOL && (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2)))
            value = "yes";
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            fprintf(stderr, "tether-swarm: --%s needs a value\n", name);
            return -EINVAL;
        }
        if (cfg_set(swarm_options, cfg, name, value, err, sizeof err)) {
            fprintf(stderr, "tether-swarm: %s\n", err);
            return -EINVAL;
        }
    }
    return 0;
}

static int parse_server(struct swarm *sw)
{
    const char *s = sw->cfg.server, *colon;
    char *end;
    long port;

    if (strncmp(s, "http://", 7)) {
        fprintf(stderr, "tether-swarm: --server must be http://HOST:PORT (TLS is not simulated)\n");
        return -EINVAL;
    }
    s += 7;
    colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof sw->host) {
        fprintf(stderr, "tether-swarm: --server needs an explicit port\n");
        return -EINVAL;
    }
    port = strtol(colon + 1, &end, 10);
    if ((*end && strcmp(end, "/")) || port < 1 || port > 65535) {
        fprintf(stderr, "tether-swarm: --server: bad port\n");
        return -EINVAL;
    }
    snprintf(sw->host, sizeof sw->host, "%.*s", (int)(colon - s), s);
    sw->port = (int)port;
    snprintf(sw->hostport, sizeof sw->hostport, "%s:%d", sw->host, sw->port);
    return 0;
}

/* Raises RLIMIT_NOFILE to the hard limit and checks that N sockets fit, in descriptors and in
 * ephemeral ports towards one server address. */
static int check_limits(struct swarm *sw)
{
    struct rlimit rl;
    long long need = sw->n + sw->cfg.http_conns + 64, lo = 32768, hi = 60999, ports;
    FILE *f;

    if (getrlimit(RLIMIT_NOFILE, &rl))
        return -errno;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl))
            fprintf(stderr, "tether-swarm: cannot raise the open files limit: %s\n",
                    strerror(errno));
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if ((long long)rl.rlim_cur < need) {
        fprintf(stderr, "tether-swarm: %d agents need about %lld open files (one socket each, "
                        "plus %lld HTTP connections and a few more), but the limit is %llu (hard "
                        "limit %llu): lower --n, or raise the hard limit (ulimit -Hn as root, or "
                        "LimitNOFILE=)\n", sw->n, need, (long long)sw->cfg.http_conns,
                (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
        return -EMFILE;
    }
    f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%lld %lld", &lo, &hi) != 2)
            lo = 32768, hi = 60999;
        fclose(f);
    }
    ports = (hi - lo + 1) * sw->cfg.source_ips;
    if (sw->n + sw->cfg.http_conns > ports * 9 / 10) {
        fprintf(stderr, "tether-swarm: %lld sockets to one server address need more ephemeral "
                        "ports than %lld source address(es) give (%lld each): use --source-ips "
                        "%lld\n", sw->n + (long long)sw->cfg.http_conns,
                (long long)sw->cfg.source_ips, hi - lo + 1,
                (sw->n + sw->cfg.http_conns) * 10 / 9 / (hi - lo + 1) + 1);
        return -EADDRNOTAVAIL;
    }
    log_info("open files limit %llu, %lld ephemeral ports per source address",
             (unsigned long long)rl.rlim_cur, hi - lo + 1);
    return 0;
}

/* One turn of the event loop: lws's own poll loop, or the libev loop lws runs on. Returns < 0
 * when the loop cannot go on. */
static int service(struct swarm *sw)
{
#ifdef SWARM_HAVE_LIBEV
    if (sw->ev_loop) {
        ev_run(sw->ev_loop, EVRUN_ONCE);
        return 0;
    }
#endif
    return lws_service(sw->ctx, 0);
}

static void lws_log_bridge(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        n--;
    log_msg(level & LLL_ERR ? LOG_WARN : LOG_DEBUG, "lws: %.*s", (int)n, line);
}

static void progress(struct swarm *sw)
{
    fprintf(stderr, "swarm: %6.1fs connected %d/%d (handshaking %d) kicks %llu pulls %llu "
                    "tasks %llu/%llu http %zu in flight on %zu conns, errors %llu%s\n",
            (double)(tm_mono_ms() - sw->started_mono) / 1000.0, sw->connected, sw->n,
            sw->connecting, (unsigned long long)sw->st.kicks, (unsigned long long)sw->st.pulls,
            (unsigned long long)sw->st.tasks_finished, (unsigned long long)sw->st.tasks_started,
            hpool_in_flight(sw->pool), hpool_open_conns(sw->pool),
            (unsigned long long)(sw->st.http_errors + sw->st.connect_errors),
            sw->exiting ? " (closing)" : "");
}

struct ticker {
    lws_sorted_usec_list_t sul;
    struct swarm *sw;
    int64_t last_progress;
    uint64_t last_events;
};

/* Spreads pings and heartbeats evenly: slot k of an interval of I ms falls due at k * I / n ms
 * after the wheel started, for agent k mod n. */
static void wheel_turn(struct swarm *sw, int64_t now)
{
    int64_t elapsed = now - sw->wheel_start_mono;

    if (!sw->wheel_start_mono || sw->exiting)
        return;
    if (sw->cfg.ping_s > 0) {
        uint64_t due = (uint64_t)(elapsed * sw->n / (sw->cfg.ping_s * 1000));
        for (; sw->ping_cursor < due; sw->ping_cursor++)
            ws_ping(&sw->agents[sw->ping_cursor % (uint64_t)sw->n]);
    }
    if (sw->cfg.heartbeat_s > 0) {
        uint64_t due = (uint64_t)(elapsed * sw->n / (sw->cfg.heartbeat_s * 1000));
        for (; sw->heartbeat_cursor < due; sw->heartbeat_cursor++)
            heartbeat_send(&sw->agents[sw->heartbeat_cursor % (uint64_t)sw->n]);
    }
}

static void tick_cb(lws_sorted_usec_list_t *sul)
{
    struct ticker *t = lws_container_of(sul, struct ticker, sul);
    struct swarm *sw = t->sw;
    int64_t now = tm_mono_ms();
    uint64_t events = sw->st.kicks + sw->st.http_requests + sw->st.connects;

    hpool_tick(sw->pool);
    wheel_turn(sw, now);
    /* Every second while something happens, every 10 s when idle. */
    if (now - t->last_progress >= 1000 &&
        (events != t->last_events || now - t->last_progress >= 10000)) {
        progress(sw);
        t->last_progress = now;
        t->last_events = events;
    }
    if (sw->cfg.duration > 0 && now - sw->started_mono >= sw->cfg.duration * 1000)
        stop_flag = 1;
    lws_sul_schedule(sw->ctx, 0, &t->sul, tick_cb, 100 * LWS_US_PER_MS);
}

static void registered(struct sagent *a, int ok)
{
    (void)ok;
    a->sw->pending_registrations--;
}

static int phase_register(struct swarm *sw)
{
    int64_t t0 = tm_mono_ms();
    int missing = identity_missing(sw);

    if (missing && !sw->cfg.activation_code) {
        fprintf(stderr, "tether-swarm: %d agents have no saved identity: give --activation-code "
                        "(or $TETHER_ACTIVATION_CODE) with at least %d uses\n", missing, missing);
        return -EINVAL;
    }
    sw->pending_registrations = missing;
    for (int i = 0; i < sw->n && !stop_flag; i++)
        if (!sw->agents[i].agent_id[0])
            identity_register(&sw->agents[i], registered);
    while (sw->pending_registrations > 0 && !stop_flag)
        if (service(sw) < 0)
            break;
    swarm_emit(sw, "register", "\"registered\":%llu,\"reused\":%llu,\"failed\":%llu,"
               "\"seconds\":%.3f",
               (unsigned long long)sw->st.registered, (unsigned long long)sw->st.reused,
               (unsigned long long)sw->st.register_failed,
               (double)(tm_mono_ms() - t0) / 1000.0);
    if (sw->state_dirty)
        identity_save(sw);
    return identity_missing(sw) ? -EIO : 0;
}

static void phase_run(struct swarm *sw)
{
    sw->connect_start_mono = tm_mono_ms();
    sw->connect_start_ms = tm_now_ms();
    sw->wheel_start_mono = sw->connect_start_mono;
    for (int i = 0; i < sw->n; i++)
        ws_queue_connect(sw, &sw->agents[i], 0);
    while (!stop_flag)
        if (service(sw) < 0)
            break;
}

/* Closes every WebSocket with 1001, drops the requests not sent yet and lets those in flight
 * finish, for at most 3 s. */
static void phase_close(struct swarm *sw)
{
    int64_t deadline = tm_mono_ms() + 3000;

    sw->exiting = true;
    hpool_drop_queued(sw->pool);
    ws_close_all(sw);
    while ((sw->connected > 0 || sw->connecting > 0 || hpool_in_flight(sw->pool) > 0) &&
           tm_mono_ms() < deadline)
        if (service(sw) < 0)
            break;
    progress(sw);
    swarm_emit(sw, "exit",
               "\"connected\":%d,\"connects\":%llu,\"disconnects\":%llu,\"connect_errors\":%llu,"
               "\"reregistered\":%llu,\"kicks\":%llu,\"cancels\":%llu,\"acks\":%llu,"
               "\"pulls\":%llu,\"tasks_started\":%llu,\"tasks_finished\":%llu,"
               "\"tasks_failed\":%llu,\"tasks_rejected\":%llu,\"spawned\":%llu,"
               "\"heartbeats\":%llu,\"http_requests\":%llu,\"http_errors\":%llu,"
               "\"http_retries\":%llu,\"http_conns_opened\":%llu,\"seconds\":%.3f",
               sw->connected, (unsigned long long)sw->st.connects,
               (unsigned long long)sw->st.disconnects, (unsigned long long)sw->st.connect_errors,
               (unsigned long long)sw->st.reregistered, (unsigned long long)sw->st.kicks,
               (unsigned long long)sw->st.cancels, (unsigned long long)sw->st.acks,
               (unsigned long long)sw->st.pulls, (unsigned long long)sw->st.tasks_started,
               (unsigned long long)sw->st.tasks_finished, (unsigned long long)sw->st.tasks_failed,
               (unsigned long long)sw->st.tasks_rejected, (unsigned long long)sw->st.spawned,
               (unsigned long long)sw->st.heartbeats, (unsigned long long)sw->st.http_requests,
               (unsigned long long)sw->st.http_errors, (unsigned long long)sw->st.http_retries,
               (unsigned long long)sw->st.http_conns_opened,
               (double)(tm_mono_ms() - sw->started_mono) / 1000.0);
}

static int setup_agents(struct swarm *sw)
{
    sw->n = (int)sw->cfg.n;
    sw->agents = calloc((size_t)sw->n, sizeof *sw->agents);
    if (!sw->agents)
        return -ENOMEM;
    for (int i = 0; i < sw->n; i++) {
        struct sagent *a = &sw->agents[i];
        long long num = sw->cfg.first + i;
        a->sw = sw;
        a->idx = i;
        snprintf(a->name, sizeof a->name, "%.40s-%05lld", sw->cfg.prefix, num);
        snprintf(a->machine_id, sizeof a->machine_id, "%.40s-machine-%05lld", sw->cfg.prefix,
                 num);
        if (!name_valid(a->name)) {
            fprintf(stderr, "tether-swarm: '%s' is not a valid agent name (--prefix)\n", a->name);
            return -EINVAL;
        }
        if (sw->cfg.source_ips > 1)
            snprintf(a->source_ip, sizeof a->source_ip, "127.0.0.%u",
                     1 + (unsigned)(i % sw->cfg.source_ips) % 254);
    }
    return 0;
}

static int setup_output(struct swarm *sw)
{
    size_t n = (size_t)sw->cfg.output_bytes, cap;
    char *raw;

    if (!n)
        return 0;
    raw = malloc(n);
    cap = b64_encoded_len(n) + 1;
    sw->output_b64 = malloc(cap);
    if (!raw || !sw->output_b64) {
        free(raw);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        raw[i] = (i + 1) % 64 == 0 ? '\n' : (char)('a' + i % 26);
    if (b64_encode(raw, n, sw->output_b64, cap) < 0) {
        free(raw);
        return -ENOMEM;
    }
    free(raw);
    return 0;
}

static int setup_context(struct swarm *sw)
{
    static struct lws_protocols protocols[4];
    struct lws_context_creation_info info;

    protocols[0] = ws_protocol;
    protocols[1] = hpool_protocol;
    protocols[2] = spawner_protocol;
    memset(&protocols[3], 0, sizeof protocols[3]);
    /* Both zero: lws keeps no validity timer per connection (pings come from the wheel). */
    sw->ws_policy.secs_since_valid_ping = 0;
    sw->ws_policy.secs_since_valid_hangup = 0;
    lws_set_log_level(LLL_ERR, lws_log_bridge);
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.user = sw;
    if (!strcmp(sw->cfg.event_lib, "libev")) {
#ifdef SWARM_HAVE_LIBEV
        /* Our own loop ("foreign" to lws): lws adds its watchers, we run it one turn at a time
         * and keep our SIGINT/SIGTERM handling. */
        static void *foreign[1];
        sw->ev_loop = ev_loop_new(EVBACKEND_EPOLL);
        if (!sw->ev_loop)
            return -EIO;
        foreign[0] = sw->ev_loop;
        info.options |= LWS_SERVER_OPTION_LIBEV;
        info.foreign_loops = foreign;
#else
        fprintf(stderr, "tether-swarm: built without libev: use --event-lib poll\n");
        return -ENOTSUP;
#endif
    } else if (strcmp(sw->cfg.event_lib, "poll")) {
        fprintf(stderr, "tether-swarm: --event-lib is libev or poll\n");
        return -EINVAL;
    }
    sw->ctx = lws_create_context(&info);
    if (!sw->ctx)
        return -EIO;
    sw->vh = lws_get_vhost_by_name(sw->ctx, "default");
    return 0;
}

int main(int argc, char **argv)
{
    struct swarm sw;
    struct ticker ticker;
    struct sigaction sa;
    enum log_level level;
    const char *env_code = getenv("TETHER_ACTIVATION_CODE");
    int rc = 2;

    memset(&sw, 0, sizeof sw);
    memset(&ticker, 0, sizeof ticker);
    sw.stop = &stop_flag;
    sw.started_mono = tm_mono_ms();
    srandom((unsigned)(tm_now_ms() ^ getpid()));
    if (cfg_defaults(swarm_options, &sw.cfg) || parse_args(&sw.cfg, argc, argv))
        goto out;
    if (!sw.cfg.activation_code && env_code && *env_code &&
        !(sw.cfg.activation_code = strdup(env_code)))
        goto out;
    if (strcmp(sw.cfg.mode, "instant") && strcmp(sw.cfg.mode, "true")) {
        fprintf(stderr, "tether-swarm: --mode is instant or true\n");
        goto out;
    }
    if (!identity_tags_valid(sw.cfg.tags)) {
        fprintf(stderr, "tether-swarm: --tags: expected k=v,k2=v2 with valid tag names\n");
        goto out;
    }
    if (log_level_parse(sw.cfg.log_level, &level) || log_open(NULL, level, "tether-swarm", 0)) {
        fprintf(stderr, "tether-swarm: --log-level: error, warn, info or debug\n");
        goto out;
    }
    if (parse_server(&sw) || setup_agents(&sw) || check_limits(&sw))
        goto out;
    rc = 1;
    if (identity_load(&sw) || setup_output(&sw) || setup_context(&sw))
        goto out;
    sw.pool = hpool_create(&sw);
    if (!sw.pool)
        goto out;
    if (!strcmp(sw.cfg.mode, "true") && !(sw.sp = spawner_create(&sw))) {
        fprintf(stderr, "tether-swarm: cannot set up child processes: %s\n", strerror(errno));
        goto out;
    }
    signal_ctx = sw.ctx;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    ticker.sw = &sw;
    lws_sul_schedule(sw.ctx, 0, &ticker.sul, tick_cb, 100 * LWS_US_PER_MS);

    if (phase_register(&sw)) {
        fprintf(stderr, "tether-swarm: %d agents could not be registered\n",
                identity_missing(&sw));
        goto out;
    }
    rc = 0;
    if (!sw.cfg.register_only && !stop_flag)
        phase_run(&sw);
    phase_close(&sw);
out:
    if (sw.state_dirty)
        identity_save(&sw);
    if (sw.ctx) {
        lws_sul_cancel(&ticker.sul);
        signal_ctx = NULL;
        lws_context_destroy(sw.ctx);
    }
#ifdef SWARM_HAVE_LIBEV
    if (sw.ev_loop)
        ev_loop_destroy(sw.ev_loop);
#endif
    spawner_destroy(sw.sp);
    hpool_destroy(sw.pool);
    if (sw.agents)
        for (int i = 0; i < sw.n; i++)
            buf_free(&sw.agents[i].rx);
    free(sw.agents);
    free(sw.output_b64);
    if (sw.cfg.activation_code)
        explicit_bzero(sw.cfg.activation_code, strlen(sw.cfg.activation_code));
    cfg_free(swarm_options, &sw.cfg);
    return rc;
}
