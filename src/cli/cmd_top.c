/*
 * `tether top [--interval SECONDS] [--once]`: the agents and the running tasks, redrawn every
 * interval on a terminal (the alternate screen, put back on q, Ctrl-C or SIGTERM); one snapshot
 * when stdout is not a terminal or with --once. Two GETs per frame: /v1/agents and
 * /v1/tasks?status=running.
 */
#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli/interrupt.h"
#include "cli/output.h"
#include "cli/top_view.h"
#include "common/tm.h"

const char top_usage[] =
    "usage: tether top [--interval SECONDS] [--once]\n"
    "\n"
    "A live view of the agents (status, running tasks, load, version, last seen) and of the\n"
    "tasks running now (task, agent, running for, command), longest running first. On a\n"
    "terminal it redraws every interval; q (or Ctrl-C) quits and puts the terminal back.\n"
    "When stdout is not a terminal, or with --once, it prints one snapshot and exits.\n"
    "\n"
    "      --interval S    seconds between refreshes (0.2...3600, default 2; 2s, 1m too)\n"
    "      --once          print one snapshot and exit\n"
    "\n"
    "RUNNING counts the tasks the server has running on the agent; LOAD is the 1-minute load\n"
    "of the agent's last heartbeat.\n"
    "\n"
    "example: tether top\n"
    "         tether top --interval 5\n"
    "         tether top --once | grep web-\n";

enum { T_HELP = 1, T_INTERVAL, T_ONCE };

const struct opt_spec top_specs[] = {
    { "help", 'h', false, T_HELP },
    { "interval", 0, true, T_INTERVAL },
    { "once", 0, false, T_ONCE },
    { NULL, 0, false, 0 },
};

/* Entering and leaving the full-screen view: alternate screen, cursor hidden. */
#define SCREEN_ENTER "\x1b[?1049h\x1b[?25l"
#define SCREEN_LEAVE "\x1b[?25h\x1b[?1049l"
#define TOP_TASK_LIMIT "1000"

/* Set by SIGWINCH: poll() returns early and the next frame takes the new size. */
static volatile sig_atomic_t resized;

static void on_winch(int sig)
{
    (void)sig;
    resized = 1;
}

/* "2", "0.5", "2s", "1m" -> milliseconds within 200 ms … 1 h. 0 or -EINVAL. */
static int parse_interval(const char *s, int64_t *ms)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || !isfinite(v))
        return -EINVAL;
    if (*end == 'm' && end[1] == '\0')
        v *= 60;
    else if (!(*end == '\0' || (*end == 's' && end[1] == '\0')))
        return -EINVAL;
    if (v < 0.2 || v > 3600)
        return -EINVAL;
    *ms = (int64_t)(v * 1000 + 0.5);
    return 0;
}

struct snapshot {
    json_t *agents_doc, *tasks_doc;
    char error[256];
};

static void snapshot_free(struct snapshot *s)
{
    json_decref(s->agents_doc);
    json_decref(s->tasks_doc);
    memset(s, 0, sizeof *s);
}

/* Both listings. loud: print a failure like every command (a snapshot); else keep it in
 * s->error for the frame, and the view goes on. Returns 0 or EXIT_API. */
static int fetch(struct cli *c, struct snapshot *s, bool loud)
{
    long status;
    int rc;

    memset(s, 0, sizeof *s);
    if (loud) {
        rc = cli_api(c, "GET", "/v1/agents", NULL, &s->agents_doc);
        if (rc == 0)
            rc = cli_api(c, "GET", "/v1/tasks?status=running&limit=" TOP_TASK_LIMIT, NULL,
                         &s->tasks_doc);
        return rc;
    }
    rc = cli_api_quiet(c, "GET", "/v1/agents", NULL, &s->agents_doc, &status, s->error,
                       sizeof s->error);
    if (rc == 0)
        rc = cli_api_quiet(c, "GET", "/v1/tasks?status=running&limit=" TOP_TASK_LIMIT, NULL,
                           &s->tasks_doc, &status, s->error, sizeof s->error);
    if (rc && !s->error[0])
        snprintf(s->error, sizeof s->error, "HTTP %ld", status);
    return rc;
}

static int render(struct cli *c, const struct snapshot *s, const struct top_size *size,
                  const char *eol, struct buf *out)
{
    struct top_input in = {
        .server = c->server,
        .agents = json_object_get(s->agents_doc, "agents"),
        .tasks = json_object_get(s->tasks_doc, "tasks"),
        .running_total = json_integer_value(json_object_get(s->tasks_doc, "count")),
        .error = s->error[0] ? s->error : NULL,
        .now_ms = tm_now_ms(),
    };
    if (in.running_total < (int64_t)json_array_size(in.tasks))
        in.running_total = (int64_t)json_array_size(in.tasks);
    return top_render(&in, size, eol, out);
}

