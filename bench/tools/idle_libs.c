/*
 * idle_libs: what loading the agent's libraries costs a program that does nothing. bench/run.py
 * links it against the same shared libraries as tether-agent (the NEEDED entries of the built
 * binary, with --no-as-needed so none is dropped) and reads its RSS, RssAnon and Pss while it
 * sleeps. It writes "ready" to stdout once loaded, then waits in pause() until killed.
 *
 * With the argument "init" it first initialises OpenSSL (OPENSSL_init_ssl, as http_global_init
 * does), to show what initialisation adds on top of loading.
 */
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "init") == 0) {
        if (OPENSSL_init_ssl(0, NULL) != 1) {
            fprintf(stderr, "idle_libs: OPENSSL_init_ssl failed\n");
            return 1;
        }
    }
    if (printf("ready\n") < 0 || fflush(stdout) != 0)
        return 1;
    for (;;)
        pause();
}
