"""The first command end to end: register, online status, `tether run` for one and several agents,
exit codes, streams kept apart, late agents, SSE, and the JSON shapes of the contract."""

import json
import os
import subprocess
import unittest

from harness import TetherTest, wait_for, sse_events, b64, AGENT_BIN

TASK_KEYS = {"task_id", "agent_id", "name", "status", "exit_code", "signal", "error", "output",
             "stdout", "stderr", "dropped_bytes", "started_at", "finished_at"}
AGENT_KEYS = {"agent_id", "name", "status", "version", "primary_ip", "ips", "tags", "first_seen",
              "last_seen", "running_tasks"}


class OneAgent(TetherTest):
    def setUp(self):
        super().setUp()
        self.server = self.start_server()
        self.agent = self.start_agent(self.server, "alpha")

    def test_register_and_online(self):
        out = self.cli("agents", "-o", "json", server=self.server, check=0)
        agents = json.loads(out.stdout)
        self.assertIsInstance(agents, list)
        self.assertEqual(len(agents), 1)
        a = agents[0]
        self.assertTrue(AGENT_KEYS <= set(a), "missing keys: %s" % (AGENT_KEYS - set(a)))
        self.assertEqual(a["name"], "alpha")
        self.assertEqual(a["status"], "online")
        self.assertTrue(a["agent_id"].startswith("agt-"))
        # the human table names the agent too
        table = self.cli("agents", server=self.server, check=0).stdout.decode()
        self.assertIn("alpha", table)
        self.assertIn("online", table)
        # the agent's own local view
        st = subprocess.run([AGENT_BIN, "status", "--data-dir", self.agent.dir],
                            capture_output=True, text=True, timeout=10)
        self.assertEqual(st.returncode, 0, st.stdout + st.stderr)
        self.assertIn(a["agent_id"], st.stdout)

    def test_offline_after_stop(self):
        self.agent.stop()
        wait_for(lambda: self.server.agents()["alpha"]["status"] == "offline", timeout=10,
                 what="agent offline after stop")

    def test_run_output_and_exit_code(self):
        out = self.cli("run", "-t", "alpha", "--", "echo", "hello", server=self.server, check=0)
        self.assertEqual(out.stdout, b"hello\n")
        out = self.cli("run", "-t", "alpha", "--", "exit 3", server=self.server)
        self.assertEqual(out.returncode, 3, out.stderr)

    def test_streams_kept_apart(self):
        out = self.cli("run", "-t", "alpha", "--", "echo out; echo err >&2; printf tail",
                       server=self.server, check=0)
        self.assertEqual(out.stdout, b"out\ntail")
        self.assertEqual(out.stderr, b"err\n")
        inv = json.loads(self.cli("run", "-o", "json", "-t", "alpha", "--",
                                  "echo a; echo b >&2; echo c", server=self.server, check=0).stdout)
        t = inv["tasks"][0]
        self.assertEqual(t["stdout"], "a\nc\n")
        self.assertEqual(t["stderr"], "b\n")
        # Two pipes cannot carry the order of writes across streams; both are complete.
        self.assertEqual(sorted(t["output"].splitlines()), ["a", "b", "c"])

    def test_run_json_shape(self):
        out = self.cli("run", "-o", "json", "-t", "alpha", "--", "echo hi; exit 4",
                       server=self.server)
        self.assertEqual(out.returncode, 4)
        inv = json.loads(out.stdout)
        self.assertEqual(set(inv), {"invocation_id", "status", "tasks"})
        self.assertEqual(inv["status"], "failed")
        t = inv["tasks"][0]
        self.assertEqual(set(t), TASK_KEYS)
        self.assertEqual(t["status"], "failed")
        self.assertEqual(t["exit_code"], 4)
        self.assertEqual(t["stdout"], "hi\n")
        self.assertEqual(t["name"], "alpha")
        same = json.loads(self.cli("invocations", "show", inv["invocation_id"], "-o", "json",
                                   server=self.server, check=0).stdout)
        self.assertEqual(same, inv)

    def test_uname_via_api(self):
        inv = self.server.invoke("uname -a", ["alpha"])
        self.assertTrue(inv["invocation_id"].startswith("inv-"))
        done = self.server.wait_invocation(inv["invocation_id"])
        self.assertEqual(done["status"], "succeeded")
        task = done["tasks"][0]
        self.assertEqual(task["exit_code"], 0)
        self.assertEqual(task["stdout"], subprocess.run(["uname", "-a"], capture_output=True,
                                                        text=True).stdout)
        raw = self.server.api("GET", "/v1/tasks/%s/output" % task["task_id"])
        self.assertEqual(raw.decode(), task["stdout"])

    def test_logs_and_invocations_list(self):
        out = self.cli("run", "--no-wait", "-t", "alpha", "--", "echo logged",
                       server=self.server, check=0)
        inv_id = out.stdout.decode().strip()
        self.assertTrue(inv_id.startswith("inv-"), inv_id)
        done = self.server.wait_invocation(inv_id)
        task_id = done["tasks"][0]["task_id"]
        self.assertEqual(self.cli("logs", task_id, server=self.server, check=0).stdout,
                         b"logged\n")
        listing = json.loads(self.cli("invocations", "-o", "json", server=self.server,
                                      check=0).stdout)
        ids = [i["invocation_id"] for i in (listing if isinstance(listing, list)
                                            else listing["invocations"])]
        self.assertIn(inv_id, ids)

    def test_sse_stream(self):
        inv = self.server.invoke("echo one; sleep 0.3; echo two", ["alpha"])
        events = sse_events(self.server, "/v1/invocations/%s/events" % inv["invocation_id"])
        kinds = [e for e, _ in events]
        self.assertEqual(kinds[-1], "end", kinds)
        statuses = [d["status"] for e, d in events if e == "task"]
        self.assertIn("succeeded", statuses)
        self.assertEqual(statuses[-1], "succeeded")
        output = b"".join(b64(d["data"]) for e, d in events if e == "output")
        self.assertEqual(output, b"one\ntwo\n")
        seqs = [d["seq"] for e, d in events if e == "output"]
        self.assertEqual(seqs, sorted(set(seqs)))
        # a late subscriber gets the whole story replayed
        again = sse_events(self.server, "/v1/invocations/%s/events" % inv["invocation_id"])
        self.assertEqual(b"".join(b64(d["data"]) for e, d in again if e == "output"), output)
        self.assertEqual(again[-1][0], "end")

    def test_agents_tag_show_and_remove(self):
        self.cli("agents", "tag", "alpha", "env=prod", "role=web", server=self.server, check=0)
        shown = json.loads(self.cli("agents", "show", "alpha", "-o", "json", server=self.server,
                                    check=0).stdout)
        self.assertEqual(shown["tags"], {"env": "prod", "role": "web"})
        out = self.cli("run", "--tag", "env=prod", "--", "echo tagged", server=self.server, check=0)
        self.assertEqual(out.stdout, b"tagged\n")
        self.cli("agents", "tag", "alpha", "role-", server=self.server, check=0)
        self.assertEqual(self.server.agents()["alpha"]["tags"], {"env": "prod"})
        self.cli("agents", "rm", "alpha", server=self.server, check=0)
        self.assertEqual(self.server.agents(), {})
        # the removed agent's token no longer works: its connection is gone and stays gone
        out = self.cli("run", "-t", "alpha", "--", "true", server=self.server)
        self.assertNotEqual(out.returncode, 0)

    def test_help_everywhere(self):
        for args in (["--help"], ["run", "--help"], ["agents", "--help"], ["invocations", "--help"],
                     ["logs", "--help"], ["cancel", "--help"], ["activation", "create", "--help"]):
            out = self.cli(*args, check=0)
            self.assertIn(b"tether", out.stdout + out.stderr, args)
        out = self.cli("run", "--bogus-flag", server=self.server)
        self.assertEqual(out.returncode, 2)
        self.assertIn(b"tether:", out.stderr)

    def test_unknown_target(self):
        out = self.cli("run", "-t", "no-such-host", "--", "true", server=self.server)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(b"no-such-host", out.stderr)


