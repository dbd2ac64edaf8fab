/* Ctrl-C handling while waiting; see interrupt.h. */
#include "cli/interrupt.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

/* A signal handler can reach nothing but static storage; this is the only process-wide state in
 * the CLI and it is written once, before the handler is installed. The second line form starts by
 * erasing the terminal line (the progress line of a multi-target run) instead of starting a new
 * one; the flag picks it. */
static char interrupt_line[2][256];
static size_t interrupt_len[2];
static volatile sig_atomic_t erase_line;
/* A full-screen view (tether top): what puts the terminal back, and its exit status. */
static char restore_seq[64];
static size_t restore_len;
static int restore_out = -1, restore_in = -1;
static struct termios restore_mode;
static int interrupt_status = EXIT_INTERRUPTED;
/* Full-screen mode: the first signal only asks the view's loop to leave (it owns the screen and
 * stdout's buffer, so it puts both back in order); a second one, should the loop be stuck in a
 * request, restores and exits from here. */
static bool restore_deferred;
static volatile sig_atomic_t quit_requested;

static void on_interrupt(int sig)
{
    int k = erase_line ? 1 : 0;
    ssize_t w;

    (void)sig;
    if (restore_deferred && !quit_requested) {
        quit_requested = 1;
        return;
    }
    /* write(2), tcsetattr(3) and _exit(2) are async-signal-safe */
    if (restore_out >= 0 && restore_len) {
        w = write(restore_out, restore_seq, restore_len);
        (void)w;
    }
    if (restore_in >= 0)
        tcsetattr(restore_in, TCSANOW, &restore_mode);
    if (interrupt_len[k]) {
        w = write(STDERR_FILENO, interrupt_line[k], interrupt_len[k]);
        (void)w;
    }
    _exit(interrupt_status);
}

static size_t clamp(int n, size_t cap)
{
    return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

static void install_handler(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void interrupt_erase_line(bool erase)
{
    erase_line = erase;
}

void interrupt_install_restore(int out_fd, const char *seq, int in_fd,
                               const struct termios *mode)
{
    restore_len = clamp(snprintf(restore_seq, sizeof restore_seq, "%s", seq), sizeof restore_seq);
    restore_out = out_fd;
    if (mode) {
        restore_mode = *mode;
        restore_in = in_fd;
    }
    interrupt_len[0] = interrupt_len[1] = 0;
    interrupt_status = EXIT_OK;
    restore_deferred = true;
    install_handler();
}

bool interrupt_requested(void)
{
    return quit_requested != 0;
}

void interrupt_install(const char *line)
{
    interrupt_len[0] = clamp(snprintf(interrupt_line[0], sizeof interrupt_line[0], "\n%s\n",
                                      line), sizeof interrupt_line[0]);
    interrupt_len[1] = clamp(snprintf(interrupt_line[1], sizeof interrupt_line[1],
                                      "\r\x1b[K%s\n", line), sizeof interrupt_line[1]);
    install_handler();
}
