"""Saved commands with {{parameters}} (issue 7): save/ls/show/rm through the CLI and the REST API,
invoke with parameters and defaults, injection attempts executed for real on the agents (they
must come out as plain strings and create nothing), TETHER_PARAM_* in the task environment,
python3 and perl literals, every 400 as a clear CLI error that changes nothing, 404 for a missing
command, the REST invoke by an API key, and `invoke -o json` in the shape of `run -o json`."""

import json
import os
import sqlite3

from harness import ApiError, TetherTest

AGENTS = ["cmd-1", "cmd-2"]

ECHOIT = {
    "name": "echoit",
    "description": "echoes its parameters",
    "command": "echo {{text}} {{n}}",
    "parameters": {
        "text": {"default": "x", "pattern": "^[a-z]+$", "description": "lower-case word"},
        "n": {"description": "anything, required"},
    },
}


class Commands(TetherTest):
    def setUp(self):
        super().setUp()
        self.server = self.start_server()
        for name in AGENTS:
            self.start_agent(self.server, name)
        self.pwned = os.path.join(self.workdir, "pwned")

    # ---- helpers ----

    def write_def(self, definition, name="def.json"):
        path = os.path.join(self.workdir, name)
        with open(path, "w") as f:
            if isinstance(definition, str):
                f.write(definition)
            else:
                json.dump(definition, f)
        return path

    def save(self, definition, check=0):
        return self.cli("commands", "save", self.write_def(definition), server=self.server,
                        check=check)

    def tether(self, *args, check=None, key=None):
        return self.cli(*args, server=self.server, check=check, key=key)

    def invocation_ids(self):
        return [i["invocation_id"] for i in self.server.api("GET", "/v1/invocations")["invocations"]]

    def commands(self):
        return {c["name"]: c for c in self.server.api("GET", "/v1/commands")["commands"]}

    def invoke_cli(self, name, *args, check=None):
        return self.tether("commands", "invoke", name, *args, check=check)

    def invoke_rest(self, name, params, agents=("cmd-1",), key=None, **extra):
        body = {"params": params, "targets": {"agents": list(agents)}}
        body.update(extra)
        return self.server.api("POST", "/v1/commands/%s/invoke" % name, body, key=key)

    def assert_no_pwn(self):
        self.assertFalse(os.path.exists(self.pwned), "an injected command ran on an agent")

    # ---- tests ----

    def test_save_ls_show_rm_cli_and_rest(self):
        out = self.save(ECHOIT)
        self.assertEqual(out.stdout.decode(), "saved echoit (2 parameters)\n")
        changed = dict(ECHOIT, description="second version")
        out = self.save(changed)
        self.assertEqual(out.stdout.decode(),
                         "updated echoit (the previous definition was replaced)\n")

        listed = self.tether("commands", "ls", check=0).stdout.decode()
        self.assertIn("echoit", listed)
        self.assertIn("[text] n", listed)
        self.assertIn("second version", listed)
        as_json = json.loads(self.tether("commands", "ls", "-o", "json", check=0).stdout)
        self.assertEqual([c["name"] for c in as_json], ["echoit"])
        shown = json.loads(self.tether("commands", "show", "echoit", "-o", "json", check=0).stdout)
        self.assertEqual(shown["command"], "echo {{text}} {{n}}")
        self.assertEqual(shown["interpreter"], "sh")
        self.assertEqual(shown["user"], "root")
        self.assertEqual(shown["timeout_s"], 3600)
        self.assertEqual(shown["parameters"], ECHOIT["parameters"])
        self.assertEqual(shown["created_by"], "admin")
        self.assertEqual(shown, self.server.api("GET", "/v1/commands/echoit"))
        table = self.tether("commands", "show", "echoit", check=0).stdout.decode()
        self.assertIn("command:\necho {{text}} {{n}}\n", table)
        self.assertIn("^[a-z]+$", table)
        # `show -o json` output saves again as it is (the dates are ignored)
        out = self.cli("commands", "save", "-", server=self.server, check=0,
                       input_bytes=json.dumps(shown).encode())
        self.assertIn("updated echoit", out.stdout.decode())

        # REST: 201 created, 200 replaced, 404 after DELETE
        up = {"name": "up", "command": "uptime", "interpreter": "bash", "timeout_s": 30}
        created = self.server.api("POST", "/v1/commands", up)
        self.assertEqual(created["interpreter"], "bash")
        self.assertIsNone(created["workdir"])
        with self.assertRaises(ApiError) as cm:
            self.server.api("POST", "/v1/commands", dict(up, description=5))
        self.assertEqual(cm.exception.status, 400)
        req_status = self._post_status("/v1/commands", up)
        self.assertEqual(req_status, 200)
        req_status = self._post_status("/v1/commands", dict(up, name="up2"))
        self.assertEqual(req_status, 201)
        self.assertEqual(sorted(self.commands()), ["echoit", "up", "up2"])
        self.assertEqual(self.server.api("DELETE", "/v1/commands/up2"),
                         {"name": "up2", "removed": True})
        with self.assertRaises(ApiError) as cm:
            self.server.api("GET", "/v1/commands/up2")
        self.assertEqual(cm.exception.status, 404)

        out = self.tether("commands", "rm", "echoit", check=0)
        self.assertEqual(out.stdout.decode(), "removed echoit\n")
        self.assertEqual(sorted(self.commands()), ["up"])
        out = self.tether("commands", "rm", "echoit", check=1)
        self.assertIn("no saved command named 'echoit'", out.stderr.decode())

        actions = [(a["action"], a["target"]) for a in
                   self.server.api("GET", "/v1/audit?limit=100")["audit"]]
        self.assertIn(("command.save", "echoit"), actions)
        self.assertIn(("command.remove", "echoit"), actions)
        self.assertIn(("command.remove", "up2"), actions)
        details = [a["detail"] for a in
                   self.server.api("GET", "/v1/audit?action=command.save")["audit"]]
        self.assertTrue(any(d.startswith("created;") for d in details), details)
        self.assertTrue(any(d.startswith("replaced;") for d in details), details)
        for d in details:   # the command text is not in the trail, only its length and hash
            self.assertNotIn("echo {{text}}", d)

    def _post_status(self, path, body):
        import urllib.request
        req = urllib.request.Request(self.server.url + path, data=json.dumps(body).encode(),
                                     method="POST",
                                     headers={"Authorization": "Bearer " + self.server.key})
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status

    def test_invoke_params_defaults_and_exit_codes(self):
        self.save(ECHOIT)
        out = self.invoke_cli("echoit", "--param", "n=5", "-t", "cmd-1", check=0)
        self.assertEqual(out.stdout, b"x 5\n")
        out = self.invoke_cli("echoit", "-p", "text=hello", "-p", "n=two words", "-t",
                              "cmd-1,cmd-2", check=0)
        lines = sorted(out.stdout.decode().splitlines())
        self.assertEqual(lines, ["cmd-1 | hello two words", "cmd-2 | hello two words"])

        inv = self.server.api("GET", "/v1/invocations")["invocations"][0]
        self.assertEqual(inv["command_name"], "echoit")
        self.assertEqual(inv["command"], "echo 'hello' 'two words'")
        self.assertEqual(inv["env"], {"TETHER_PARAM_TEXT": "hello", "TETHER_PARAM_N": "two words"})
        shown = self.tether("invocations", "show", inv["invocation_id"], check=0).stdout.decode()
        self.assertIn("saved cmd   echoit", shown)
        adhoc = self.server.invoke("true", ["cmd-1"])
        self.assertIsNone(adhoc["command_name"])

        # the remote exit code comes back like tether run's
        self.save({"name": "code", "command": "echo out; exit {{code}}",
                   "parameters": {"code": {"pattern": "[0-9]{1,3}"}}})
        out = self.invoke_cli("code", "--param", "code=3", "-t", "cmd-1", check=3)
        self.assertEqual(out.stdout, b"out\n")
        out = self.invoke_cli("code", "--param", "code=4", "-t", "cmd-1,cmd-2", check=1)
        self.assertIn("0 succeeded, 2 failed", out.stderr.decode())

        # --no-wait prints the id; --dry-run lists the agents and creates nothing
        out = self.invoke_cli("echoit", "-p", "n=1", "--all", "--no-wait", check=0)
        inv_id = out.stdout.decode().strip()
        self.assertTrue(inv_id.startswith("inv-"), inv_id)
        self.assertEqual(self.server.wait_invocation(inv_id)["status"], "succeeded")
        before = self.invocation_ids()
        out = self.invoke_cli("echoit", "--all", "--exclude", "cmd-2", "--dry-run", check=0)
        self.assertIn("cmd-1", out.stdout.decode())
        self.assertNotIn("cmd-2", out.stdout.decode())
        out = self.invoke_cli("nope", "--all", "--dry-run", check=1)
        self.assertIn("no saved command named 'nope'", out.stderr.decode())
        self.assertEqual(self.invocation_ids(), before)

    def test_injection_attempts_come_out_verbatim(self):
        p = self.pwned
        values = [
            "'; touch %s #" % p,
            "$(touch %s)" % p,
            "`touch %s`" % p,
            "x\ntouch %s" % p,
            "\"; touch %s; \"" % p,
            "\\'; touch %s; echo \\'" % p,
            "a' 'b",
            "{{text}} {{n}}",
            "",
            "-n",
            "*",
        ]
        for interp in ("sh", "bash"):
            self.save({"name": "say-" + interp, "interpreter": interp,
                       "command": "printf '%s\\n' {{v}}", "parameters": {"v": {}}})
        self.save({"name": "say-py", "interpreter": "python3", "command": "print({{v}})",
                   "parameters": {"v": {}}})
        self.save({"name": "say-pl", "interpreter": "perl", "command": "print {{v}}, \"\\n\";",
                   "parameters": {"v": {}}})
        py_values = values + ["'); import os; os.system('touch %s'); print('" % p,
                              "\\'); __import__('os').system('touch %s') #" % p]
        pl_values = values + ["'; system(\"touch %s\"); '" % p, "@{[ `touch %s` ]}" % p,
                              "\\'; `touch %s`; \\'" % p]
        for name, vals in (("say-sh", values), ("say-bash", values), ("say-py", py_values),
                           ("say-pl", pl_values)):
            for v in vals:
                with self.subTest(command=name, value=v):
                    out = self.invoke_cli(name, "--param", "v=" + v, "-t", "cmd-1", check=0)
                    self.assertEqual(out.stdout, (v + "\n").encode())
                    self.assert_no_pwn()
        # and through the REST API on both agents at once
        inv = self.invoke_rest("say-bash", {"v": values[0]}, agents=AGENTS)
        done = self.server.wait_invocation(inv["invocation_id"])
        self.assertEqual([t["output"] for t in done["tasks"]], [values[0] + "\n"] * 2)
        self.assert_no_pwn()

    def test_env_variables_for_sh_and_python3(self):
        self.save({"name": "env-sh", "command": "echo \"$TETHER_PARAM_TEXT|$TETHER_PARAM_N\"",
                   "parameters": ECHOIT["parameters"]})
        out = self.invoke_cli("env-sh", "--param", "n=$(id)", "-t", "cmd-1", check=0)
        self.assertEqual(out.stdout, b"x|$(id)\n")
        self.save({"name": "env-py", "interpreter": "python3",
                   "command": "import os\nprint(sorted((k, v) for k, v in os.environ.items() "
                              "if k.startswith('TETHER_PARAM_')))",
                   "parameters": {"Host_name": {}, "port": {"default": "80"}, "unused": {}}})
        out = self.invoke_cli("env-py", "-p", "Host_name=web 1", "-p", "unused=", "-t", "cmd-2",
                              check=0)
        self.assertEqual(out.stdout.decode().strip(),
                         "[('TETHER_PARAM_HOST_NAME', 'web 1'), ('TETHER_PARAM_PORT', '80'), "
                         "('TETHER_PARAM_UNUSED', '')]")

    def test_python3_and_perl_literals(self):
        value = "it's \"q\" \\ \u00e9\u2603\U0001F600 $HOME @ARGV\ttab\r\nline2"
        self.save({"name": "py", "interpreter": "python3",
                   "command": "import sys\nsys.stdout.write({{v}})", "parameters": {"v": {}}})
        self.save({"name": "pl", "interpreter": "perl", "command": "print {{v}};",
                   "parameters": {"v": {}}})
        for name in ("py", "pl"):
            inv = self.invoke_rest(name, {"v": value})
            done = self.server.wait_invocation(inv["invocation_id"])
            task = done["tasks"][0]
            self.assertEqual(task["status"], "succeeded", task)
            raw = self.server.api("GET", "/v1/tasks/%s/output" % task["task_id"])
            self.assertEqual(raw, value.encode(), name)
        py = self.server.api("GET", "/v1/invocations")["invocations"][1]
        self.assertEqual(py["command"], "import sys\nsys.stdout.write('it\\'s \\\"q\\\" \\\\ "
                         "\\u00e9\\u2603\\U0001f600 $HOME @ARGV\\ttab\\r\\nline2')")

    def test_bad_input_is_a_clear_error_and_changes_nothing(self):
        self.save(ECHOIT)
        cmds, invs = self.commands(), self.invocation_ids()
        cases = [
            (("--param", "n=1", "--param", "bogus=1"), "params: unknown parameter 'bogus'"),
            ((), "params: missing required parameter 'n'"),
            (("--param", "n=1", "--param", "text=UPPER; rm -rf /"),
             "params: 'text' does not match the pattern ^[a-z]+$"),
            (("--param", "n=" + "v" * 5000), "params: 'n' is 5000 bytes; at most 4096"),
        ]
        for args, want in cases:
            with self.subTest(args=args[:4]):
                out = self.invoke_cli("echoit", "-t", "cmd-1", *args, check=1)
                err = out.stderr.decode()
                self.assertIn(want, err)
                self.assertNotIn("rm -rf", err)   # values are not echoed back
                self.assertEqual(err.count("\n"), 1, err)
        out = self.invoke_cli("nope", "-t", "cmd-1", check=1)
        self.assertIn("not found: no saved command named 'nope'", out.stderr.decode())
        with self.assertRaises(ApiError) as cm:
            self.invoke_rest("nope", {})
        self.assertEqual(cm.exception.status, 404)
        out = self.invoke_cli("echoit", "-p", "n=1", "-t", "nosuch", check=1)
        self.assertIn("nosuch", out.stderr.decode())

        bad_defs = [
            (dict(ECHOIT, command="echo {{text}} {{who}}"),
             "command: placeholder {{who}} (at byte 14) is not declared in parameters"),
            (dict(ECHOIT, command="echo {{text}"), "the '{{' at byte 5 does not start a placeholder"),
            (dict(ECHOIT, command="echo \"{{text}}\" {{n}}"),
             "{{text}} at byte 6 is inside a double-quoted string"),
            (dict(ECHOIT, command="echo \"Deploying {{text}}\" {{n}}"),
             "use the environment variable TETHER_PARAM_TEXT there"),
            (dict(ECHOIT, command="cat <<EOF\n{{text}} {{n}}\nEOF"), "inside a here-document"),
            (dict(ECHOIT, command="echo ${{text}} {{n}}", interpreter="bash"), "follows '$'"),
            (dict(ECHOIT, command="echo \\{{text}} {{n}}"), "follows '\\'"),
            ({"name": "fstr", "interpreter": "python3", "command": "print(f{{v}})",
              "parameters": {"v": {}}}, "follows 'f', which changes how python3 reads"),
            ({"name": "qx", "interpreter": "perl", "command": "print qx{{v}};",
              "parameters": {"v": {}}}, "follows 'x'"),
            (dict(ECHOIT, parameters={"text": {"pattern": "([a-z"}}),
             "parameters.text.pattern: not a valid POSIX extended regular expression"),
            (dict(ECHOIT, parameters={"text": {"pattern": "(.{1,100}){100}"}, "n": {}}),
             "parameters.text.pattern: too large once compiled"),
            (dict(ECHOIT, parameters={"text": {"default": "UP", "pattern": "[a-z]+"}, "n": {}}),
             "parameters.text.default: does not match the pattern [a-z]+"),
            (dict(ECHOIT, parameters={"n": {}, "text": {}, "TEXT": {}}),
             "parameters.TEXT: same environment variable TETHER_PARAM_TEXT as 'text'"),
            (dict(ECHOIT, parameters={"n-1": {}}), "parameters.n-1: not a valid parameter name"),
            (dict(ECHOIT, name="bad name"), "name: required, 1-64 characters"),
            (dict(ECHOIT, name="x" * 65), "name: required, 1-64 characters"),
            (dict(ECHOIT, interpreter="ruby"), "interpreter: must be sh, bash, python3 or perl"),
            (dict(ECHOIT, timeout_s=0), "timeout_s: must be between 1 and 86400"),
            (dict(ECHOIT, env={"A": "b"}), "env: unknown field"),
            (dict(ECHOIT, parameters={"p%d" % i: {} for i in range(65)}),
             "parameters: at most 64"),
        ]
        for definition, want in bad_defs:
            with self.subTest(want=want):
                out = self.save(definition, check=1)
                self.assertIn(want, out.stderr.decode())
                self.assertEqual(out.stdout, b"")
        # a bad JSON file is the CLI's own usage error, naming the file and the place
        for text, want in (("{\"name\": \"x\",", "def.json: invalid JSON at line 1"),
                           ("[1, 2]", "def.json: must hold a JSON object"),
                           ("{\"name\":\"a\",\"name\":\"b\",\"command\":\"x\"}", "duplicate")):
            out = self.cli("commands", "save", self.write_def(text), server=self.server, check=2)
            self.assertIn(want, out.stderr.decode())
        out = self.tether("commands", "save", os.path.join(self.workdir, "missing.json"), check=2)
        self.assertIn("cannot read", out.stderr.decode())
        self.assertEqual(self.commands(), cmds)     # the saved one is untouched
        self.assertEqual(self.invocation_ids(), invs)

    def test_rest_invoke_by_api_key(self):
        """Another system calls a job: an operator key invokes over REST, a viewer key may not."""
        self.save(ECHOIT)
        operator = self.server.api("POST", "/v1/apikeys", {"role": "operator", "name": "ci"})["key"]
        viewer = self.server.api("POST", "/v1/apikeys", {"role": "viewer", "name": "watch"})["key"]
        inv = self.invoke_rest("echoit", {"n": "42", "text": "deploy"}, agents=AGENTS,
                               key=operator, max_concurrency=1, max_errors=0, expires_in_s=120)
        adhoc = self.server.invoke("echo 'deploy' '42'", AGENTS, max_concurrency=1, max_errors=0,
                                   expires_in_s=120)
        self.assertEqual(sorted(inv), sorted(adhoc))       # the POST /v1/invocations shape
        self.assertEqual(sorted(inv["tasks"][0]), sorted(adhoc["tasks"][0]))
        self.assertEqual(inv["command_name"], "echoit")
        self.assertEqual(inv["created_by"], "ci")
        self.assertEqual(inv["max_concurrency"], 1)
        done = self.server.wait_invocation(inv["invocation_id"])
        self.assertEqual(done["status"], "succeeded")
        self.assertEqual([t["output"] for t in done["tasks"]], ["deploy 42\n"] * 2)
        audit = self.server.api("GET", "/v1/audit?action=command.invoke")["audit"]
        self.assertEqual(audit[0]["who"], "ci")
        self.assertEqual(audit[0]["target"], "echoit")
        self.assertIn(inv["invocation_id"], audit[0]["detail"])
        self.assertNotIn("deploy", audit[0]["detail"])     # names, not values
        # a viewer reads saved commands (as it reads invocations) but changes and runs nothing
        self.assertIn("echoit", [c["name"] for c in
                                 self.server.api("GET", "/v1/commands", key=viewer)["commands"]])
        self.assertEqual(self.server.api("GET", "/v1/commands/echoit", key=viewer)["name"],
                         "echoit")
        for method, path in (("POST", "/v1/commands/echoit/invoke"),
                             ("DELETE", "/v1/commands/echoit"), ("POST", "/v1/commands")):
            with self.subTest(path=path, method=method):
                with self.assertRaises(ApiError) as cm:
                    self.server.api(method, path, {} if method == "POST" else None, key=viewer)
                self.assertEqual(cm.exception.status, 403)
        out = self.tether("commands", "invoke", "echoit", "-p", "n=1", "-t", "cmd-1",
                          key=viewer, check=1)
        self.assertIn("may not do this", out.stderr.decode())

    def test_invoke_json_matches_run_json(self):
        self.save(ECHOIT)
        out = self.invoke_cli("echoit", "-p", "n=1", "-t", "cmd-1,cmd-2", "-o", "json", check=0)
        got = json.loads(out.stdout)
        out = self.tether("run", "-t", "cmd-1,cmd-2", "-o", "json", "--", "echo 'x' '1'", check=0)
        want = json.loads(out.stdout)
        self.assertEqual(list(got), list(want))
        self.assertEqual(got["status"], "succeeded")
        for g, w in zip(sorted(got["tasks"], key=lambda t: t["name"]),
                        sorted(want["tasks"], key=lambda t: t["name"])):
            self.assertEqual(list(g), list(w))
            for k in ("name", "agent_id", "status", "exit_code", "output", "stdout", "stderr"):
                self.assertEqual(g[k], w[k], k)
        self.assertEqual(got["tasks"][0]["output"], "x 1\n")

    def test_invocations_and_analysis_by_saved_command_name(self):
        """`--command NAME` finds the invocations made from that saved command (its text says
        nothing of the name), and `tether analysis NAME` analyses the newest of them."""
        self.save(ECHOIT)
        self.tether("run", "-t", "cmd-1", "--", "echo unrelated", check=0)
        self.invoke_cli("echoit", "-p", "n=1", "-t", "cmd-1,cmd-2", check=0)
        newest = self.invoke_cli("echoit", "-p", "n=2", "-t", "cmd-1,cmd-2", "--no-wait",
                                 check=0).stdout.decode().strip()
        self.server.wait_invocation(newest)
        out = self.tether("invocations", "--command", "echoit", "-o", "json", check=0)
        listed = json.loads(out.stdout)
        self.assertEqual(len(listed), 2)
        self.assertEqual({i["command_name"] for i in listed}, {"echoit"})
        self.assertEqual(listed[0]["invocation_id"], newest)
        out = self.tether("analysis", "echoit", "-o", "json", check=0)
        got = json.loads(out.stdout)
        self.assertEqual(got["invocation_id"], newest)
        self.assertEqual([(g["count"], g["output"]) for g in got["outputs"]], [(2, "x 2\n")])

    def test_many_parameters(self):
        """64 parameters fill the invocation's 64 env variables exactly; a 65th is refused."""
        params = {"p%02d" % i: {"default": "v%d" % i} for i in range(64)}
        self.server.api("POST", "/v1/commands", {
            "name": "many", "command": "env | grep -c '^TETHER_PARAM_P'; echo {{p00}} {{p63}}",
            "parameters": params})
        out = self.invoke_cli("many", "-p", "p63=" + "z" * 4096, "-t", "cmd-1", check=0)
        lines = out.stdout.decode().splitlines()
        self.assertEqual(lines[0], "64")
        self.assertEqual(lines[1], "v0 " + "z" * 4096)

    def test_stored_definition_that_no_longer_validates(self):
        """A definition in the store that fails today's checks (written by hand here, or saved by
        an older server) is refused at invoke with a 409 that says to save it again."""
        self.save(ECHOIT)
        bad = dict(ECHOIT, parameters={"text": {"pattern": "("}, "n": {}})
        db = sqlite3.connect(os.path.join(self.server.dir, "tether.db"), timeout=10)
        with db:
            db.execute("UPDATE commands SET definition = ? WHERE name = 'echoit'",
                       (json.dumps(bad),))
        db.close()
        invs = self.invocation_ids()
        out = self.invoke_cli("echoit", "-p", "n=1", "-t", "cmd-1", check=1)
        self.assertIn("the saved command 'echoit' does not validate any more", out.stderr.decode())
        self.assertIn("save it again", out.stderr.decode())
        with self.assertRaises(ApiError) as cm:
            self.invoke_rest("echoit", {"n": "1"})
        self.assertEqual(cm.exception.status, 409)
        self.assertEqual(self.invocation_ids(), invs)
        self.save(ECHOIT)
        self.invoke_cli("echoit", "-p", "n=1", "-t", "cmd-1", check=0)
