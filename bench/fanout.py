#!/usr/bin/env python3
"""Fan-out of `true` (issue 9), printed as it is measured.

- The swarm: bench/swarm.py (a C tool simulating N agents in one process against a real server;
  see its own section in bench/README.md), called once per mode (`instant`: the simulated
  command completes at once; `true`: it runs /bin/true) as
  `python3 bench/swarm.py --n N1,N2,… --reps R --mode M --bin BIN --json FILE` when it exists;
  its JSON list is summarised per N and mode (min/median/max over the reps). When
  bench/swarm.py is absent: "not run".
- Real agents: AGENTS real tether-agent processes (tasks as root, login_profile=no) on one server;
  `tether run --all -y -- true`, wall clock around the CLI, and the server-side time from the
  invocation's created_at to the last task's finished_at.
- Ansible (ansible-core) `ansible -i INV bench -f 50 -m command -a true` on 50 inventory aliases
  that all reach the bench sshd (bench/benchlib.py); each repetition runs once cold (a new, empty
  ControlPath dir: 50 new SSH connections) and once warm (the 50 ControlPersist masters of the cold
  run), wall clock around the ansible process. Scaled to 10 000 hosts linearly
  (time / 50 × 10 000) as the comparison for the swarm's 10 000.

    python3 bench/fanout.py [--n 1000,5000,10000] [--reps 3] [--ansible-reps 3] [--agents 50]
"""

import argparse
import json
import os
import subprocess
import sys

import benchlib as bl

SWARM = os.path.join(bl.HERE, "swarm.py")
SWARM_KEYS = ("connect_all_s", "server_rss_kib_idle", "server_rss_kib_connected",
              "rss_per_agent_kib", "invoke_to_all_s", "server_invoke_to_all_s", "kicks_per_s",
              "tasks_per_s")


def swarm(bench, ns, reps, swarm_path=SWARM, modes=(("instant", None), ("true", None))):
    """modes: (mode, repetitions or None for reps) pairs."""
    if not os.path.exists(swarm_path):
        bl.log("  swarm: not run (%s does not exist)" % os.path.relpath(swarm_path, bl.ROOT))
        return {"ran": False, "why": "bench/swarm.py does not exist"}
    rows, failures = [], []
    for mode, mode_reps in modes:
        out = os.path.join(bench.root, "swarm-%s.json" % mode)
        argv = [sys.executable, swarm_path, "--n", ",".join(str(n) for n in ns), "--reps",
                str(mode_reps or reps), "--mode", mode, "--bin", bench.bin, "--json", out]
        bl.log("  swarm: %s" % " ".join(argv))
        r = subprocess.run(argv, cwd=bl.ROOT)
        got = []
        if os.path.exists(out):  # written even by a run that failed part way
            with open(out) as f:
                got = json.load(f)
        for row in got:
            row.setdefault("mode", mode)
        rows += got
        if r.returncode != 0:
            failures.append("mode %s exited %d after %d row(s)" % (mode, r.returncode, len(got)))
            bl.log("  swarm: %s" % failures[-1])
    if not rows:
        return {"ran": False, "why": "bench/swarm.py: " + "; ".join(failures)}
    groups = {}
    for row in rows:
        groups.setdefault((row.get("n"), row.get("mode")), []).append(row)
    table = []
    for (n, mode), g in sorted(groups.items(), key=lambda kv: (kv[0][0] or 0, str(kv[0][1]))):
        entry = {"n": n, "mode": mode, "reps": len(g)}
        for k in SWARM_KEYS:
            entry[k] = bl.summary([x.get(k) for x in g])
        table.append(entry)
        bl.log("  swarm n=%s mode=%s: connect %s s, invoke→all %s s, RSS/agent %s KiB" % (
            n, mode, fmt(entry["connect_all_s"]), fmt(entry["invoke_to_all_s"]),
            fmt(entry["rss_per_agent_kib"])))
    display = "; ".join("python3 bench/swarm.py --n %s --reps %d --mode %s --json FILE" % (
        ",".join(str(n) for n in ns), mode_reps or reps, mode) for mode, mode_reps in modes)
    return {"ran": True, "display": display, "raw": rows, "table": table, "failures": failures}


def fmt(s):
    return "-" if s["median"] is None else "%.3g" % s["median"]


