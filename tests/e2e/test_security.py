"""Issue 5 attacks on 127.0.0.1 (docs/security.md): the auth table walk over every route of
src/server/routes.c, API keys and the audit trail, forged task reports, hostile ids, oversized
bodies and frames, slowloris, connection floods, the failed-auth limiter, TLS (wrong CA, wrong
host, expired) and mutual TLS. Each refusal also checks that nothing changed."""

import base64
import json
import os
import re
import socket
import ssl
import struct
import subprocess
import time
import unittest
import urllib.error
import urllib.request

from faults import read_until, status_line, ws_frame, ws_upgrade
from harness import (CLI_BIN, HERE, SERVER_BIN, AGENT_BIN, SLOW, ApiError, Proc, Server,
                     TetherTest, free_port, wait_for)

ROUTES_C = os.path.join(HERE, "..", "..", "src", "server", "routes.c")
ZERO_TASK = "tsk-00000000000000000000"


def route_table():
    """(method, pattern, need) for every row of the server's one route table."""
    with open(ROUTES_C) as f:
        text = f.read()
    rows = re.findall(r'\{\s*M_(\w+),\s*("[^"]*"|ROUTE_AGENT_WS),\s*CRED_(\w+)', text)
    out = []
    for method, pattern, need in rows:
        pattern = "/v1/agent/ws" if pattern == "ROUTE_AGENT_WS" else pattern.strip('"')
        out.append((method, pattern, need))
    assert len(out) >= 25, out
    return out


