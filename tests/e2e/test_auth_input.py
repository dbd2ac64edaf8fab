"""Refusals: unauthenticated REST calls and WebSocket upgrades, malformed and invalid input.
Each case checks the refusal and that nothing changed."""

import json
import os
import socket
import unittest

from faults import status_line, ws_upgrade
from harness import TetherTest, ApiError, SLOW

OPERATOR_ROUTES = [
    ("GET", "/v1/agents"),
    ("GET", "/v1/invocations"),
    ("POST", "/v1/invocations"),
    ("POST", "/v1/activations"),
    ("GET", "/v1/agents/agt-00000000000000000000"),
    ("GET", "/v1/tasks/tsk-00000000000000000000"),
    ("GET", "/v1/tasks/tsk-00000000000000000000/output"),
    ("GET", "/v1/invocations/inv-00000000000000000000/events"),
]
AGENT_ROUTES = [
    ("POST", "/v1/agent/tasks/pull"),
    ("POST", "/v1/agent/heartbeat"),
    ("POST", "/v1/agent/tasks/tsk-00000000000000000000/start"),
]


def ws_handshake(port, path="/v1/agent/ws", token=None, protocol="tether-agent.v1"):
    """Sends a raw WebSocket upgrade and returns the status line the server answered with."""
    return status_line(port, ws_upgrade(port, path, token, protocol))


class Auth(TetherTest):
    def setUp(self):
        super().setUp()
        self.server = self.start_server()

    def assert_refused(self, method, path, key, body=None):
        with self.assertRaises(ApiError, msg="%s %s with key %r" % (method, path, key)) as cm:
            self.server.api(method, path, body if body is not None else
                            ({} if method == "POST" else None), key=key)
        self.assertEqual(cm.exception.status, 401, "%s %s -> %s" % (method, path, cm.exception))
        self.assertIsInstance(cm.exception.body, dict)
        self.assertEqual(cm.exception.body["error"]["code"], "unauthorized")

    def test_operator_routes_need_a_key(self):
        bad_keys = ["", "garbage", "tak_" + "A" * 43, "Bearer", "tak_"]
        for method, path in OPERATOR_ROUTES:
            for key in bad_keys:
                self.assert_refused(method, path, key)
        self.assertEqual(self.server.api("GET", "/v1/invocations")["invocations"], [])

    def test_agent_routes_need_an_agent_token(self):
        for method, path in AGENT_ROUTES:
            for key in ["", "tag_" + "B" * 43, self.server.key]:  # an API key is the wrong kind
                self.assert_refused(method, path, key)

    def test_websocket_upgrade_refused_before_101(self):
        for token in (None, "", "tag_" + "C" * 43, self.server.key):
            status = ws_handshake(self.server.port, token=token)
            self.assertNotIn(" 101", status, "upgrade with token %r got %r" % (token, status))
        # without the protocol header and on another path it is refused as well
        status = ws_handshake(self.server.port, path="/v1/agents", token=None, protocol=None)
        self.assertNotIn(" 101", status)

    def test_websocket_upgrade_accepted_with_token(self):
        agent = self.start_agent(self.server, "ws-ok", start=False)
        with open(os.path.join(agent.dir, "identity.json")) as f:
            token = json.load(f)["agent_token"]
        self.assertIn(" 101", ws_handshake(self.server.port, token=token))

    def test_bad_activation_code(self):
        from harness import Agent
        with self.assertRaises(AssertionError):
            Agent(self.workdir, self.server, "intruder", register=False, start=False).register(
                code="tac_" + "D" * 43)
        self.assertEqual(self.server.agents(), {})

    def test_cli_reports_bad_key(self):
        out = self.cli("agents", server=self.server, key="tak_wrong")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(b"tether:", out.stderr)
        self.assertIn(b"key", out.stderr.lower())

    def test_cli_reports_unreachable_server(self):
        class Down:
            url = "http://127.0.0.1:1"
            key = "tak_x"
        out = self.cli("agents", server=Down())
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(b"cannot reach", out.stderr)


class BadInput(TetherTest):
    def setUp(self):
        super().setUp()
        self.server = self.start_server()
        self.start_agent(self.server, "target")

    def count_invocations(self):
        return len(self.server.api("GET", "/v1/invocations")["invocations"])

    def assert_400(self, body=None, raw=None, field=None):
        before = self.count_invocations()
        with self.assertRaises(ApiError) as cm:
            self.server.api("POST", "/v1/invocations", body, raw=raw)
        self.assertEqual(cm.exception.status, 400, cm.exception)
        err = cm.exception.body["error"]
        self.assertEqual(err["code"], "bad_request")
        if field:
            self.assertIn(field, err["message"])
        self.assertEqual(self.count_invocations(), before)

    def test_malformed_json(self):
        self.assert_400(raw=b"{not json")
        self.assert_400(raw=b'{"command":"true","command":"false","targets":{"all":true}}')
        self.assert_400(raw=b"[" * 100 + b"]" * 100)
        self.assert_400(raw=b"")

    def test_invalid_values_name_the_field(self):
        ok = {"command": "true", "targets": {"agents": ["target"]}}
        cases = [
            ({"targets": {"agents": ["target"]}}, "command"),
            (dict(ok, command=""), "command"),
            (dict(ok, command="x" * (64 * 1024 + 1)), "command"),
            (dict(ok, timeout_s=0), "timeout_s"),
            (dict(ok, timeout_s=86401), "timeout_s"),
            (dict(ok, timeout_s="10"), "timeout_s"),
            (dict(ok, interpreter="ruby"), "interpreter"),
            (dict(ok, user="../root"), "user"),
            (dict(ok, workdir="relative/dir"), "workdir"),
            (dict(ok, env={"1BAD": "x"}), "env"),
            (dict(ok, output_limit=10), "output_limit"),
            (dict(ok, surprise=1), "surprise"),
            (dict(ok, targets={"agents": ["nobody-here"]}), "nobody-here"),
            (dict(ok, targets={}), "targets"),
            (dict(ok, targets={"cidr": "10.0.0.0/99"}), "cidr"),
        ]
        for body, field in cases:
            with self.subTest(field=field):
                self.assert_400(body=body, field=field)

    def test_bad_ids_in_paths(self):
        for path in ("/v1/tasks/..%2f..%2fetc", "/v1/tasks/tsk-XYZ", "/v1/invocations/" + "a" * 4096,
                     "/v1/agents/%00"):
            with self.assertRaises(ApiError) as cm:
                self.server.api("GET", path)
            self.assertIn(cm.exception.status, (400, 404), path)

    def test_oversized_body(self):
        # The server must refuse on the announced length alone, before reading the body.
        before = self.count_invocations()
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=5 * SLOW)
        try:
            s.sendall(("POST /v1/invocations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                       "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                       % (self.server.key, 2 * 1024 * 1024)).encode())
            status = s.recv(4096).split(b"\r\n", 1)[0]
        finally:
            s.close()
        self.assertIn(b" 413", status)
        self.assertEqual(self.count_invocations(), before)


if __name__ == "__main__":
    unittest.main()
