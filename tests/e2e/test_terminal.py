"""The CLI on a terminal (issue 7): the confirmation prompt of `tether run`, the offline notice,
the progress line, status colours (NO_COLOR, TERM=dumb, --color), shell completion and the man
page. Terminal cases run `tether` on a pseudo-terminal (stdin, stdout and stderr on the pty
unless a case pipes one of them) and read it with deadlines."""

import errno
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import time
import unittest

from harness import CLI_BIN, SLOW, TetherTest, wait_for

PROGRESS = re.compile(rb"\[\d+/\d+ done \xc2\xb7 \d+ running \xc2\xb7 \d+ failed\]")
SGR = b"\x1b["


class Run:
    """`tether ARGS` with stdin/stdout/stderr each on the pty or on a pipe; read with deadlines."""

    def __init__(self, test, args, env, tty=("stdin", "stdout", "stderr")):
        self.master, slave = pty.openpty()
        self.fds = {}
        ends = {}
        for name in ("stdin", "stdout", "stderr"):
            ends[name] = slave if name in tty else subprocess.PIPE
        self.p = subprocess.Popen([CLI_BIN] + list(args), env=env, start_new_session=True,
                                  stdin=ends["stdin"], stdout=ends["stdout"],
                                  stderr=ends["stderr"])
        os.close(slave)
        if self.p.stdin:
            self.p.stdin.close()   # a piped stdin is at its end: a question would read "no"
        self.out = {"pty": b"", "stdout": b"", "stderr": b""}
        self.open = {"pty": self.master}
        if self.p.stdout:
            self.open["stdout"] = self.p.stdout.fileno()
        if self.p.stderr:
            self.open["stderr"] = self.p.stderr.fileno()
        test.addCleanup(self.close)

    def _pump(self, left):
        if not self.open:
            return False
        ready, _, _ = select.select(list(self.open.values()), [], [], max(left, 0))
        for name, fd in list(self.open.items()):
            if fd not in ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError as e:
                if e.errno != errno.EIO:   # EIO: the pty's other side is closed
                    raise
                data = b""
            if data:
                self.out[name] += data
            else:
                del self.open[name]
        return True

    def wait_for(self, what, where="pty", timeout=20):
        """Reads until `what` (bytes or a compiled regex) shows up in `where`."""
        deadline = time.monotonic() + timeout * SLOW
        found = (lambda: what.search(self.out[where])) if hasattr(what, "search") else \
            (lambda: what in self.out[where])
        while not found():
            left = deadline - time.monotonic()
            if left <= 0 or not self._pump(left):
                raise AssertionError("no %r in %s after %ss; got %r" % (
                    what, where, timeout, self.out))
        return self.out[where]

    def send(self, data):
        os.write(self.master, data)

    def finish(self, timeout=30):
        """Reads everything until the process ends; returns its exit status."""
        deadline = time.monotonic() + timeout * SLOW
        while self.p.poll() is None or self.open:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("tether did not end; output %r" % (self.out,))
            if not self._pump(min(left, 0.2)) and self.p.poll() is None:
                time.sleep(0.01)
            if self.p.poll() is not None and not self._pump(0):
                break
        return self.p.wait(timeout=5)

    def close(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait(timeout=5)
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            if f:
                f.close()
        try:
            os.close(self.master)
        except OSError:
            pass


class Terminal(TetherTest):
    def setUp(self):
        super().setUp()
        self.server = self.start_server()
        self.agents = {n: self.start_agent(self.server, n) for n in ("t-1", "t-2", "t-3")}

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TETHER_") and k != "NO_COLOR"}
        env.update(HOME=self.workdir, TERM="xterm", TETHER_SERVER=self.server.url,
                   TETHER_API_KEY=self.server.key)
        env.update(extra)
        return env

    def tty(self, *args, tty=("stdin", "stdout", "stderr"), **env):
        return Run(self, args, self.env(**env), tty=tty)

    def invocation_ids(self):
        return [i["invocation_id"] for i in
                self.server.api("GET", "/v1/invocations?limit=1000")["invocations"]]

    def resolve_calls(self):
        with open(os.path.join(self.workdir, "server.log"), "rb") as f:
            return f.read().count(b"http: /v1/targets/resolve ")

    def register_offline(self, count, tags):
        """Agents that exist but never connect: registered over REST, no process."""
        code = self.server.activation(uses=count, tags=tags)
        names = []
        for i in range(count):
            name = "off-%02d" % i
            self.server.api("POST", "/v1/agent/register", {
                "activation_code": code, "name": name, "hostname": name,
                "machine_id": "mid-off-%02d" % i, "ips": ["10.9.0.%d" % (i + 1)],
                "os": "linux", "arch": "x86_64", "version": "0.0.1"}, key="")
            names.append(name)
        return names

    # ---- the confirmation prompt ----

    def test_prompt_for_all(self):
        before = self.invocation_ids()
        r = self.tty("run", "--all", "--", "echo hi")
        r.wait_for(b"About to run on 3 agents (0 offline). Continue? [y/N] ")
        r.send(b"n\n")
        self.assertEqual(r.finish(), 1, r.out)
        self.assertIn(b"tether: nothing run", r.out["pty"])
        self.assertEqual(self.invocation_ids(), before, "a declined run created something")
        # end of input is a no as well
        r = self.tty("run", "--all", "--", "echo hi")
        r.wait_for(b"Continue? [y/N] ")
        r.send(b"\x04")
        self.assertEqual(r.finish(), 1, r.out)
        self.assertEqual(self.invocation_ids(), before)

        r = self.tty("run", "--all", "--", "echo hi")
        r.wait_for(b"Continue? [y/N] ")
        r.send(b"y\n")
        self.assertEqual(r.finish(), 0, r.out)
        for n in self.agents:
            self.assertIn(n.encode() + b" | hi", r.out["pty"])
        self.assertEqual(len(self.invocation_ids()), len(before) + 1)

        # --yes and -y: no question
        for flag in ("--yes", "-y"):
            r = self.tty("run", "--all", flag, "--", "echo hi")
            self.assertEqual(r.finish(), 0, r.out)
            self.assertNotIn(b"About to run", r.out["pty"])
        # stdin not a terminal (a script feeding it): no question, and no resolve round trip
        calls = self.resolve_calls()
        r = self.tty("run", "--all", "--", "echo hi", tty=("stdout", "stderr"))
        self.assertEqual(r.finish(), 0, r.out)
        self.assertNotIn(b"About to run", r.out["pty"])
        # stderr not a terminal: no question either
        r = self.tty("run", "--all", "--", "echo hi", tty=("stdin", "stdout"))
        self.assertEqual(r.finish(), 0, r.out)
        self.assertNotIn(b"About to run", r.out["stderr"] + r.out["pty"])
        self.assertEqual(self.resolve_calls(), calls)

    def test_prompt_for_more_than_50_targets(self):
        names = self.register_offline(52, {"fleet": "big"})
        before = self.invocation_ids()
        r = self.tty("run", "-t", ",".join(names), "--", "true")
        r.wait_for(b"About to run on 52 agents (52 offline). Continue? [y/N] ")
        r.send(b"no\n")
        self.assertEqual(r.finish(), 1, r.out)
        self.assertEqual(self.invocation_ids(), before)
        # a tag selection is resolved first, so it is counted the same way
        r = self.tty("run", "--tag", "fleet=big", "--", "true")
        r.wait_for(b"About to run on 52 agents (52 offline). Continue? [y/N] ")
        r.send(b"N\n")
        self.assertEqual(r.finish(), 1, r.out)
        self.assertEqual(self.invocation_ids(), before)
        # yes: created (--no-wait: these agents never come)
        r = self.tty("run", "--no-wait", "-t", ",".join(names), "--", "true")
        r.wait_for(b"Continue? [y/N] ")
        r.send(b"y\n")
        self.assertEqual(r.finish(), 0, r.out)
        inv_id = re.search(rb"inv-[0-9a-f]+", r.out["pty"]).group().decode()
        self.assertEqual(len(self.server.invocation(inv_id, output=False)["tasks"]), 52)
        plain = re.sub(rb"\x1b\[[0-9;]*m", b"", r.out["pty"])
        self.assertIn(b"52 of 52 targets are offline (off-00, off-01", plain)
        self.assertIn(b"and 42 more); their tasks wait until they reconnect or expire in 1h", plain)
        self.server.api("POST", "/v1/invocations/%s/cancel" % inv_id)
        # 50 explicit names: no question and no resolve round trip
        calls = self.resolve_calls()
        r = self.tty("run", "--no-wait", "-t", ",".join(names[:50]), "--", "true")
        self.assertEqual(r.finish(), 0, r.out)
        self.assertNotIn(b"About to run", r.out["pty"])
        self.assertEqual(self.resolve_calls(), calls)
        inv_id = re.search(rb"inv-[0-9a-f]+", r.out["pty"]).group().decode()
        self.server.api("POST", "/v1/invocations/%s/cancel" % inv_id)
        # a small tag selection is resolved but not asked about
        r = self.tty("run", "--tag", "fleet=big", "--exclude", ",".join(names[:50]),
                     "--no-wait", "--", "true")
        self.assertEqual(r.finish(), 0, r.out)
        self.assertNotIn(b"About to run", r.out["pty"])
        self.assertEqual(self.resolve_calls(), calls + 1)
        inv_id = re.search(rb"inv-[0-9a-f]+", r.out["pty"]).group().decode()
        self.server.api("POST", "/v1/invocations/%s/cancel" % inv_id)

    # ---- offline targets up front ----

    def stop_t3(self):
        self.agents["t-3"].stop()
        wait_for(lambda: self.server.agents()["t-3"]["status"] == "offline", timeout=15,
                 what="t-3 offline")

    def test_offline_notice_piped(self):
        self.stop_t3()
        notice = (b"tether: 1 of 3 targets is offline (t-3); its task waits until it "
                  b"reconnects or expires in 1h\n")
        r = self.tty("run", "--all", "--", "echo hi", tty=())
        r.wait_for(notice, where="stderr")
        r.wait_for(b"t-1 | hi\n", where="stdout")
        r.wait_for(b"t-2 | hi\n", where="stdout")
        # the notice came before any output
        self.assertTrue(r.out["stderr"].startswith(notice), r.out)
        self.assertNotIn(SGR, r.out["stderr"] + r.out["stdout"])
        self.assertIsNone(r.p.poll())
        self.agents["t-3"].start()   # it reconnects and runs its task
        self.assertEqual(r.finish(), 0, r.out)
        self.assertIn(b"t-3 | hi\n", r.out["stdout"])
        self.assertIn(b"3 succeeded", r.out["stderr"])
        self.assertIsNone(PROGRESS.search(r.out["stdout"] + r.out["stderr"]))
        # -o json: the same notice on stderr, the JSON shape unchanged on stdout
        out = self.cli("run", "-o", "json", "-t", "t-1,t-2", "--", "echo hi",
                       server=self.server, check=0)
        inv = json.loads(out.stdout)
        self.assertEqual(sorted(inv), ["invocation_id", "status", "tasks"])
        for t in inv["tasks"]:
            self.assertEqual(sorted(t), sorted([
                "task_id", "agent_id", "name", "status", "exit_code", "signal", "error",
                "output", "stdout", "stderr", "dropped_bytes", "started_at", "finished_at"]))
        # the raw API answer carries agent_online
        created = self.server.invoke("true", ["t-1"])
        self.assertIs(created["tasks"][0]["agent_online"], True)
        self.server.wait_invocation(created["invocation_id"])

    def test_offline_notice_progress_and_colours_on_a_terminal(self):
        self.stop_t3()
        r = self.tty("run", "-t", "t-1,t-2,t-3", "--", "echo hi")
        text = r.wait_for(b"1 of 3 targets is \x1b[31moffline\x1b[0m (t-3); its task waits")
        r.wait_for(b"t-2 | hi")
        r.wait_for(b"t-1 | hi")
        r.wait_for(re.compile(rb"\[2/3 done \xc2\xb7 0 running \xc2\xb7 0 failed\]"))
        self.agents["t-3"].start()
        self.assertEqual(r.finish(), 0, r.out)
        text = r.out["pty"]
        if os.environ.get("TETHER_SHOW_PTY"):
            print(repr(text))
        self.assertLess(text.index(b"offline"), text.index(b"t-1 | hi"))
        # the progress line was drawn, erased before each output line, and removed at the end
        self.assertRegex(text, PROGRESS)
        for line in (b"t-1 | hi", b"t-2 | hi", b"t-3 | hi"):
            self.assertIn(b"\r\x1b[K" + line, text)
        self.assertIn(b"\r\x1b[K\x1b[32m3 succeeded\x1b[0m", text)
        tail = text[text.rindex(b"done \xc2\xb7"):]
        self.assertIn(b"\r\x1b[K", tail)
        # stdout piped: the progress line stays on the terminal (stderr), never in stdout
        r = self.tty("run", "-t", "t-1,t-2", "--", "echo hi", tty=("stdin", "stderr"))
        self.assertEqual(r.finish(), 0, r.out)
        self.assertEqual(sorted(r.out["stdout"].splitlines()), [b"t-1 | hi", b"t-2 | hi"])
        self.assertRegex(r.out["pty"], PROGRESS)
        # stderr piped: no progress line anywhere
        r = self.tty("run", "-t", "t-1,t-2", "--", "echo hi", tty=("stdin", "stdout"))
        self.assertEqual(r.finish(), 0, r.out)
        self.assertIsNone(PROGRESS.search(r.out["pty"] + r.out["stderr"]))
        self.assertEqual(r.out["stderr"], b"2 succeeded\n")
        # one target: no progress line (output is raw, like ssh)
        r = self.tty("run", "-t", "t-1", "--", "echo hi")
        self.assertEqual(r.finish(), 0, r.out)
        self.assertIsNone(PROGRESS.search(r.out["pty"]))

    # ---- colours ----

    def test_colours(self):
        online = b"\x1b[32monline\x1b[0m"
        r = self.tty("agents")
        self.assertEqual(r.finish(), 0, r.out)
        self.assertIn(online, r.out["pty"])
        # the columns still line up: colour codes do not count in the width
        plain = re.sub(rb"\x1b\[[0-9;]*m", b"", r.out["pty"]).splitlines()
        self.assertEqual(plain[0].index(b"VERSION"), plain[1].index(b"0.1.0"))
        for env in ({"NO_COLOR": "1"}, {"TERM": "dumb"}):
            r = self.tty("agents", **env)
            self.assertEqual(r.finish(), 0, r.out)
            self.assertIn(b"online", r.out["pty"])
            self.assertNotIn(SGR, r.out["pty"], env)
        # NO_COLOR set but empty does not count
        r = self.tty("agents", NO_COLOR="")
        self.assertEqual(r.finish(), 0, r.out)
        self.assertIn(online, r.out["pty"])
        # piped: none; --color always forces them, --color never drops them on a terminal
        out = self.cli("agents", server=self.server, check=0)
        self.assertNotIn(SGR, out.stdout)
        out = self.cli("--color", "always", "agents", server=self.server, check=0)
        self.assertIn(online, out.stdout)
        out = self.cli("--color=always", "run", "-t", "t-1,t-2", "--", "exit 3",
                       server=self.server, check=1)
        self.assertIn(b"\x1b[31m2 failed\x1b[0m", out.stderr)
        r = self.tty("--color", "never", "agents")
        self.assertEqual(r.finish(), 0, r.out)
        self.assertNotIn(SGR, r.out["pty"])
        out = self.cli("--color", "sometimes", "agents", server=self.server, check=2)
        self.assertIn(b"--color: 'sometimes' is not auto, always or never", out.stderr)
        # invocation listings colour their STATUS column too
        r = self.tty("invocations")
        self.assertEqual(r.finish(), 0, r.out)
        self.assertIn(b"\x1b[31mfailed\x1b[0m", r.out["pty"])
        # a failing run's summary on a terminal, and the --dry-run listing
        r = self.tty("run", "-t", "t-1,t-2", "--", "exit 3")
        self.assertEqual(r.finish(), 1, r.out)
        self.assertIn(b"0 succeeded, \x1b[31m2 failed\x1b[0m: t-", r.out["pty"])
        r = self.tty("run", "--all", "--dry-run")
        self.assertEqual(r.finish(), 0, r.out)
        self.assertIn(online, r.out["pty"])

    # ---- errors that say what to do next ----

    def test_error_hints(self):
        env = dict(self.env(), TETHER_SERVER="http://127.0.0.1:1")
        out = subprocess.run([CLI_BIN, "agents"], env=env, capture_output=True,
                             timeout=30 * SLOW)
        self.assertEqual(out.returncode, 1)
        err = out.stderr.decode()
        self.assertIn("cannot reach server at http://127.0.0.1:1 (from TETHER_SERVER)", err)
        self.assertIn("--server URL or TETHER_SERVER=URL", err)
        out = self.cli("agents", server=self.server, key="tak_" + "0" * 43)
        self.assertEqual(out.returncode, 1)
        self.assertIn(b"refused the API key from TETHER_API_KEY (check the key", out.stderr)
        viewer = self.cli("apikey", "create", "--role", "viewer", server=self.server,
                          check=0).stdout.decode().strip()
        out = self.cli("run", "-t", "t-1", "--", "true", server=self.server, key=viewer)
        self.assertEqual(out.returncode, 1)
        self.assertIn(b"it needs the operator role (use a key with the operator role; an admin "
                      b"makes one with: tether apikey create --role operator)", out.stderr)
        out = self.cli("run", "--tag", "nosuch=tag", "--", "true", server=self.server)
        self.assertEqual(out.returncode, 1)
        self.assertIn(b"no agent matches (list the agents with: tether agents; check a "
                      b"selection with: tether run ... --dry-run)", out.stderr)


def bash_complete(test, script, words, env=None):
    """What the bash completion script offers for words (the last one being completed)."""
    line = " ".join("'%s'" % w for w in words)
    prog = ('source %s\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\n_tether\n'
            'printf "%%s\\n" "${COMPREPLY[@]}"\n') % (script, line, len(words) - 1)
    out = subprocess.run(["bash", "--norc", "-c", prog], capture_output=True, text=True, env=env,
                         timeout=30 * SLOW)
    test.assertEqual(out.returncode, 0, out.stderr)
    return out.stdout.split()


class AgentNameCompletion(TetherTest):
    """-t, --target and --exclude complete agent names from `tether agents` (the user's server
    settings); whatever a server sends, only words of the name alphabet reach the shell."""

    def setUp(self):
        super().setUp()
        self.server = self.start_server()
        for name in ("web-1", "web-2", "db-1"):
            self.start_agent(self.server, name, start=False)   # registered, offline
        self.scripts = {}
        for shell in ("bash", "zsh"):
            path = os.path.join(self.workdir, "tether." + shell)
            with open(path, "wb") as f:
                f.write(self.cli("completion", shell, check=0).stdout)
            self.scripts[shell] = path

    def env(self, path_first=None):
        env = dict(os.environ, HOME=self.workdir, TETHER_SERVER=self.server.url,
                   TETHER_API_KEY=self.server.key)
        env["PATH"] = (path_first or os.path.dirname(CLI_BIN)) + ":" + env["PATH"]
        return env

    def bash(self, words, env):
        return sorted(bash_complete(self, self.scripts["bash"], words, env))

    def test_bash_and_zsh(self):
        env = self.env()
        self.assertEqual(self.bash(["tether", "run", "-t", "web"], env), ["web-1", "web-2"])
        self.assertEqual(self.bash(["tether", "run", "--exclude", ""], env),
                         ["db-1", "web-1", "web-2"])
        if shutil.which("zsh"):
            prog = ('compdef() { : }\ncompadd() { [[ $1 == -- ]] && shift; print -l -- "$@" }\n'
                    '_files() { print FILES }\nsource %s\nwords=(tether run -t \'\')\n'
                    'CURRENT=4\n_tether\n' % self.scripts["zsh"])
            out = subprocess.run(["zsh", "-f", "-c", prog], capture_output=True, text=True,
                                 env=env, timeout=30 * SLOW)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(sorted(out.stdout.split()), ["db-1", "web-1", "web-2"])
        # no server reachable: nothing offered, no error printed into the command line
        env["TETHER_SERVER"] = "http://127.0.0.1:1"
        self.assertEqual(self.bash(["tether", "run", "-t", ""], env), [])

    def test_hostile_listing_reaches_no_shell(self):
        # a `tether` that prints what a hostile server could make it print
        fake = os.path.join(self.workdir, "fakebin")
        os.mkdir(fake)
        pwned = os.path.join(self.workdir, "pwned")
        with open(os.path.join(fake, "tether"), "w") as f:
            # space-free, or awk's first field would cut them: without the filter the first two
            # run `touch` when the shell expands the word list (checked by hand)
            f.write("#!/bin/sh\ncat <<'EOF'\nNAME ID STATUS\n$(touch${IFS}%s) x y\n"
                    "`touch${IFS}%s` x y\na;b x y\n* x y\nok-1 agt-x online\nEOF\n"
                    % (pwned, pwned))
        os.chmod(os.path.join(fake, "tether"), 0o755)
        self.assertEqual(self.bash(["tether", "run", "-t", ""], self.env(fake)), ["ok-1"])
        self.assertFalse(os.path.exists(pwned))


class Completion(TetherTest):
    """Completion scripts and the man page need no server."""

    def tether(self, *args, check=0):
        return self.cli(*args, check=check)

    def bash_complete(self, script, words):
        return bash_complete(self, script, words)

    def test_bash(self):
        path = os.path.join(self.workdir, "tether.bash")
        with open(path, "wb") as f:
            f.write(self.tether("completion", "bash").stdout)
        out = subprocess.run(["bash", "-n", path], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.bash_complete(path, ["tether", "r"]), ["run", "release"])
        self.assertEqual(self.bash_complete(path, ["tether", "run", "--max-e"]), ["--max-errors"])
        self.assertEqual(self.bash_complete(path, ["tether", "--server", "x", "ag"]), ["agents"])
        self.assertEqual(self.bash_complete(path, ["tether", "agents", "s"]), ["show"])
        self.assertEqual(self.bash_complete(path, ["tether", "run", "-o", ""]), ["json", "table"])
        self.assertEqual(self.bash_complete(path, ["tether", "--col"]), ["--color"])
        self.assertEqual(self.bash_complete(path, ["tether", "--color", "n"]), ["never"])
        self.assertEqual(self.bash_complete(path, ["tether", "apikey", "create", "--role", "o"]),
                         ["operator"])
        self.assertEqual(self.bash_complete(path, ["tether", "completion", ""]), ["bash", "zsh"])
        # past the remote command's first word nothing of tether's is offered
        self.assertEqual(self.bash_complete(path, ["tether", "run", "-t", "a", "ls", "--ma"]), [])
        # options taken from --help text for commands without an exported table
        self.assertIn("--status", self.bash_complete(path, ["tether", "agents", "--"]))

    def test_zsh(self):
        if not shutil.which("zsh"):
            self.skipTest("zsh is not installed (install/deps.sh installs it)")
        path = os.path.join(self.workdir, "_tether")
        with open(path, "wb") as f:
            f.write(self.tether("completion", "zsh").stdout)
        out = subprocess.run(["zsh", "-n", path], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)

        def complete(*words):
            # compadd and compdef exist only inside the completion system: stand-ins record
            prog = ('compdef() { : }\ncompadd() { [[ $1 == -- ]] && shift; print -l -- "$@" }\n'
                    '_files() { print FILES }\nsource %s\nwords=(%s)\nCURRENT=%d\n_tether\n'
                    % (path, " ".join("'%s'" % w for w in words), len(words)))
            res = subprocess.run(["zsh", "-f", "-c", prog], capture_output=True, text=True,
                                 timeout=30 * SLOW)
            self.assertEqual(res.returncode, 0, res.stderr)
            return res.stdout.split()
        self.assertIn("run", complete("tether", "r"))
        self.assertIn("--max-errors", complete("tether", "run", "--max-e"))
        self.assertEqual(complete("tether", "run", "--interpreter", ""),
                         ["sh", "bash", "python3", "perl"])
        self.assertEqual(complete("tether", "release", ""),
                         ["keygen", "publish", "ls", "rollout", "push", "status"])

    def test_bad_input(self):
        for args, msg in ((["completion"], b"give a shell"),
                          (["completion", "fish"], b"'fish' is not bash or zsh"),
                          (["completion", "bash", "zsh"], b"give one shell"),
                          (["man", "extra"], b"takes no arguments")):
            out = self.tether(*args, check=2)
            self.assertIn(msg, out.stderr)
            self.assertEqual(out.stdout, b"")

    def test_man_page(self):
        page = self.tether("man").stdout
        self.assertEqual(self.tether("help", "--man").stdout, page)
        self.assertTrue(page.startswith(b".TH TETHER 1"))
        path = os.path.join(self.workdir, "tether.1")
        with open(path, "wb") as f:
            f.write(page)
        for dev in ("utf8", "ascii"):
            out = subprocess.run(["groff", "-man", "-T" + dev, "-ww", "-z", path],
                                 capture_output=True, text=True, timeout=30 * SLOW)
            self.assertEqual((out.returncode, out.stderr), (0, ""))
        out = subprocess.run(["man", "-l", path], capture_output=True, text=True,
                             env=dict(os.environ, MANPAGER="cat", MANWIDTH="100"),
                             timeout=30 * SLOW)
        self.assertEqual((out.returncode, out.stderr), (0, ""))
        text = out.stdout
        for cmd in self.commands():
            self.assertRegex(text, r"\n   %s\n" % cmd)
        self.assertIn("--max-errors N|P%", text)
        # the page the build wrote is this one
        built = os.path.join(os.path.dirname(CLI_BIN), "..", "share", "man", "man1", "tether.1")
        with open(built, "rb") as f:
            self.assertEqual(f.read(), page)

    def commands(self):
        script = self.tether("completion", "bash").stdout.decode()
        return re.search(r'^_tether_commands="([^"]*)"', script, re.M).group(1).split()

    def test_help_matches_the_option_tables(self):
        """Every long option of a command's table is in its --help text (so --help, completion
        and the man page cannot drift), and every --help text has an example."""
        script = self.tether("completion", "bash").stdout.decode()
        cases = dict(re.findall(r'^\s+([a-z|]+)\) cmd_opts="([^"]*)"', script, re.M))
        commands = self.commands()
        self.assertEqual(sorted(c.split("|")[0] for c in cases), sorted(commands))
        for pattern, opts in cases.items():
            cmd = pattern.split("|")[0]
            usage = self.tether(cmd, "--help").stdout.decode()
            self.assertEqual(self.tether("help", cmd).stdout.decode(), usage)
            self.assertRegex(usage, r"(?m)^example: ", "tether %s --help has no example" % cmd)
            words = opts.split()
            for i, w in enumerate(words):
                if not w.startswith("--") or w == "--help":   # --help: the main usage says so
                    continue
                short = words[i + 1] if i + 1 < len(words) and re.match(r"^-\w$", words[i + 1]) \
                    else None
                shown = re.search(r"(^|[\s\[|,(])%s\b(?!-)" % re.escape(w), usage) or \
                    (short and re.search(r"(^|[\s\[|,])%s\b" % re.escape(short), usage))
                self.assertTrue(shown, "tether %s: %s is not in its --help text" % (cmd, w))
        # the global options are in the main usage
        main = self.tether("--help").stdout.decode()
        for w in re.search(r'^_tether_global_opts="([^"]*)"', script, re.M).group(1).split():
            if w.startswith("--") and w not in ("--help", "--version"):
                self.assertIn(w, main)


if __name__ == "__main__":
    unittest.main()
