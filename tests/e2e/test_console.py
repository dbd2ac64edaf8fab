"""The web console (issue 8, docs/console.md).

ConsoleFiles: tether-server's static files over plain HTTP — security headers, content types,
HEAD, ETag/304, traversal in its encoded shapes, dotfiles, a symlink out of the root, methods, a
missing web root, and the API answering as before.

ConsoleBrowser: a real server, two real agents and tests/web/console.test.mjs driving Chromium
headless through playwright-core (sign in, filter, run on both with one failing, download,
cancel, HTML in output and host data, history and re-run, a saved command, bad keys). Skipped in
sanitizer passes and when node, chromium or tests/web/node_modules are missing (install/deps.sh
installs them). Screenshots go to BUILD/test-artifacts/web/.
"""

import http.client
import os
import shutil
import subprocess
import unittest

from harness import BIN, SANITIZER, SLOW, ApiError, TetherTest, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
WEB_TESTS = os.path.normpath(os.path.join(HERE, "..", "web"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
XSS_NAME = "<img src=x onerror=alert(1)>"


def request(port, method, path, headers=None):
    """One request on its own connection, the path sent exactly as given."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10 * SLOW)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


class ConsoleFiles(TetherTest):
    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.workdir, "web")
        os.makedirs(os.path.join(self.root, "js"))
        files = {"index.html": b"<!doctype html><title>console-index</title>",
                 "js/app.js": b"export const x = 1;\n", "app.css": b"body{}\n",
                 "icon.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                 "logo.png": b"\x89PNG\r\n", "favicon.ico": b"\0\0\1\0",
                 "m.json": b"{}", "f.woff2": b"wOF2", ".env": b"SECRET=dotfile",
                 "notes.txt": b"not served", "big.js": b"/" * (4 * 1024 * 1024 + 1)}
        for name, data in files.items():
            with open(os.path.join(self.root, name), "wb") as f:
                f.write(data)
        os.makedirs(os.path.join(self.root, ".git"))
        with open(os.path.join(self.root, ".git", "config.json"), "w") as f:
            f.write('{"secret":"dotdir"}')
        outside = os.path.join(self.workdir, "outside")
        os.makedirs(outside)
        with open(os.path.join(outside, "secret.js"), "w") as f:
            f.write("secret-outside")
        os.symlink(os.path.join(outside, "secret.js"), os.path.join(self.root, "link.js"))
        os.symlink(outside, os.path.join(self.root, "linkdir"))
        os.mkfifo(os.path.join(self.root, "fifo.js"))
        os.makedirs(os.path.join(self.root, "dir.js"))
        self.server = self.start_server(["--web-root", self.root])

    def get(self, path, method="GET", headers=None):
        return request(self.server.port, method, path, headers)

    def assert_console_headers(self, h):
        self.assertEqual(h.get("content-security-policy"), CSP)
        self.assertEqual(h.get("x-content-type-options"), "nosniff")
        self.assertEqual(h.get("referrer-policy"), "no-referrer")
        self.assertEqual(h.get("x-frame-options"), "DENY")
        self.assertEqual(h.get("cache-control"), "no-cache")

    def test_files_and_content_types(self):
        for path, ctype in (("/", "text/html; charset=utf-8"),
                            ("/index.html", "text/html; charset=utf-8"),
                            ("/js/app.js", "text/javascript; charset=utf-8"),
                            ("/app.css", "text/css; charset=utf-8"), ("/icon.svg", "image/svg+xml"),
                            ("/logo.png", "image/png"), ("/favicon.ico", "image/x-icon"),
                            ("/m.json", "application/json"), ("/f.woff2", "font/woff2")):
            status, h, body = self.get(path)
            self.assertEqual(status, 200, path)
            self.assertEqual(h.get("content-type"), ctype, path)
            self.assert_console_headers(h)
            self.assertTrue(h.get("etag", "").startswith('"'), path)
            name = "index.html" if path == "/" else path[1:]
            with open(os.path.join(self.root, name), "rb") as f:
                self.assertEqual(body, f.read(), path)

    def test_head_and_etag(self):
        status, h, body = self.get("/js/app.js", "HEAD")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        self.assertEqual(h.get("content-length"), str(len(b"export const x = 1;\n")))
        self.assert_console_headers(h)
        etag = h["etag"]
        status, h2, body = self.get("/js/app.js", headers={"If-None-Match": etag})
        self.assertEqual(status, 304)
        self.assertEqual(body, b"")
        self.assertEqual(h2.get("etag"), etag)
        self.assert_console_headers(h2)
        status, _, _ = self.get("/js/app.js", headers={"If-None-Match": '"other", ' + etag})
        self.assertEqual(status, 304)
        status, _, body = self.get("/js/app.js", headers={"If-None-Match": '"other"'})
        self.assertEqual(status, 200)
        self.assertEqual(body, b"export const x = 1;\n")
        # a changed file gets a new tag
        with open(os.path.join(self.root, "js", "app.js"), "ab") as f:
            f.write(b"// more\n")
        status, h3, _ = self.get("/js/app.js", headers={"If-None-Match": etag})
        self.assertEqual(status, 200)
        self.assertNotEqual(h3["etag"], etag)

    def test_keep_alive_after_head_and_304(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10 * SLOW)
        try:
            conn.request("HEAD", "/")
            r = conn.getresponse()
            r.read()
            etag = r.getheader("ETag")
            conn.request("GET", "/", headers={"If-None-Match": etag})
            r = conn.getresponse()
            self.assertEqual((r.status, r.read()), (304, b""))
            conn.request("GET", "/healthz")
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertIn(b"ok", r.read())
        finally:
            conn.close()

    def test_refused_paths(self):
        secrets = (b"SECRET", b"secret", b"root:", b"console-index", b"not served")
        for path in ("/../../../../etc/passwd", "/..%2f..%2f..%2fetc%2fpasswd",
                     "/%2e%2e/%2e%2e/etc/passwd", "/js/%2e%2e/%2e%2e/outside/secret.js",
                     "/js%2f..%2f..%2foutside%2fsecret.js", "/%2E%2E/outside/secret.js",
                     "/.env", "/%2eenv", "/.git/config.json", "/js/../.env",
                     "/link.js", "/linkdir/secret.js", "/fifo.js", "/dir.js", "/js",
                     "/js/", "//etc/passwd", "/notes.txt", "/big.js", "/index.html%00.js",
                     "/index.html/", "/nothing.html", "/../index.html/../.env"):
            try:
                status, h, body = self.get(path)
            except http.client.RemoteDisconnected:
                continue  # lws refuses some shapes (a NUL) by closing: refused as well
            self.assertIn(status, (400, 403, 404), "%s answered %d" % (path, status))
            for s in secrets:
                self.assertNotIn(s, body, path)
            if status == 404 and "content-security-policy" in h:
                self.assert_console_headers(h)
        self.assertTrue(self.server.healthy())  # the FIFO did not block the loop

    def test_methods_and_api_precedence(self):
        status, h, body = self.get("/index.html", "POST")
        self.assertEqual(status, 405)
        self.assert_console_headers(h)
        status, h, body = self.get("/", "DELETE")
        self.assertEqual(status, 405)
        # API paths are never console files: JSON errors as before, whatever the root holds
        os.makedirs(os.path.join(self.root, "v1"))
        with open(os.path.join(self.root, "v1", "agents.json"), "w") as f:
            f.write("{}")
        status, h, body = self.get("/v1/agents.json")
        self.assertEqual(status, 404)
        self.assertIn(b'"not_found"', body)
        self.assertNotIn("content-security-policy", h)
        status, _, body = self.get("/v1/agents")
        self.assertEqual(status, 401)
        self.assertIn(b'"unauthorized"', body)
        status, _, body = self.get("/v1/agents", headers={"Authorization": "Bearer " + self.server.key})
        self.assertEqual(status, 200)
        self.assertIn(b'"agents"', body)
        status, _, body = self.get("/healthz")
        self.assertEqual(status, 200)

    def test_missing_web_root(self):
        shutil.rmtree(self.root)
        status, h, body = self.get("/")
        self.assertEqual(status, 404)
        self.assertIn(b"web console is not installed", body)
        self.assertTrue(h.get("content-type", "").startswith("text/plain"))
        self.assert_console_headers(h)
        status, _, body = self.get("/v1/agents", headers={"Authorization": "Bearer " + self.server.key})
        self.assertEqual(status, 200)

    def test_default_web_root_is_the_build_copy(self):
        """Without --web-root the server serves BINDIR/../share/tether/web (CMake copies web/)."""
        s = self.start_server()
        status, h, body = request(s.port, "GET", "/")
        with open(os.path.join(BIN, "..", "share", "tether", "web", "index.html"), "rb") as f:
            self.assertEqual((status, body), (200, f.read()))
        status, h, _ = request(s.port, "GET", "/js/app.js")
        self.assertEqual((status, h.get("content-type")), (200, "text/javascript; charset=utf-8"))


class ConsoleSources(unittest.TestCase):
    """The console's own files keep to the rules the CSP and the text-only rendering rely on."""

    WEB = os.path.normpath(os.path.join(HERE, "..", "..", "web"))

    def files(self):
        for d, _, names in os.walk(self.WEB):
            for n in names:
                yield os.path.join(d, n)

    def test_no_html_sinks_inline_code_or_external_urls(self):
        import re
        sinks = re.compile(r"\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|\beval\(|"
                           r"new Function\(|setTimeout\(\s*['\"`]")
        checked = 0
        for path in self.files():
            with open(path, encoding="utf-8") as f:
                text = f.read()
            self.assertNotRegex(text, r"https?://(?!www\.w3\.org/2000/svg)", path)
            if path.endswith(".js"):
                code = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("//"))
                self.assertIsNone(sinks.search(code), path)
                checked += 1
            if path.endswith(".html"):
                self.assertNotRegex(text, r"<script(?![^>]*\bsrc=)", path)   # no inline script
                self.assertNotRegex(text, r"<style|\sstyle=|\son[a-z]+=", path)
        self.assertGreater(checked, 5)


def browser_missing():
    if SANITIZER:
        return "sanitizer pass (%s): the browser scenarios run in the plain pass" % SANITIZER
    if not shutil.which("node"):
        return "node is not installed (install/deps.sh installs it)"
    if not os.access(CHROMIUM, os.X_OK):
        return "%s is not installed (install/deps.sh installs chromium)" % CHROMIUM
    if not os.path.isdir(os.path.join(WEB_TESTS, "node_modules", "playwright-core")):
        return "tests/web/node_modules is missing (install/deps.sh runs npm ci there)"
    return None


class ConsoleBrowser(TetherTest):
    def setUp(self):
        why = browser_missing()
        if why:
            self.skipTest(why)
        super().setUp()

    def fake_agent_with_html(self, s):
        """A host whose reported data carries HTML: names, tags and versions are restricted to
        [A-Za-z0-9._-] (+~ for versions) by the server; the update state a heartbeat reports is
        any printable text."""
        code = s.activation()
        reg = s.api("POST", "/v1/agent/register", {
            "activation_code": code, "hostname": "xss-host", "machine_id": "mid-xss-host",
            "ips": ["127.0.0.9"], "primary_ip": "127.0.0.9", "os": "linux", "arch": "x86_64",
            "version": "0.1.0", "tags": {}}, key="")
        with self.assertRaises(ApiError) as bad:
            s.api("POST", "/v1/agent/heartbeat", {"version": XSS_NAME, "running": 0},
                  key=reg["agent_token"])
        self.assertEqual(bad.exception.status, 400)
        s.api("POST", "/v1/agent/heartbeat", {"version": "0.1.0", "running": 0,
                                             "update_state": XSS_NAME,
                                             "update_target": "<script>alert(1)</script>"},
              key=reg["agent_token"])
        return "xss-host"

    def test_console_in_chromium(self):
        s = self.start_server()
        agents = []
        for name, group in (("web-a", "a"), ("web-b", "b")):
            a = self.start_agent(s, name, register=False, start=False)
            a.register(s.activation(tags={"group": group}))
            a.start()
            agents.append(a)
        xss = self.fake_agent_with_html(s)
        self.assertEqual(s.agents()[xss]["update_state"], XSS_NAME)
        s.api("POST", "/v1/commands", {"name": "say-word", "description": "echoes a word",
                                       "command": "echo word={{word}}",
                                       "parameters": {"word": {"description": "any text"}}})
        artifacts = os.path.join(os.path.dirname(os.path.normpath(BIN)), "test-artifacts", "web")
        os.makedirs(artifacts, exist_ok=True)
        env = dict(os.environ, TETHER_URL=s.url, TETHER_API_KEY=s.key, TETHER_AGENT_A="web-a",
                   TETHER_AGENT_B="web-b", TETHER_XSS_AGENT=xss, TETHER_COMMAND="say-word",
                   TETHER_ARTIFACTS=artifacts, CHROMIUM=CHROMIUM, TETHER_TEST_SLOW=str(SLOW))
        out = subprocess.run(["node", "console.test.mjs"], cwd=WEB_TESTS, env=env,
                             capture_output=True, text=True, timeout=300 * SLOW)
        report = "exit %d\nstdout:\n%s\nstderr:\n%s" % (out.returncode, out.stdout, out.stderr[-4000:])
        print("\n" + out.stdout)
        self.assertEqual(out.returncode, 0, report)
        self.assertIn("all scenarios passed", out.stdout, report)
        self.assertNotIn("not ok", out.stdout, report)
        # every scenario ran and left its screenshot
        for shot in ("sign-in.png", "run-on-both-hosts-one-failing.png", "cancel-a-sleep-60.png"):
            self.assertTrue(os.path.isfile(os.path.join(artifacts, shot)), shot)
        # the cancel really reached the agent: no sleep 60 is left on the host
        wait_for(lambda: not [t for t in s.api("GET", "/v1/tasks?status=running")["tasks"]],
                 timeout=20, what="no running task left")


if __name__ == "__main__":
    unittest.main()
