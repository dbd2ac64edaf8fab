/*
 * Ctrl-C while the CLI waits for remote work: the work goes on on the server, so the CLI says how
 * to stop it and exits 130. The wait sits inside a blocking libcurl call, so the handler itself
 * writes the prepared line and calls _exit (both async-signal-safe) instead of setting a flag that
 * nobody would look at until the next byte arrives.
 */
#ifndef TETHER_CLI_INTERRUPT_H
#define TETHER_CLI_INTERRUPT_H

/* Installs the SIGINT/SIGTERM handler with this line (copied; a newline is added). */
void interrupt_install(const char *line);

#endif
