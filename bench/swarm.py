#!/usr/bin/env python3
"""Fan-out benchmark (issue 9): one tether-server, N simulated agents from build/bin/tether-swarm.

For each N in --n and each of --reps repetitions, on 127.0.0.1 only:
  1. a fresh server process on the same data dir (registration of every agent happened once,
     before the first measurement, into a swarm state file);
  2. server RSS with no agent connected (VmRSS and RssAnon from /proc/PID/status);
  3. the swarm connects N agents: connect_all_s is the swarm's own count, from its first connect
     to the N-th WebSocket established (101 received, after which the server counts the agent as
     online), then confirmed once by GET /v1/agents?status=online;
  4. server RSS with N idle connected agents, and the difference per agent;
  5. POST /v1/invocations running `true` on the N agents (by name); invoke_to_all_s is from just
     before the POST to the moment the swarm holds the answer to the N-th `finish` (the server
     answers after the commit, so the task is stored final then); server_invoke_to_all_s is the
     stored max(finished_at) - created_at; kicks_per_s = kicks that brought a task / (last such
     kick - POST), tasks_per_s = N / invoke_to_all_s;
  6. swarm and server stopped (SIGTERM), no process left behind.

The server's abuse limits are raised (listed in the output) so they do not shape the figures.
Writes --json FILE (a list of objects, one per N and rep) and prints a table.

    python3 bench/swarm.py [--n 1000,5000,10000] [--reps 3] [--mode instant|true]
                           [--json out.json] [--bin build/bin] [--keep]
"""

import argparse
import atexit
import calendar
import json
import os
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))

# Abuse protection that would otherwise decide the result: N agents connecting at once from one
# address look like a flood. Each is raised far above what the run needs.
RAISED_LIMITS = {
    "max_accepts_per_s": "1000000",        # default 2000/s: 10 000 agents would take >= 5 s
    "max_preauth_connections": "1000000",  # default 1024 handshakes not yet authenticated
    "auth_fail_burst": "1000000",          # default 100 failed authentications per address
    "auth_fail_per_min": "1000000",        # default 20/min earned back
}

CHILDREN = []


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kill_all():
    for p in CHILDREN:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    CHILDREN.clear()


