/*
 * Ctrl-C while the CLI waits for remote work: the work goes on on the server, so the CLI says how
 * to stop it and exits 130. The wait sits inside a blocking HTTP call (its poll() goes on after
 * EINTR), so the handler itself writes the prepared line and calls _exit (both async-signal-safe)
 * instead of setting a flag that nobody would look at until the next byte arrives.
 */
#ifndef TETHER_CLI_INTERRUPT_H
#define TETHER_CLI_INTERRUPT_H

#include <stdbool.h>
#include <termios.h>

/* Installs the SIGINT/SIGTERM handler with this line (copied; a newline is added). */
void interrupt_install(const char *line);
/* true while a progress line is on the terminal: the message then replaces that line. */
void interrupt_erase_line(bool erase);

/* For a full-screen view, where Ctrl-C is the normal way out: the first SIGINT or SIGTERM only
 * sets the flag interrupt_requested() reads (installed without SA_RESTART, so a waiting poll()
 * returns EINTR) and the view leaves the screen itself. A second signal writes seq (copied, at
 * most 63 bytes) to out_fd, puts terminal in_fd back into mode (when mode is not NULL) and exits
 * 0, printing no line. */
void interrupt_install_restore(int out_fd, const char *seq, int in_fd,
                               const struct termios *mode);
bool interrupt_requested(void);

#endif
