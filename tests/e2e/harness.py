"""End-to-end test harness: starts the real tether-server and tether-agent binaries on 127.0.0.1
with free ports and temporary directories, drives them through the `tether` CLI and the REST API,
and cleans every process up even when a test fails.

Standard library only. Binaries come from $TETHER_BIN (set by ctest) or ../../build/bin.
"""

import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("TETHER_BIN") or os.path.join(HERE, "..", "..", "build", "bin")
SERVER_BIN = os.path.join(BIN, "tether-server")
AGENT_BIN = os.path.join(BIN, "tether-agent")
CLI_BIN = os.path.join(BIN, "tether")

# Sanitizer builds are several times slower; deadlines scale with this factor.
SLOW = float(os.environ.get("TETHER_TEST_SLOW", "1"))
# Set by `make test` for sanitizer builds: memory figures and LD_PRELOAD tricks do not apply there.
SANITIZER = os.environ.get("TETHER_SANITIZER", "")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout=10.0, interval=0.02, what="condition"):
    """Polls cond() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout * SLOW
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = cond()
            if v:
                return v
        except Exception as e:  # the condition may race with startup
            last_exc = e
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s%s" % (what, (": %r" % last_exc) if last_exc else ""))


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__("HTTP %d: %s" % (status, body))
        self.status = status
        self.body = body


class Proc:
    """A child process in its own process group, killed with the group on cleanup."""

    def __init__(self, argv, log_path, env=None):
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=env, start_new_session=True)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.p.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.alive():
            try:
                os.kill(self.p.pid, sig)
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        # whatever is left of the group (task shims of a killed agent, stray children)
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.log.close()
        return self.p.returncode

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


class Server:
    def __init__(self, workdir, extra_args=()):
        self.dir = os.path.join(workdir, "server")
        self.workdir = workdir
        self.extra_args = list(extra_args)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        out = subprocess.run([SERVER_BIN, "init", "--data-dir", self.dir], capture_output=True,
                             text=True, timeout=30 * SLOW)
        if out.returncode != 0:
            raise AssertionError("tether-server init failed: %s" % out.stderr)
        self.key = out.stdout.strip()
        self.start()

    def start(self):
        self.proc = Proc([SERVER_BIN, "serve", "--data-dir", self.dir, "--listen",
                          "127.0.0.1:%d" % self.port, "--log-level", "debug"] + self.extra_args,
                         os.path.join(self.workdir, "server.log"))
        wait_for(self.healthy, timeout=15, what="server /healthz")

    def restart(self, sig=signal.SIGKILL):
        """Stops the server (kill -9 by default) and starts it again on the same port and data."""
        self.proc.stop(sig)
        self.start()

    def healthy(self):
        if not self.proc.alive():
            raise AssertionError("server exited:\n" + self.proc.output()[-3000:])
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def api(self, method, path, body=None, key=None, raw=None, headers=None):
        """Calls the REST API; returns parsed JSON (or bytes for non-JSON); raises ApiError."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        k = self.key if key is None else key
        if k:
            req.add_header("Authorization", "Bearer " + k)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for h, v in (headers or {}).items():
            req.add_header(h, v)
        try:
            with urllib.request.urlopen(req, timeout=30 * SLOW) as r:
                payload = r.read()
                ctype = r.headers.get("Content-Type", "")
                if "json" in ctype:
                    return json.loads(payload) if payload else None
                return payload
        except urllib.error.HTTPError as e:
            payload = e.read()
            try:
                parsed = json.loads(payload)
            except ValueError:
                parsed = payload
            raise ApiError(e.code, parsed)

    def activation(self, **body):
        return self.api("POST", "/v1/activations", body)["activation_code"]

    def agents(self):
        return {a["name"]: a for a in self.api("GET", "/v1/agents")["agents"]}

    def invoke(self, command, agents, **opts):
        body = {"command": command, "targets": {"agents": list(agents)}}
        body.update(opts)
        return self.api("POST", "/v1/invocations", body)

    def invocation(self, inv_id, output=True):
        return self.api("GET", "/v1/invocations/%s%s" % (inv_id, "?output=1" if output else ""))

    def wait_invocation(self, inv_id, timeout=20):
        def done():
            try:
                inv = self.invocation(inv_id)
            except (urllib.error.URLError, ConnectionError):
                return None  # a restarting or throttling server: ask again
            return inv if inv["status"] not in ("pending", "running") else None
        return wait_for(done, timeout=timeout, what="invocation %s to finish" % inv_id)

    def stop(self):
        return self.proc.stop()


