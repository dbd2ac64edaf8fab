/*
 * Optional lean shim executable: `tether-task-shim task-shim DIR [--go-fd=3]`, the same code as
 * `tether-agent task-shim DIR` but linked only against libc and jansson (nothing it links may
 * need libcrypto: see ids_new.c), so exec'ing it costs a few ms less than the full agent's. The
 * agent uses it when it sits next to its own binary and falls back to /proc/self/exe otherwise. Not in the source
 * globs on purpose: it needs its own CMake target (see docs/agent.md, "Shim binary").
 */
#include "task/shim.h"

int main(int argc, char **argv)
{
    return shim_main_args(argc, argv);
}
