/*
 * spawn_floor: the floor under any remote `true`. Starts /bin/true with posix_spawn and waits for
 * it with waitpid, N times, and prints the wall time of each round in microseconds, one per line
 * (CLOCK_MONOTONIC around posix_spawn + waitpid); what it measures goes to stderr first.
 * bench/latency.py reads the lines.
 *
 *   spawn_floor [N]        N rounds, default 200 (1 ... 1000000)
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    long rounds = 200;
    if (argc > 1) {
        char *end;
        errno = 0;
        rounds = strtol(argv[1], &end, 10);
        if (errno || *end || rounds < 1 || rounds > 1000000) {
            fprintf(stderr, "usage: spawn_floor [N]\n");
            return 2;
        }
    }
    char *child_argv[] = {"true", NULL};
    fprintf(stderr, "spawn_floor: %ld rounds of posix_spawn(/bin/true) + waitpid, wall time per "
                    "round in microseconds (CLOCK_MONOTONIC), one per line on stdout\n", rounds);
    for (long i = 0; i < rounds; i++) {
        pid_t pid;
        int status;
        double t0 = now_us();
        int rc = posix_spawn(&pid, "/bin/true", NULL, NULL, child_argv, environ);
        if (rc != 0) {
            fprintf(stderr, "spawn_floor: posix_spawn: %s\n", strerror(rc));
            return 1;
        }
        while (waitpid(pid, &status, 0) < 0) {
            if (errno != EINTR) {
                perror("spawn_floor: waitpid");
                return 1;
            }
        }
        double t1 = now_us();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "spawn_floor: /bin/true did not exit 0\n");
            return 1;
        }
        printf("%.1f\n", t1 - t0);
    }
    return 0;
}
