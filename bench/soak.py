#!/usr/bin/env python3
"""Soak test (issue 4): drives many tasks through repeated kill -9 of the server and the agents,
then checks that every task reached a final state, none ran twice, and every byte of output of
every task that succeeded is present.

Not part of `make test` (it runs for minutes). Usage:
    python3 bench/soak.py [--rounds 20] [--agents 3] [--tasks-per-round 10] [--bin build/bin]
Prints a summary and exits non-zero on any violation.
"""

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--agents", type=int, default=3)
    ap.add_argument("--tasks-per-round", type=int, default=10)
    ap.add_argument("--bin", default=None)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    if args.bin:
        harness.SERVER_BIN = os.path.join(args.bin, "tether-server")
        harness.AGENT_BIN = os.path.join(args.bin, "tether-agent")
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="tether-soak-")
    ledger = os.path.join(work, "ledger")
    server = harness.Server(work, extra_args=["--set", "lease_s=5"])
    agents = [harness.Agent(work, server, "soak%d" % i,
                            extra_args=["--set", "poll_interval=2"]) for i in range(args.agents)]
    invs = {}  # invocation id -> (n lines, agent name)
    kills = {"server": 0, "agent": 0}
    started = time.monotonic()
    try:
        for rnd in range(args.rounds):
            for _ in range(args.tasks_per_round):
                n = rng.randint(1, 3000)
                a = rng.choice(agents)
                mark = "r%d-%d" % (rnd, len(invs))
                cmd = "echo %s >> %s; seq 1 %d; sleep 0.%d" % (mark, ledger, n, rng.randint(0, 5))
                try:
                    inv = server.invoke(cmd, [a.name])
                except Exception as e:  # the server may be restarting: that is the point
                    print("invoke failed (ok during a kill): %s" % e)
                    continue
                invs[inv["invocation_id"]] = (n, mark)
            victim = rng.random()
            if victim < 0.4:
                server.restart(signal.SIGKILL)
                kills["server"] += 1
            elif victim < 0.8:
                a = rng.choice(agents)
                if a.proc is not None:
                    a.kill9()
                    kills["agent"] += 1
                a.start(wait_online=False)
            time.sleep(rng.random() * 0.5)
        for a in agents:
            if a.proc is None:
                a.start(wait_online=False)
        deadline = time.monotonic() + 300
        pending = set(invs)
        while pending and time.monotonic() < deadline:
            for inv_id in list(pending):
                try:
                    st = server.invocation(inv_id, output=False)["status"]
                except Exception:
                    continue
                if st not in ("pending", "running"):
                    pending.discard(inv_id)
            time.sleep(0.5)
        with open(ledger) as f:
            runs = [line.strip() for line in f]
        problems = []
        if pending:
            problems.append("%d invocations never reached a final state" % len(pending))
        dup = {m for m in runs if runs.count(m) > 1}
        if dup:
            problems.append("ran more than once: %s" % sorted(dup)[:10])
        statuses = {}
        for inv_id, (n, mark) in invs.items():
            t = server.invocation(inv_id)["tasks"][0]
            statuses[t["status"]] = statuses.get(t["status"], 0) + 1
            if t["status"] == "succeeded":
                want = "".join("%d\n" % i for i in range(1, n + 1))
                if t["stdout"] != want:
                    problems.append("%s (%s): output differs (%d bytes, want %d)"
                                    % (inv_id, mark, len(t["stdout"]), len(want)))
                if runs.count(mark) != 1:
                    problems.append("%s (%s) succeeded but ran %d times"
                                    % (inv_id, mark, runs.count(mark)))
        print("soak: seed %d, %d rounds, %d invocations, %d server kills, %d agent kills, %.0f s"
              % (seed, args.rounds, len(invs), kills["server"], kills["agent"],
                 time.monotonic() - started))
        print("final statuses: %s" % statuses)
        for p in problems:
            print("PROBLEM: " + p)
        print("soak: %s" % ("FAILED" if problems else "ok"))
        return 1 if problems else 0
    finally:
        for a in agents:
            a.stop()
            a.sweep()
        server.stop()
        if not os.environ.get("TETHER_KEEP_TMP"):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
