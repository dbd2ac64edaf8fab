"""Shared pieces of the benchmark suite (bench/run.py and the section scripts next to it).

- `Bench`: one root temp dir per run, every process started through it, and a cleanup that leaves
  nothing behind (server, agents and their task shims, sshd and its session processes, ssh
  masters, Ansible's ControlPersist masters) — on success, failure or Ctrl-C.
- statistics (min/median/p90/p99/max), /proc readers, the C tools under bench/tools (compiled
  here with the system compiler), and the bench sshd on a loopback port.

The real binaries are started like the end-to-end tests start them: tests/e2e/harness.py.
Standard library only.
"""

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import harness  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
HZ = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(msg, flush=True)


def log_how(doc):
    """Prints how a section measures: its module docstring without the title and usage lines."""
    lines = doc.strip().split("\n")[1:]
    body = [line for line in lines if not line.startswith("    python3 ")]
    log("\n".join("   | " + line if line else "   |" for line in body).rstrip())


# ---------------------------------------------------------------- statistics

def pct(sorted_vals, p):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, -(-len(sorted_vals) * p // 100) - 1))
    return sorted_vals[int(k)]


def summary(vals):
    """{n, min, median, p90, p99, max} of a list of numbers (None entries dropped)."""
    v = sorted(x for x in vals if x is not None)
    if not v:
        return {"n": 0, "min": None, "median": None, "p90": None, "p99": None, "max": None}
    return {"n": len(v), "min": v[0], "median": statistics.median(v), "p90": pct(v, 90),
            "p99": pct(v, 99), "max": v[-1]}


# ---------------------------------------------------------------- /proc readers

def proc_status(pid):
    """/proc/PID/status as {field: int kB or str}."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            v = v.strip()
            if v.endswith(" kB"):
                out[k] = int(v[:-3])
            else:
                try:
                    out[k] = int(v)
                except ValueError:
                    out[k] = v
    return out


def smaps_rollup(pid):
    """/proc/PID/smaps_rollup as {field: kB}."""
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[-1] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def cpu_ticks(pid):
    """utime + stime of the whole process (all threads), in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def ctx_switches(pid):
    """Sum of voluntary + nonvoluntary context switches over every thread of the process."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
        except OSError:
            pass  # a thread that ended meanwhile
    return total


def threads(pid):
    return len(os.listdir("/proc/%d/task" % pid))


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def mapped_libs(pid):
    """Sorted unique shared objects (*.so*) mapped by the process."""
    libs = set()
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6:
                path = parts[5].strip()
                base = os.path.basename(path)
                if ".so" in base:
                    libs.add(path)
    return sorted(libs)


def vm_rss_kib(pid):
    try:
        return proc_status(pid).get("VmRSS")
    except OSError:
        return None


# ---------------------------------------------------------------- run-wide state and cleanup

class Bench:
    """The run: a root temp dir, the processes started in it, and their cleanup."""

    def __init__(self, bin_dir=None, keep=False):
        self.bin = os.path.abspath(bin_dir or os.path.join(ROOT, "build", "bin"))
        harness.SERVER_BIN = os.path.join(self.bin, "tether-server")
        harness.AGENT_BIN = os.path.join(self.bin, "tether-agent")
        harness.CLI_BIN = os.path.join(self.bin, "tether")
        self.cli = harness.CLI_BIN
        self.root = tempfile.mkdtemp(prefix="tether-bench-")
        # traversable (not listable), like the e2e tests: tasks may run as another user
        os.chmod(self.root, 0o711)
        self.keep = keep
        self.procs = []      # harness.Proc / Server / Agent, stopped in reverse order
        self.made_dirs = []  # system dirs this run created (removed at the end)
        self._sshd = None
        self.tools_dir = os.path.join(self.root, "tools")
        os.mkdir(self.tools_dir)
        self._old_handlers = {}
        # SIGINT too: a shell may start us with it ignored (a background job)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._old_handlers[sig] = signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)

    def dir(self, name):
        d = os.path.join(self.root, name)
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o711)
        return d

    # processes
    def server(self, workdir, extra_args=()):
        # info, not the e2e tests' debug level: logging is part of what is measured
        s = harness.Server(workdir, ["--log-level", "info"] + list(extra_args))
        self.procs.append(s)
        return s

    def agent(self, workdir, server, name, extra_args=(), **kw):
        a = harness.Agent(workdir, server, name,
                          extra_args=["--log-level", "info"] + list(extra_args), **kw)
        self.procs.append(a)
        return a

    def proc(self, argv, log_path, env=None):
        p = harness.Proc(argv, log_path, env=env)
        self.procs.append(p)
        return p

    def stop(self, p):
        """Stops one process started here, with everything below it."""
        inner = getattr(p, "proc", p)
        pid = inner.pid if inner is not None else None
        below = harness.descendants([pid]) if pid else []
        try:
            p.stop()
        except Exception as e:  # keep cleaning up
            log("bench: stopping %r: %s" % (p, e))
        if isinstance(p, harness.Agent):
            p.sweep()
        kill_all(below)
        if p in self.procs:
            self.procs.remove(p)

    def stop_since(self, mark):
        """Stops what was started after len(self.procs) was mark (a failed section's leftovers,
        which must not run on into the next section's measurements)."""
        for p in reversed(self.procs[mark:]):
            self.stop(p)
        if self._sshd is not None and self._sshd.proc not in self.procs:
            self._sshd = None

    def cleanup(self):
        for p in reversed(list(self.procs)):
            self.stop(p)
        # anything still running from this run: ssh masters (ControlPath under root), sshd,
        # task shims (their data dir is under root)
        kill_all(harness.descendants(procs_mentioning(self.root)))
        for d in self.made_dirs:
            try:
                os.rmdir(d)
            except OSError:
                pass
        if self.keep:
            log("bench: kept %s" % self.root)
        else:
            shutil.rmtree(self.root, ignore_errors=True)
        for sig, h in self._old_handlers.items():
            signal.signal(sig, h)

    def sshd(self):
        """The run's one bench sshd, started on first use."""
        if self._sshd is None or not self._sshd.proc.alive():
            self._sshd = Sshd(self)
        return self._sshd

    # tools
    def build_tool(self, name, extra=()):
        """Compiles bench/tools/NAME.c into the run's tools dir; returns the binary path."""
        out = os.path.join(self.tools_dir, name)
        argv = [os.environ.get("CC", "cc"), "-O2", "-Wall", "-Wextra", "-Werror", "-o", out,
                os.path.join(HERE, "tools", name + ".c")] + list(extra)
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("building %s failed:\n%s %s" % (name, " ".join(argv), r.stderr))
        return out


def procs_mentioning(text):
    """Pids whose command line contains text (not this process)."""
    found, me, needle = [], os.getpid(), text.encode()
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != me:
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    if needle in f.read():
                        found.append(int(pid))
            except OSError:
                pass
    return found


def kill_all(pids):
    """SIGTERM, a short grace, then SIGKILL, for each pid still alive."""
    live = [p for p in pids if p != os.getpid()]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in live:
            try:
                os.kill(p, sig)
            except OSError:
                pass
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            live = [p for p in live if alive(p)]
            if not live:
                return
            time.sleep(0.05)


def alive(pid):
    """Alive and not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def time_cmd(argv, env=None, check=True):
    """Wall time in ms of one process run to completion (stdout/stderr captured)."""
    t0 = time.monotonic()
    r = subprocess.run(argv, env=env, capture_output=True, stdin=subprocess.DEVNULL)
    ms = (time.monotonic() - t0) * 1000
    if check and r.returncode != 0:
        raise RuntimeError("%s exited %d: %s %s" % (" ".join(argv), r.returncode,
                                                    r.stdout[-500:], r.stderr[-1000:]))
    return ms


def cli_env(bench, server):
    env = dict(os.environ)
    env.update(TETHER_SERVER=server.url, TETHER_API_KEY=server.key, HOME=bench.root)
    return env


def parse_ts(s):
    """RFC 3339 UTC with milliseconds ("2026-12-07T00:58:38.572Z") → epoch seconds."""
    from datetime import datetime, timezone
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


# ---------------------------------------------------------------- the bench sshd

class Sshd:
    """An OpenSSH server of our own on 127.0.0.1:PORT: generated host and user keys, its own
    sshd_config in a temp dir, the system sshd untouched. Sessions get HOME=<temp dir> (SetEnv) so
    root's own ~/.bashrc, which bash sources for ssh commands, is not part of the measurement —
    the agent runs its tasks with login_profile=no for the same reason."""

    def __init__(self, bench):
        self.bench = bench
        self.dir = bench.dir("sshd")
        self.home = bench.dir("sshd/home")
        d = self.dir
        for key in ("host_ed25519", "id_ed25519"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tether-bench",
                            "-f", os.path.join(d, key)], check=True, capture_output=True)
        shutil.copy(os.path.join(d, "id_ed25519.pub"), os.path.join(d, "authorized_keys"))
        self.port = harness.free_port()
        self.config = os.path.join(d, "sshd_config")
        with open(self.config, "w") as f:
            f.write("\n".join([
                "ListenAddress 127.0.0.1",
                "Port %d" % self.port,
                "HostKey %s/host_ed25519" % d,
                "PidFile %s/sshd.pid" % d,
                "AuthorizedKeysFile %s/authorized_keys" % d,
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "PrintMotd no",
                "PrintLastLog no",
                "UseDNS no",
                "MaxStartups 200:30:400",
                "MaxSessions 100",
                "SetEnv HOME=%s" % self.home,
                "Subsystem sftp internal-sftp",
                ""]))
        # The client side: one ssh_config for ssh and Ansible. Every Host name maps to the bench
        # sshd, so inventory aliases are distinct hosts to ssh (and to ControlPath hashes).
        with open(os.path.join(d, "known_hosts"), "w") as f:
            with open(os.path.join(d, "host_ed25519.pub")) as pub:
                f.write("bench-sshd %s" % pub.read())
        self.client_config = os.path.join(d, "ssh_config")
        with open(self.client_config, "w") as f:
            f.write("\n".join([
                "Host *",
                "  HostName 127.0.0.1",
                "  Port %d" % self.port,
                "  User root",
                "  IdentityFile %s/id_ed25519" % d,
                "  IdentitiesOnly yes",
                "  UserKnownHostsFile %s/known_hosts" % d,
                "  HostKeyAlias bench-sshd",
                "  StrictHostKeyChecking yes",
                "  BatchMode yes",
                "  LogLevel ERROR",
                ""]))
        # sshd needs its privilege separation dir; the service normally makes it at start.
        if not os.path.isdir("/run/sshd"):
            os.makedirs("/run/sshd", mode=0o755)
            bench.made_dirs.append("/run/sshd")
        self.proc = bench.proc(["/usr/sbin/sshd", "-D", "-e", "-f", self.config],
                               os.path.join(d, "sshd.log"))
        harness.wait_for(self.ready, timeout=15, what="bench sshd")

    def ready(self):
        if not self.proc.alive():
            raise AssertionError("sshd exited:\n" + self.proc.output()[-2000:])
        r = subprocess.run(self.ssh_argv("bench") + ["true"], capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=20)
        return r.returncode == 0

    def ssh_argv(self, host, *opts):
        return ["ssh", "-F", self.client_config, "-o", "ControlMaster=no", "-o",
                "ControlPath=none"] + list(opts) + [host]

    def master(self, host="bench"):
        """A ControlMaster connection (foreground ssh -M -N under our process list); returns
        (the ControlPath to pass to clients, the master's Proc)."""
        path = os.path.join(self.dir, "mux-%s" % host)
        proc = self.bench.proc(["ssh", "-F", self.client_config, "-M", "-N",
                                "-o", "ControlPath=" + path, "-o", "ControlPersist=no", host],
                               os.path.join(self.dir, "master.log"))
        harness.wait_for(lambda: subprocess.run(
            ["ssh", "-F", self.client_config, "-o", "ControlPath=" + path, "-O", "check", host],
            capture_output=True).returncode == 0, timeout=15, what="ssh master")
        return path, proc

    def version(self):
        r = subprocess.run(["ssh", "-V"], capture_output=True, text=True)
        return (r.stderr or r.stdout).strip()


# ---------------------------------------------------------------- Ansible over the bench sshd

class Ansible:
    """Ansible (Debian's ansible-core) against the bench sshd. The inventory names hosts h01…hNN,
    all mapped to the bench sshd by its ssh_config, so each is its own host to ssh and to Ansible's
    ControlPath. Ansible's defaults otherwise: ssh_args `-C -o ControlMaster=auto -o
    ControlPersist=60s`, no pipelining, sftp transfers. The Python interpreter is given
    (/usr/bin/python3) so no discovery round trip is made. HOME is a temp dir (no ~/.ansible of
    the machine's)."""

    def __init__(self, bench, sshd, hosts=50):
        self.bench = bench
        self.dir = bench.dir("ansible-%d" % hosts)
        self.hosts = ["h%02d" % (i + 1) for i in range(hosts)]
        self.inventory = os.path.join(self.dir, "inventory.ini")
        with open(self.inventory, "w") as f:
            f.write("[bench]\n" + "\n".join(self.hosts) + "\n\n[bench:vars]\n")
            f.write("ansible_ssh_common_args='-F %s'\n" % sshd.client_config)
            f.write("ansible_python_interpreter=/usr/bin/python3\n")
        self.cp_round = 0

    def env(self, fresh_masters):
        """fresh_masters: a new (empty) ControlPath dir, so every host connects anew."""
        if fresh_masters:
            self.cp_round += 1
        cp = os.path.join(self.dir, "cp%d" % self.cp_round)
        os.makedirs(cp, exist_ok=True)
        env = dict(os.environ)
        env.update(HOME=self.dir, ANSIBLE_SSH_CONTROL_PATH_DIR=cp, ANSIBLE_NOCOLOR="1",
                   ANSIBLE_LOCAL_TEMP=os.path.join(self.dir, "tmp"),
                   ANSIBLE_RETRY_FILES_ENABLED="0",
                   ANSIBLE_LOAD_CALLBACK_PLUGINS="0")
        return env

    def argv(self, pattern, forks=5):
        return ["ansible", "-i", self.inventory, pattern, "-f", str(forks), "-m", "command",
                "-a", "true"]

    def close_masters(self):
        """Ends the ControlPersist masters of this run (they would linger 60 s otherwise)."""
        kill_all(procs_mentioning(self.dir))

    def version(self):
        r = subprocess.run(["ansible", "--version"], capture_output=True, text=True)
        return r.stdout.splitlines()[0].strip() if r.returncode == 0 else "not installed"