class SeveralAgents(TetherTest):
    def setUp(self):
        super().setUp()
        self.server = self.start_server()
        self.agents = [self.start_agent(self.server, n) for n in ("alpha", "beta", "gamma")]

    def test_all_succeed(self):
        out = self.cli("run", "-t", "alpha,beta", "-t", "gamma", "--", "echo hi from $(hostname)",
                       server=self.server, check=0)
        lines = out.stdout.decode().splitlines()
        for n in ("alpha", "beta", "gamma"):
            self.assertTrue(any(l.startswith(n + " | hi from") for l in lines), lines)

    def test_one_fails(self):
        out = self.cli("run", "-t", "alpha", "-t", "beta", "--",
                       "echo start; if [ \"$(cat /proc/sys/kernel/random/boot_id)\" ]; then :; fi;"
                       " test -f /nonexistent-marker", server=self.server)
        self.assertEqual(out.returncode, 1)
        self.assertIn(b"alpha | start", out.stdout)
        self.assertIn(b"beta | start", out.stdout)

    def test_mixed_exit_codes_in_json(self):
        inv = self.server.invoke("exit 0", ["alpha", "beta", "gamma"])
        done = self.server.wait_invocation(inv["invocation_id"])
        self.assertEqual(done["status"], "succeeded")
        self.assertEqual(sorted(t["name"] for t in done["tasks"]), ["alpha", "beta", "gamma"])
        self.assertTrue(all(t["exit_code"] == 0 for t in done["tasks"]))


class Delivery(TetherTest):
    def test_agent_connects_after_invocation(self):
        server = self.start_server()
        late = self.start_agent(server, "late", start=False)
        inv = server.invoke("echo better late", ["late"])
        self.assertEqual(server.invocation(inv["invocation_id"])["tasks"][0]["status"], "pending")
        late.start()
        done = server.wait_invocation(inv["invocation_id"])
        self.assertEqual(done["tasks"][0]["stdout"], "better late\n")

    def test_task_delivered_twice_runs_once(self):
        server = self.start_server()
        agent = self.start_agent(server, "once", extra_args=["--set", "poll_interval=1"])
        marker = os.path.join(self.workdir, "ran")
        inv = server.invoke("echo x >> %s" % marker, ["once"])
        done = server.wait_invocation(inv["invocation_id"])
        self.assertEqual(done["status"], "succeeded")
        task_id = done["tasks"][0]["task_id"]
        # Make the server hand the same task out again, as after a lost acknowledgement.
        import sqlite3
        db = sqlite3.connect(os.path.join(server.dir, "tether.db"), timeout=10)
        db.execute("UPDATE tasks SET status='pending', lease_expires_at=NULL, started_at=NULL,"
                   " finished_at=NULL WHERE task_id=?", (task_id,))
        db.commit()
        db.close()
        # The agent's fallback poll receives it again and must report it without running it.
        wait_for(lambda: server.api("GET", "/v1/tasks/" + task_id)["status"] == "succeeded",
                 timeout=15, what="re-delivered task reported again")
        with open(marker) as f:
            self.assertEqual(f.read(), "x\n")
        self.assertTrue(agent.proc.alive())


if __name__ == "__main__":
    unittest.main()
