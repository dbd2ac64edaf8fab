"""Operator workflow (issue 7): rate control (max_concurrency in waves, max_errors leaving the
rest `skipped`), every targeting form (through `--dry-run` = POST /v1/targets/resolve, and real
runs), `--include-file`, `--exclude`, and the key sets `-o json` promises to scripts."""

import json
import os
import time

from harness import TetherTest, wait_for

NAMES = ["op-1", "op-2", "op-3", "op-4", "op-5"]
DB = {"op-4", "op-5"}   # tagged role=db; the others role=web


class Operator(TetherTest):
    def setUp(self):
        super().setUp()
        self.server = self.start_server()
        self.agents = {}
        for name in NAMES:
            role = "db" if name in DB else "web"
            code = self.server.activation(tags={"role": role})
            a = self.start_agent(self.server, name, register=False, start=False)
            a.register(code)
            a.start()
            self.agents[name] = a

    def invocation_ids(self):
        invs = self.server.api("GET", "/v1/invocations")["invocations"]
        return [i["invocation_id"] for i in invs]

    def run_json(self, *args, check=None):
        out = self.cli("run", "-o", "json", *args, server=self.server, check=check)
        return out, json.loads(out.stdout)

    def test_max_errors_skips_the_rest(self):
        out, inv = self.run_json("-t", ",".join(NAMES), "--max-concurrency", "1",
                                 "--max-errors", "1", "--", "exit 1")
        self.assertNotEqual(out.returncode, 0)
        statuses = sorted(t["status"] for t in inv["tasks"])
        self.assertEqual(statuses, ["failed"] * 2 + ["skipped"] * 3, inv)
        for t in inv["tasks"]:
            if t["status"] == "skipped":
                self.assertEqual(t["error"], "max_errors reached")
        full = self.server.invocation(inv["invocation_id"])
        self.assertEqual(full["status"], "failed")
        self.assertEqual(full["max_concurrency"], 1)
        self.assertEqual(full["max_errors"], 1)
        shown = self.cli("invocations", "show", inv["invocation_id"], server=self.server,
                         check=0).stdout.decode()
        self.assertIn("concurrency 1", shown)
        self.assertIn("max errors  1", shown)
        # the percent form is kept as given
        inv2 = self.server.invoke("true", NAMES[:2], max_concurrency="50%", max_errors="0%")
        self.assertEqual(inv2["max_concurrency"], "50%")
        self.assertEqual(inv2["max_errors"], "0%")
        self.assertEqual(self.server.wait_invocation(inv2["invocation_id"])["status"], "succeeded")

    def test_max_concurrency_runs_in_waves(self):
        gate = os.path.join(self.workdir, "gate")
        os.mkdir(gate)
        os.chmod(gate, 0o777)
        # Each task marks itself running, prints how many are running, waits for the gate.
        cmd = ("touch {g}/run.$$; ls {g} | grep -c '^run\\.'; "
               "while [ ! -e {g}/open ]; do sleep 0.05; done; rm -f {g}/run.$$").format(g=gate)
        inv = self.server.invoke(cmd, NAMES[:4], max_concurrency=2)
        inv_id = inv["invocation_id"]

        def two_running():
            tasks = self.server.invocation(inv_id, output=False)["tasks"]
            return sum(t["status"] == "running" for t in tasks) == 2
        wait_for(two_running, timeout=15, what="two tasks running")
        # the wave holds: still two running, two pending (an agent pulls every few seconds too)
        for _ in range(10):
            tasks = self.server.invocation(inv_id, output=False)["tasks"]
            self.assertLessEqual(sum(t["status"] in ("dispatched", "running") for t in tasks), 2)
            self.assertEqual(sum(t["status"] == "pending" for t in tasks), 2)
            time.sleep(0.1)
        open(os.path.join(gate, "open"), "w").close()
        done = self.server.wait_invocation(inv_id, timeout=30)
        self.assertEqual(done["status"], "succeeded", done)
        for t in done["tasks"]:
            self.assertIn(t["output"].strip(), ("1", "2"), t)

    def test_dry_run_lists_and_creates_nothing(self):
        before = self.invocation_ids()
        out = self.cli("run", "--tag", "role=db", "--dry-run", server=self.server, check=0)
        listed = out.stdout.decode()
        for name in NAMES:
            (self.assertIn if name in DB else self.assertNotIn)(name, listed)
        out = self.cli("run", "--all", "--exclude", "op-1", "--dry-run", "-o", "json", "--",
                       "rm -rf /nothing", server=self.server, check=0)
        names = sorted(a["name"] for a in json.loads(out.stdout)["agents"])
        self.assertEqual(names, NAMES[1:])
        # same validation as an invocation
        out = self.cli("run", "-t", "nosuch", "--dry-run", server=self.server)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("unknown agent", out.stderr.decode())
        self.assertEqual(self.invocation_ids(), before)

    def test_include_file_and_exclude_tag(self):
        path = os.path.join(self.workdir, "hosts.txt")
        with open(path, "w") as f:
            f.write("# the white list\nop-2\n\n  op-5   # a db host\n")
        _, inv = self.run_json("--include-file", path, "--", "echo hi", check=0)
        self.assertEqual(sorted(t["name"] for t in inv["tasks"]), ["op-2", "op-5"])
        _, inv = self.run_json("--all", "--exclude", "tag:role=db", "--", "true", check=0)
        self.assertEqual(sorted(t["name"] for t in inv["tasks"]), ["op-1", "op-2", "op-3"])
        with open(path, "w") as f:
            f.write("op-1\nbad name!\n")
        out = self.cli("run", "--include-file", path, "--", "true", server=self.server)
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn("hosts.txt:2", out.stderr.decode())