static int top_once(struct cli *c)
{
    struct snapshot s;
    struct top_size unlimited = { 0, 0 };
    struct buf out = BUF_INIT;
    int rc = fetch(c, &s, true);

    if (rc == 0 && render(c, &s, &unlimited, "\n", &out) != 0)
        rc = cli_fail("out of memory");
    if (rc == 0)
        out_write(stdout, out.data, out.len);
    buf_free(&out);
    snapshot_free(&s);
    return rc;
}

static struct top_size terminal_size(void)
{
    struct winsize ws;
    struct top_size size = { 80, 24 };

    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
        size.cols = ws.ws_col;
        size.rows = ws.ws_row;
    }
    return size;
}

/* Waits up to ms for a key; true when it was q or a signal asked to quit. Other keys refresh at
 * once. */
static bool wait_key(bool keys, int64_t ms)
{
    struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
    int64_t deadline = tm_mono_ms() + ms;

    for (;;) {
        int64_t left = deadline - tm_mono_ms();
        char ch[16];
        ssize_t n;
        int r;

        if (interrupt_requested())
            return true;
        if (left <= 0 || resized)
            return false;
        r = poll(keys ? &p : NULL, keys ? 1 : 0, (int)left);
        if (r < 0 && errno == EINTR)
            continue; /* a resize: the loop sees the flag */
        if (r <= 0)
            return false;
        if (!(p.revents & POLLIN)) {
            keys = false; /* hung up: keep refreshing until a signal */
            continue;
        }
        n = read(STDIN_FILENO, ch, sizeof ch);
        if (n <= 0) {
            keys = false;
            continue;
        }
        for (ssize_t i = 0; i < n; i++)
            if (ch[i] == 'q' || ch[i] == 'Q')
                return true;
        return false;
    }
}

/* Raw-ish input: no echo, no line buffering, no Ctrl-Z (a stopped top would leave the screen
 * as it is); Ctrl-C still raises SIGINT. Returns true when the mode was changed (saved kept). */
static bool keys_raw(struct termios *saved)
{
    struct termios raw;

    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, saved) != 0)
        return false;
    raw = *saved;
    raw.c_lflag &= (tcflag_t)~(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
#ifdef _POSIX_VDISABLE
    raw.c_cc[VSUSP] = _POSIX_VDISABLE;
#endif
    return tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
}

static int top_live(struct cli *c, int64_t interval_ms)
{
    struct termios saved;
    struct sigaction sa;
    bool keys = keys_raw(&saved);
    struct buf frame = BUF_INIT;
    int rc = 0;

    /* installed before the screen changes: a Ctrl-C from here on puts it back */
    interrupt_install_restore(STDOUT_FILENO, SCREEN_LEAVE, STDIN_FILENO, keys ? &saved : NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_winch;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGWINCH, &sa, NULL); /* no SA_RESTART: poll() wakes up */
    out_write(stdout, SCREEN_ENTER, strlen(SCREEN_ENTER));
    for (;;) {
        struct snapshot s;
        struct top_size size;

        resized = 0;
        fetch(c, &s, false);
        if (interrupt_requested()) {
            snapshot_free(&s);
            break;
        }
        size = terminal_size();
        buf_reset(&frame);
        if (buf_append_str(&frame, "\x1b[H") || render(c, &s, &size, "\x1b[K\n", &frame) ||
            buf_append_str(&frame, "\x1b[J")) {
            snapshot_free(&s);
            rc = EXIT_API;
            break;
        }
        /* the last line's newline would scroll a full screen by one */
        if (frame.len > 6 && !memcmp(frame.data + frame.len - 4, "\n\x1b[J", 4))
            memmove(frame.data + frame.len - 4, "\x1b[J", 4), frame.len--;
        out_write(stdout, frame.data, frame.len);
        snapshot_free(&s);
        if (wait_key(keys, interval_ms))
            break;
    }
    buf_free(&frame);
    out_write(stdout, SCREEN_LEAVE, strlen(SCREEN_LEAVE));
    if (keys)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    if (rc)
        cli_fail("out of memory");
    return rc;
}

int cmd_top(struct cli *c, int argc, char **argv)
{
    struct opt_iter it;
    const char *val;
    int64_t interval_ms = 2000;
    bool once = false;
    int id;

    opt_iter_init(&it, "top", argc, argv, false);
    while ((id = opt_next(&it, top_specs, &val)) != OPT_END) {
        if (id == OPT_ERROR)
            return EXIT_USAGE;
        if (id == T_HELP) {
            fputs(top_usage, stdout);
            return 0;
        }
        if (id == T_ONCE)
            once = true;
        if (id == T_INTERVAL && parse_interval(val, &interval_ms) != 0)
            return cli_usage("top", "--interval: '%s' is not 0.2...3600 seconds", val);
        if (id == OPT_POSITIONAL)
            return cli_usage("top", "takes no arguments");
    }
    if (once || !c->out_tty)
        return top_once(c);
    if (!cli_http(c))
        return EXIT_API;
    return top_live(c, interval_ms);
}
