"""Behaviours: the Service base class, which applies the configured
behaviour word (ok, slow, timeout, empty, malformed, 429, a status, a
hostile word or a service's own word) before routing, and the hostile
answers every service can give."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .common import Request, Response, dumps, is_number, loads_strict, phrase

if TYPE_CHECKING:
    from .state import State


def malformed(resp: Response) -> Response:
    """A 200 whose JSON body is cut in half: invalid, as a dropped upstream gives."""
    body = resp.body
    cut = body[: max(1, len(body) // 2)] if body[:1] in (b"{", b"[") and len(body) > 2 else b""
    try:
        loads_strict(cut.decode("utf-8", "replace"))
        cut = b'{"schemaVersion":"1.0.0","pairs":[{"chainId":"sol'
    except (ValueError, RecursionError):
        if not cut:
            cut = b'{"schemaVersion":"1.0.0","pairs":[{"chainId":"sol'
    return Response(200, cut, "application/json")


# Hostile answers: what public APIs with user-made data, broken proxies and
# attackers send.  Each word turns the service's normal answer into something
# a parser must survive; every service accepts them all.
HOSTILE = {
    "huge": "every number of the normal answer 1e305 (the LLM's rate-limit headers 1e19, retry-after 1e300)",
    "nonfinite": "every number NaN, Infinity, -Infinity or 1e400 in turn (not JSON, as some encoders write)",
    "wrong_types": "every number a string, every string a number, every boolean a string",
    "not_utf8": "every string with bytes that are not UTF-8 appended (\\xc5, \\xff, the overlong \\xe0\\x9c\\x8d)",
    "control": "every string with control, bidi and zero-width characters appended (as JSON escapes)",
    "deep": "200,000 nested arrays",
    "cut": "the normal answer cut at half with the full Content-Length, then the connection closed",
    "gigantic": "a valid JSON array of 8 MiB",
}
_BAD_UTF8 = b"\xc5\xff\xe0\x9c\x8d"
_GIGANTIC: bytes | None = None


def _hostile_walk(v, leaf):
    """v with every non-container value replaced by leaf(value)."""
    if isinstance(v, dict):
        return {k: _hostile_walk(x, leaf) for k, x in v.items()}
    if isinstance(v, list):
        return [_hostile_walk(x, leaf) for x in v]
    return leaf(v)


def hostile(word: str, resp: Response) -> Response:
    """The normal answer resp turned hostile by word (a HOSTILE key)."""
    global _GIGANTIC
    if word == "deep":
        r = Response(200, b"[" * 200_000 + b"]" * 200_000, "application/json")
    elif word == "gigantic":
        if _GIGANTIC is None:
            _GIGANTIC = b"[" + b"1," * (4 * 1024 * 1024) + b"1]"
        r = Response(200, _GIGANTIC, "application/json")
    elif word == "cut":
        r = Response(resp.status, resp.body[: len(resp.body) // 2], resp.content_type, resp.headers, close=True)
        r.declared_length = len(resp.body)
    else:
        try:
            doc = loads_strict(resp.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            doc = {"message": resp.body.decode("utf-8", "replace")}
        counter = [0]

        def leaf(x):
            if word == "huge":
                return 1e305 if is_number(x) else x
            if word == "nonfinite":
                if not is_number(x):
                    return x
                counter[0] += 1
                return ["__NaN__", "__Infinity__", "__-Infinity__", "__1e400__"][counter[0] % 4]
            if word == "wrong_types":
                if isinstance(x, bool):
                    return "true" if x else "false"
                if is_number(x):
                    return "n/a"
                if isinstance(x, str):
                    return 12345
                return x
            if word == "not_utf8":
                return x + "__BAD__" if isinstance(x, str) else x
            if word == "control":
                return x + "\u0007\u001b[31m\u202e\u200b\u2028\n" if isinstance(x, str) else x
            return x

        body = dumps(_hostile_walk(doc, leaf))
        if word == "nonfinite":
            for k in ("NaN", "Infinity", "-Infinity", "1e400"):
                body = body.replace(f'"__{k}__"'.encode(), k.encode())
        if word == "not_utf8":
            body = body.replace(b"__BAD__", _BAD_UTF8)
        r = Response(resp.status, body, "application/json", resp.headers)
    r.hostile = word
    return r


class Service:
    """Base of one stand-in service.

    Subclasses set name (its behaviour key), prefix, default_behaviour,
    specials (behaviour words of their own) and routes: (methods, regex,
    method name) tried in order against the path below the prefix.  They
    override error() and too_many() to give their own error bodies."""

    name = ""
    prefix = ""
    default_behaviour = "ok"
    specials: dict[str, str] = {}
    routes: list[tuple[tuple[str, ...], str, str]] = []

    def __init__(self, state: "State"):
        self.state = state
        self._routes = [(methods, re.compile(rx), fn) for methods, rx, fn in self.routes]

    # -- behaviour -----------------------------------------------------------
    def behaviour_keys(self, req: Request, sub: str) -> list[str]:
        """Behaviour keys consulted for this request, most specific first."""
        return [self.name]

    def serve(self, req: Request, sub: str) -> Response:
        """Apply the configured behaviour, then (usually) route normally."""
        word = self.state.pick_behaviour(self.behaviour_keys(req, sub))
        if word == "ok":
            return self.route(req, sub)
        if word in ("slow", "timeout"):
            self.state.sleep(req.cfg["slow_seconds" if word == "slow" else "timeout_seconds"])
            return self.route(req, sub)
        if word == "empty":
            return Response(200, b"", "application/json")
        if word == "malformed":
            return malformed(self.route(req, sub))
        if word == "429":
            return self.too_many(req)
        if word in HOSTILE:
            return hostile(word, self.route(req, sub))
        if word.isdigit():
            return self.error(int(word), req)
        return self.special(word, req, sub)

    def special(self, word: str, req: Request, sub: str) -> Response:
        raise AssertionError(f"behaviour {word!r} not handled by {self.name}")

    # -- routing -------------------------------------------------------------
    def route(self, req: Request, sub: str) -> Response:
        method = "GET" if req.method == "HEAD" else req.method
        wrong_method = False
        for methods, rx, fn in self._routes:
            m = rx.fullmatch(sub)
            if not m:
                continue
            if methods and method not in methods:
                wrong_method = True
                continue
            return getattr(self, fn)(req, m)
        return self.not_found(req, sub, wrong_method)

    def not_found(self, req: Request, sub: str, wrong_method: bool) -> Response:
        return self.error(405 if wrong_method else 404, req)

    # -- error styles --------------------------------------------------------
    def error(self, status: int, req: Request) -> Response:
        return Response.json(status, {"error": phrase(status)})

    def too_many(self, req: Request) -> Response:
        r = self.error(429, req)
        r.headers.append(("retry-after", str(req.cfg["retry_after"])))
        return r