class Targeting(TetherTest):
    """Every targeting form of `tether run`, checked through `--dry-run -o json` (what the server
    resolves) and, for the forms that name agents differently, through a real run."""

    def setUp(self):
        super().setUp()
        self.server = self.start_server()
        self.ids = {}
        for name in NAMES:
            tags = {"role": "db" if name in DB else "web", "env": "prod" if name < "op-3" else "dev"}
            code = self.server.activation(tags=tags)
            a = self.start_agent(self.server, name, register=False, start=False)
            a.register(code)
            a.start()
        for a in self.server.api("GET", "/v1/agents")["agents"]:
            self.ids[a["name"]] = a["agent_id"]
        wait_for(lambda: all(a["status"] == "online"
                             for a in self.server.api("GET", "/v1/agents")["agents"]),
                 timeout=15, what="five agents online")

    def resolve(self, *args, rc=0):
        out = self.cli("run", "--dry-run", "-o", "json", *args, server=self.server)
        self.assertEqual(out.returncode, rc, out.stderr)
        return sorted(a["name"] for a in json.loads(out.stdout)["agents"]) if rc == 0 else out

    def test_each_form(self):
        ids = self.ids
        self.assertEqual(self.resolve("-t", "op-1"), ["op-1"])
        self.assertEqual(self.resolve("-t", ids["op-2"]), ["op-2"])
        self.assertEqual(self.resolve("-t", "op-1,op-3", "-t", ids["op-5"]),
                         ["op-1", "op-3", "op-5"])
        self.assertEqual(self.resolve("--tag", "role=web"), ["op-1", "op-2", "op-3"])
        self.assertEqual(self.resolve("--tag", "role=web", "--tag", "env=prod"), ["op-1", "op-2"])
        self.assertEqual(self.resolve("--tag", "role=db,env=dev"), ["op-4", "op-5"])
        self.assertEqual(self.resolve("--cidr", "127.0.0.0/8"), NAMES)
        self.assertEqual(self.resolve("--all"), NAMES)
        self.assertEqual(self.resolve("--all", "--exclude", "op-1," + ids["op-2"]),
                         ["op-3", "op-4", "op-5"])
        self.assertEqual(self.resolve("--all", "--exclude", "tag:role=db", "--exclude",
                                      "tag:env=dev"), ["op-1", "op-2", "op-3"])
        self.assertEqual(self.resolve("--tag", "env=prod", "--exclude", "op-2"), ["op-1"])
        path = os.path.join(self.workdir, "white.txt")
        with open(path, "w") as f:
            f.write("op-4\n%s\n" % ids["op-1"])
        self.assertEqual(self.resolve("--include-file", path), ["op-1", "op-4"])
        # no match, unknown names and bad forms: a clear error and nothing created
        out = self.resolve("--cidr", "203.0.113.0/24", rc=1)
        self.assertIn("no agent", out.stderr.decode().lower())
        out = self.resolve("-t", "op-1,nosuch", rc=1)
        self.assertIn("nosuch", out.stderr.decode())
        out = self.resolve("--cidr", "10.0.0.0/33", rc=1)
        self.assertIn("cidr", out.stderr.decode())
        out = self.resolve("--tag", "novalue", rc=2)
        self.assertIn("--tag", out.stderr.decode())
        self.assertEqual(self.server.api("GET", "/v1/invocations")["invocations"], [])

    def test_real_runs_by_id_and_cidr(self):
        out = self.cli("run", "-o", "json", "-t", self.ids["op-3"], "--", "echo by-id",
                       server=self.server, check=0)
        inv = json.loads(out.stdout)
        self.assertEqual([(t["name"], t["stdout"]) for t in inv["tasks"]], [("op-3", "by-id\n")])
        out = self.cli("run", "-o", "json", "--cidr", "127.0.0.1/32", "--exclude", "tag:role=web",
                       "--", "echo by-cidr", server=self.server, check=0)
        inv = json.loads(out.stdout)
        self.assertEqual(sorted((t["name"], t["stdout"]) for t in inv["tasks"]),
                         [("op-4", "by-cidr\n"), ("op-5", "by-cidr\n")])


class JsonShapes(TetherTest):
    """`-o json` is for scripts: the keys documented in docs/cli.md are exactly what comes out, so a
    change to them is a deliberate one that breaks this test."""

    TASK_KEYS = {"task_id", "agent_id", "name", "status", "exit_code", "signal", "error", "output",
                 "stdout", "stderr", "dropped_bytes", "started_at", "finished_at"}
    AGENT_KEYS = {"agent_id", "name", "status", "version", "primary_ip", "ips", "tags",
                  "first_seen", "last_seen", "running_tasks", "update_state"}

    def test_run_show_and_agents(self):
        server = self.start_server()
        self.start_agent(server, "js-1")
        out = self.cli("run", "-o", "json", "-t", "js-1", "--", "echo out; echo err >&2; exit 3",
                       server=server)
        self.assertEqual(out.returncode, 3, out.stderr)
        inv = json.loads(out.stdout)
        self.assertEqual(set(inv), {"invocation_id", "status", "tasks"})
        self.assertEqual(set(inv["tasks"][0]), self.TASK_KEYS)
        t = inv["tasks"][0]
        self.assertEqual((t["status"], t["exit_code"], t["stdout"], t["stderr"]),
                         ("failed", 3, "out\n", "err\n"))
        shown = json.loads(self.cli("invocations", "show", inv["invocation_id"], "-o", "json",
                                    server=server, check=0).stdout)
        self.assertEqual(set(shown), set(inv))
        self.assertEqual(set(shown["tasks"][0]), self.TASK_KEYS)
        agents = json.loads(self.cli("agents", "-o", "json", server=server, check=0).stdout)
        self.assertEqual([set(a) for a in agents], [self.AGENT_KEYS])
