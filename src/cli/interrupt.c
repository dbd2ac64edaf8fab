/* Ctrl-C handling while waiting; see interrupt.h. */
#include "cli/interrupt.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

/* A signal handler can reach nothing but static storage; this is the only process-wide state in
 * the CLI and it is written once, before the handler is installed. */
static char interrupt_line[256];
static size_t interrupt_len;
/* A full-screen view (tether top): what puts the terminal back, and its exit status. */
static char restore_seq[64];
static size_t restore_len;
static int restore_out = -1, restore_in = -1;
static struct termios restore_mode;
static int interrupt_status = EXIT_INTERRUPTED;

static void on_interrupt(int sig)
{
    ssize_t w;

    (void)sig;
    /* write(2), tcsetattr(3) and _exit(2) are async-signal-safe */
    if (restore_out >= 0 && restore_len) {
        w = write(restore_out, restore_seq, restore_len);
        (void)w;
    }
    if (restore_in >= 0)
        tcsetattr(restore_in, TCSANOW, &restore_mode);
    if (interrupt_len) {
        w = write(STDERR_FILENO, interrupt_line, interrupt_len);
        (void)w;
    }
    _exit(interrupt_status);
}

void interrupt_install_restore(int out_fd, const char *seq, int in_fd,
                               const struct termios *mode)
{
    struct sigaction sa;
    int n = snprintf(restore_seq, sizeof restore_seq, "%s", seq);

    restore_len = n < 0 ? 0 : (size_t)n >= sizeof restore_seq ? sizeof restore_seq - 1
                                                              : (size_t)n;
    restore_out = out_fd;
    if (mode) {
        restore_mode = *mode;
        restore_in = in_fd;
    }
    interrupt_len = 0;
    interrupt_status = EXIT_OK;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void interrupt_install(const char *line)
{
    struct sigaction sa;
    int n = snprintf(interrupt_line, sizeof interrupt_line, "\n%s\n", line);

    interrupt_len = n < 0 ? 0 : (size_t)n >= sizeof interrupt_line ? sizeof interrupt_line - 1
                                                                   : (size_t)n;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}