class Agent:
    def __init__(self, workdir, server, name, register=True, start=True, extra_args=(), url=None,
                 env=None):
        self.server = server
        self.env = env
        self.url = url or server.url
        self.name = name
        self.dir = os.path.join(workdir, "agent-" + name)
        self.machine_id = "mid-" + name
        self.log_path = os.path.join(workdir, "agent-%s.log" % name)
        self.extra_args = list(extra_args)
        self.proc = None
        if register:
            self.register()
        if start:
            self.start()

    def register(self, code=None):
        code = code or self.server.activation()
        out = subprocess.run([AGENT_BIN, "register", "--server", self.url, "--activation",
                              code, "--data-dir", self.dir, "--name", self.name, "--machine-id",
                              self.machine_id], capture_output=True, text=True, timeout=30 * SLOW)
        if out.returncode != 0:
            raise AssertionError("agent register failed: %s %s" % (out.stdout, out.stderr))
        return out

    def start(self, wait_online=True):
        # Tasks get a plain environment unless a test asks for login profiles: this machine's
        # own profiles (root's pyenv setup) would make every test depend on them.
        self.proc = Proc([AGENT_BIN, "run", "--foreground", "--server", self.url,
                          "--data-dir", self.dir, "--log-level", "debug",
                          "--set", "login_profile=no"] + self.extra_args,
                         self.log_path, env=self.env)
        if wait_online:
            wait_for(self.online, timeout=15, what="agent %s online" % self.name)
            # online may come from the first heartbeat alone; tests expect the kick channel too
            wait_for(lambda: "websocket: connected" in self.proc.output(), timeout=15,
                     what="agent %s WebSocket connected" % self.name)

    def online(self):
        if self.proc is not None and not self.proc.alive():
            raise AssertionError("agent exited:\n" + self.proc.output()[-3000:])
        a = self.server.agents().get(self.name)
        return a is not None and a["status"] == "online"

    def stop(self, sig=signal.SIGTERM):
        if self.proc:
            rc = self.proc.stop(sig)
            self.proc = None
            return rc
        return None

    def sweep(self):
        """Ends the task shims this agent left behind (they outlive the agent by design): SIGTERM
        makes a shim kill its task's whole tree; SIGKILL whatever is still there after that."""
        def shims():
            found = []
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        with open("/proc/%s/cmdline" % pid, "rb") as f:
                            if self.dir.encode() in f.read():
                                found.append(int(pid))
                    except OSError:
                        pass
            # and everything below them: a task orphaned by a killed shim still has children
            return descendants(found)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in shims():
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            deadline = time.monotonic() + 5
            while shims() and time.monotonic() < deadline:
                time.sleep(0.05)

    def kill9(self):
        """kill -9 of the agent process alone: its task shims live on in their own sessions."""
        self.proc.p.send_signal(signal.SIGKILL)
        self.proc.p.wait(timeout=10)
        self.proc.log.close()
        self.proc = None

    def token(self):
        with open(os.path.join(self.dir, "identity.json")) as f:
            return json.load(f)["agent_token"]


def descendants(pids):
    """pids and every process below them (by parent pid)."""
    children = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/stat" % pid) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(pid))
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], list(pids)
    while todo:
        p = todo.pop()
        if p not in out:
            out.append(p)
            todo.extend(children.get(p, []))
    return out


