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

static void on_interrupt(int sig)
{
    ssize_t w;

    (void)sig;
    w = write(STDERR_FILENO, interrupt_line, interrupt_len);
    (void)w;
    _exit(EXIT_INTERRUPTED);
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
