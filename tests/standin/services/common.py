"""Requests, answers and the small helpers every stand-in module uses."""

from __future__ import annotations

import email.utils
import hashlib
import http
import json
import math
import re
import time
import urllib.parse


def dumps(obj) -> bytes:
    """Compact JSON, as most APIs send it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def loads_strict(data):
    """json.loads without NaN/Infinity (which are not JSON)."""
    return json.loads(data, parse_constant=_reject_constant)


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return {498: "Invalid Token", 499: "Client Closed Request"}.get(status, "Error")


def rfc1123(t: float) -> str:
    return email.utils.formatdate(t, usegmt=True)


def stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "replace")).digest()[:8], "big")


class Response:
    """An answer: status, body bytes, content type and extra headers."""

    def __init__(self, status: int, body: bytes | str = b"", content_type: str | None = "application/json",
                 headers: list[tuple[str, str]] | None = None, close: bool = False):
        self.status = status
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.content_type = content_type
        self.headers = list(headers or [])
        self.close = close
        self.declared_length: int | None = None   # a Content-Length other than len(body) ("cut")
        self.hostile: str | None = None           # the HOSTILE word that made it

    @classmethod
    def json(cls, status: int, obj, headers=None, close: bool = False) -> "Response":
        return cls(status, dumps(obj), "application/json", headers, close)


class Request:
    """One parsed request, plus the configuration snapshot it is served with."""

    def __init__(self, seq: int, method: str, target: str, headers, body: bytes | None,
                 body_error: str | None = None):
        self.seq = seq
        self.time = time.time()
        self.method = method
        target = target or "/"
        if not target.startswith("/"):          # absolute form: http://host/path?q
            m = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*(.*)$", target)
            target = (m.group(1) if m else "") or "/"
        target = target.split("#", 1)[0]
        raw_path, _, self.query_string = target.partition("?")
        self.path = urllib.parse.unquote(raw_path, errors="replace") or "/"
        self.query: dict[str, str] = {}
        for k, v in query_pairs(self.query_string):
            self.query[k] = v
        self.headers: dict[str, str] = {}
        for k, v in headers.items():
            k = k.lower()
            self.headers[k] = f"{self.headers[k]}, {v}" if k in self.headers else v
        self.raw_body = body or b""
        self.body_error = body_error
        self.json = None
        self.json_ok = False
        self.text = self.raw_body.decode("utf-8", "replace")
        if self.raw_body.strip():
            try:
                self.json = loads_strict(self.raw_body.decode("utf-8"))
                self.json_ok = True
            except (ValueError, RecursionError):
                pass
        self.cfg: dict = {}

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def to_record(self, service: str | None) -> dict:
        """The request as recorded in memory and in --record."""
        if self.json_ok:
            body = self.json
        elif self.raw_body:
            body = self.text
        else:
            body = None
        rec = {
            "seq": self.seq,
            "time": round(self.time, 6),
            "iso_time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.time))
                        + f".{int((self.time % 1) * 1000):03d}Z",
            "service": service,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "query_string": self.query_string,
            "headers": self.headers,
            "body": body,
            "body_is_json": self.json_ok,
        }
        if self.body_error:
            rec["body_error"] = self.body_error
        return rec


def query_pairs(qs: str) -> list[tuple[str, str]]:
    """Decoded name/value pairs of a query string or form body; [] if unparseable."""
    try:
        return urllib.parse.parse_qsl(qs, keep_blank_values=True, errors="replace", max_num_fields=1000)
    except ValueError:
        return []


class ConfigError(ValueError):
    """An invalid /_standin/config request: answered with 400."""