def real_agents(bench, count, reps):
    work = bench.dir("fanout-agents")
    server = bench.server(work)
    agents = [bench.agent(work, server, "fan%02d" % i) for i in range(count)]
    env = bl.cli_env(bench, server)
    argv = [bench.cli, "run", "--all", "-y", "--", "true"]
    wall, server_s = [], []
    bl.time_cmd(argv, env=env)  # warm-up, not counted
    for _ in range(reps):
        wall.append(bl.time_cmd(argv, env=env) / 1000)
        inv = server.api("GET", "/v1/invocations?limit=1")["invocations"][0]
        full = server.invocation(inv["invocation_id"], output=False)
        if any(t["status"] != "succeeded" for t in full["tasks"]) or len(full["tasks"]) != count:
            raise RuntimeError("fan-out invocation %s: %s" % (inv["invocation_id"],
                                                               full["counts"]))
        last = max(bl.parse_ts(t["finished_at"]) for t in full["tasks"])
        server_s.append(last - bl.parse_ts(full["created_at"]))
    for a in agents:
        bench.stop(a)
    bench.stop(server)
    r = {"agents": count, "reps": reps, "wall_s": bl.summary(wall),
         "server_s": bl.summary(server_s)}
    bl.log("  tether run --all -- true on %d real agents: median %.2f s wall, %.2f s server-side "
           "(invoke → last finish), %d reps" % (count, r["wall_s"]["median"],
                                               r["server_s"]["median"], reps))
    return r


def ansible_fanout(bench, reps, hosts=50):
    if reps < 1:
        return {"ran": False, "why": "no repetitions asked"}
    if not latency_have("ansible") or not os.access("/usr/sbin/sshd", os.X_OK):
        bl.log("  ansible: not run (ansible-core or openssh-server missing)")
        return {"ran": False, "why": "ansible-core or openssh-server missing"}
    sshd = bench.sshd()
    ans = bl.Ansible(bench, sshd, hosts=hosts)
    cold, warm = [], []
    for _ in range(reps):
        for kind, fresh, out in (("cold", True, cold), ("warm", False, warm)):
            env = ans.env(fresh)
            argv = ans.argv("bench", forks=50)
            bl.log("  ansible %s: %s" % (kind, " ".join(argv)))
            ms = bl.time_cmd(argv, env=env)
            out.append(ms / 1000)
        ans.close_masters()
    r = {"ran": True, "hosts": hosts, "forks": 50, "reps": reps, "version": ans.version(),
         "cold_s": bl.summary(cold), "warm_s": bl.summary(warm)}
    for kind in ("cold", "warm"):
        s = r[kind + "_s"]
        bl.log("  ansible %s, %d hosts, forks=50: median %.2f s (min %.2f, max %.2f) = %.1f ms/host"
               " → %.0f s scaled to 10 000 hosts" % (kind, hosts, s["median"], s["min"], s["max"],
                                                     s["median"] / hosts * 1000,
                                                     s["median"] / hosts * 10000))
    return r


def latency_have(name):
    return any(os.access(os.path.join(d, name), os.X_OK)
               for d in os.environ.get("PATH", "").split(os.pathsep))


def run(bench, ns=(1000, 5000, 10000), reps=3, ansible_reps=3, agents=50, agent_reps=3,
        swarm_path=SWARM, ansible_hosts=50, swarm_modes=(("instant", None), ("true", None))):
    bl.log("== fan-out: swarm N=%s ×%d, %d real agents ×%d, Ansible %d hosts ×%d" % (
        ",".join(map(str, ns)), reps, agents, agent_reps, ansible_hosts, ansible_reps))
    bl.log_how(__doc__)
    return {"swarm": guarded(bench, swarm, bench, ns, reps, swarm_path, swarm_modes),
            "agents": guarded(bench, real_agents, bench, agents, agent_reps) if agents else None,
            "ansible": guarded(bench, ansible_fanout, bench, ansible_reps, ansible_hosts)}


def guarded(bench, fn, *args):
    """One part of the section; a failure is recorded and the other parts still run."""
    mark = len(bench.procs)
    try:
        return fn(*args)
    except Exception as e:
        bl.log("  %s failed: %s: %s" % (fn.__name__, type(e).__name__, e))
        bench.stop_since(mark)
        return {"ran": False, "why": "failed: %s: %s" % (type(e).__name__, e)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", default="1000,5000,10000")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ansible-reps", type=int, default=3)
    ap.add_argument("--agents", type=int, default=50)
    ap.add_argument("--ansible-hosts", type=int, default=50)
    ap.add_argument("--swarm", default=SWARM, help="the swarm driver (default bench/swarm.py)")
    ap.add_argument("--bin", default=None)
    args = ap.parse_args()
    bench = bl.Bench(args.bin)
    try:
        run(bench, [int(x) for x in args.n.split(",")], args.reps, args.ansible_reps,
            args.agents, args.reps, args.swarm, args.ansible_hosts)
    finally:
        bench.cleanup()


if __name__ == "__main__":
    main()
