"""A fault-injecting HTTP proxy for an S3-compatible server on 127.0.0.1 (test-only).

    proxy = FaultProxy(target_port, slowdown=0.05, reset=0.02, seed=0).start()
    os.environ["AWS_ENDPOINT_URL"] = proxy.url
    proxy.outage(10)          # every request fails (connection reset) for the next 10 s
    proxy.fail_next(4, match="a2i.lock", method="GET")   # the next 4 GETs of a path holding "a2i.lock": 503
    proxy.stop()

Each request is forwarded to the server unless the seeded dice say otherwise: a share of
requests gets `503 SlowDown` (what S3 answers when throttling) and a share has its
connection reset (RST, no answer), half of those before the request reaches the server and
half after it did (the client cannot tell whether a PUT landed). Only loopback is used.
"""
from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLOWDOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
            b"<Message>Please reduce your request rate.</Message></Error>")
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


class FaultProxy:
    def __init__(self, target_port: int, slowdown: float = 0.0, reset: float = 0.0, seed: int = 0):
        self.target_port = target_port
        self.slowdown = slowdown
        self.reset = reset
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.forced: list[list] = []  # [match, method, kind, count left]
        self.counts = {"requests": 0, "slowdown": 0, "reset": 0}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _any(self) -> None:
                fault = proxy._fault(self.command, self.path)
                if fault == "reset-before":
                    return self._reset()
                if fault == "slowdown":
                    self._drain()
                    return self._answer(503, SLOWDOWN, {"Content-Type": "application/xml", "Retry-After": "0"})
                body = self._drain()
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP | {"content-length", "expect"}}
                conn = http.client.HTTPConnection("127.0.0.1", proxy.target_port, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                if fault == "reset-after":  # the server did it; the client never hears
                    return self._reset()
                self._answer(resp.status, data, {k: v for k, v in resp.getheaders() if k.lower() not in HOP
                                                 and k.lower() != "content-length"}, head=self.command == "HEAD",
                             length=resp.getheader("Content-Length"))

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

            def _drain(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    return self.rfile.read(n)
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if not size:  # the last chunk; then trailers up to a blank line
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return out
                        out += self.rfile.read(size + 2)[:size]
                return b""

            def _answer(self, status: int, data: bytes, headers: dict, head: bool = False, length=None) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(length if head and length is not None else len(data)))
                self.end_headers()
                if not head:
                    self.wfile.write(data)

            def _reset(self) -> None:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address) -> None:  # a reset we made: nothing to report
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def _fault(self, method: str, path: str) -> str | None:
        with self.lock:
            self.counts["requests"] += 1
            for rule in self.forced:
                match, want, kind, left = rule
                if match in path and want in ("", method):
                    rule[3] -= 1
                    if rule[3] <= 0:
                        self.forced.remove(rule)
                    self.counts["slowdown" if kind == "slowdown" else "reset"] += 1
                    return kind
            if time.monotonic() < self.down_until:
                self.counts["reset"] += 1
                return "reset-before"
            x = self.rng.random()
            if x < self.slowdown:
                self.counts["slowdown"] += 1
                return "slowdown"
            if x < self.slowdown + self.reset:
                self.counts["reset"] += 1
                return "reset-before" if self.rng.random() < 0.5 else "reset-after"
            return None

    def outage(self, seconds: float) -> None:
        """Reset every connection for the next `seconds` (a server that is down)."""
        self.down_until = time.monotonic() + seconds

    def fail_next(self, count: int = 1, match: str = "", kind: str = "slowdown", method: str = "") -> None:
        """The next `count` requests (of `method`, if given) whose path contains `match` get `kind`
        (slowdown, reset-before, reset-after)."""
        with self.lock:
            self.forced.append([match, method, kind, count])

    def start(self) -> "FaultProxy":
        threading.Thread(target=self.server.serve_forever, name="fault-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
