#!/usr/bin/env python3
"""Footprint of an idle agent (issue 9), printed as it is measured.

Per repetition: a fresh server and agent (tasks as root, login_profile=no, log level info); once
the agent is online with its WebSocket connected it settles for a few seconds, then for WINDOW
seconds:
- RSS, RssAnon (/proc/PID/status) sampled every second, Pss and Private_Dirty
  (/proc/PID/smaps_rollup) at the end —
  the agent process alone: idle there is no task, so no task shim exists to include;
- CPU = utime+stime of all its threads (/proc/PID/stat) over the window;
- wakeups/s = sum over /proc/PID/task/*/status of voluntary+nonvoluntary context switches over the
  window, and, where `perf stat -e sched:sched_switch -p PID` works, that count too;
- open fds (/proc/PID/fd), threads, mapped shared libraries (/proc/PID/maps, unique *.so*);
- the server's RSS once started (no agent) and with this one agent connected.
Also: the stripped binary size (strip of a copy of build/bin/tether-agent), and the same memory
figures for bench/tools/idle_libs.c linked against the agent's NEEDED libraries (loaded only, and
after OPENSSL_init_ssl).

    python3 bench/footprint.py [--reps 3] [--window 60] [--bin build/bin]
"""

import argparse
import os
import re
import subprocess
import time

import benchlib as bl


def stripped_size(bench, path):
    out = os.path.join(bench.root, "stripped-" + os.path.basename(path))
    subprocess.run(["strip", "-o", out, path], check=True)
    return os.path.getsize(out)


def needed_libs(path):
    """NEEDED entries of an ELF file (readelf -d)."""
    r = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True)
    return re.findall(r"Shared library: \[([^\]]+)\]", r.stdout)


