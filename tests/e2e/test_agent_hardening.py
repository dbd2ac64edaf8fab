"""Agent hardening end to end (issue 5's agent bullet, issue 3's login-profile cost): secrets out of
a task's reach, planted symlinks not followed, no command text or env values in the agent log, and
the per-user login environment cache (reused, then invalidated by a profile edit)."""

import base64
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import unittest

from harness import BIN, SLOW, TetherTest, wait_for

IS_ROOT = os.geteuid() == 0
HAVE_USERADD = shutil.which("useradd") is not None
USER = "tether-e2e-hard"
SHIM_BIN = os.path.join(BIN, "tether-task-shim")


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class Hardening(TetherTest):
    """One server; each test starts the agent it needs. A test user is created once."""

    @classmethod
    def setUpClass(cls):
        cls.users_ok = IS_ROOT and HAVE_USERADD
        if cls.users_ok:
            subprocess.run(["userdel", "-r", USER], capture_output=True)
            subprocess.run(["useradd", "-m", "-s", "/bin/bash", USER], check=True)
            cls.home = os.path.expanduser("~" + USER)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "users_ok", False):
            subprocess.run(["userdel", "-r", USER], capture_output=True)

    def setUp(self):
        super().setUp()
        self.server = self.start_server()

    def need_root(self):
        if not IS_ROOT:
            self.skipTest("needs root (tasks as other users, mount namespaces)")

    def need_user(self):
        if not self.users_ok:
            self.skipTest("needs root and useradd to create a test user")

    def run_task(self, agent, command, timeout=30, **opts):
        inv = self.server.invoke(command, [agent.name], **opts)
        return self.server.wait_invocation(inv["invocation_id"], timeout=timeout)["tasks"][0]

    # -- secrets out of reach -------------------------------------------------------------------

    def test_modes_of_what_the_agent_creates(self):
        a = self.start_agent(self.server, "modes")
        t = self.run_task(a, "true")
        self.assertEqual(t["status"], "succeeded", t)
        self.assertEqual(mode(a.dir), 0o711)
        self.assertEqual(mode(os.path.join(a.dir, "identity.json")), 0o600)
        self.assertEqual(mode(os.path.join(a.dir, "status.json")), 0o600)
        self.assertEqual(mode(os.path.join(a.dir, "tasks")), 0o711)
        tdir = os.path.join(a.dir, "tasks", t["task_id"])
        self.assertEqual(mode(tdir), 0o711)
        # The agent drops the script (0700, the task user's) and the spool once the server has
        # the result, a moment after the finish the test saw; what stays must be 0600.
        wait_for(lambda: not {"script", "output"} & set(os.listdir(tdir)),
                 what="script and spool removed after finish")
        for name in os.listdir(tdir):
            self.assertEqual(mode(os.path.join(tdir, name)), 0o600, name)

    def test_root_task_cannot_read_the_token(self):
        self.need_root()
        conf = os.path.join(self.workdir, "agent.conf")
        with open(conf, "w") as f:
            f.write("# conf-marker-91c2\nheartbeat_interval = 30\n")
        os.chmod(conf, 0o600)
        a = self.start_agent(self.server, "rootns", extra_args=["--config", conf])
        token = a.token()
        ident = os.path.join(a.dir, "identity.json")
        t = self.run_task(a, "cat %s; echo rc=$?; cat %s; echo; id -u" % (ident, conf))
        self.assertEqual(t["status"], "succeeded", t)
        out = t["stdout"]
        self.assertNotIn(token, out)
        self.assertNotIn("agent_token", out)
        self.assertNotIn("conf-marker-91c2", out)
        self.assertIn("rc=0", out)  # /dev/null reads as empty, without an error
        self.assertEqual(out.split()[-1], "0")
        log = read(a.log_path)
        self.assertIn("root tasks run in a mount namespace", log)
        # the agent itself still reads its identity, and the host's view is untouched
        with open(ident) as f:
            self.assertEqual(json.load(f)["agent_token"], token)
        self.assertNotIn(ident, read("/proc/self/mountinfo"))
        # what the task mounts stays in the task
        mnt = os.path.join(self.workdir, "mnt")
        os.mkdir(mnt)
        t = self.run_task(a, "mount -t tmpfs none %s && grep -c %s /proc/self/mountinfo" % (mnt, mnt))
        self.assertEqual(t["status"], "succeeded", t)
        self.assertNotIn(mnt + " ", read("/proc/self/mountinfo"))

    def test_hide_secrets_off_leaves_the_host_namespace(self):
        self.need_root()
        a = self.start_agent(self.server, "nohide", extra_args=["--set", "hide_secrets=no"])
        t = self.run_task(a, "cat %s" % os.path.join(a.dir, "identity.json"))
        self.assertIn(a.token(), t["stdout"])  # documented: the operator chose so

    def test_user_task_gets_eacces(self):
        self.need_user()
        a = self.start_agent(self.server, "usr")
        ident = os.path.join(a.dir, "identity.json")
        t = self.run_task(a, "cat %s" % ident, user=USER)
        self.assertEqual(t["status"], "failed", t)
        self.assertIn("Permission denied", t["stderr"])
        self.assertNotIn(a.token(), t["stdout"] + t["stderr"])
        t = self.run_task(a, "ls %s" % a.dir, user=USER)  # 0711: traversable, not listable
        self.assertIn("Permission denied", t["stderr"])

    # -- paths ----------------------------------------------------------------------------------

    def test_planted_symlinks_are_not_followed(self):
        """The shim run directly on a journal entry whose `output` and `result.reserve` are
        symlinks planted towards /etc: it refuses to start instead of writing through them."""
        self.need_root()
        data = os.path.join(self.workdir, "plantdata")
        task_id = "tsk-" + "ab" * 10
        tdir = os.path.join(data, "tasks", task_id)
        os.makedirs(tdir)
        os.chmod(data, 0o711)
        targets = ["/etc/passwd-x-tether-e2e", "/etc/passwd-y-tether-e2e"]
        for p in targets:
            self.assertFalse(os.path.lexists(p), p)
        self.addCleanup(lambda: [os.unlink(p) for p in targets if os.path.lexists(p)])
        task = {"task_id": task_id, "command": "ZWNobyBwd25lZAo=", "user": "root",
                "timeout_s": 10, "login_profile": False, "cgroups": "off"}
        with open(os.path.join(tdir, "task.json"), "w") as f:
            json.dump(task, f)
        os.symlink(targets[0], os.path.join(tdir, "output"))
        os.symlink(targets[1], os.path.join(tdir, "result.reserve"))
        subprocess.run([SHIM_BIN, "task-shim", tdir], timeout=30 * SLOW)
        for p in targets:
            self.assertFalse(os.path.lexists(p), "%s was created through a planted link" % p)
        with open(os.path.join(tdir, "result")) as f:
            res = json.load(f)
        self.assertEqual(res["status"], "start_failed", res)
        self.assertIn("output", res["error"])
        self.assertTrue(os.path.islink(os.path.join(tdir, "output")))  # left as found

    def shim_with_go(self, name, go):
        """Runs the shim on a fresh entry whose command creates a marker, with fd 3 a pipe the
        test writes go (bytes) to, then closes. Returns (result, whether the marker exists)."""
        data = os.path.join(self.workdir, name)
        task_id = "tsk-" + "9a" * 10
        tdir = os.path.join(data, "tasks", task_id)
        os.makedirs(tdir)
        marker = os.path.join(self.workdir, name + "-ran")
        task = {"task_id": task_id, "user": "root", "timeout_s": 10, "login_profile": False,
                "cgroups": "off", "command": base64.b64encode(b"touch " + marker.encode()).decode()}
        if not IS_ROOT:
            import pwd
            task["user"] = pwd.getpwuid(os.getuid()).pw_name
        with open(os.path.join(tdir, "task.json"), "w") as f:
            json.dump(task, f)
        r, w = os.pipe()
        os.write(w, go)
        os.close(w)
        # close_fds would close fd 3 again after preexec_fn: keep the test's fds, they are few
        subprocess.run([SHIM_BIN, "task-shim", tdir, "--go-fd=3"], timeout=30 * SLOW,
                       close_fds=False, preexec_fn=lambda: os.dup2(r, 3))
        os.close(r)
        with open(os.path.join(tdir, "result")) as f:
            return json.load(f), os.path.exists(marker)

    def test_shim_waits_for_the_agents_go(self):
        """The shim runs nothing of the task until the agent has made the journal durable and
        says so on fd 3; a closed pipe without the byte is start_failed and nothing ran."""
        res, ran = self.shim_with_go("nogo", b"")
        self.assertEqual(res["status"], "start_failed", res)
        self.assertIn("could not record the task durably", res["error"])
        self.assertFalse(ran, "the command ran without the go byte")
        res, ran = self.shim_with_go("go", b"\x01")
        self.assertEqual(res["status"], "succeeded", res)
        self.assertTrue(ran)
        # a malformed go argument is refused before anything happens
        out = subprocess.run([SHIM_BIN, "task-shim", "/nonexistent", "--go-fd=4"],
                             timeout=30 * SLOW)
        self.assertEqual(out.returncode, 2)

    def test_task_dir_must_be_its_own(self):
        """A task.json whose id does not match its directory is refused (the data dir, whose
        identity is hidden, is derived from that path)."""
        data = os.path.join(self.workdir, "otherdata")
        tdir = os.path.join(data, "tasks", "tsk-" + "cd" * 10)
        os.makedirs(tdir)
        task = {"task_id": "tsk-" + "ef" * 10, "command": "dHJ1ZQo=", "user": "root",
                "login_profile": False, "cgroups": "off"}
        if not IS_ROOT:
            import pwd
            task["user"] = pwd.getpwuid(os.getuid()).pw_name
        with open(os.path.join(tdir, "task.json"), "w") as f:
            json.dump(task, f)
        subprocess.run([SHIM_BIN, "task-shim", tdir], timeout=30 * SLOW)
        with open(os.path.join(tdir, "result")) as f:
            res = json.load(f)
        self.assertEqual(res["status"], "start_failed", res)
        self.assertIn("is not DATA/tasks/", res["error"])

    # -- logs -----------------------------------------------------------------------------------

    def test_command_text_and_env_values_stay_out_of_the_log(self):
        a = self.start_agent(self.server, "logs")  # --log-level debug: the most verbose
        secret = "hunter2-Zq81xK-db-password"
        env_value = "envval-55e1c0ffee"
        command = "echo %s >/dev/null; echo \"$TETHER_E2E_V\" | wc -c" % secret
        t = self.run_task(a, command, env={"TETHER_E2E_V": env_value})
        self.assertEqual(t["status"], "succeeded", t)
        log = read(a.log_path)
        self.assertNotIn(secret, log)
        self.assertNotIn(env_value, log)
        self.assertNotIn(a.token(), log)
        digest = hashlib.sha256(command.encode()).hexdigest()[:12]
        self.assertRegex(log, r"command %d bytes sha256 %s" % (len(command.encode()), digest))
        self.assertNotRegex(log, r"tag_[A-Za-z0-9_-]{8,}")

    # -- login environment cache ----------------------------------------------------------------

    def write_profile(self, value):
        path = os.path.join(self.home, ".profile")
        with open(path, "w") as f:
            f.write("echo run >> \"$HOME/profile-runs\"\nexport TETHER_PROBE=%s\n" % value)
        shutil.chown(path, USER, USER)

    def profile_runs(self):
        try:
            with open(os.path.join(self.home, "profile-runs")) as f:
                return len(f.read().split())
        except FileNotFoundError:
            return 0

    def test_login_environment_cache(self):
        self.need_user()
        for name in (".bash_profile", ".bash_login", "profile-runs"):
            p = os.path.join(self.home, name)
            if os.path.exists(p):
                os.unlink(p)
        self.write_profile("one")
        a = self.start_agent(self.server, "cache", extra_args=[
            "--set", "login_profile=yes", "--set", "profile_cache=300"])
        outs = []
        for _ in range(3):
            t = self.run_task(a, "echo $TETHER_PROBE", user=USER)
            self.assertEqual(t["status"], "succeeded", t)
            outs.append(t["stdout"].strip())
        self.assertEqual(outs, ["one"] * 3)
        self.assertEqual(self.profile_runs(), 1, "the cache was not used")
        uid = os.stat(self.home).st_uid
        cache = os.path.join(a.dir, "envcache", "%d.env" % uid)
        self.assertEqual(mode(os.path.dirname(cache)), 0o700)
        self.assertEqual(mode(cache), 0o600)
        self.assertEqual(os.stat(cache).st_uid, 0)
        # an edited ~/.profile invalidates it, even with its old mtime put back (cp -p, touch -d)
        st = os.stat(os.path.join(self.home, ".profile"))
        self.write_profile("two")
        os.utime(os.path.join(self.home, ".profile"), ns=(st.st_atime_ns, st.st_mtime_ns))
        t = self.run_task(a, "echo $TETHER_PROBE", user=USER)
        self.assertEqual(t["stdout"].strip(), "two", t)
        self.assertEqual(self.profile_runs(), 2)
        t = self.run_task(a, "echo $TETHER_PROBE", user=USER)
        self.assertEqual(t["stdout"].strip(), "two", t)
        self.assertEqual(self.profile_runs(), 2)
        # a new file the profile family reads (here ~/.bash_profile, which bash prefers) too
        bp = os.path.join(self.home, ".bash_profile")
        with open(bp, "w") as f:
            f.write("export TETHER_PROBE=three\n")
        shutil.chown(bp, USER, USER)
        t = self.run_task(a, "echo $TETHER_PROBE", user=USER)
        self.assertEqual(t["stdout"].strip(), "three", t)
        os.unlink(bp)
        t = self.run_task(a, "echo $TETHER_PROBE", user=USER)
        self.assertEqual(t["stdout"].strip(), "two", t)  # and a vanished one

    def test_cache_disabled_and_timeouts_not_cached(self):
        self.need_user()
        if os.path.exists(os.path.join(self.home, "profile-runs")):
            os.unlink(os.path.join(self.home, "profile-runs"))
        self.write_profile("plain")
        a = self.start_agent(self.server, "nocache", extra_args=[
            "--set", "login_profile=yes", "--set", "profile_cache=0"])
        for _ in range(2):
            t = self.run_task(a, "echo $TETHER_PROBE", user=USER)
            self.assertEqual(t["stdout"].strip(), "plain", t)
        self.assertEqual(self.profile_runs(), 2)
        self.assertFalse(os.path.exists(os.path.join(a.dir, "envcache")))
        a.stop()
        # a profile that times out is not cached: the next task runs it again
        path = os.path.join(self.home, ".profile")
        with open(path, "w") as f:
            f.write("echo run >> \"$HOME/profile-runs\"\nsleep 30\n")
        b = self.start_agent(self.server, "slowprof", extra_args=[
            "--set", "login_profile=yes", "--set", "profile_cache=300",
            "--set", "profile_timeout=1"])
        for _ in range(2):
            t = self.run_task(b, "echo ran", user=USER)
            self.assertEqual(t["stdout"].strip(), "ran", t)
            self.assertIn("did not finish", t["stderr"])
        self.assertEqual(self.profile_runs(), 4)
        self.assertFalse(os.path.exists(os.path.join(b.dir, "envcache", "%d.env" %
                                                     os.stat(self.home).st_uid)))


if __name__ == "__main__":
    unittest.main()
