/*
 * Ctrl-C while the CLI waits for remote work: the work goes on on the server, so the CLI says how
 * to stop it and exits 130. The wait sits inside a blocking libcurl call, so the handler itself
 * writes the prepared line and calls _exit (both async-signal-safe) instead of setting a flag that
 * nobody would look at until the next byte arrives.
 */
#ifndef TETHER_CLI_INTERRUPT_H
#define TETHER_CLI_INTERRUPT_H

#include <stdbool.h>

/* Installs the SIGINT/SIGTERM handler with this line (copied; a newline is added). */
void interrupt_install(const char *line);
/* true while a progress line is on the terminal: the message then replaces that line. */
void interrupt_erase_line(bool erase);

#endif
