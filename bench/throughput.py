#!/usr/bin/env python3
"""Output throughput through one task (issue 9), printed as it is measured.

Per repetition: a fresh server and agent (tasks as root, login_profile=no, log level info,
spool_limit=2G: the agent's default spool of 256 MiB would drop most of a 1 GiB task). One
invocation through the REST API of

    head -c SIZE /dev/zero | tr '\\0' x

(SIZE = 1 GiB by default: cheap to produce, valid UTF-8, one stream) with output_limit 64 MiB,
the largest the API allows: the server keeps the first and last 32 MiB and counts the rest in
dropped_bytes. Measured:
- MB/s (10^6 bytes/s) end to end = SIZE / (task finished_at - invocation created_at), server
  timestamps; and by the client's wall clock from the POST to seeing the final status (polled
  every 50 ms);
- output_bytes the server accounted, dropped_bytes, and the bytes kept (GET /v1/tasks/ID/output);
- the agent's VmRSS sampled every 100 ms during the task, its VmHWM at the end, and the VmRSS of
  the task shim and the command's processes (the agent's descendants) — the agent process alone
  is what "flat memory" is about; the shim is listed apart.

Then the same SIZE with the server's default output_limit (4 MiB kept: what a run gets unless it
asks for more), and, for comparison, SIZE = output_limit (64 MiB: everything kept, nothing dropped).

    python3 bench/throughput.py [--reps 3] [--size 1073741824] [--small-reps 3] [--bin build/bin]
"""

import argparse
import time

import benchlib as bl
import harness

OUTPUT_LIMIT = 64 * 1024 * 1024


def one_rep(bench, rep, size, output_limit=OUTPUT_LIMIT):
    work = bench.dir("throughput-%d" % rep)
    server = bench.server(work)
    agent = bench.agent(work, server, "tput%d" % rep, extra_args=["--set", "spool_limit=2G"])
    apid = agent.proc.pid
    time.sleep(1)
    base = bl.proc_status(apid)
    cmd = "head -c %d /dev/zero | tr '\\0' x" % size
    t0 = time.monotonic()
    opts = {"timeout_s": 3600}
    if output_limit:
        opts["output_limit"] = output_limit  # else the server's default (4 MiB)
    inv = server.invoke(cmd, [agent.name], **opts)
    inv_id = inv["invocation_id"]
    agent_rss, shim_rss = [], []
    last_poll, final = 0.0, None
    while final is None:
        now = time.monotonic()
        if now - t0 > 1800:
            raise RuntimeError("1 GiB task did not finish in 30 min")
        rss = bl.vm_rss_kib(apid)
        if rss is not None:
            agent_rss.append(rss)
        below = [p for p in harness.descendants([apid]) if p != apid]
        shim_rss.append(sum(bl.vm_rss_kib(p) or 0 for p in below))
        if now - last_poll >= 0.05:
            last_poll = now
            cur = server.invocation(inv_id, output=False)
            if cur["status"] not in ("pending", "running"):
                final = cur
                break
        time.sleep(0.1)
    wall = time.monotonic() - t0
    t = final["tasks"][0]
    if t["status"] != "succeeded":
        raise RuntimeError("throughput task %s: %s %s" % (t["task_id"], t["status"], t["error"]))
    secs = bl.parse_ts(t["finished_at"]) - bl.parse_ts(final["created_at"])
    kept = server.api("GET", "/v1/tasks/%s/output" % t["task_id"])
    end = bl.proc_status(apid)
    r = {"size": size, "server_s": secs, "wall_s": wall, "mb_s": size / 1e6 / secs,
         "mb_s_wall": size / 1e6 / wall, "output_bytes": t["output_bytes"],
         "dropped_bytes": t["dropped_bytes"], "kept_bytes": len(kept),
         "agent_rss_before_kib": base["VmRSS"], "agent_rss_max_kib": max(agent_rss),
         "agent_rss_min_kib": min(agent_rss), "agent_rss_after_kib": end["VmRSS"],
         "agent_hwm_kib": end["VmHWM"], "agent_anon_after_kib": end["RssAnon"],
         "shim_rss_max_kib": max(shim_rss), "samples": len(agent_rss)}
    bl.log("  rep %d: %.1f MB/s (server %.2f s; wall %.2f s = %.1f MB/s); output_bytes %d, "
           "dropped %d, kept %d; agent RSS before %d KiB, max %d during, after %d, VmHWM %d; "
           "shim+command RSS max %d KiB (%d samples)" % (
               rep, r["mb_s"], secs, wall, r["mb_s_wall"], r["output_bytes"], r["dropped_bytes"],
               r["kept_bytes"], r["agent_rss_before_kib"], r["agent_rss_max_kib"],
               r["agent_rss_after_kib"], r["agent_hwm_kib"], r["shim_rss_max_kib"], r["samples"]))
    bench.stop(agent)
    bench.stop(server)
    return r


def run(bench, reps=3, size=1 << 30, budget_s=None, small_reps=0):
    """reps repetitions, or fewer when the next one would take the section past budget_s; then
    small_reps repetitions of a task printing exactly output_limit bytes (all kept, none dropped),
    for comparison."""
    bl.log("== output throughput: %d rep(s) of one task printing %d bytes%s" % (
        reps, size, "" if budget_s is None else " (at most %d s in all)" % budget_s))
    bl.log_how(__doc__)
    res = {"reps": reps, "size": size, "output_limit": OUTPUT_LIMIT,
           "command": "head -c %d /dev/zero | tr '\\0' x" % size, "runs": []}
    t0 = time.monotonic()
    for i in range(reps):
        r0 = time.monotonic()
        res["runs"].append(one_rep(bench, i, size))
        last = time.monotonic() - r0
        if budget_s is not None and i + 1 < reps and time.monotonic() - t0 + last > budget_s:
            bl.log("  stopping after %d rep(s): another would take this section past %d s" % (
                i + 1, budget_s))
            res["stopped_early"] = {"budget_s": budget_s, "asked": reps}
            break
    res["reps"] = len(res["runs"])
    # what an operator gets without asking for more: the default output_limit (4 MiB kept)
    bl.log("  and %d rep(s) with the server's default output_limit" % res["reps"])
    res["default_limit"] = [one_rep(bench, 200 + i, size, None) for i in range(res["reps"])]
    if small_reps:
        bl.log("  and %d rep(s) of %d bytes = output_limit (everything kept)" % (
            small_reps, OUTPUT_LIMIT))
        res["small"] = [one_rep(bench, 100 + i, OUTPUT_LIMIT) for i in range(small_reps)]
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--size", type=int, default=1 << 30)
    ap.add_argument("--small-reps", type=int, default=3)
    ap.add_argument("--budget", type=int, default=None, help="seconds for all reps")
    ap.add_argument("--bin", default=None)
    args = ap.parse_args()
    bench = bl.Bench(args.bin)
    try:
        run(bench, args.reps, args.size, args.budget, args.small_reps)
    finally:
        bench.cleanup()


if __name__ == "__main__":
    main()