def ws_open(port, token, path="/v1/agent/ws"):
    """Opens an agent WebSocket; returns (socket, status line)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW)
    s.sendall(ws_upgrade(port, path, token))
    got = read_until(s, b"\r\n\r\n")
    return s, got.split(b"\r\n", 1)[0].decode(errors="replace")


def ws_close_code(s, timeout=5.0):
    """Reads frames until a close frame; returns its status code (None if the socket closed)."""
    s.settimeout(timeout * SLOW)
    buf = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return None
            buf += chunk
            while len(buf) >= 2:
                op, n = buf[0] & 0x0F, buf[1] & 0x7F
                off = 2
                if n == 126:
                    n, off = struct.unpack("!H", buf[2:4])[0], 4
                elif n == 127:
                    n, off = struct.unpack("!Q", buf[2:10])[0], 10
                if len(buf) < off + n:
                    break
                body, buf = buf[off:off + n], buf[off + n:]
                if op == 8:
                    return struct.unpack("!H", body[:2])[0] if len(body) >= 2 else 1005
    except (socket.timeout, ConnectionError):
        return None


class Base(TetherTest):
    def snapshot(self, server):
        """What an attack must not change (as seen by the admin)."""
        return {
            "agents": sorted((a["agent_id"], json.dumps(a["tags"], sort_keys=True))
                             for a in server.api("GET", "/v1/agents")["agents"]),
            "invocations": sorted(i["invocation_id"] for i in
                                  server.api("GET", "/v1/invocations")["invocations"]),
            "apikeys": server.api("GET", "/v1/apikeys")["apikeys"],
            "audit": len(server.api("GET", "/v1/audit?limit=1000")["audit"]),
        }

    def fake_agent(self, server, name):
        """Registers an agent over the API (no process): returns (agent_id, token)."""
        code = server.activation()
        r = server.api("POST", "/v1/agent/register", {
            "activation_code": code, "hostname": name, "machine_id": "mid-" + name,
            "ips": ["127.0.0.1"], "primary_ip": "127.0.0.1", "os": "linux", "arch": "x86_64",
            "version": "test", "tags": {}}, key="")
        return r["agent_id"], r["agent_token"]


class AuthTable(Base):
    """Every route of the table, every kind of bad credential: refused, nothing changed."""

    def setUp(self):
        super().setUp()
        # The walk makes hundreds of failures from one address: keep the limiter out of it.
        self.server = self.start_server(["--set", "auth_fail_burst=100000"])

    def test_walk(self):
        s = self.server
        agent_id, agent_token = self.fake_agent(s, "walk-a")
        inv = s.invoke("true", ["walk-a"])
        task_id = inv["tasks"][0]["task_id"]
        viewer = s.api("POST", "/v1/apikeys", {"role": "viewer", "name": "v1"})["key"]
        operator = s.api("POST", "/v1/apikeys", {"role": "operator", "name": "o1"})["key"]
        revoked = s.api("POST", "/v1/apikeys", {"role": "admin", "name": "gone"})["key"]
        s.api("DELETE", "/v1/apikeys/gone")
        values = {"id": None, "name": "o1", "sha256": "a" * 64, "version": "1.0.0"}
        before = self.snapshot(s)

        bad_common = [("no header", None), ("empty", ""), ("malformed", "garbage"),
                      ("basic", "Basic YWRtaW46YWRtaW4="), ("short", "tak_abc"),
                      ("random key", "tak_" + "A" * 43), ("random agent", "tag_" + "B" * 43),
                      ("bearer only", "Bearer"), ("revoked", "Bearer " + revoked)]
        checked = 0
        for method, pattern, need in route_table():
            if need == "NONE":
                continue
            path = pattern
            for p in re.findall(r"\{(\w+)\}", pattern):
                v = values[p] or (task_id if "/tasks/" in pattern else
                                  agent_id if "/agents/" in pattern else inv["invocation_id"])
                path = path.replace("{%s}" % p, v)
            cases = list(bad_common)
            if need == "AGENT":
                cases += [("api key (wrong kind)", "Bearer " + s.key),
                          ("viewer key", "Bearer " + viewer)]
            else:
                cases += [("agent token (wrong kind)", "Bearer " + agent_token)]
                if need in ("OPERATOR", "ADMIN"):
                    cases.append(("viewer role", "Bearer " + viewer))
                if need == "ADMIN":
                    cases.append(("operator role", "Bearer " + operator))
            for what, header in cases:
                with self.subTest(route="%s %s" % (method, pattern), cred=what):
                    if pattern == "/v1/agent/ws":
                        token = header[7:] if header and header.startswith("Bearer ") else ""
                        sock, status = ws_open(s.port, token)
                        sock.close()
                        self.assertNotIn(" 101", status)
                        checked += 1
                        continue
                    hdrs = {"Authorization": header} if header is not None else {}
                    body = b"{}" if method in ("POST", "PATCH") else None
                    req = urllib.request.Request(s.url + path, data=body, method=method,
                                                 headers=hdrs)
                    with self.assertRaises(urllib.error.HTTPError) as cm:
                        urllib.request.urlopen(req, timeout=10 * SLOW).read()
                    expect = (403,) if "role" in what else (401, 403)
                    self.assertIn(cm.exception.code, expect)
                    checked += 1
        self.assertGreater(checked, 200)
        self.assertEqual(self.snapshot(s), before)
        # The task an agent did not touch is still pending.
        self.assertEqual(s.api("GET", "/v1/tasks/" + task_id)["status"], "pending")

    def test_every_route_is_in_the_table(self):
        """Unknown paths are 404 for everybody; known ones 405 on other methods (after no auth)."""
        s = self.server
        self.assertEqual(status_line(s.port, b"GET /v1/secret HTTP/1.1\r\nHost: x\r\n\r\n"),
                         "HTTP/1.1 404 Not Found")
        for m in ("PUT", "PATCH", "DELETE", "POST"):
            with self.assertRaises(ApiError) as cm:
                s.api(m, "/v1/audit", {} if m != "DELETE" else None)
            self.assertEqual(cm.exception.status, 405, m)


class KeysAndAudit(Base):
    def setUp(self):
        super().setUp()
        self.server = self.start_server()

    def test_apikey_cli_and_audit(self):
        s = self.server
        out = self.cli("apikey", "create", "--role", "viewer", "--name", "ro", server=s, check=0)
        viewer = out.stdout.decode().strip()
        self.assertRegex(viewer, r"^tak_[A-Za-z0-9_-]{43}$")
        out = self.cli("apikey", "create", "--role", "operator", server=s, check=0)
        self.assertRegex(out.stdout.decode().strip(), r"^tak_")
        keys = json.loads(self.cli("apikey", "ls", "-o", "json", server=s, check=0).stdout)
        names = {k["name"]: k for k in keys}
        self.assertEqual(names["ro"]["role"], "viewer")
        self.assertFalse(names["ro"]["revoked"])
        for k in keys:
            self.assertEqual(set(k), {"name", "role", "created_at", "revoked", "revoked_at"})
        self.assertNotIn(b"tak_", self.cli("apikey", "ls", server=s, check=0).stdout)
        # A duplicate live name is refused.
        self.assertNotEqual(self.cli("apikey", "create", "--role", "viewer", "--name", "ro",
                                     server=s).returncode, 0)
        # The viewer reads but may not manage keys or run commands.
        self.cli("agents", server=s, key=viewer, check=0)
        out = self.cli("apikey", "ls", server=s, key=viewer)
        self.assertEqual(out.returncode, 1)
        self.assertIn(b"may not", out.stderr)
        # Revoke: the key stops working at once.
        self.cli("apikey", "revoke", "ro", server=s, check=0)
        out = self.cli("agents", server=s, key=viewer)
        self.assertEqual(out.returncode, 1)
        self.assertNotEqual(self.cli("apikey", "revoke", "ro", server=s).returncode, 0)
        audit = json.loads(self.cli("audit", "-o", "json", server=s, check=0).stdout)
        actions = [a["action"] for a in audit]
        self.assertEqual(actions[0], "apikey.revoke")   # newest first
        self.assertIn("apikey.create", actions)
        first = audit[0]
        self.assertEqual((first["who"], first["role"], first["target"], first["source"]),
                         ("admin", "admin", "ro", "127.0.0.1"))
        only = json.loads(self.cli("audit", "-o", "json", "--action", "apikey.create",
                                   "--limit", "1", server=s, check=0).stdout)
        self.assertEqual(len(only), 1)
        self.assertEqual(only[0]["action"], "apikey.create")
        self.assertIn(b"apikey.revoke", self.cli("audit", server=s, check=0).stdout)

    def test_operator_actions_are_audited(self):
        s = self.server
        self.fake_agent(s, "aud-1")
        op = s.api("POST", "/v1/apikeys", {"role": "operator", "name": "ops"})["key"]
        inv = s.api("POST", "/v1/invocations", {"command": "secret-cmd",
                                                "targets": {"agents": ["aud-1"]}}, key=op)
        s.api("POST", "/v1/invocations/%s/cancel" % inv["invocation_id"], key=op)
        s.api("PATCH", "/v1/agents/aud-1", {"tags": {"env": "x"}}, key=op)
        rows = s.api("GET", "/v1/audit?who=ops")["audit"]
        self.assertEqual([r["action"] for r in rows],
                         ["agent.tag", "invocation.cancel", "invocation.create"])
        for r in rows:
            self.assertEqual((r["who"], r["role"], r["source"]), ("ops", "operator", "127.0.0.1"))
            self.assertNotIn("secret-cmd", json.dumps(r))   # the command itself is never kept
        for bad in ("limit=0", "limit=1001", "limit=x", "action=a%20b", "who=../x"):
            with self.assertRaises(ApiError) as cm:
                s.api("GET", "/v1/audit?" + bad)
            self.assertEqual(cm.exception.status, 400, bad)


class AgentIsolation(Base):
    def setUp(self):
        super().setUp()
        self.server = self.start_server()

    def agent_call(self, token, path, body):
        return self.server.api("POST", path, body, key=token)

    def test_agent_cannot_touch_another_agents_task(self):
        s = self.server
        a_id, a_tok = self.fake_agent(s, "iso-a")
        b_id, b_tok = self.fake_agent(s, "iso-b")
        inv = s.invoke("echo hi", ["iso-a"])
        task = inv["tasks"][0]["task_id"]
        before = s.api("GET", "/v1/tasks/" + task)
        for verb, body in (("start", {"started_at": "2026-01-01T00:00:00Z"}),
                           ("output", {"seq": 0, "stream": "stdout", "data": "aGk="}),
                           ("finish", {"status": "succeeded", "exit_code": 0})):
            with self.assertRaises(ApiError) as cm:
                self.agent_call(b_tok, "/v1/agent/tasks/%s/%s" % (task, verb), body)
            self.assertEqual(cm.exception.status, 404, verb)
        self.assertEqual(self.agent_call(b_tok, "/v1/agent/tasks/pull", {})["tasks"], [])
        self.assertEqual(s.api("GET", "/v1/tasks/" + task), before)
        # Forged ids, and replays after the task finished, change nothing either.
        for bad in (ZERO_TASK, "../" + task, task + "x"):
            with self.assertRaises(ApiError) as cm:
                self.agent_call(a_tok, "/v1/agent/tasks/%s/finish" % bad,
                                {"status": "succeeded", "exit_code": 0})
            self.assertIn(cm.exception.status, (400, 404))
        pulled = self.agent_call(a_tok, "/v1/agent/tasks/pull", {})["tasks"]
        self.assertEqual([t["task_id"] for t in pulled], [task])
        self.agent_call(a_tok, "/v1/agent/tasks/%s/start" % task, {})
        self.agent_call(a_tok, "/v1/agent/tasks/%s/output" % task,
                        {"seq": 0, "stream": "stdout", "data": base64.b64encode(b"hi\n").decode()})
        self.agent_call(a_tok, "/v1/agent/tasks/%s/finish" % task,
                        {"status": "succeeded", "exit_code": 0})
        done = s.api("GET", "/v1/tasks/" + task)
        self.assertEqual(done["status"], "succeeded")
        # Replayed and forged reports for the finished task.
        for path, body in (("finish", {"status": "failed", "exit_code": 9}),
                           ("output", {"seq": 0, "stream": "stdout",
                                       "data": base64.b64encode(b"forged").decode()}),
                           ("output", {"seq": 1, "stream": "stdout",
                                       "data": base64.b64encode(b"late").decode()})):
            try:
                self.agent_call(a_tok, "/v1/agent/tasks/%s/%s" % (task, path), body)
            except ApiError as e:
                self.assertIn(e.status, (400, 404, 409))
        after = s.api("GET", "/v1/tasks/" + task)
        self.assertEqual((after["status"], after["exit_code"]), ("succeeded", 0))
        self.assertEqual(s.api("GET", "/v1/tasks/%s/output" % task), b"hi\n")


    def test_output_batches(self):
        """The batched output form: stored in order, a gap answered 409 with next_seq, bad
        batches refused with a message naming chunks, and nothing half-parsed kept."""
        s = self.server
        _, tok = self.fake_agent(s, "batcher")
        task = s.invoke("echo hi", ["batcher"])["tasks"][0]["task_id"]
        self.agent_call(tok, "/v1/agent/tasks/pull", {})
        self.agent_call(tok, "/v1/agent/tasks/%s/start" % task, {})
        path = "/v1/agent/tasks/%s/output" % task

        def chunk(seq, text, stream="stdout"):
            return {"seq": seq, "stream": stream, "data": base64.b64encode(text).decode()}

        r = self.agent_call(tok, path, {"chunks": [chunk(0, b"a\n"), chunk(1, b"b\n", "stderr"),
                                                   chunk(2, b"c\n")]})
        self.assertEqual(r["next_seq"], 3)
        # a repeat of a stored batch is acknowledged and ignored; a batch past the end is a gap
        self.assertEqual(self.agent_call(tok, path, {"chunks": [chunk(1, b"X\n"),
                                                                chunk(2, b"Y\n")]})["next_seq"], 3)
        with self.assertRaises(ApiError) as cm:
            self.agent_call(tok, path, {"chunks": [chunk(5, b"late\n")]})
        self.assertEqual(cm.exception.status, 409)
        self.assertEqual(cm.exception.body["next_seq"], 3)
        for bad, word in (({"chunks": []}, "chunks"), ({"chunks": [chunk(3, b"d")] * 17}, "chunks"),
                          ({"chunks": [chunk(3, b"d")], "seq": 3}, "chunks"),
                          ({"chunks": [{"seq": 3, "stream": "stdout"}]}, "data"),
                          ({"chunks": ["x"]}, "chunks")):
            with self.assertRaises(ApiError) as cm:
                self.agent_call(tok, path, bad)
            self.assertEqual(cm.exception.status, 400, bad)
            self.assertIn(word, cm.exception.body["error"]["message"], bad)
        self.agent_call(tok, "/v1/agent/tasks/%s/finish" % task, {"status": "succeeded",
                                                                 "exit_code": 0})
        self.assertEqual(s.api("GET", "/v1/tasks/%s/output" % task), b"a\nb\nc\n")
        self.assertEqual(s.api("GET", "/v1/tasks/%s/output?stream=stderr" % task), b"b\n")

    def test_early_ack_and_finish_next_seq(self):
        """?ack=early answers like any output call; finish with more acknowledged chunks than
        stored is 409 seq_gap naming the stored count and changes nothing; bad next_seq values
        are a 400 naming the key; the right count finishes (D10)."""
        s = self.server
        _, tok = self.fake_agent(s, "acker")
        task = s.invoke("echo hi", ["acker"])["tasks"][0]["task_id"]
        self.agent_call(tok, "/v1/agent/tasks/pull", {})
        self.agent_call(tok, "/v1/agent/tasks/%s/start" % task, {})
        for seq, query in ((0, "?ack=early"), (1, "?ack=whatever")):
            r = self.agent_call(tok, "/v1/agent/tasks/%s/output%s" % (task, query),
                                {"seq": seq, "stream": "stdout",
                                 "data": base64.b64encode(b"line %d\n" % seq).decode()})
            self.assertEqual(r["next_seq"], seq + 1)
        finish = "/v1/agent/tasks/%s/finish" % task
        with self.assertRaises(ApiError) as cm:
            self.agent_call(tok, finish, {"status": "succeeded", "exit_code": 0, "next_seq": 5})
        self.assertEqual(cm.exception.status, 409)
        self.assertEqual(cm.exception.body["error"]["code"], "seq_gap")
        self.assertEqual(cm.exception.body["next_seq"], 2)
        for bad in (-1, "2", 2 ** 62, 1.5, [2]):
            with self.assertRaises(ApiError, msg=repr(bad)) as cm:
                self.agent_call(tok, finish, {"status": "succeeded", "exit_code": 0,
                                              "next_seq": bad})
            self.assertEqual(cm.exception.status, 400, bad)
            self.assertIn("next_seq", cm.exception.body["error"]["message"], bad)
        self.assertEqual(s.api("GET", "/v1/tasks/" + task)["status"], "running")
        r = self.agent_call(tok, finish, {"status": "succeeded", "exit_code": 0, "next_seq": 2})
        self.assertEqual(r["status"], "succeeded")
        self.assertEqual(s.api("GET", "/v1/tasks/%s/output" % task), b"line 0\nline 1\n")


class HostileInput(Base):
    def setUp(self):
        super().setUp()
        self.server = self.start_server(["--set", "auth_fail_burst=100000"])

    def test_path_traversal_in_ids(self):
        s = self.server
        _, tok = self.fake_agent(s, "trav")
        before = self.snapshot(s)
        paths = ["/v1/tasks/../x", "/v1/tasks/%2e%2e", "/v1/tasks/%2e%2e%2fetc%2fpasswd",
                 "/v1/tasks/tsk-%00", "/v1/agents/a%00b", "/v1/agents/" + "a" * 4096,
                 "/v1/invocations/" + "i" * 4096 + "/events", "/v1/apikeys/..%2fadmin",
                 "/v1/tasks/..%252f"]
        for p in paths:
            for method in ("GET", "DELETE", "POST"):
                with self.subTest(path=p[:60], method=method):
                    try:
                        s.api(method, p, {} if method == "POST" else None)
                        self.fail("%s %s was served" % (method, p[:60]))
                    except ApiError as e:
                        self.assertIn(e.status, (400, 404, 405))
                    except (ConnectionError, urllib.error.URLError):
                        pass   # lws drops a request line with %00 outright: also a refusal
        for p in ("/v1/agent/tasks/../../x/finish", "/v1/agent/tasks/%2e%2e/start",
                  "/v1/agent/tasks/" + "t" * 4096 + "/output"):
            with self.assertRaises(ApiError) as cm:
                s.api("POST", p, {}, key=tok)
            self.assertIn(cm.exception.status, (400, 404))
        self.assertEqual(self.snapshot(s), before)
        self.assertTrue(s.healthy())

    def test_oversized_headers_and_bodies(self):
        s = self.server
        big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n"
        try:
            status = status_line(s.port, big)
        except ConnectionError:
            status = ""
        self.assertNotIn(" 200", status)   # 431 or a closed connection, never served
        status = status_line(s.port, ("POST /v1/activations HTTP/1.1\r\nHost: x\r\n"
                                      "Authorization: Bearer %s\r\nContent-Length: 99999999\r\n\r\n"
                                      % s.key).encode())
        self.assertIn(" 413", status)
        self.assertTrue(s.healthy())

    def test_oversized_and_bad_frames(self):
        s = self.server
        _, tok = self.fake_agent(s, "frames")
        for payload, opcode, want in ((b"x" * 70000, 1, 1009), (b"\xff\xfe", 1, 1007),
                                      (b'{"type":"nope"}', 1, 1003), (b"\x00\x01", 2, 1003)):
            sock, status = ws_open(s.port, tok)
            try:
                self.assertIn(" 101", status)
                sock.sendall(ws_frame(payload, opcode))
                self.assertEqual(ws_close_code(sock), want, payload[:20])
            finally:
                sock.close()
        self.assertTrue(s.healthy())


class Floods(Base):
    def test_slowloris_is_cut_and_others_served(self):
        s = self.start_server(["--set", "request_timeout=2"])
        slow = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        slow.sendall(b"POST /v1/invocations HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        closed_after = None
        while time.monotonic() - start < 8 * SLOW:
            try:
                slow.sendall(b"X-Slow: 1\r\n")
                slow.settimeout(0.5)
                if slow.recv(100) == b"":
                    closed_after = time.monotonic() - start
                    break
            except socket.timeout:
                self.assertTrue(s.healthy())   # others are served meanwhile
            except (ConnectionError, OSError):
                closed_after = time.monotonic() - start
                break
        slow.close()
        self.assertIsNotNone(closed_after, "slowloris connection still open")
        self.assertLess(closed_after, 4.5 * SLOW)
        # A slow body is cut too.
        slow = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        slow.sendall(("POST /v1/invocations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                      "Content-Length: 1000\r\n\r\n{" % s.key).encode())
        start = time.monotonic()
        data = b"x"
        try:
            while data and time.monotonic() - start < 8 * SLOW:
                slow.settimeout(0.5)
                try:
                    slow.sendall(b" ")
                    data = slow.recv(100)
                except socket.timeout:
                    continue
        except (ConnectionError, OSError):
            pass
        self.assertLess(time.monotonic() - start, 6 * SLOW)
        slow.close()

    def test_preauth_cap(self):
        s = self.start_server(["--set", "max_preauth_connections=20"])
        socks = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(40)]
        time.sleep(0.5)
        closed = 0
        for k in socks:
            k.settimeout(0.05)
            try:
                if k.recv(1) == b"":
                    closed += 1
            except socket.timeout:
                pass
            except OSError:
                closed += 1
        self.assertGreaterEqual(closed, 19)
        self.assertLessEqual(closed, 21)
        for k in socks:
            k.close()
        wait_for(s.healthy, timeout=5, what="server healthy after the flood")

    def test_idle_flood_while_an_agent_runs_a_task(self):
        # the accept-rate cap (a reconnect-storm defence) would turn most of this burst away
        s = self.start_server(["--set", "max_preauth_connections=6000",
                               "--set", "request_timeout=60", "--set", "max_accepts_per_s=100000"])
        self.start_agent(s, "busy")
        socks = []
        try:
            for _ in range(5000):
                socks.append(socket.create_connection(("127.0.0.1", s.port)))
            slow = socket.create_connection(("127.0.0.1", s.port))
            slow.sendall(b"GET /healthz HTTP/1.1\r\n")
            socks.append(slow)
            out = self.cli("run", "-t", "busy", "--", "echo", "still-here", server=s, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout, b"still-here\n")
        finally:
            for k in socks:
                k.close()

    def test_failed_auth_rate_limit(self):
        s = self.start_server(["--set", "auth_fail_burst=5", "--set", "auth_fail_per_min=6"])
        codes = []
        for _ in range(8):
            try:
                s.api("GET", "/v1/agents", key="tak_" + "Z" * 43)
            except ApiError as e:
                codes.append(e.status)
        self.assertEqual(codes[:5], [401] * 5)
        self.assertEqual(codes[-1], 429)
        req = urllib.request.Request(s.url + "/v1/agents",
                                     headers={"Authorization": "Bearer tak_" + "Z" * 43})
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=5)
        self.assertEqual(cm.exception.code, 429)
        self.assertGreaterEqual(int(cm.exception.headers["Retry-After"]), 1)
        # The operator's valid key is unaffected.
        self.assertIsInstance(s.api("GET", "/v1/agents")["agents"], list)


def non_loopback_address():
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5)
        for a in out.stdout.split():
            if ":" not in a and not a.startswith("127."):
                return a
    except (OSError, subprocess.SubprocessError):
        pass
    return None


class TLSServer:
    """tether-server over TLS (the harness's Server speaks plain HTTP)."""

    def __init__(self, test, args=(), data_dir=None):
        self.dir = data_dir or os.path.join(test.workdir, "tls-server")
        self.port = free_port()
        self.url = "https://localhost:%d" % self.port
        out = subprocess.run([SERVER_BIN, "init", "--data-dir", self.dir], capture_output=True,
                             text=True, timeout=30 * SLOW)
        assert out.returncode == 0, out.stderr
        self.key = out.stdout.strip()
        self.ca = os.path.join(self.dir, "tls", "ca.pem")
        self.proc = Proc([SERVER_BIN, "serve", "--data-dir", self.dir, "--listen",
                          "127.0.0.1:%d" % self.port, "--log-level", "debug"] + list(args),
                         os.path.join(test.workdir, "tls-server-%d.log" % self.port))
        test._procs.append(self)
        self.ctx = ssl.create_default_context(cafile=self.ca)
        wait_for(self.healthy, timeout=15, what="TLS server")

    def healthy(self):
        if not self.proc.alive():
            raise AssertionError("server exited:\n" + self.proc.output()[-3000:])
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2, context=self.ctx) as r:
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def api(self, method, path, body=None, key=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + (self.key if key is None else key))
        try:
            with urllib.request.urlopen(req, timeout=20 * SLOW, context=self.ctx) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, e.read())

    def activation(self):
        return self.api("POST", "/v1/activations", {})["activation_code"]

    def stop(self):
        return self.proc.stop()


