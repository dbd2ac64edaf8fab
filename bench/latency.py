#!/usr/bin/env python3
"""One-host latency of `true` (issue 9), printed as it is measured.

Every figure is the wall clock around one client process (time.monotonic before spawn, after
exit), N runs after a few warm-up runs that are not counted:
- `tether run -t HOST -- true` against a local server and agent (tasks as root, login_profile=no,
  log level info), plus the server-side invoke→finish time of the same runs: the task's
  `finished_at` minus the invocation's `created_at` (server clock, millisecond timestamps), and its
  phases created→dispatched→started→finished;
- the same with the agent's defaults for login profiles (login_profile=yes, profile_cache=300 s),
  fewer runs, for information;
- `ssh HOST true` to the bench sshd (bench/benchlib.py: its own keys and config on a loopback port),
  a new connection each time (ControlMaster=no, ControlPath=none);
- the same through a ControlMaster connection started (and checked) before timing;
- `ansible HOST -m command -a true` over that sshd, Ansible's own ControlPersist master warm from
  the warm-up runs (fewer runs: each costs a second or more);
- bench/tools/spawn_floor.c: posix_spawn + waitpid of /bin/true, timed inside the C tool (the
  floor).

    python3 bench/latency.py [--runs 200] [--ansible-runs 30] [--bin build/bin]
"""

import argparse
import os
import subprocess

import benchlib as bl

WARMUP = 5


def tether_runs(bench, name, runs, agent_args=()):
    work = bench.dir("latency-" + name)
    server = bench.server(work)
    agent = bench.agent(work, server, name, extra_args=agent_args)
    env = bl.cli_env(bench, server)
    argv = [bench.cli, "run", "-t", name, "--", "true"]
    wall = []
    for i in range(WARMUP + runs):
        ms = bl.time_cmd(argv, env=env)
        if i >= WARMUP:
            wall.append(ms)
    # server-side timestamps of the counted runs (the server is fresh: the newest `runs` are ours)
    invs = server.api("GET", "/v1/invocations?limit=%d" % min(1000, runs))["invocations"]
    phases = {"invoke_to_finish_ms": [], "created_to_dispatched_ms": [],
              "dispatched_to_started_ms": [], "started_to_finished_ms": []}
    for inv in invs[:runs]:
        full = server.invocation(inv["invocation_id"], output=False)
        t = full["tasks"][0]
        if t["status"] != "succeeded":
            raise RuntimeError("task %s: %s" % (t["task_id"], t["status"]))
        c, d = bl.parse_ts(full["created_at"]), bl.parse_ts(t["dispatched_at"])
        s, f = bl.parse_ts(t["started_at"]), bl.parse_ts(t["finished_at"])
        phases["invoke_to_finish_ms"].append((f - c) * 1000)
        phases["created_to_dispatched_ms"].append((d - c) * 1000)
        phases["dispatched_to_started_ms"].append((s - d) * 1000)
        phases["started_to_finished_ms"].append((f - s) * 1000)
    bench.stop(agent)
    bench.stop(server)
    return wall, {k: bl.summary(v) for k, v in phases.items()}


def cmd_runs(argv, runs, env=None, warmup=WARMUP):
    out = []
    for i in range(warmup + runs):
        ms = bl.time_cmd(argv, env=env)
        if i >= warmup:
            out.append(ms)
    return out


def report(label, vals, how):
    s = bl.summary(vals)
    bl.log("  %-34s n=%-3d median %8.1f ms  p90 %8.1f  p99 %8.1f  min %7.1f  max %8.1f   (%s)" % (
        label, s["n"], s["median"], s["p90"], s["p99"], s["min"], s["max"], how))
    return s