def perf_works():
    try:
        r = subprocess.run(["perf", "stat", "-x", ",", "-e", "sched:sched_switch", "--", "true"],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and "sched:sched_switch" in r.stderr


def perf_start(pid, seconds, log_path):
    return subprocess.Popen(["perf", "stat", "-x", ",", "-e", "sched:sched_switch", "-p",
                             str(pid), "--", "sleep", str(seconds)],
                            stdout=subprocess.DEVNULL, stderr=open(log_path, "w"),
                            start_new_session=True)


def perf_result(p, log_path):
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return None
    with open(log_path) as f:
        for line in f:
            parts = line.strip().split(",")
            if len(parts) > 2 and parts[2] == "sched:sched_switch":
                # "<not counted>" when the process never ran in the window
                return 0 if parts[0].startswith("<not") else int(parts[0])
    return None


def memory_of(pid):
    st = bl.proc_status(pid)
    roll = bl.smaps_rollup(pid)
    return {"rss_kib": st["VmRSS"], "rss_anon_kib": st["RssAnon"], "rss_file_kib": st["RssFile"],
            "pss_kib": roll.get("Pss"), "pss_anon_kib": roll.get("Pss_Anon"),
            "private_dirty_kib": roll.get("Private_Dirty")}


def one_rep(bench, rep, window, settle, use_perf):
    work = bench.dir("footprint-%d" % rep)
    server = bench.server(work)
    server_alone = bl.proc_status(server.proc.pid)["VmRSS"]
    agent = bench.agent(work, server, "idle%d" % rep)
    pid = agent.proc.pid
    time.sleep(settle)  # the connect-time pull and first heartbeat are not idle
    perf = perf_start(pid, window, os.path.join(work, "perf.txt")) if use_perf else None
    cs0, cpu0, t0 = bl.ctx_switches(pid), bl.cpu_ticks(pid), time.monotonic()
    rss, anon = [], []
    while time.monotonic() - t0 < window:
        st = bl.proc_status(pid)
        rss.append(st["VmRSS"])
        anon.append(st["RssAnon"])
        time.sleep(min(1.0, max(0.0, window - (time.monotonic() - t0))))
    cs1, cpu1, t1 = bl.ctx_switches(pid), bl.cpu_ticks(pid), time.monotonic()
    elapsed = t1 - t0
    r = memory_of(pid)
    r.update({
        "rss_min_kib": min(rss), "rss_max_kib": max(rss), "rss_anon_max_kib": max(anon),
        "cpu_ms": (cpu1 - cpu0) * 1000.0 / bl.HZ,
        "cpu_pct": (cpu1 - cpu0) / bl.HZ / elapsed * 100.0,
        "wakeups_per_s": (cs1 - cs0) / elapsed,
        "ctx_switches": cs1 - cs0,
        "perf_switches_per_s": None,
        "window_s": elapsed,
        "fds": bl.open_fds(pid),
        "threads": bl.threads(pid),
        "libs": bl.mapped_libs(pid),
        "server_rss_kib": bl.proc_status(server.proc.pid)["VmRSS"],
        "server_rss_alone_kib": server_alone,
        "vm_hwm_kib": bl.proc_status(pid)["VmHWM"],
    })
    if perf is not None:
        n = perf_result(perf, os.path.join(work, "perf.txt"))
        r["perf_switches_per_s"] = None if n is None else n / float(window)
    bl.log("  rep %d: RSS %d KiB (RssAnon %d, Pss %s), CPU %.1f ms in %.0f s, wakeups %.2f/s "
           "(/proc ctx switches)%s, fds %d, threads %d, libs %d, server RSS %d KiB" % (
               rep, r["rss_kib"], r["rss_anon_kib"], r["pss_kib"], r["cpu_ms"], elapsed,
               r["wakeups_per_s"],
               "" if r["perf_switches_per_s"] is None else
               ", %.2f/s (perf sched_switch)" % r["perf_switches_per_s"],
               r["fds"], r["threads"], len(r["libs"]), r["server_rss_kib"]))
    bench.stop(agent)
    bench.stop(server)
    return r


def idle_libs(bench, agent_bin, mode):
    libs = [n for n in needed_libs(agent_bin) if not n.startswith("libc.so")]
    exe = bench.build_tool("idle_libs", ["-Wl,--no-as-needed"] + ["-l:" + n for n in libs])
    argv = [exe] + (["init"] if mode == "init" else [])
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        if p.stdout.readline().strip() != b"ready":
            raise RuntimeError("idle_libs did not start")
        time.sleep(0.5)
        r = memory_of(p.pid)
        r["libs"] = bl.mapped_libs(p.pid)
        r["linked"] = libs
    finally:
        p.kill()
        p.wait()
        p.stdout.close()
    bl.log("  idle_libs%s: RSS %d KiB (RssAnon %d, Pss %s), %d libs mapped; linked %s" % (
        " init" if mode == "init" else "", r["rss_kib"], r["rss_anon_kib"], r["pss_kib"],
        len(r["libs"]), " ".join(libs)))
    return r


def run(bench, reps=3, window=60, settle=5):
    bl.log("== footprint: %d rep(s), %d s idle window each" % (reps, window))
    bl.log_how(__doc__)
    agent_bin = os.path.join(bench.bin, "tether-agent")
    res = {"reps": reps, "window_s": window, "settle_s": settle}
    res["binary_bytes"] = os.path.getsize(agent_bin)
    res["stripped_bytes"] = stripped_size(bench, agent_bin)
    shim = os.path.join(bench.bin, "tether-task-shim")
    res["shim_stripped_bytes"] = stripped_size(bench, shim) if os.path.exists(shim) else None
    bl.log("  agent binary %d bytes, stripped %d bytes" % (res["binary_bytes"],
                                                            res["stripped_bytes"]))
    res["perf"] = perf_works()
    bl.log("  perf sched:sched_switch %s" % ("works" if res["perf"] else "unavailable"))
    res["runs"] = [one_rep(bench, i, window, settle, res["perf"]) for i in range(reps)]
    res["idle_libs"] = idle_libs(bench, agent_bin, "load")
    res["idle_libs_init"] = idle_libs(bench, agent_bin, "init")
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--window", type=int, default=60)
    ap.add_argument("--bin", default=None)
    args = ap.parse_args()
    bench = bl.Bench(args.bin)
    try:
        run(bench, args.reps, args.window)
    finally:
        bench.cleanup()


if __name__ == "__main__":
    main()