class TLS(Base):
    def cli_tls(self, server, *args, ca=None, url=None):
        env = dict(os.environ, HOME=self.workdir, TETHER_SERVER=url or server.url,
                   TETHER_API_KEY=server.key)
        if ca:
            env["TETHER_CA_FILE"] = ca
        return subprocess.run([CLI_BIN] + list(args), capture_output=True, env=env,
                              timeout=60 * SLOW)

    def register(self, server, name, ca, url=None, extra=()):
        return subprocess.run([AGENT_BIN, "register", "--server", url or server.url,
                               "--activation", server.activation(), "--data-dir",
                               os.path.join(self.workdir, "agent-" + name), "--name", name,
                               "--machine-id", "mid-" + name, "--ca-file", ca] + list(extra),
                              capture_output=True, text=True, timeout=30 * SLOW)

    def start_tls_agent(self, server, name, ca, extra=()):
        out = self.register(server, name, ca, extra=extra)
        self.assertEqual(out.returncode, 0, out.stderr)
        proc = Proc([AGENT_BIN, "run", "--foreground", "--server", server.url, "--data-dir",
                     os.path.join(self.workdir, "agent-" + name), "--log-level", "debug",
                     "--ca-file", ca] + list(extra), os.path.join(self.workdir,
                                                                  "agent-%s.log" % name))
        self._procs.append(proc)
        wait_for(lambda: any(a["name"] == name and a["status"] == "online"
                             for a in server.api("GET", "/v1/agents")["agents"]),
                 timeout=20, what="TLS agent online")
        return proc

    def test_agent_and_cli_over_tls(self):
        s = TLSServer(self, ["--tls"])
        self.start_tls_agent(s, "tls-1", s.ca)
        out = self.cli_tls(s, "run", "-t", "tls-1", "--", "echo", "over-tls", ca=s.ca)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, b"over-tls\n")
        # Plain HTTP to the TLS port is not served.
        try:
            status = status_line(s.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        except ConnectionError:
            status = "reset"
        self.assertNotIn(" 200", status)

    def test_wrong_ca_wrong_host_expired(self):
        s = TLSServer(self, ["--tls"])
        other = os.path.join(self.workdir, "other")
        subprocess.run([SERVER_BIN, "cert", "create", "--data-dir", other, "--host", "localhost"],
                       check=True, capture_output=True, timeout=30)
        wrong_ca = os.path.join(other, "tls", "ca.pem")
        # Wrong CA.
        out = self.cli_tls(s, "agents", ca=wrong_ca)
        self.assertEqual(out.returncode, 1)
        self.assertIn(b"TLS", out.stderr)
        self.assertNotEqual(self.register(s, "bad-ca", wrong_ca).returncode, 0)
        # System store (no ca_file): the local CA is unknown.
        self.assertEqual(self.cli_tls(s, "agents").returncode, 1)
        # Wrong host: a certificate from the right CA that names another host only.
        subprocess.run([SERVER_BIN, "cert", "create", "--data-dir", s.dir, "--host",
                        "not-this-host.example"], check=True, capture_output=True, timeout=30)
        port = free_port()
        w = Proc([SERVER_BIN, "serve", "--data-dir", s.dir, "--listen", "127.0.0.1:%d" % port,
                  "--tls"], os.path.join(self.workdir, "wronghost.log"))
        self._procs.append(w)
        url = "https://localhost:%d" % port
        out = wait_for(lambda: (lambda o: o if b"TLS" in o.stderr else None)(
            self.cli_tls(s, "agents", ca=s.ca, url=url)), timeout=10, what="wrong-host refusal")
        self.assertEqual(out.returncode, 1)
        self.assertNotEqual(self.register(s, "bad-host", s.ca, url=url).returncode, 0)
        # Expired: signed by the right CA, for the right names, but out of date.
        d = os.path.join(self.workdir, "expired")
        os.makedirs(d)
        key, csr, pem = (os.path.join(d, n) for n in ("x.key", "x.csr", "x.pem"))
        ext = os.path.join(d, "ext.cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj",
                        "/CN=localhost", "-out", csr], check=True, capture_output=True)
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", s.ca, "-CAkey",
                        os.path.join(s.dir, "tls", "ca.key"), "-days", "-1", "-extfile", ext,
                        "-out", pem], check=True, capture_output=True)
        e = Proc([SERVER_BIN, "serve", "--data-dir", s.dir, "--listen",
                  "127.0.0.1:%d" % (eport := free_port()), "--tls-cert", pem, "--tls-key", key],
                 os.path.join(self.workdir, "expired.log"))
        self._procs.append(e)
        url = "https://localhost:%d" % eport
        out = wait_for(lambda: (lambda o: o if b"TLS" in o.stderr else None)(
            self.cli_tls(s, "agents", ca=s.ca, url=url)), timeout=10, what="expired refusal")
        self.assertIn(b"expired", out.stderr)
        reg = self.register(s, "expired", s.ca, url=url)
        self.assertNotEqual(reg.returncode, 0)
        self.assertIn("expired", reg.stderr)

    def test_mutual_tls_binds_the_agent(self):
        s = TLSServer(self, ["--tls", "--client-ca",
                             os.path.join(self.workdir, "tls-server", "tls", "ca.pem")])
        for name in ("mt-1", "mt-2"):
            subprocess.run([SERVER_BIN, "cert", "create", "--data-dir", s.dir, "--client", name],
                           check=True, capture_output=True, timeout=30)

        def cert(name):
            base = os.path.join(s.dir, "tls", "clients", name)
            return ["--set", "client_cert=%s.pem" % base, "--set", "client_key=%s.key" % base]
        # Without a client certificate an agent cannot even register.
        self.assertNotEqual(self.register(s, "mt-none", s.ca).returncode, 0)
        self.start_tls_agent(s, "mt-1", s.ca, extra=cert("mt-1"))
        # The operator's CLI needs no certificate.
        out = self.cli_tls(s, "run", "-t", "mt-1", "--", "echo", "mtls", ca=s.ca)
        self.assertEqual((out.returncode, out.stdout), (0, b"mtls\n"), out.stderr)
        # mt-1's token with mt-2's certificate is refused.
        with open(os.path.join(self.workdir, "agent-mt-1", "identity.json")) as f:
            token = json.load(f)["agent_token"]
        base = os.path.join(s.dir, "tls", "clients", "mt-2")
        ctx = ssl.create_default_context(cafile=s.ca)
        ctx.load_cert_chain(base + ".pem", base + ".key")
        req = urllib.request.Request(s.url + "/v1/agent/heartbeat", data=b"{}", method="POST",
                                     headers={"Authorization": "Bearer " + token})
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=10, context=ctx)
        self.assertEqual(cm.exception.code, 403)

    def test_plain_http_off_loopback(self):
        host = non_loopback_address()
        if not host:
            self.skipTest("this machine has no non-loopback IPv4 address")
        d = os.path.join(self.workdir, "insecure")
        subprocess.run([SERVER_BIN, "init", "--data-dir", d], check=True, capture_output=True)
        port = free_port()
        out = subprocess.run([SERVER_BIN, "serve", "--data-dir", d, "--listen",
                              "%s:%d" % (host, port)], capture_output=True, text=True,
                             timeout=20 * SLOW)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("allow_insecure", out.stderr)
        p = Proc([SERVER_BIN, "serve", "--data-dir", d, "--listen", "%s:%d" % (host, port),
                  "--allow-insecure"], os.path.join(self.workdir, "insecure.log"))
        self._procs.append(p)
        wait_for(lambda: "INSECURE" in p.output(), timeout=10, what="the insecure warning")
        self.assertTrue(p.alive())


if __name__ == "__main__":
    unittest.main()
