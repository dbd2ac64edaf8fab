"""Never lose a task or a byte (issue 4): agent and server restarts mid-task, outages, expiry,
re-offered leases, lost and unacknowledged kicks, dead connections, disk full."""

import json
import os
import signal
import socket
import time
import unittest
import urllib.request

from harness import TetherTest, ApiError, wait_for, SLOW, SANITIZER
from faults import TcpProxy, TinyFs, WsAgent, can_mount

LINES = 40
COUNTING = "for i in $(seq 1 %d); do echo line $i; sleep 0.05; done; exit %d"


def expected_lines(n=LINES):
    return "".join("line %d\n" % i for i in range(1, n + 1))


def agent_post(server, token, path, body):
    req = urllib.request.Request(server.url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


class OutputBatches(TetherTest):
    def test_small_max_body_gets_single_chunks(self):
        """A server whose max_body is below the agent's output batch answers 413; the agent
        sends the same chunks one per request and every byte arrives, in order."""
        server = self.start_server(["--set", "max_body=120K"])
        agent = self.start_agent(server, "narrow")
        cmd = "i=0; while [ $i -lt 4000 ]; do printf '%0255d\\n' $i; i=$((i+1)); done"
        inv = server.invoke(cmd, ["narrow"], output_limit=4 << 20)["invocation_id"]
        t = server.wait_invocation(inv, timeout=60)["tasks"][0]
        self.assertEqual((t["status"], t["dropped_bytes"]), ("succeeded", 0), t)
        lines = t["stdout"].split("\n")
        self.assertEqual(len(t["stdout"]), 4000 * 256)
        self.assertEqual([int(x) for x in lines if x], list(range(4000)))
        self.assertIn("server takes no output batches", agent.proc.output())


class Restarts(TetherTest):
    def setUp(self):
        super().setUp()
        self.server = self.start_server()

    def task_of(self, inv_id):
        return self.server.invocation(inv_id, output=False)["tasks"][0]

    def wait_running_with_output(self, inv_id):
        wait_for(lambda: self.task_of(inv_id)["status"] == "running"
                 and self.task_of(inv_id)["output_bytes"] > 0, timeout=30,
                 what="task running with some output")

    def test_agent_kill9_mid_task_reattaches(self):
        agent = self.start_agent(self.server, "phoenix")
        inv = self.server.invoke(COUNTING % (LINES, 5), ["phoenix"])["invocation_id"]
        self.wait_running_with_output(inv)
        agent.kill9()
        agent.start()
        done = self.server.wait_invocation(inv, timeout=30)
        t = done["tasks"][0]
        self.assertEqual((t["status"], t["exit_code"]), ("failed", 5))
        self.assertEqual(t["stdout"], expected_lines())  # every line, exactly once

    def test_agent_restart_while_task_finishes(self):
        agent = self.start_agent(self.server, "sleeper")
        gate = os.path.join(self.workdir, "gate")
        inv = self.server.invoke("echo before; while [ ! -e %s ]; do sleep 0.05; done; echo after"
                                 % gate, ["sleeper"])["invocation_id"]
        self.wait_running_with_output(inv)
        agent.stop()                     # a clean service stop: the shim keeps the task
        open(gate, "w").close()          # the task ends while no agent is there
        task_dir = os.path.join(agent.dir, "tasks", self.task_of(inv)["task_id"])
        wait_for(lambda: os.path.exists(os.path.join(task_dir, "result")), timeout=10,
                 what="the shim's result on disk")
        agent.start()
        t = self.server.wait_invocation(inv)["tasks"][0]
        self.assertEqual((t["status"], t["stdout"]), ("succeeded", "before\nafter\n"))

    def test_shim_dead_too_is_undetermined(self):
        agent = self.start_agent(self.server, "lost")
        marker = os.path.join(self.workdir, "runs")
        inv = self.server.invoke("echo run >> %s; echo started; sleep 1000" % marker,
                                 ["lost"])["invocation_id"]
        self.wait_running_with_output(inv)
        task_id = self.task_of(inv)["task_id"]
        with open(os.path.join(agent.dir, "tasks", task_id, "shim.pid")) as f:
            shim_pid = int(f.read().split()[0])
        agent.kill9()
        os.kill(shim_pid, signal.SIGKILL)
        agent.sweep()  # the orphaned command
        agent.start()
        t = self.server.wait_invocation(inv)["tasks"][0]
        self.assertEqual(t["status"], "undetermined")
        with open(marker) as f:
            self.assertEqual(f.read(), "run\n")  # never re-run silently

    def test_server_outage_mid_task(self):
        agent = self.start_agent(self.server, "patient")
        inv = self.server.invoke(COUNTING % (LINES, 3), ["patient"])["invocation_id"]
        self.wait_running_with_output(inv)
        task_id = self.task_of(inv)["task_id"]
        self.server.proc.stop(signal.SIGKILL)
        # the task finishes while the server is gone; the agent keeps everything on disk
        wait_for(lambda: os.path.exists(os.path.join(agent.dir, "tasks", task_id, "result")),
                 timeout=15, what="task finished on the agent")
        self.server.start()
        t = self.server.wait_invocation(inv, timeout=60)["tasks"][0]
        self.assertEqual((t["status"], t["exit_code"]), ("failed", 3))
        self.assertEqual(t["stdout"], expected_lines())

    def test_acknowledged_survives_server_kill9(self):
        self.start_agent(self.server, "durable")
        inv = self.server.invoke("echo kept", ["durable"])["invocation_id"]
        self.server.wait_invocation(inv)
        self.server.restart(signal.SIGKILL)
        t = self.server.invocation(inv)["tasks"][0]
        self.assertEqual((t["status"], t["stdout"]), ("succeeded", "kept\n"))


class Delivery(TetherTest):
    def test_pending_task_expires(self):
        server = self.start_server()
        agent = self.start_agent(server, "away", start=False)
        marker = os.path.join(self.workdir, "late")
        inv = server.invoke("touch %s" % marker, ["away"], expires_in_s=1)["invocation_id"]
        wait_for(lambda: server.invocation(inv, output=False)["tasks"][0]["status"] == "expired",
                 timeout=10, what="task expired")
        agent.start()
        t = server.invoke("echo alive", ["away"])
        self.assertEqual(server.wait_invocation(t["invocation_id"])["tasks"][0]["stdout"],
                         "alive\n")
        self.assertFalse(os.path.exists(marker))
        self.assertEqual(server.invocation(inv)["status"], "failed")

    def test_unstarted_lease_is_reoffered(self):
        server = self.start_server(extra_args=["--set", "lease_s=5"])
        agent = self.start_agent(server, "slowpoke", start=False,
                                 extra_args=["--set", "poll_interval=2"])
        inv = server.invoke("echo second chance", ["slowpoke"])["invocation_id"]
        # Something holding the agent's identity pulls the task and then never starts it.
        pulled = agent_post(server, agent.token(), "/v1/agent/tasks/pull", {"max": 4})
        self.assertEqual(len(pulled["tasks"]), 1)
        self.assertEqual(server.invocation(inv, output=False)["tasks"][0]["status"], "dispatched")
        agent.start()
        t = server.wait_invocation(inv, timeout=30)["tasks"][0]
        self.assertEqual((t["status"], t["stdout"]), ("succeeded", "second chance\n"))

    def test_lost_kicks_are_covered_by_the_poll(self):
        server = self.start_server()
        proxy = TcpProxy(server.port)
        self.addCleanup(proxy.close)
        proxy.mode = "drop_ws"  # the WebSocket stays up but no kick ever arrives
        self.start_agent(server, "deaf", url=proxy.url, extra_args=["--set", "poll_interval=2"])
        inv = server.invoke("echo polled", ["deaf"])["invocation_id"]
        t = server.wait_invocation(inv, timeout=20)["tasks"][0]
        self.assertEqual(t["stdout"], "polled\n")

    def test_unacknowledged_kick_is_resent(self):
        server = self.start_server(extra_args=["--set", "kick_retry_s=1"])
        agent = self.start_agent(server, "mute", start=False)
        ws = WsAgent(server.port, agent.token())
        self.addCleanup(ws.close)
        ws.send_text({"type": "hello", "agent_id": "x", "version": "test", "running": 0})
        server.invoke("true", ["mute"])
        first = ws.recv(timeout=5)
        self.assertEqual(first["type"], "kick")
        second = ws.recv(timeout=5)  # not acknowledged: it comes again
        self.assertIsNotNone(second, "the kick was not re-sent")
        self.assertEqual(second["type"], "kick")
        self.assertGreater(second["seq"], first["seq"])
        ws.send_text({"type": "ack", "seq": second["seq"]})
        self.assertIsNone(ws.recv(timeout=3), "kicks went on after the acknowledgement")


class Connections(TetherTest):
    def test_agent_reconnects_after_connection_reset(self):
        server = self.start_server()
        proxy = TcpProxy(server.port)
        self.addCleanup(proxy.close)
        agent = self.start_agent(server, "bouncy", url=proxy.url)
        proxy.reset_all()
        wait_for(agent.online, timeout=30, what="agent back online after a reset")
        inv = server.invoke("echo after reset", ["bouncy"])["invocation_id"]
        self.assertEqual(server.wait_invocation(inv)["tasks"][0]["stdout"], "after reset\n")

    def test_half_open_connection_is_detected(self):
        # Pings every 2 s on both sides; the server keeps 5 s heartbeats (offline after 10 s).
        server = self.start_server(extra_args=["--set", "ws_ping_interval=2",
                                               "--set", "heartbeat_interval=5"])
        proxy = TcpProxy(server.port)
        self.addCleanup(proxy.close)
        agent = self.start_agent(server, "ghost", url=proxy.url, extra_args=[
            "--set", "ws_ping_interval=2", "--set", "heartbeat_interval=5"])
        proxy.mode = "freeze"  # both directions go silent; no FIN, no RST
        wait_for(lambda: not agent.online(), timeout=30, what="server notices the silent agent")
        proxy.mode = "pass"
        wait_for(agent.online, timeout=60, what="agent back once the network is")
        inv = server.invoke("echo reconnected", ["ghost"])["invocation_id"]
        self.assertEqual(server.wait_invocation(inv)["tasks"][0]["stdout"], "reconnected\n")

    def test_server_pings_a_silent_agent_and_drops_one_that_never_answers(self):
        # The server's own liveness check (ws.c): ping after 1 s of silence, drop after 2.5 s.
        server = self.start_server(extra_args=["--set", "ws_ping_interval=1"])
        live = self.start_agent(server, "answers", start=False)
        dead = self.start_agent(server, "mute", start=False)
        ws_live = WsAgent(server.port, live.token())
        self.addCleanup(ws_live.close)
        ws_dead = WsAgent(server.port, dead.token())   # never read: pings go unanswered
        self.addCleanup(ws_dead.close)
        wait_for(lambda: server.agents()["mute"]["status"] == "online", timeout=10,
                 what="the mute agent online")
        deadline = time.monotonic() + 6 * SLOW
        while time.monotonic() < deadline:   # answers pings (recv does) and acks kicks
            frame = ws_live.recv(timeout=0.5)
            if frame and frame.get("type") == "kick":
                ws_live.send_text({"type": "ack", "seq": frame["seq"]})
        self.assertGreaterEqual(ws_live.pings, 2, "the server did not ping a silent agent")
        agents = server.agents()
        self.assertEqual(agents["answers"]["status"], "online",
                         "an agent answering pings was dropped")
        wait_for(lambda: server.agents()["mute"]["status"] == "offline", timeout=15,
                 what="the server to drop the agent that never answered its pings")
        self.assertIn("silent for", server.proc.output())

    def test_reconnect_storm_after_server_restart(self):
        server = self.start_server()
        agents = [self.start_agent(server, "storm%d" % i) for i in range(12)]
        server.restart(signal.SIGKILL)
        wait_for(lambda: all(a["status"] == "online" for a in server.agents().values()),
                 timeout=120, interval=0.5, what="every agent back after the restart")
        inv = server.invoke("echo back", [a.name for a in agents])["invocation_id"]
        done = server.wait_invocation(inv, timeout=60)
        self.assertEqual(done["status"], "succeeded")
        self.assertEqual(sorted(t["stdout"] for t in done["tasks"]), ["back\n"] * 12)

    def test_accept_rate_cap(self):
        server = self.start_server(extra_args=["--set", "max_accepts_per_s=2"])
        time.sleep(1.1)  # let the bucket refill after the harness's own start-up calls
        socks, closed = [], 0
        for _ in range(8):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            socks.append(s)
        for s in socks:
            s.settimeout(2 * SLOW)
            try:
                if s.recv(1) == b"":
                    closed += 1      # closed at accept: over the rate
            except socket.timeout:
                pass                 # accepted and waiting for a request
            except ConnectionResetError:
                closed += 1
            s.close()
        self.assertGreaterEqual(closed, 5, "only %d of 8 connections were turned away" % closed)
        wait_for(server.healthy, timeout=10, interval=0.5, what="server still serving")

    def test_agent_rides_out_a_refusing_server(self):
        server = self.start_server()
        proxy = TcpProxy(server.port)
        self.addCleanup(proxy.close)
        agent = self.start_agent(server, "stubborn", url=proxy.url,
                                 extra_args=["--set", "poll_interval=2"])
        proxy.refuse()
        inv = server.invoke("echo eventually", ["stubborn"])["invocation_id"]
        wait_for(lambda: not agent.online(), timeout=30, what="server sees the agent gone")
        proxy.accept_again()
        t = server.wait_invocation(inv, timeout=90)["tasks"][0]
        self.assertEqual(t["stdout"], "eventually\n")
        self.assertTrue(agent.proc.alive())


FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


class ClockJumps(TetherTest):
    """The agent's wall clock jumps (NTP step, a VM resumed): timeouts, heartbeats and backoff run
    on the monotonic clock and do not care."""

    def test_timeout_survives_wall_clock_jumps(self):
        if not os.path.exists(FAKETIME_LIB):
            self.skipTest("libfaketime not installed (install/deps.sh installs it)")
        if SANITIZER:
            self.skipTest("libfaketime cannot be preloaded ahead of the %s runtime" % SANITIZER)
        server = self.start_server()
        clock = os.path.join(self.workdir, "faketime")
        with open(clock, "w") as f:
            f.write("+0\n")
        env = dict(os.environ, LD_PRELOAD=FAKETIME_LIB, FAKETIME_TIMESTAMP_FILE=clock,
                   FAKETIME_NO_CACHE="1", FAKETIME_DONT_FAKE_MONOTONIC="1")
        agent = self.start_agent(server, "timewarp", env=env,
                                 extra_args=["--set", "kill_grace=1"])
        inv = server.invoke("echo started; sleep 1000", ["timewarp"], timeout_s=3)["invocation_id"]
        wait_for(lambda: server.invocation(inv, output=False)["tasks"][0]["status"] == "running",
                 timeout=10, what="task running")
        for jump in ("+2h", "-3h", "+1d"):  # forwards, backwards, far forwards
            with open(clock, "w") as f:
                f.write(jump + "\n")
        t = server.wait_invocation(inv, timeout=20)["tasks"][0]
        self.assertEqual(t["status"], "timed_out", t)
        self.assertTrue(agent.online())
        # the agent still works normally afterwards
        inv = server.invoke("echo fine", ["timewarp"])["invocation_id"]
        self.assertEqual(server.wait_invocation(inv)["tasks"][0]["stdout"], "fine\n")


class DiskFull(TetherTest):
    def setUp(self):
        super().setUp()
        if not can_mount():
            self.skipTest("needs root and tmpfs mounts")

    def test_agent_spool_disk_full(self):
        server = self.start_server()
        fs = TinyFs(self.workdir, size="1m")
        self.addCleanup(fs.close)
        agent = self.start_agent(server, "cramped", register=False, start=False)
        agent.dir = os.path.join(fs.path, "agent")
        agent.register()
        agent.start()
        inv = server.invoke("head -c 3000000 /dev/zero | tr '\\0' x; echo; echo done",
                            ["cramped"])["invocation_id"]
        t = server.wait_invocation(inv, timeout=60)["tasks"][0]
        self.assertIsNotNone(t["error"], t)
        self.assertTrue("space" in t["error"] or "spool" in t["error"], t["error"])
        self.assertGreater(t["dropped_bytes"], 0)
        # space returns: the next task is whole
        inv = server.invoke("echo recovered", ["cramped"])["invocation_id"]
        self.assertEqual(server.wait_invocation(inv)["tasks"][0]["stdout"], "recovered\n")

    def test_output_acknowledged_before_a_failed_commit_is_resent(self):
        """Output is acknowledged before its commit (D10). With the server's disk full those
        commits fail after the answer; finish then says how many chunks were acknowledged, the
        server answers seq_gap, and the agent resends them: every line arrives, in order."""
        fs = TinyFs(self.workdir, size="4m")
        self.addCleanup(fs.close)
        import harness
        server = harness.Server(fs.path)
        self._procs.append(server)
        agent = self.start_agent(server, "refilled")
        gate = os.path.join(self.workdir, "gate")
        n = 150000  # ~1 MB: more than the WAL's slack, so its commits need new pages
        inv = server.invoke("echo start; while [ ! -e %s ]; do sleep 0.05; done; seq 1 %d; "
                            "echo end" % (gate, n), ["refilled"],
                            output_limit=4 << 20)["invocation_id"]
        wait_for(lambda: server.invocation(inv, output=False)["tasks"][0]["output_bytes"] > 0,
                 timeout=30, what="the first line stored")
        task_id = server.invocation(inv, output=False)["tasks"][0]["task_id"]
        filler = fs.fill(leave_bytes=0)
        open(gate, "w").close()
        # the task ends on the agent while the server's commits fail
        wait_for(lambda: os.path.exists(os.path.join(agent.dir, "tasks", task_id, "result")),
                 timeout=60, what="the task finished on the agent")
        # (the server's own log is on the full disk too: the agent's tells)
        wait_for(lambda: "the server lost output from seq" in agent.proc.output(), timeout=30,
                 what="finish answered seq_gap")
        os.unlink(filler)
        t = server.wait_invocation(inv, timeout=120)["tasks"][0]
        self.assertEqual(t["status"], "succeeded", t)
        want = "start\n" + "".join("%d\n" % i for i in range(1, n + 1)) + "end\n"
        self.assertEqual(len(t["stdout"]), len(want))
        self.assertTrue(t["stdout"] == want, "output differs from the expected lines")

    def test_server_store_disk_full(self):
        fs = TinyFs(self.workdir, size="4m")
        self.addCleanup(fs.close)
        import harness
        server = harness.Server(fs.path)
        self._procs.append(server)
        self.start_agent(server, "steady")
        filler = fs.fill(leave_bytes=0)
        with self.assertRaises(ApiError) as cm:
            for _ in range(50):  # until the WAL needs a page it cannot get
                server.invoke("echo " + "y" * 60000, ["steady"])
        self.assertEqual(cm.exception.status, 503, cm.exception)
        os.unlink(filler)
        inv = server.invoke("echo space again", ["steady"])["invocation_id"]
        self.assertEqual(server.wait_invocation(inv)["tasks"][0]["stdout"], "space again\n")
        self.assertEqual(server.api("GET", "/healthz"), {"status": "ok"})


if __name__ == "__main__":
    unittest.main()
