"""Task execution that operators can trust (issue 3): run-as-user, login environment, interpreters,
timeouts that kill whole trees, cancel, limits, exact output, exit reporting, concurrency and the
agent's own validation. Each case has its hostile variant."""

import base64
import grp
import json
import os
import pty
import pwd
import select
import shutil
import sqlite3
import subprocess
import time
import unittest

from harness import TetherTest, wait_for, CLI_BIN, SLOW, SANITIZER, descendants

USER = "tether-e2e"
GROUP = "tether-e2e-grp"
NOLOGIN_USER = "tether-e2e-nl"
IS_ROOT = os.geteuid() == 0
HAVE_USERADD = shutil.which("useradd") is not None


def procs_with(marker):
    """Pids of processes whose command line contains marker."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def kill_marker(marker):
    for pid in descendants(procs_with(marker)):
        try:
            os.kill(pid, 9)
        except OSError:
            pass


def cgroups_usable():
    """Whether this host lets root create task cgroups (v2 with controllers, or v1)."""
    if not IS_ROOT:
        return False, "not root"
    for path in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/cgroup.controllers"):
        if os.path.exists(path) and os.access(os.path.dirname(path) if path.endswith("controllers")
                                              else path, os.W_OK):
            return True, ""
    return False, "no writable cgroup hierarchy with the pids controller"


class Execution(TetherTest):
    """One server and one agent; users created once for the class."""

    @classmethod
    def setUpClass(cls):
        cls.users_ok = IS_ROOT and HAVE_USERADD
        if not cls.users_ok:
            return
        cls.home = "/home/" + USER
        subprocess.run(["userdel", "-r", USER], capture_output=True)
        subprocess.run(["userdel", "-r", NOLOGIN_USER], capture_output=True)
        subprocess.run(["groupdel", GROUP], capture_output=True)
        subprocess.run(["groupadd", GROUP], check=True)
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", "-G", GROUP, USER], check=True)
        subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", NOLOGIN_USER], check=True)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "users_ok", False):
            subprocess.run(["userdel", "-r", USER], capture_output=True)
            subprocess.run(["userdel", NOLOGIN_USER], capture_output=True)
            subprocess.run(["groupdel", GROUP], capture_output=True)

    def setUp(self):
        super().setUp()
        self.server = self.start_server()
        os.environ["TETHER_E2E_AGENT_SECRET"] = "leak-marker-7f3a"
        try:
            self.agent = self.start_agent(self.server, "exec", extra_args=[
                "--set", "profile_timeout=2", "--set", "kill_grace=1"])
        finally:
            del os.environ["TETHER_E2E_AGENT_SECRET"]

    def need_users(self):
        if not self.users_ok:
            self.skipTest("needs root and useradd to create test users")

    def run_task(self, command, timeout=30, **opts):
        inv = self.server.invoke(command, ["exec"], **opts)
        done = self.server.wait_invocation(inv["invocation_id"], timeout=timeout)
        return done["tasks"][0]

    def raw_output(self, task, stream=None):
        q = "?stream=" + stream if stream else ""
        return self.server.api("GET", "/v1/tasks/%s/output%s" % (task["task_id"], q))

    # -- run as a user -------------------------------------------------------------------------

    def test_runs_as_the_user_with_their_groups(self):
        self.need_users()
        t = self.run_task("id -u; id -g; id -G; echo $HOME $USER $LOGNAME $SHELL; pwd", user=USER)
        self.assertEqual(t["status"], "succeeded", t)
        pw = pwd.getpwnam(USER)
        want_groups = sorted(str(g) for g in os.getgrouplist(USER, pw.pw_gid))
        lines = t["stdout"].splitlines()
        self.assertEqual(lines[0], str(pw.pw_uid))
        self.assertEqual(lines[1], str(pw.pw_gid))
        self.assertEqual(sorted(lines[2].split()), want_groups)
        self.assertIn(str(grp.getgrnam(GROUP).gr_gid), lines[2].split())
        self.assertNotIn("0", lines[2].split())  # nothing of root's
        self.assertEqual(lines[3], "%s %s %s /bin/bash" % (pw.pw_dir, USER, USER))
        self.assertEqual(lines[4], pw.pw_dir)  # default workdir: the user's home

    def test_missing_user_is_start_failed(self):
        marker = os.path.join(self.workdir, "must-not-exist")
        t = self.run_task("touch %s" % marker, user="no-such-user-xyz")
        self.assertEqual(t["status"], "start_failed")
        self.assertIn("no-such-user-xyz", t["error"])
        self.assertIsNone(t["exit_code"])
        self.assertFalse(os.path.exists(marker))

    def test_locked_shell_is_start_failed(self):
        self.need_users()
        marker = os.path.join(self.workdir, "must-not-exist")
        t = self.run_task("touch %s" % marker, user=NOLOGIN_USER)
        self.assertEqual(t["status"], "start_failed")
        self.assertIn("shell", t["error"])
        self.assertFalse(os.path.exists(marker))

    def test_unreadable_workdir_is_start_failed(self):
        self.need_users()
        private = os.path.join(self.workdir, "private")
        os.mkdir(private, 0o700)
        os.chmod(self.workdir, 0o755)
        t = self.run_task("pwd", user=USER, workdir=private)
        self.assertEqual(t["status"], "start_failed")
        self.assertIn(private, t["error"])
        t = self.run_task("pwd", workdir="/nonexistent/dir")
        self.assertEqual(t["status"], "start_failed")
        self.assertIn("/nonexistent/dir", t["error"])

    # -- environment ---------------------------------------------------------------------------

    def with_login_profiles(self):
        self.agent.stop()
        self.agent.extra_args += ["--set", "login_profile=yes"]
        self.agent.start()

    def test_login_environment_and_env_values(self):
        self.need_users()
        self.with_login_profiles()
        with open(os.path.join(self.home, ".profile"), "w") as f:
            f.write("export FROM_PROFILE=profile-value\nexport OVERRIDDEN=from-profile\n")
        with open(os.path.join(self.home, ".bash_profile"), "w") as f:
            f.write(". ~/.profile\n")
        try:
            t = self.run_task("echo $FROM_PROFILE $OVERRIDDEN $EXTRA; env", user=USER,
                              env={"OVERRIDDEN": "from-task", "EXTRA": "x y"})
        finally:
            os.unlink(os.path.join(self.home, ".profile"))
            os.unlink(os.path.join(self.home, ".bash_profile"))
        self.assertEqual(t["status"], "succeeded", t)
        self.assertEqual(t["stdout"].splitlines()[0], "profile-value from-task x y")
        self.assertNotIn("leak-marker-7f3a", t["stdout"])  # nothing of the agent's environment
        self.assertNotIn("tag_", t["stdout"])               # nor its token

    def test_hanging_profile_does_not_hang_the_task(self):
        self.need_users()
        self.with_login_profiles()
        with open(os.path.join(self.home, ".bash_profile"), "w") as f:
            f.write("sleep 1000 # tether-e2e-profile-hang\n")
        try:
            t = self.run_task("echo ran", user=USER)
        finally:
            os.unlink(os.path.join(self.home, ".bash_profile"))
            kill_marker("tether-e2e-profile-hang")
        self.assertEqual(t["status"], "succeeded", t)
        self.assertEqual(t["stdout"], "ran\n")
        self.assertIn("profile", t["stderr"])
        self.assertEqual(procs_with("sleep 1000"), [])

    def test_only_standard_descriptors(self):
        # exec: the interpreter becomes the task's process and inherits exactly its descriptors
        t = self.run_task("import os\n"
                          "for fd in sorted(int(x) for x in os.listdir('/proc/self/fd')):\n"
                          "    try:\n"
                          "        print(fd, os.readlink('/proc/self/fd/%d' % fd))\n"
                          "    except OSError:\n"
                          "        pass  # the directory handle listdir used, closed by now\n",
                          interpreter="python3")
        self.assertEqual(t["status"], "succeeded", t)
        fds = dict(line.split(" ", 1) for line in t["stdout"].splitlines())
        self.assertEqual(fds.get("0"), "/dev/null")
        for fd, target in fds.items():
            if int(fd) > 2:
                # python's own handle on its script is the only other descriptor
                self.assertTrue(target.endswith("/script"), "leaked fd %s: %s" % (fd, target))

    # -- interpreters and the script -----------------------------------------------------------

    def test_interpreters(self):
        cases = [("sh", "echo sh-ok", "sh-ok\n"),
                 ("bash", "echo ${BASH_VERSION:+bash-ok}", "bash-ok\n"),
                 ("python3", "import sys\nprint('py', sys.version_info[0])", "py 3\n"),
                 ("perl", "print \"perl-ok\\n\";", "perl-ok\n")]
        for interp, cmd, want in cases:
            with self.subTest(interpreter=interp):
                t = self.run_task(cmd, interpreter=interp)
                self.assertEqual(t["status"], "succeeded", t)
                self.assertEqual(t["stdout"], want)

    def test_script_private_and_removed(self):
        self.need_users()
        t = self.run_task("stat -c '%a %U' \"$0\"; echo \"$0\"", user=USER)
        self.assertEqual(t["status"], "succeeded", t)
        mode_owner, path = t["stdout"].splitlines()
        self.assertEqual(mode_owner, "700 " + USER)
        wait_for(lambda: not os.path.exists(path), timeout=10, what="script removed")

    # -- timeouts and cancel -------------------------------------------------------------------

    def test_timeout_kills_everything(self):
        tag = "tether-e2e-%d" % os.getpid()
        cmd = ("trap '' TERM; setsid sh -c 'sleep 1001; : %s' & "
               "( (sh -c 'sleep 1002; : %s' &) & ); "
               "nohup sh -c 'sleep 1003; : %s' >/dev/null 2>&1 & sh -c 'sleep 1004; : %s'"
               % ((tag,) * 4))
        try:
            t = self.run_task(cmd, timeout_s=2)
            self.assertEqual(t["status"], "timed_out", t)
            self.assertIsNone(t["exit_code"])
            self.assertIn(t["signal"], ("SIGTERM", "SIGKILL"))
            wait_for(lambda: procs_with(tag) == [], timeout=5, what="no process of the task left")
        finally:
            kill_marker(tag)

    def test_cancel_running_task(self):
        tag = "tether-e2e-cancel-%d" % os.getpid()
        inv = self.server.invoke("setsid sh -c 'sleep 1000; : %s' & sh -c 'sleep 1001; : %s'"
                                 % (tag, tag), ["exec"])
        inv_id = inv["invocation_id"]
        wait_for(lambda: self.server.invocation(inv_id, output=False)["tasks"][0]["status"]
                 == "running", timeout=10, what="task running")
        try:
            out = self.cli("cancel", inv_id, server=self.server, check=0)
            done = self.server.wait_invocation(inv_id, timeout=10)
            self.assertEqual(done["status"], "cancelled")
            self.assertEqual(done["tasks"][0]["status"], "cancelled")
            wait_for(lambda: procs_with(tag) == [], timeout=5, what="no process of the task left")
        finally:
            kill_marker(tag)

    def test_cancel_right_after_start(self):
        # A cancel that reaches the shim before it is ready must wait for it, not kill it.
        for _ in range(5):
            inv = self.server.invoke("sleep 100", ["exec"])["invocation_id"]
            wait_for(lambda: self.server.invocation(inv, output=False)["tasks"][0]["status"]
                     in ("dispatched", "running"), timeout=10, interval=0.002,
                     what="task handed out")
            self.cli("cancel", inv, server=self.server, check=0)
            t = self.server.wait_invocation(inv, timeout=15)["tasks"][0]
            self.assertEqual(t["status"], "cancelled", t)

    def test_cancel_pending_never_starts(self):
        self.agent.stop()
        marker = os.path.join(self.workdir, "never")
        inv = self.server.invoke("touch %s" % marker, ["exec"])
        self.cli("cancel", inv["invocation_id"], server=self.server, check=0)
        self.assertEqual(self.server.invocation(inv["invocation_id"])["tasks"][0]["status"],
                         "cancelled")
        self.agent.start()
        # a later task on the same agent runs, so the agent has pulled since
        t = self.run_task("echo later")
        self.assertEqual(t["stdout"], "later\n")
        self.assertFalse(os.path.exists(marker))

    # -- limits --------------------------------------------------------------------------------

    def test_fork_bomb_hits_pids_limit(self):
        ok, why = cgroups_usable()
        if not ok:
            self.skipTest("cgroups: " + why)
        t = self.run_task(":(){ :|:& };:; sleep 2", interpreter="bash", limits={"pids": 64},
                          timeout_s=20)
        self.assertNotEqual(t["status"], "succeeded", t)
        self.assertIn("pids", t["error"] or "", t)
        self.assertTrue(self.agent.online())  # the agent kept heartbeating

    def test_memory_hog_hits_memory_limit(self):
        ok, why = cgroups_usable()
        if not ok:
            self.skipTest("cgroups: " + why)
        t = self.run_task("python3 -c 'x = bytearray(512 * 1024 * 1024); print(len(x))'",
                          limits={"memory_bytes": 64 * 1024 * 1024}, timeout_s=30)
        self.assertEqual(t["status"], "failed", t)
        self.assertIn("memory", t["error"] or "", t)
        self.assertNotIn("536870912", t["stdout"])

    # -- output --------------------------------------------------------------------------------

    def test_arbitrary_bytes_preserved(self):
        t = self.run_task(r"printf 'a\377\000b\033[2J'; printf 'err\000\376' >&2; printf 'last'")
        self.assertEqual(self.raw_output(t, "stdout"), b"a\xff\x00b\x1b[2Jlast")
        self.assertEqual(self.raw_output(t, "stderr"), b"err\x00\xfe")
        # the CLI writes the exact bytes to a pipe ...
        out = self.cli("logs", t["task_id"], server=self.server, check=0)
        self.assertIn(b"a\xff\x00b\x1b[2J", out.stdout)

    def test_terminal_output_is_escaped(self):
        t = self.run_task(r"printf 'x\033]0;pwned\007y\n'")
        env = dict(os.environ, TETHER_SERVER=self.server.url, TETHER_API_KEY=self.server.key,
                   HOME=self.workdir)
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(CLI_BIN, [CLI_BIN, "logs", t["task_id"]], env)
        data = b""
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
        os.waitpid(pid, 0)
        self.assertNotIn(b"\x1b]0;", data)
        self.assertIn(b"x", data)
        self.assertIn(b"y", data)

    def test_head_and_tail_over_output_limit(self):
        t = self.run_task("seq 1 400000", output_limit=64 * 1024)
        self.assertEqual(t["status"], "succeeded")
        total = len("".join("%d\n" % i for i in range(1, 400001)))
        raw = self.raw_output(t)
        self.assertEqual(len(raw), 64 * 1024)
        self.assertEqual(t["dropped_bytes"], total - 64 * 1024)
        self.assertTrue(raw.startswith(b"1\n2\n3\n"))
        self.assertTrue(raw.endswith(b"399999\n400000\n"))

    def test_agent_memory_flat_under_heavy_output(self):
        if SANITIZER:
            self.skipTest("RSS says nothing under %s (freed memory sits in its quarantine)"
                          % SANITIZER)
        def rss():
            with open("/proc/%d/status" % self.agent.proc.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        inv = self.server.invoke("yes tether-output-volume | head -c 100000000", ["exec"])
        samples = [rss()]
        while self.server.invocation(inv["invocation_id"], output=False)["status"] in (
                "pending", "running"):
            samples.append(rss())
            time.sleep(0.1)
        done = self.server.invocation(inv["invocation_id"], output=False)
        self.assertEqual(done["tasks"][0]["status"], "succeeded")
        self.assertEqual(done["tasks"][0]["output_bytes"], 100000000)
        growth_kib = max(samples) - samples[0]
        self.assertLess(growth_kib, 16 * 1024, "agent RSS grew %d KiB: %s" % (growth_kib, samples))

    def test_spool_cap_enforced_and_reported(self):
        self.agent.stop()
        self.agent.extra_args += ["--set", "spool_limit=1M"]
        self.agent.start()
        t = self.run_task("head -c 3000000 /dev/zero")
        self.assertEqual(t["dropped_bytes"] >= 3000000 - 1024 * 1024, True, t)
        self.assertIn("spool", t["error"] or "", t)

    def test_background_child_does_not_hang_task(self):
        tag = "tether-e2e-bg-%d" % os.getpid()
        try:
            t = self.run_task("sh -c 'sleep 1000; : %s' & echo done" % tag, timeout=20)
            self.assertEqual(t["status"], "succeeded", t)
            self.assertEqual(t["stdout"], "done\n")
        finally:
            kill_marker(tag)

    # -- exit reporting ------------------------------------------------------------------------

    def test_exit_reporting(self):
        t = self.run_task("exit 0")
        self.assertEqual((t["status"], t["exit_code"], t["signal"]), ("succeeded", 0, None))
        t = self.run_task("exit 7")
        self.assertEqual((t["status"], t["exit_code"], t["signal"]), ("failed", 7, None))
        t = self.run_task("kill -9 $$")
        self.assertEqual((t["status"], t["exit_code"], t["signal"]), ("failed", None, "SIGKILL"))
        out = self.cli("run", "-t", "exec", "--", "kill -9 $$", server=self.server)
        self.assertEqual(out.returncode, 255)
        self.assertIn(b"SIGKILL", out.stderr)

    # -- concurrency ---------------------------------------------------------------------------

    def test_concurrency_limit_and_order(self):
        self.agent.stop()
        self.agent.extra_args += ["--set", "max_concurrent_tasks=2"]
        self.agent.start()
        gates = [os.path.join(self.workdir, "gate%d" % i) for i in range(4)]
        invs = [self.server.invoke("while [ ! -e %s ]; do sleep 0.05; done" % g,
                                   ["exec"])["invocation_id"] for g in gates]

        def statuses():
            return [self.server.invocation(i, output=False)["tasks"][0]["status"] for i in invs]
        wait_for(lambda: statuses()[:2] == ["running", "running"], timeout=10, what="two running")
        self.assertEqual(statuses()[2:], ["pending", "pending"])
        shown = self.cli("invocations", "show", invs[3], server=self.server, check=0).stdout
        self.assertIn(b"pending", shown)
        open(gates[0], "w").close()
        wait_for(lambda: statuses()[2] == "running", timeout=10, what="third task started")
        self.assertEqual(statuses()[3], "pending")  # in order
        for g in gates[1:]:
            open(g, "w").close()
        wait_for(lambda: statuses() == ["succeeded"] * 4, timeout=20, what="all done")

    # -- validation on the agent ---------------------------------------------------------------

    def test_agent_rechecks_task_fields(self):
        self.agent.stop()
        inv = self.server.invoke("echo should-not-run", ["exec"])
        # A compromised or buggy server: the stored task now carries a hostile user name.
        db = sqlite3.connect(os.path.join(self.server.dir, "tether.db"), timeout=10)
        db.execute("UPDATE invocations SET user='../../etc' WHERE invocation_id=?",
                   (inv["invocation_id"],))
        db.commit()
        db.close()
        self.agent.start()
        done = self.server.wait_invocation(inv["invocation_id"])
        t = done["tasks"][0]
        self.assertEqual(t["status"], "start_failed")
        self.assertIn("user", t["error"])
        self.assertEqual(t["stdout"], "")


if __name__ == "__main__":
    unittest.main()
