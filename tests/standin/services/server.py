"""The HTTP plumbing: read one request (bounded), hand it to the App,
write the answer and its log line."""

from __future__ import annotations

import http.server
import re
import socket
import sys

from .app import App
from .common import Request, Response

LISTEN_HOST = "127.0.0.1"
MAX_BODY = 1024 * 1024          # larger request bodies get 413
MAX_DRAIN = 16 * MAX_BODY       # read and discard up to this much before a 413


class BadRequest(Exception):
    pass


class TooLarge(Exception):
    def __init__(self, size: int | None, drained: bool):
        super().__init__(size)
        self.size = size
        self.drained = drained


class Handler(http.server.BaseHTTPRequestHandler):
    """Reads one request (bounded), hands it to the App, writes the answer."""

    protocol_version = "HTTP/1.1"
    server_version = "standin"
    sys_version = ""
    default_request_version = "HTTP/1.0"   # answer even garbage with a status line
    timeout = 120                       # idle keep-alive connections and stalled bodies

    app: App                            # set on the class by main() in standin.py

    def log_message(self, fmt, *args):  # requests are logged in _dispatch
        pass

    def log_error(self, fmt, *args):
        self.app.state.log("http: " + (fmt % args))

    def _content_length(self) -> int | None:
        v = self.headers.get("Content-Length")
        if v is None:
            return None
        v = v.strip()
        if not v.isdigit():
            raise BadRequest("invalid Content-Length")
        return int(v)

    def handle_expect_100(self):
        """Refuse an oversized body before the client sends it."""
        try:
            n = self._content_length()
        except BadRequest:
            n = None
        if n is not None and n > MAX_BODY:
            self._answer_too_large(n)
            return False
        return super().handle_expect_100()

    def _read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            return self._read_chunked()
        n = self._content_length()
        if not n:
            return b""
        if n > MAX_BODY:
            drained = False
            if n <= MAX_DRAIN:
                left = n
                while left > 0:
                    chunk = self.rfile.read(min(65536, left))
                    if not chunk:
                        break
                    left -= len(chunk)
                drained = left == 0
            raise TooLarge(n, drained)
        data = self.rfile.read(n)
        if len(data) < n:
            raise ConnectionResetError("client closed the connection mid-body")
        return data

    def _read_chunked(self) -> bytes:
        parts, total = [], 0
        while True:
            line = self.rfile.readline(1026)
            if not line:
                raise ConnectionResetError("client closed the connection mid-body")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadRequest("invalid chunk size")
            if size == 0:
                while True:                     # trailers, up to the blank line
                    t = self.rfile.readline(8194)
                    if t in (b"\r\n", b"\n", b""):
                        break
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise TooLarge(None, False)
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                raise ConnectionResetError("client closed the connection mid-body")
            parts.append(chunk)
            self.rfile.readline(3)

    def _answer_too_large(self, size: int | None) -> None:
        req = Request(self.app.state.next_seq(), self.command, self.path, self.headers, None,
                      body_error=f"too large: {size if size is not None else 'over ' + str(MAX_BODY)} bytes")
        if self.app._under(req.path, "/_standin") is None:
            svc, _ = self.app.service_for(req.path)
            self.app.state.record(req.to_record(svc.name if svc else None))
        self._send(Response.json(413, {"error": "request body too large", "limit_bytes": MAX_BODY}, close=True),
                   req)

    def _dispatch(self) -> None:
        try:
            try:
                body = self._read_body()
            except TooLarge as e:
                self._answer_too_large(e.size)
                return
            except BadRequest as e:
                self._send(Response.json(400, {"error": str(e)}, close=True), None)
                return
            req = Request(self.app.state.next_seq(), self.command, self.path, self.headers, body)
            resp = self.app.handle(req)
            self._send(resp, req)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError, socket.timeout):
            self.close_connection = True

    def _send(self, resp: Response, req: Request | None) -> None:
        self.send_response_only(resp.status)
        names = {k.lower() for k, _ in resp.headers}
        self.send_header("Date", self.date_time_string())
        if "server" not in names:
            self.send_header("Server", "standin")
        if resp.content_type:
            self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body) if resp.declared_length is None
                                               else resp.declared_length))
        for k, v in resp.headers:
            self.send_header(k, v)
        if resp.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD" and resp.body:
            self.wfile.write(resp.body)
        self.wfile.flush()
        path = req.path if req else self.path.split("?", 1)[0]
        path = re.sub(r"/bot[^/]+", "/bot<token>", path)
        self.app.state.log(f"{self.command} {path} -> {resp.status}")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _dispatch


class Server(http.server.ThreadingHTTPServer):
    """Threaded server that stays quiet about clients that hang up."""

    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError,
                            socket.timeout)):
            return
        super().handle_error(request, client_address)
