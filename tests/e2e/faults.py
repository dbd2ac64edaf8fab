"""Fault toolkit for the end-to-end tests (issue 4): a loopback TCP proxy that can delay, drop,
freeze, reset and half-close connections, a tiny filesystem for disk-full cases, and a minimal
WebSocket client that speaks to the server as an agent would (and can misbehave on purpose).

Standard library only; everything listens on 127.0.0.1 and stops by itself on close()."""

import base64
import json
import os
import select
import socket
import struct
import subprocess
import threading
import time

from harness import free_port, SLOW


class TcpProxy:
    """Forwards 127.0.0.1:port to 127.0.0.1:target_port, one thread per connection pair.

    Modes (set at any time, apply to live connections too):
      pass        forward both ways
      freeze      forward nothing, keep the sockets open (a silent, half-open peer)
      drop_ws     forward everything except server->client bytes on WebSocket connections after
                  the 101 response (kicks are lost, HTTP still works)
    delay_s delays every forwarded chunk. reset_all() aborts every connection with a RST;
    refuse() stops accepting (connections are closed at once) until accept_again()."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.port = free_port()
        self.mode = "pass"
        self.delay_s = 0.0
        self.refusing = False
        self._conns = []
        self._lock = threading.Lock()
        self._stop = False
        self._ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._ls.bind(("127.0.0.1", self.port))
        self._ls.listen(512)
        self._ls.settimeout(0.2)
        self.url = "http://127.0.0.1:%d" % self.port
        self._t = threading.Thread(target=self._accept_loop, daemon=True)
        self._t.start()

    def _accept_loop(self):
        while not self._stop:
            try:
                c, _ = self._ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            if self.refusing:
                c.close()
                continue
            try:
                s = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                c.close()
                continue
            pair = {"client": c, "server": s, "ws": False}
            with self._lock:
                self._conns.append(pair)
            threading.Thread(target=self._pump, args=(pair,), daemon=True).start()

    def _pump(self, pair):
        c, s = pair["client"], pair["server"]
        socks = [c, s]
        try:
            while not self._stop:
                if self.mode == "freeze":
                    time.sleep(0.05)
                    continue
                r, _, _ = select.select(socks, [], [], 0.1)
                for src in r:
                    data = src.recv(65536)
                    if not data:
                        return
                    dst = s if src is c else c
                    if src is c and b"Upgrade: websocket" in data[:4096]:
                        pair["ws"] = True
                    if src is s and pair["ws"] and self.mode == "drop_ws" and \
                            not data.startswith(b"HTTP/1.1 101"):
                        continue
                    if self.delay_s:
                        time.sleep(self.delay_s)
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            for x in socks:
                try:
                    x.close()
                except OSError:
                    pass
            with self._lock:
                if pair in self._conns:
                    self._conns.remove(pair)

    def reset_all(self):
        """Aborts every live connection with a TCP RST on both sides."""
        with self._lock:
            conns = list(self._conns)
        for pair in conns:
            for x in (pair["client"], pair["server"]):
                try:
                    x.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    x.close()
                except OSError:
                    pass

    def refuse(self):
        self.refusing = True
        self.reset_all()

    def accept_again(self):
        self.refusing = False

    def close(self):
        self._stop = True
        self.reset_all()
        self._ls.close()
        self._t.join(timeout=2)


class TinyFs:
    """A size-limited tmpfs mounted on a fresh directory (needs root)."""

    def __init__(self, parent, size="2m"):
        self.path = os.path.join(parent, "tinyfs")
        os.makedirs(self.path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0711" % size, "tmpfs",
                        self.path], check=True, capture_output=True)

    def fill(self, leave_bytes=0):
        """Fills the filesystem up to leave_bytes free; returns the filler's path."""
        filler = os.path.join(self.path, "filler")
        st = os.statvfs(self.path)
        free = st.f_bavail * st.f_frsize - leave_bytes
        with open(filler, "wb") as f:
            try:
                f.write(b"\0" * max(free, 0))
            except OSError:
                pass
        return filler

    def close(self):
        subprocess.run(["umount", "-l", self.path], capture_output=True)


def can_mount():
    if os.geteuid() != 0:
        return False
    probe = "/tmp/tether-mount-probe-%d" % os.getpid()
    os.makedirs(probe, exist_ok=True)
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe],
                        capture_output=True).returncode == 0
    if ok:
        subprocess.run(["umount", probe], capture_output=True)
    os.rmdir(probe)
    return ok


def ws_upgrade(port, path="/v1/agent/ws", token=None, protocol="tether-agent.v1"):
    """The bytes of a WebSocket upgrade request with a fresh key (protocol/token None: left out)."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port, "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
    if protocol:
        lines.append("Sec-WebSocket-Protocol: " + protocol)
    if token is not None:
        lines.append("Authorization: Bearer " + token)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_until(sock, marker):
    """Reads from sock until marker has arrived or the peer closed; returns all that came."""
    got = b""
    while marker not in got:
        chunk = sock.recv(4096)
        if not chunk:
            break
        got += chunk
    return got


def status_line(port, data, timeout=5.0):
    """Sends raw bytes on a new connection; returns the first line of the answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout * SLOW)
    try:
        s.sendall(data)
        return read_until(s, b"\r\n").split(b"\r\n", 1)[0].decode(errors="replace")
    finally:
        s.close()


def ws_frame(payload, opcode=1):
    """One masked client frame."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class WsAgent:
    """A hand-driven agent WebSocket connection: receives frames, acks only when told to."""

    def __init__(self, port, token, protocol="tether-agent.v1"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW)
        self.sock.sendall(ws_upgrade(port, token=token, protocol=protocol))
        head = read_until(self.sock, b"\r\n\r\n")
        if b"\r\n\r\n" not in head:
            raise AssertionError("connection closed during handshake: %r" % head)
        if b" 101" not in head.split(b"\r\n", 1)[0]:
            raise AssertionError("upgrade refused: %r" % head[:200])
        self.buf = head.split(b"\r\n\r\n", 1)[1]
        self.pings = 0

    def send_text(self, obj):
        self.sock.sendall(ws_frame(json.dumps(obj).encode()))

    def _need(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            if not chunk:
                raise EOFError("server closed the connection")
            self.buf += chunk
        return True

    def recv(self, timeout=5.0):
        """Returns the next text frame as JSON, or None on timeout (pings are answered)."""
        deadline = time.monotonic() + timeout * SLOW
        while True:
            if not self._need(2, deadline):
                return None
            b0, b1 = self.buf[0], self.buf[1]
            n, off = b1 & 0x7F, 2
            if n == 126:
                if not self._need(4, deadline):
                    return None
                n, off = struct.unpack(">H", self.buf[2:4])[0], 4
            elif n == 127:
                if not self._need(10, deadline):
                    return None
                n, off = struct.unpack(">Q", self.buf[2:10])[0], 10
            if not self._need(off + n, deadline):
                return None
            payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
            op = b0 & 0x0F
            if op == 0x9:  # ping -> pong
                self.pings += 1
                mask = os.urandom(4)
                self.sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + mask +
                                  bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
                continue
            if op == 0x8:
                raise EOFError("close frame %r" % payload[:2])
            if op == 0x1:
                return json.loads(payload)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