def _test_failed(test):
    """Whether the running test has failed so far (Python 3.11 keeps it in _outcome.result)."""
    outcome = getattr(test, "_outcome", None)
    result = getattr(outcome, "result", None)
    if result is None:
        return False
    for _, errs in (("f", getattr(result, "failures", [])), ("e", getattr(result, "errors", []))):
        for t, _tb in errs:
            if t is test:
                return True
    return not getattr(outcome, "success", True)


class TetherTest(unittest.TestCase):
    """Base class: a temp dir per test, processes cleaned up even on failure."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="tether-e2e-")
        # traversable (not listable) so tasks running as another user reach their agent's files
        os.chmod(self.workdir, 0o711)
        self._procs = []
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        for p in reversed(self._procs):
            try:
                p.stop()
                if isinstance(p, Agent):
                    p.sweep()
            except Exception:
                pass
        # A sanitizer report in any process log fails the test even if the assertions passed.
        reports = []
        for name in sorted(os.listdir(self.workdir)):
            if name.endswith(".log"):
                with open(os.path.join(self.workdir, name), "rb") as f:
                    text = f.read().decode("utf-8", "replace")
                for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                               "WARNING: ThreadSanitizer"):
                    if marker in text:
                        reports.append("%s: %s" % (name, text[text.index(marker):][:3000]))
        failed = bool(reports) or _test_failed(self)
        if os.environ.get("TETHER_KEEP_TMP") or failed:
            print("\n[kept %s]" % self.workdir)
            self._dump_logs()
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if reports:
            raise AssertionError("sanitizer report:\n" + "\n".join(reports))

    def _dump_logs(self):
        for name in sorted(os.listdir(self.workdir)):
            if name.endswith(".log"):
                with open(os.path.join(self.workdir, name), "rb") as f:
                    data = f.read()[-4000:].decode("utf-8", "replace")
                print("---- %s (tail) ----\n%s" % (name, data))

    def start_server(self, extra_args=()):
        s = Server(self.workdir, extra_args)
        self._procs.append(s)
        return s

    def start_agent(self, server, name, **kw):
        a = Agent(self.workdir, server, name, **kw)
        self._procs.append(a)
        return a

    def cli(self, *args, server=None, key=None, timeout=60, check=None, input_bytes=None):
        """Runs `tether ARGS`; returns CompletedProcess with bytes stdout/stderr."""
        env = dict(os.environ)
        env.pop("TETHER_SERVER", None)
        env.pop("TETHER_API_KEY", None)
        env["HOME"] = self.workdir  # no stray ~/.config/tether/config
        if server is not None:
            env["TETHER_SERVER"] = server.url
            env["TETHER_API_KEY"] = server.key if key is None else key
        out = subprocess.run([CLI_BIN] + list(args), capture_output=True, env=env,
                             timeout=timeout * SLOW, input=input_bytes)
        if check is not None:
            self.assertEqual(out.returncode, check,
                             "tether %s exited %d\nstdout: %r\nstderr: %r" % (
                                 " ".join(args), out.returncode, out.stdout, out.stderr))
        return out


def sse_events(server, path, timeout=20, key=None):
    """Reads a Server-Sent Events stream until it closes; returns [(event, data_json)]."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout * SLOW)
    conn.request("GET", path, headers={"Authorization": "Bearer " + (key or server.key),
                                       "Accept": "text/event-stream"})
    resp = conn.getresponse()
    if resp.status != 200:
        raise ApiError(resp.status, resp.read())
    events, ev, data = [], None, []
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        line = resp.fp.readline()
        if not line:
            break
        line = line.decode().rstrip("\r\n")
        if line == "":
            if ev is not None or data:
                events.append((ev or "message", json.loads("\n".join(data)) if data else None))
                if ev == "end":
                    break
            ev, data = None, []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            ev = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
    conn.close()
    return events


def b64(data):
    return base64.b64decode(data)
