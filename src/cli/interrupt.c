/* Ctrl-C handling while waiting; see interrupt.h. */
#include "cli/interrupt.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

/* A signal handler can reach nothing but static storage; the lines are written once, before the
 * handler is installed. The second form starts by erasing the terminal line (the progress line of
 * a multi-target run) instead of starting a new one; the flag picks it. */
static char interrupt_line[2][256];
static size_t interrupt_len[2];
static volatile sig_atomic_t erase_line;

static void on_interrupt(int sig)
{
    int k = erase_line ? 1 : 0;
    ssize_t w;

    (void)sig;
    w = write(STDERR_FILENO, interrupt_line[k], interrupt_len[k]);
    (void)w;
    _exit(EXIT_INTERRUPTED);
}

static size_t clamp(int n, size_t cap)
{
    return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

void interrupt_erase_line(bool erase)
{
    erase_line = erase;
}

void interrupt_install(const char *line)
{
    struct sigaction sa;

    interrupt_len[0] = clamp(snprintf(interrupt_line[0], sizeof interrupt_line[0], "\n%s\n",
                                      line), sizeof interrupt_line[0]);
    interrupt_len[1] = clamp(snprintf(interrupt_line[1], sizeof interrupt_line[1],
                                      "\r\x1b[K%s\n", line), sizeof interrupt_line[1]);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}
