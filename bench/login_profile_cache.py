"""Cost of the login profile per task, with and without the environment cache (issue 3/9).

Runs `tether run -t X -- true` N times (default 20) against a fresh server and agent with
login_profile=yes as root, once with profile_cache=0 and once with profile_cache=300, and prints
the median, min and max wall time of the whole CLI process. Measured, never asserted.

    TETHER_BIN=build/bin python3 bench/login_profile_cache.py [N]
"""
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from harness import CLI_BIN, TetherTest  # noqa: E402


class Bench(TetherTest):
    def runTest(self):
        pass


def measure(t, server, name, cache, n):
    agent = t.start_agent(server, name, extra_args=["--set", "login_profile=yes",
                                                    "--set", "profile_cache=%d" % cache])
    env = dict(os.environ, TETHER_SERVER=server.url, TETHER_API_KEY=server.key, HOME=t.workdir)
    times = []
    for i in range(n + 1):
        t0 = time.monotonic()
        subprocess.run([CLI_BIN, "run", "-t", name, "--", "true"], env=env, check=True,
                       capture_output=True)
        if i:  # the first run fills the cache (or warms the page cache): not counted
            times.append((time.monotonic() - t0) * 1000)
    agent.stop()
    return times


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    t = Bench()
    t.setUp()
    try:
        server = t.start_server()
        for cache in (0, 300):
            ms = measure(t, server, "bench%d" % cache, cache, n)
            print("profile_cache=%-3d median %.1f ms  min %.1f  max %.1f  (n=%d)" % (
                cache, statistics.median(ms), min(ms), max(ms), len(ms)))
    finally:
        t.doCleanups()


if __name__ == "__main__":
    main()
