#!/usr/bin/env python3
"""The benchmark suite (issue 9): runs every section on 127.0.0.1 and writes docs/benchmarks.md.

    python3 bench/run.py [--quick] [--only footprint,latency,fanout,throughput] [--bin build/bin]
                         [--out docs/benchmarks.md] [--json build/bench/results.json] [--keep]
    python3 bench/run.py --report-only [--json FILE]     # regenerate the page from saved results

`make bench` installs what it needs (install/deps.sh, install/bench-deps.sh), builds, and runs
this. BENCH_QUICK=1 (or --quick) is a smoke run: fewer repetitions and smaller sizes, for
checking the suite itself, not for quoting. Each section prints what it measures and how as it
goes (the same text is in the docstrings of bench/footprint.py, latency.py, fanout.py and
throughput.py). A section that fails is recorded as failed and the others still run; every
process started is stopped at the end, also on failure or Ctrl-C.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone

import benchlib as bl
import fanout
import footprint
import latency
import report
import throughput

SECTIONS = ("footprint", "latency", "fanout", "throughput")

# (full, quick) settings. Ours keep their repetitions; slow comparisons (Ansible) get fewer.
SETTINGS = {
    "footprint": ({"reps": 3, "window": 60}, {"reps": 1, "window": 10}),
    "latency": ({"runs": 200, "ansible_runs": 30, "profile_runs": 50},
                {"runs": 20, "ansible_runs": 5, "profile_runs": 10}),
    # swarm mode `true` starts all N /bin/true on this machine (its spawn rate more than ours):
    # one repetition of it in a full run
    "fanout": ({"ns": (1000, 5000, 10000), "reps": 3,
                "swarm_modes": (("instant", 3), ("true", 1)),
                "ansible_reps": 1, "ansible_hosts": 50, "agents": 50, "agent_reps": 5},
               {"ns": (100, 500), "reps": 1, "swarm_modes": (("instant", 1), ("true", 1)),
                "ansible_reps": 1, "ansible_hosts": 10, "agents": 10, "agent_reps": 2}),
    # reps stop early once the next one would pass budget_s (1 GiB may take minutes)
    "throughput": ({"reps": 3, "size": 1 << 30, "budget_s": 480, "small_reps": 3},
                   {"reps": 1, "size": 96 << 20, "budget_s": 120, "small_reps": 1}),
}


def sh(argv, cwd=None):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=30)
        return (r.stdout or r.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine(bin_dir):
    """What the figures were measured on."""
    info = {}
    with open("/proc/cpuinfo") as f:
        models = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    info["cpu"] = models[0] if models else platform.processor()
    info["cores"] = os.cpu_count()
    with open("/proc/meminfo") as f:
        mem = {line.split(":")[0]: line.split()[1] for line in f}
    info["ram"] = "%.1f GiB" % (int(mem["MemTotal"]) / 1024 / 1024)
    info["kernel"] = platform.release()
    try:
        with open("/etc/debian_version") as f:
            info["debian"] = f.read().strip()
    except OSError:
        info["debian"] = "not Debian"
    cache = os.path.join(os.path.dirname(bin_dir), "CMakeCache.txt")
    cc, build_type = "cc", "unknown"
    if os.path.exists(cache):
        with open(cache) as f:
            for line in f:
                if line.startswith("CMAKE_C_COMPILER:"):
                    cc = line.split("=", 1)[1].strip()
                elif line.startswith("CMAKE_BUILD_TYPE:"):
                    build_type = line.split("=", 1)[1].strip() or "none"
    info["compiler"] = sh([cc, "--version"]).splitlines()[0] if sh([cc, "--version"]) else cc
    info["build_type"] = build_type
    info["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    commit = sh(["git", "rev-parse", "--short=12", "HEAD"], cwd=bl.ROOT)
    dirty = sh(["git", "status", "--porcelain", "--untracked-files=no"], cwd=bl.ROOT)
    info["commit"] = commit + (" (with uncommitted changes)" if dirty else "")
    info["tether"] = sh([os.path.join(bin_dir, "tether-agent"), "version"])
    info["load_start"] = "%.2f %.2f %.2f" % os.getloadavg()
    info["libs"] = ", ".join("%s %s" % (p, sh(["pkg-config", "--modversion", p]))
                             for p in ("libwebsockets", "openssl", "jansson", "sqlite3"))
    return info


def run_section(bench, name, fn, results):
    t0 = time.monotonic()
    mark = len(bench.procs)
    try:
        results[name] = fn()
        results[name]["ok"] = True
    except KeyboardInterrupt:
        raise
    except Exception as e:
        traceback.print_exc()
        bench.stop_since(mark)
        results[name] = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
    results[name]["duration_s"] = time.monotonic() - t0
    bl.log("-- %s: %.0f s" % (name, results[name]["duration_s"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1")
    ap.add_argument("--only", default=",".join(SECTIONS))
    ap.add_argument("--bin", default=os.path.join(bl.ROOT, "build", "bin"))
    ap.add_argument("--out", default=os.path.join(bl.ROOT, "docs", "benchmarks.md"))
    ap.add_argument("--json", default=None, help="results file (default BUILD/bench/results.json)")
    ap.add_argument("--swarm", default=fanout.SWARM, help=argparse.SUPPRESS)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    bin_dir = os.path.abspath(args.bin)
    json_path = args.json or os.path.join(os.path.dirname(bin_dir), "bench", "results.json")
    if args.report_only:
        with open(json_path) as f:
            results = json.load(f)
        report.write(results, args.out)
        bl.log("wrote %s from %s" % (args.out, json_path))
        return 0
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        ap.error("unknown section(s): %s" % ", ".join(unknown))
    for b in ("tether-server", "tether-agent", "tether"):
        if not os.access(os.path.join(bin_dir, b), os.X_OK):
            ap.error("%s/%s missing: build first (make build)" % (bin_dir, b))
    q = 1 if args.quick else 0
    results = {"quick": args.quick, "machine": machine(bin_dir), "sections": only}
    bl.log("tether benchmarks (%s run) on %s, %s cores, commit %s" % (
        "quick" if args.quick else "full", results["machine"]["cpu"], results["machine"]["cores"],
        results["machine"]["commit"]))
    started = time.monotonic()
    bench = bl.Bench(bin_dir, keep=args.keep)
    try:
        st = {name: SETTINGS[name][q] for name in SECTIONS}
        calls = {
            "footprint": lambda s: footprint.run(bench, s["reps"], s["window"]),
            "latency": lambda s: latency.run(bench, s["runs"], s["ansible_runs"],
                                             s["profile_runs"]),
            "fanout": lambda s: fanout.run(bench, s["ns"], s["reps"], s["ansible_reps"],
                                           s["agents"], s["agent_reps"], args.swarm,
                                           s["ansible_hosts"], s["swarm_modes"]),
            "throughput": lambda s: throughput.run(bench, s["reps"], s["size"], s["budget_s"],
                                                   s["small_reps"]),
        }
        for name in SECTIONS:
            if name in only:
                run_section(bench, name, lambda: calls[name](st[name]), results)
    except KeyboardInterrupt:
        bl.log("interrupted: cleaning up, nothing written")
        return 130
    finally:
        bench.cleanup()
    results["duration_s"] = time.monotonic() - started
    results["machine"]["load_end"] = "%.2f %.2f %.2f" % os.getloadavg()
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(results, f, indent=1)
    report.write(results, args.out)
    bl.log("wrote %s and %s in %.0f s" % (args.out, json_path, results["duration_s"]))
    failed = [s for s in only if not results.get(s, {}).get("ok")]
    if failed:
        bl.log("failed sections: %s" % ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
