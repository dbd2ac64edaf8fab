"""Issue 6: signed self-update, staged rollout and automatic rollback, with real binaries.

Every agent here runs from its own copy of the binaries in the test's temp dir (build/bin is never
replaced) under a supervisor loop like systemd's Restart=always with
ExecStartPre=tether-agent-rollback-check. The release under test is tether-agent-next, the same
sources built to report 99.0.0; refused releases are small scripts that are never run.
"""
import hashlib
import os
import shutil
import subprocess
import threading
import time
import unittest

from harness import AGENT_BIN, BIN, SLOW, Agent, TetherTest, wait_for

NEXT_BIN = os.path.join(BIN, "tether-agent-next")
SHIM_BIN = os.path.join(BIN, "tether-task-shim")
CHECK_BIN = os.path.join(BIN, "tether-agent-rollback-check")


def bucket(agent_id):
    """The server's staged-rollout bucket (common/release.c)."""
    return int.from_bytes(hashlib.sha256(agent_id.encode()).digest()[:4], "big") % 100


def file_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class SupervisedAgent(Agent):
    """An agent started through a supervisor loop: rollback check, run, restart when it exits."""

    def __init__(self, test, server, name, pubkey, channel="stable", ratchet=None, sets=()):
        self.test = test
        self.bindir = os.path.join(test.workdir, "bin-" + name)
        os.makedirs(self.bindir)
        self.exe = os.path.join(self.bindir, "tether-agent")
        shutil.copy2(AGENT_BIN, self.exe)
        shutil.copy2(SHIM_BIN, os.path.join(self.bindir, "tether-task-shim"))
        self.pubkey = pubkey
        self.channel = channel
        self.extra_sets = list(sets)
        self.starts = 0
        self.current = None
        self.stopping = False
        self.thread = None
        super().__init__(test.workdir, server, name, start=False)
        if ratchet:
            os.makedirs(os.path.join(self.dir, "update"), exist_ok=True)
            with open(os.path.join(self.dir, "update", "ratchet"), "w") as f:
                f.write(ratchet + "\n")

    def argv(self):
        sets = ["login_profile=no", "update_pubkey=" + self.pubkey, "update_interval=1",
                "update_channel=" + self.channel, "heartbeat_interval=1",
                "update_health_deadline=%d" % int(20 * SLOW)] + self.extra_sets
        argv = [self.exe, "run", "--foreground", "--server", self.url, "--data-dir", self.dir,
                "--log-level", "debug"]
        for s in sets:
            argv += ["--set", s]
        return argv

    def _loop(self):
        log = open(self.log_path, "ab")
        while not self.stopping:
            subprocess.run([CHECK_BIN, "--data-dir", self.dir], stdout=log, stderr=log,
                           timeout=30)
            self.starts += 1
            self.current = subprocess.Popen(self.argv(), stdout=log, stderr=log,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
            self.current.wait()
            if not self.stopping:
                time.sleep(0.2)
        log.close()

    def start(self, wait_online=True):
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        wait_for(lambda: self.current is not None, what="first start")
        if wait_online:
            wait_for(self.online, timeout=15 * SLOW, what="agent %s online" % self.name)

    def online(self):
        a = self.server.agents().get(self.name)
        return a is not None and a["status"] == "online"

    def info(self):
        return self.server.agents().get(self.name) or {}

    def stop(self, sig=None):
        self.stopping = True
        p = self.current
        if p and p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if self.thread:
            self.thread.join(timeout=15)
        return None


class UpdateTest(TetherTest):
    def setUp(self):
        super().setUp()
        for b in (NEXT_BIN, CHECK_BIN):
            if not os.path.exists(b):
                self.skipTest("%s is not built" % b)
        self.server = self.start_server()
        self.keydir = os.path.join(self.workdir, "keys")
        out = self.cli("release", "keygen", "--out", self.keydir, check=0)
        self.pubkey = out.stdout.decode().strip()
        self.key = os.path.join(self.keydir, "ed25519.key")

    def agent(self, name, **kw):
        a = SupervisedAgent(self, self.server, name, self.pubkey, **kw)
        self._procs.append(a)
        a.start()
        return a

    def publish(self, binary, version, channel="stable", key=None, rollout=100, expires=None):
        args = ["release", "publish", "--key", key or self.key, "--version", version,
                "--channel", channel, "--rollout", str(rollout)]
        if expires:
            args += ["--expires", expires]
        return self.cli(*(args + [binary]), server=self.server, check=0)

    def script(self, name, version, extra=""):
        path = os.path.join(self.workdir, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\nif [ \"$1\" = version ]; then echo \"tether-agent %s\"; exit 0; fi\n"
                    "%s\nexit 1\n" % (version, extra))
        os.chmod(path, 0o755)
        return path

    def artifact(self, path):
        sha = hashlib.sha256(file_bytes(path)).hexdigest()
        return os.path.join(self.server.dir, "artifacts", sha)

    def wait_state(self, agent, prefix, timeout=20):
        return wait_for(lambda: agent.info().get("update_state", "").startswith(prefix) and
                        agent.info(), timeout=timeout * SLOW,
                        what="%s update_state %s (now %r)" % (agent.name, prefix,
                                                               agent.info().get("update_state")))

    # -- the happy path --------------------------------------------------------------------------

    def test_update_swaps_reexecs_and_keeps_the_task(self):
        a = self.agent("up")
        old = file_bytes(a.exe)
        pid = a.current.pid
        inv = self.server.invoke("sleep 3; echo survived", ["up"])
        wait_for(lambda: self.server.invocation(inv["invocation_id"])["tasks"][0]["status"] ==
                 "running", what="task running")
        self.publish(NEXT_BIN, "99.0.0")
        self.cli("release", "push", "99.0.0", "up", server=self.server, check=0)
        info = self.wait_state(a, "updated")
        self.assertEqual(info["version"], "99.0.0")
        self.assertEqual(info["update_target"], "99.0.0")
        self.assertEqual(a.current.pid, pid, "re-exec keeps the pid")
        self.assertEqual(a.starts, 1, "no supervisor restart was needed")
        self.assertEqual(file_bytes(a.exe), file_bytes(NEXT_BIN))
        self.assertEqual(file_bytes(a.exe + ".prev"), old)
        self.assertFalse(os.path.exists(os.path.join(a.dir, "update", "pending")))
        wait_for(a.online, what="online after the update")
        done = self.server.wait_invocation(inv["invocation_id"], timeout=30 * SLOW)
        t = done["tasks"][0]
        self.assertEqual(t["status"], "succeeded", t)
        self.assertEqual(t["stdout"], "survived\n")
        st = self.cli("release", "status", "99.0.0", "-o", "json", server=self.server, check=0)
        self.assertIn(b'"updated": 1', st.stdout.replace(b'"updated":1', b'"updated": 1'))
        ls = self.cli("release", "ls", server=self.server, check=0).stdout.decode()
        self.assertIn("99.0.0", ls)
        out = self.cli("agents", "-o", "json", server=self.server, check=0)
        self.assertIn('"update_state": "updated"', out.stdout.decode().replace('":"', '": "'))
        show = self.cli("agents", "show", "up", server=self.server, check=0).stdout.decode()
        self.assertRegex(show, r"update_state\s+updated")

    def test_when_idle_waits_for_running_tasks(self):
        a = self.agent("idle", sets=["update_when_idle=yes"])
        inv = self.server.invoke("sleep %d; echo done" % int(4 * SLOW), ["idle"])
        wait_for(lambda: self.server.invocation(inv["invocation_id"])["tasks"][0]["status"] ==
                 "running", what="task running")
        self.publish(NEXT_BIN, "99.0.0")
        self.wait_state(a, "staged")
        self.assertEqual(self.server.agents()["idle"]["version"], "0.1.0")
        self.assertEqual(self.server.invocation(inv["invocation_id"])["tasks"][0]["status"],
                         "running")
        info = self.wait_state(a, "updated", timeout=30)
        self.assertEqual(info["version"], "99.0.0")
        t = self.server.wait_invocation(inv["invocation_id"])["tasks"][0]
        self.assertEqual(t["status"], "succeeded", t)

    def test_artifacts_are_content_addressed_with_ranges(self):
        blob = os.urandom(300000)
        path = os.path.join(self.workdir, "blob")
        with open(path, "wb") as f:
            f.write(blob)
        sha = hashlib.sha256(blob).hexdigest()
        up = self.server.api("POST", "/v1/artifacts", raw=blob)
        self.assertEqual(up, {"sha256": sha, "size": len(blob)})
        self.assertEqual(file_bytes(self.artifact(path)), blob)
        self.assertEqual([n for n in os.listdir(os.path.dirname(self.artifact(path)))
                          if n.startswith(".")], [], "no upload file left behind")
        agent = self.start_agent(self.server, "dl", start=False)
        tok = agent.token()
        url = "/v1/artifacts/" + sha
        self.assertEqual(self.server.api("GET", url, key=tok), blob)
        part = self.server.api("GET", url, key=tok, headers={"Range": "bytes=123456-"})
        self.assertEqual(part, blob[123456:])
        part = self.server.api("GET", url, key=tok, headers={"Range": "bytes=10-19"})
        self.assertEqual(part, blob[10:20])
        with self.assertRaises(Exception) as cm:
            self.server.api("GET", url, key=tok, headers={"Range": "bytes=300000-"})
        self.assertEqual(getattr(cm.exception, "status", None), 416)
        with self.assertRaises(Exception) as cm:  # an API key is not an agent token
            self.server.api("GET", url)
        self.assertEqual(getattr(cm.exception, "status", None), 401)
        with self.assertRaises(Exception) as cm:
            self.server.api("GET", "/v1/artifacts/" + "0" * 64, key=tok)
        self.assertEqual(getattr(cm.exception, "status", None), 404)
        # a manifest whose artifact was never uploaded is refused
        manifest = ('{"name":"tether-agent","version":"70.0.0","os":"linux","arch":"x86_64",'
                    '"channel":"stable","size":5,"sha256":"%s","created_at":"2026-01-01T00:00:00Z",'
                    '"expires_at":"2099-01-01T00:00:00Z"}' % ("b" * 64))
        with self.assertRaises(Exception) as cm:
            self.server.api("POST", "/v1/releases", {"manifest": manifest, "signature": "A" * 88})
        self.assertEqual(getattr(cm.exception, "status", None), 409)
        bad = self.script("never.sh", "70.0.0")
        self.publish(bad, "70.0.0")
        dup = self.cli("release", "publish", "--key", self.key, "--version", "70.0.0", bad,
                       server=self.server)
        self.assertEqual(dup.returncode, 1)
        self.assertIn(b"already exists", dup.stderr)

    # -- refusals: each leaves the old agent running ---------------------------------------------

    def test_refusals(self):
        other = os.path.join(self.workdir, "otherkey")
        self.cli("release", "keygen", "--out", other, check=0)
        cases = {}
        s = self.script("badsig.sh", "50.0.0", "# badsig")
        self.publish(s, "50.0.0", channel="badsig", key=os.path.join(other, "ed25519.key"))
        cases["badsig"] = "failed: bad signature"

        s = self.script("sha.sh", "50.0.0", "# sha")
        self.publish(s, "50.0.0", channel="sha")
        data = bytearray(file_bytes(self.artifact(s)))
        data[-2] ^= 0x01
        with open(self.artifact(s), "wb") as f:  # a compromised server, same size
            f.write(data)
        cases["sha"] = "failed: sha256 mismatch"

        s = self.script("trunc.sh", "50.0.0", "# trunc")
        self.publish(s, "50.0.0", channel="trunc")
        os.truncate(self.artifact(s), 20)
        cases["trunc"] = "failed: truncated download"

        s = self.script("big.sh", "50.0.0", "# big")
        self.publish(s, "50.0.0", channel="big")
        with open(self.artifact(s), "ab") as f:
            f.write(b"x" * 100000)
        cases["big"] = "failed: download larger"

        s = self.script("down.sh", "50.0.0", "# down")
        self.publish(s, "50.0.0", channel="down")
        cases["down"] = "failed: downgrade refused"

        s = self.script("exp.sh", "50.0.0", "# exp")
        self.publish(s, "50.0.0", channel="exp", expires="1s")
        cases["exp"] = "failed: expired manifest"
        time.sleep(2.1)

        agents = {ch: SupervisedAgent(self, self.server, "r-" + ch, self.pubkey, channel=ch,
                                      ratchet="60.0.0" if ch == "down" else None)
                  for ch in cases}
        for a in agents.values():
            self._procs.append(a)
            a.start(wait_online=False)
        for ch, a in agents.items():
            wait_for(a.online, timeout=15 * SLOW, what="agent %s online" % a.name)
            orig = file_bytes(AGENT_BIN)
            info = self.wait_state(a, cases[ch])
            self.assertEqual(info["version"], "0.1.0", ch)
            self.assertEqual(info["update_target"], "50.0.0", ch)
            self.assertEqual(a.starts, 1, ch)
            self.assertIsNone(a.current.poll(), ch)
            self.assertEqual(file_bytes(a.exe), orig, ch)
            self.assertFalse(os.path.exists(a.exe + ".new"), ch)

    # -- rollback --------------------------------------------------------------------------------

    def test_binary_that_exits_at_once_is_rolled_back_and_not_retried(self):
        a = self.agent("rb")
        old = file_bytes(a.exe)
        bad = self.script("bad.sh", "98.0.0")
        self.publish(bad, "98.0.0")
        info = self.wait_state(a, "rolled_back", timeout=40)
        self.assertEqual(info["update_target"], "98.0.0")
        wait_for(a.online, timeout=15 * SLOW, what="old agent back online")
        self.assertEqual(self.server.agents()["rb"]["version"], "0.1.0")
        self.assertEqual(file_bytes(a.exe), old)
        with open(os.path.join(a.dir, "update", "bad")) as f:
            self.assertIn("98.0.0", f.read().split())
        starts = a.starts
        time.sleep(3 * SLOW)  # several more checks: the bad version is not tried again
        self.assertEqual(a.starts, starts)
        self.assertIsNone(a.current.poll())
        self.assertEqual(self.server.agents()["rb"]["version"], "0.1.0")
        st = self.server.api("GET", "/v1/releases/98.0.0/status")
        self.assertEqual(st["failed"], 1, st)

    def test_unhealthy_new_binary_rolls_itself_back_at_the_deadline(self):
        """Our code runs but never gets healthy (the server is unreachable): at the deadline the
        agent puts the previous binary back and execs it. The swap is staged by hand, with the
        roles reversed: the running 0.1.0 is "new", tether-agent-next (99.0.0) is "previous"."""
        import json
        a = SupervisedAgent(self, self.server, "self", self.pubkey,
                            sets=["update_health_deadline=5"])
        self._procs.append(a)
        shutil.copy2(NEXT_BIN, a.exe + ".prev")
        os.makedirs(os.path.join(a.dir, "update"), exist_ok=True)
        with open(os.path.join(a.dir, "update", "pending"), "w") as f:
            json.dump({"version": "0.1.0", "previous": "99.0.0", "exe": a.exe,
                       "prev_path": a.exe + ".prev",
                       "deadline": int(time.time() * 1000) + int(3000 * SLOW),
                       "starts": 0, "checks": 0}, f)
        self.server.proc.stop()
        a.start(wait_online=False)
        wait_for(lambda: file_bytes(a.exe) == file_bytes(NEXT_BIN), timeout=20 * SLOW,
                 what="the previous binary restored")
        self.server.start()
        info = self.wait_state(a, "rolled_back: not healthy")
        self.assertEqual(info["version"], "99.0.0")
        self.assertEqual(info["update_target"], "0.1.0")
        self.assertEqual(a.starts, 1, "exec in place, no supervisor restart")
        with open(os.path.join(a.dir, "update", "bad")) as f:
            self.assertIn("0.1.0", f.read().split())
        self.assertFalse(os.path.exists(os.path.join(a.dir, "update", "pending")))

    # -- staged rollout --------------------------------------------------------------------------

    def test_rollout_half_updates_exactly_the_low_buckets(self):
        agents = []
        for i in range(10):
            a = SupervisedAgent(self, self.server, "s%d" % i, self.pubkey)
            self._procs.append(a)
            a.start(wait_online=False)
            agents.append(a)
        for a in agents:
            wait_for(a.online, timeout=15 * SLOW, what="agent %s online" % a.name)
        ids = {a.name: self.server.agents()[a.name]["agent_id"] for a in agents}
        want = sorted(n for n, i in ids.items() if bucket(i) < 50)
        self.publish(NEXT_BIN, "99.0.0", rollout=0)
        time.sleep(2)
        self.assertEqual({a["version"] for a in self.server.agents().values()}, {"0.1.0"})
        self.cli("release", "rollout", "99.0.0", "50", server=self.server, check=0)
        wait_for(lambda: sorted(n for n, a in self.server.agents().items()
                                if a["version"] == "99.0.0") == want,
                 timeout=30 * SLOW, what="exactly %s updated" % want)
        time.sleep(2.5)  # the others have asked again since, and stay
        self.assertEqual(sorted(n for n, a in self.server.agents().items()
                                if a["version"] == "99.0.0"), want)
        st = self.server.api("GET", "/v1/releases/99.0.0/status")
        self.assertEqual(st["targeted"], len(want), st)
        self.assertEqual(st["updated"], len(want), st)


if __name__ == "__main__":
    unittest.main()