def spawn(argv, log_path, stdout=None, env=None):
    log = open(log_path, "ab")
    p = subprocess.Popen(argv, stdout=stdout if stdout is not None else log, stderr=log,
                         stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    log.close()
    CHILDREN.append(p)
    return p


def stop(p, timeout=15):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    p.wait()
    if p in CHILDREN:
        CHILDREN.remove(p)
    return p.returncode


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def wait_for(cond, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = cond()
            if v:
                return v
        except Exception as e:  # the server may still be starting
            last = e
        time.sleep(interval)
    raise RuntimeError("timed out after %.0fs waiting for %s%s" %
                       (timeout, what, (": %r" % last) if last else ""))


class Server:
    def __init__(self, bin_dir, data, work):
        self.bin = os.path.join(bin_dir, "tether-server")
        self.data = data
        self.work = work
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.key = None
        self.p = None

    def init(self):
        out = subprocess.run([self.bin, "init", "--data-dir", self.data], capture_output=True,
                             text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError("tether-server init failed: %s" % out.stderr)
        self.key = out.stdout.strip()

    def start(self):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        argv = [self.bin, "serve", "--data-dir", self.data, "--listen", "127.0.0.1:%d" % self.port]
        for k, v in RAISED_LIMITS.items():
            argv += ["--set", "%s=%s" % (k, v)]
        self.p = spawn(argv, os.path.join(self.work, "server.log"))
        wait_for(self.healthy, 30, "server /healthz")

    def healthy(self):
        if self.p.poll() is not None:
            raise RuntimeError("server exited with %s; see %s/server.log" %
                               (self.p.returncode, self.work))
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def api(self, method, path, body=None, timeout=120):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.key)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raise RuntimeError("%s %s: HTTP %d %s" % (method, path, e.code, e.read()[:300]))

    def stop(self):
        if self.p:
            stop(self.p)
            self.p = None


class Swarm:
    """tether-swarm with its JSON lines read by a thread."""

    def __init__(self, bin_dir, work, server, n, state, mode, extra):
        argv = [os.path.join(bin_dir, "tether-swarm"), "--server", server.url, "--n", str(n),
                "--state", state, "--mode", mode, "--report-every", str(n)] + extra
        self.lines = queue.Queue()
        self.p = spawn(argv, os.path.join(work, "swarm.log"), stdout=subprocess.PIPE)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.p.stdout:
            try:
                self.lines.put(json.loads(raw))
            except ValueError:
                pass
        self.lines.put(None)

    def wait(self, phase, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("tether-swarm: no '%s' line within %.0fs" % (phase, timeout))
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError("tether-swarm exited (%s) before '%s'" % (self.p.wait(), phase))
            if line.get("phase") == phase:
                return line

    def stop(self):
        rc = stop(self.p)
        self.reader.join(timeout=5)
        return rc


def iso_ms(s):
    # "2026-11-22T03:05:14.123Z" -> epoch seconds
    t = time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")
    frac = float("0" + s[19:-1]) if len(s) > 20 else 0.0
    return calendar.timegm(t) + frac


def run_one(args, server, work, state, n, rep):
    row = {"n": n, "rep": rep, "mode": args.mode}
    server.start()
    try:
        time.sleep(0.5)
        idle = proc_status(server.p.pid)
        row["server_rss_kib_idle"] = idle["VmRSS"]
        row["server_rss_anon_kib_idle"] = idle.get("RssAnon")
        row["load1_before"] = os.getloadavg()[0]
        swarm = Swarm(args.bin, work, server, n, state, args.mode, args.swarm_args)
        try:
            started = time.time()
            line = swarm.wait("connect", args.timeout)
            row["connect_all_s"] = line["seconds"]
            row["connect_all_wall_s"] = round(line["t_ms"] / 1000.0 - started, 3)
            row["connect_errors"] = line.get("connect_errors", 0)
            online = server.api("GET", "/v1/agents?status=online&tag=%s" %
                                urllib.request.quote(args.tag_filter, safe=""))["agents"]
            row["server_online"] = len(online)
            if len(online) < n:
                raise RuntimeError("server reports %d online, expected %d" % (len(online), n))
            time.sleep(args.settle)   # the pulls every agent makes on connect, then quiet
            conn = proc_status(server.p.pid)
            row["server_rss_kib_connected"] = conn["VmRSS"]
            row["server_rss_anon_kib_connected"] = conn.get("RssAnon")
            row["rss_per_agent_kib"] = round((conn["VmRSS"] - idle["VmRSS"]) / n, 2)
            row["rss_anon_per_agent_kib"] = round((conn["RssAnon"] - idle["RssAnon"]) / n, 2)

            names = ["%s-%05d" % (args.prefix, i) for i in range(1, n + 1)]
            body = {"command": "true", "targets": {"agents": names}, "expires_in_s": 600}
            t_post = time.time()
            inv = server.api("POST", "/v1/invocations", body)
            row["post_s"] = round(time.time() - t_post, 3)
            done = swarm.wait("tasks", args.timeout)
            row["invoke_to_all_s"] = round(done["t_ms"] / 1000.0 - t_post, 3)
            full = server.api("GET", "/v1/invocations/%s" % inv["invocation_id"])
            row["status"] = full["status"]
            row["counts"] = full["counts"]
            created = iso_ms(full["created_at"])
            finished = [iso_ms(t["finished_at"]) for t in full["tasks"] if t.get("finished_at")]
            row["server_invoke_to_all_s"] = round(max(finished) - created, 3) if finished else None
            kicks, last_kick = done.get("kicks", 0), done.get("last_kick_ms", 0) / 1000.0
            row["kicks"] = kicks
            row["kicks_per_s"] = round(kicks / (last_kick - t_post), 1) if last_kick > t_post \
                else None
            row["tasks_per_s"] = round(n / row["invoke_to_all_s"], 1)
            row["http_errors"] = done.get("http_errors", 0)
        finally:
            swarm.stop()
    finally:
        server.stop()
    return row


def register_all(args, server, work, state, n):
    server.start()
    try:
        code = server.api("POST", "/v1/activations",
                          {"uses": min(100000, n), "expires_in_s": 86400})["activation_code"]
        env = dict(os.environ, TETHER_ACTIVATION_CODE=code)
        argv = [os.path.join(args.bin, "tether-swarm"), "--server", server.url, "--n", str(n),
                "--state", state, "--register-only", "--prefix", args.prefix]
        p = spawn(argv, os.path.join(work, "swarm-register.log"), stdout=subprocess.PIPE, env=env)
        out, _ = p.communicate(timeout=args.timeout)
        CHILDREN.remove(p)
        if p.returncode != 0:
            raise RuntimeError("registering %d agents failed; see %s/swarm-register.log" %
                               (n, work))
        for raw in out.splitlines():
            line = json.loads(raw)
            if line.get("phase") == "register":
                print("registered %d agents (%d reused) in %.1f s" %
                      (line["registered"], line["reused"], line["seconds"]))
    finally:
        server.stop()


def table(rows):
    cols = [("n", "N"), ("rep", "rep"), ("connect_all_s", "connect s"),
            ("server_rss_kib_idle", "RSS idle KiB"), ("server_rss_kib_connected", "RSS conn KiB"),
            ("rss_per_agent_kib", "KiB/agent"), ("rss_anon_per_agent_kib", "anon KiB/agent"),
            ("invoke_to_all_s", "invoke->all s"), ("server_invoke_to_all_s", "server s"),
            ("kicks_per_s", "kicks/s"), ("tasks_per_s", "tasks/s")]
    widths = [max(len(h), max((len(str(r.get(k))) for r in rows), default=0)) for k, h in cols]
    print("  ".join(h.rjust(w) for (_, h), w in zip(cols, widths)))
    for r in rows:
        print("  ".join(str(r.get(k)).rjust(w) for (k, _), w in zip(cols, widths)))
    by_n = {}
    for r in rows:
        by_n.setdefault(r["n"], []).append(r)
    if any(len(v) > 1 for v in by_n.values()):
        print("\nmedian over reps (min..max):")
        for n, rs in sorted(by_n.items()):
            parts = []
            for k, h in cols[2:]:
                vals = [r[k] for r in rs if r.get(k) is not None]
                if vals:
                    parts.append("%s %s (%s..%s)" % (h, round(statistics.median(vals), 3),
                                                   min(vals), max(vals)))
            print("  N=%d: %s" % (n, "; ".join(parts)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", default="1000,5000,10000", help="comma-separated agent counts")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--mode", choices=("instant", "true"), default="instant")
    ap.add_argument("--json", help="write the rows here")
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "bin"))
    ap.add_argument("--settle", type=float, default=3.0,
                    help="seconds between all connected and the connected RSS reading")
    ap.add_argument("--timeout", type=float, default=300.0, help="per phase")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (logs, data, state)")
    ap.add_argument("--swarm-arg", dest="swarm_args", action="append", default=[],
                    help="extra tether-swarm argument (repeatable), e.g. --swarm-arg=--heartbeat-s=0")
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    args.prefix = "swarm"
    args.tag_filter = "swarm=1"
    ns = [int(x) for x in args.n.split(",") if x.strip()]

    atexit.register(kill_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    work = tempfile.mkdtemp(prefix="tether-swarm-bench-")
    ok = False
    rows = []
    try:
        server = Server(args.bin, os.path.join(work, "data"), work)
        server.init()
        state = os.path.join(work, "swarm-state.json")
        print("work dir %s; server limits raised: %s" %
              (work, ", ".join("%s=%s" % kv for kv in RAISED_LIMITS.items())))
        register_all(args, server, work, state, max(ns))
        for n in ns:
            for rep in range(1, args.reps + 1):
                row = run_one(args, server, work, state, n, rep)
                row["server_limits_raised"] = RAISED_LIMITS
                rows.append(row)
                print("N=%d rep %d: connect %.2fs, %.2f KiB/agent, invoke->all %.3fs (server "
                      "%.3fs), %s tasks/s, %s" %
                      (n, rep, row["connect_all_s"], row["rss_per_agent_kib"],
                       row["invoke_to_all_s"], row["server_invoke_to_all_s"] or -1,
                       row["tasks_per_s"], row["counts"]), flush=True)
        ok = True
    finally:
        kill_all()
        if rows:
            print()
            table(rows)
        if args.json and rows:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=1)
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("logs kept in %s" % work)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