def run(bench, runs=200, ansible_runs=30, profile_runs=50):
    bl.log("== one-host latency of `true`: %d runs (Ansible %d, agent defaults %d), %d warm-up "
           "runs each not counted" % (runs, ansible_runs, profile_runs, WARMUP))
    bl.log_how(__doc__)
    res = {"runs": runs, "ansible_runs": ansible_runs, "profile_runs": profile_runs,
           "warmup": WARMUP, "rows": {}}
    rows = res["rows"]

    wall, server_side = tether_runs(bench, "lat", runs)
    rows["tether"] = report("tether run -t HOST -- true", wall, "wall clock around the CLI")
    res["server_side"] = server_side
    s = server_side["invoke_to_finish_ms"]
    bl.log("  %-34s n=%-3d median %8.1f ms  p90 %8.1f  p99 %8.1f   (task finished_at - "
           "invocation created_at)" % ("server-side invoke→finish", s["n"], s["median"], s["p90"],
                                       s["p99"]))
    for k in ("created_to_dispatched_ms", "dispatched_to_started_ms", "started_to_finished_ms"):
        bl.log("    %-32s median %6.1f ms  p90 %6.1f" % (k, server_side[k]["median"],
                                                           server_side[k]["p90"]))

    if profile_runs:
        wall, _ = tether_runs(bench, "latprof", profile_runs,
                              ["--set", "login_profile=yes", "--set", "profile_cache=300"])
        rows["tether_profile"] = report("tether, agent default profile", wall,
                                        "login_profile=yes, profile_cache=300")

    floor = bench.build_tool("spawn_floor")
    r = subprocess.run([floor, str(runs)], capture_output=True, text=True, check=True)
    bl.log("  " + r.stderr.strip())
    rows["spawn"] = report("posix_spawn+waitpid /bin/true", [float(x) / 1000 for x in
                                                             r.stdout.split()],
                           "bench/tools/spawn_floor.c")

    try:
        comparisons(bench, res, runs, ansible_runs)
    except Exception as e:  # keep tether's figures; the page names what failed
        bl.log("  comparisons failed: %s: %s" % (type(e).__name__, e))
        res["comparison_error"] = "%s: %s" % (type(e).__name__, e)
    return res


def comparisons(bench, res, runs, ansible_runs):
    rows = res["rows"]
    if not have("sshd", "/usr/sbin/sshd") or not have("ssh"):
        bl.log("  ssh: not run (openssh-server/openssh-client missing: install/bench-deps.sh)")
        return
    sshd = bench.sshd()
    res["ssh_version"] = sshd.version()
    rows["ssh"] = report("ssh HOST true", cmd_runs(sshd.ssh_argv("bench") + ["true"], runs),
                         "new connection each run")
    path, master = sshd.master("bench")
    rows["ssh_mux"] = report("ssh HOST true (ControlMaster)",
                             cmd_runs(["ssh", "-F", sshd.client_config, "-o", "ControlPath=" + path,
                                       "bench", "true"], runs), "through a master started first")
    bench.stop(master)
    if not have("ansible"):
        bl.log("  ansible: not run (ansible-core missing: install/bench-deps.sh)")
        return
    ans = bl.Ansible(bench, sshd, hosts=1)
    res["ansible_version"] = ans.version()
    rows["ansible"] = report("ansible HOST -m command -a true",
                             cmd_runs(ans.argv("h01"), ansible_runs, env=ans.env(True), warmup=2),
                             "ControlPersist master warm")
    ans.close_masters()


def have(name, path=None):
    if path:
        return os.access(path, os.X_OK)
    return any(os.access(os.path.join(d, name), os.X_OK)
               for d in os.environ.get("PATH", "").split(os.pathsep))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--ansible-runs", type=int, default=30)
    ap.add_argument("--profile-runs", type=int, default=50)
    ap.add_argument("--bin", default=None)
    args = ap.parse_args()
    bench = bl.Bench(args.bin)
    try:
        run(bench, args.runs, args.ansible_runs, args.profile_runs)
    finally:
        bench.cleanup()


if __name__ == "__main__":
    main()
