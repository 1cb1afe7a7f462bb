#!/usr/bin/env python3
"""Local stand-in for the orchestrator's external services.

The real services (DexScreener, Pump.fun, TraderMade, Birdeye, n8n webhooks,
an OpenAI-compatible LLM, the Telegram Bot API) are unreachable from the test
machines.  This one process answers for all of them on 127.0.0.1, each under
its own path prefix, with the shapes documented in ../shared/CONTRACTS.md,
error cases included.  Point the orchestrator's base URLs at it, e.g.
DEXSCREENER_BASE_URL=http://127.0.0.1:P/dex, N8N_BASE_URL=http://127.0.0.1:P/n8n.

Usage:
    python3 standin.py --port P [--fixtures DIR] [--record FILE.jsonl]
                       [--pidfile F] [--quiet]

    --port 0 picks a free port.  The first line on stdout is always
    "standin listening on 127.0.0.1:<port>".  SIGTERM or SIGINT: clean exit 0.
    --fixtures DIR holds the recorded DexScreener responses (read at start,
    never copied); default: $SHARED_DATA/fixtures when that exists.

Python 3.11 standard library only.  Each request is served on its own
thread (ThreadingHTTPServer), so a "slow" or "timeout" answer never blocks
the others.

Routes (SERVICES at the end of the service classes is the dispatch table:
add a Service subclass there to add a prefix):
  /dex         DexScreener, from the fixtures
    GET /dex/latest/dex/search?q=...            {schemaVersion, pairs[3], pair:null} (q is not filtered on)
    GET /dex/token-profiles/latest/v1           the 53 token profiles
    GET /dex/latest/dex/pairs/{chain}/{pairs}   {schemaVersion, pairs:[...]} or pairs:null (comma list ok)
    GET /dex/token-pairs/v1/{chain}/{token}, GET /dex/tokens/v1/{chain}/{tokens}   arrays of pairs
  /pumpfun     Pump.fun: any path -> 403 Cloudflare HTML (behaviour "blocked", the default);
               behaviour "ok" -> 200 JSON list of coins
  /tradermade  GET /tradermade/api/v1/live?currency=EURUSD,GBPUSD&api_key=K
  /birdeye     GET /birdeye/defi/price?address=A with X-API-KEY
  /n8n         POST /n8n/webhook/<path>, any other method on it, /n8n/webhook-test/<path>,
               GET /n8n/healthz, GET /n8n/healthz/readiness; the public API (header X-N8N-API-KEY):
               GET /n8n/api/v1/executions/{id} (DELETE too), GET /n8n/api/v1/executions?workflowId=
               &status=&limit=&cursor=, GET /n8n/api/v1/workflows?active=&limit=&cursor=,
               GET /n8n/api/v1/workflows/{id}.  Every accepted webhook POST creates an
               execution (see n8n_exec_status, n8n_exec_seconds, n8n_respond).
               The internal REST API's owner login and stop (n8n 1.123):
               POST /n8n/rest/login {"emailOrLdapLoginId","password"} (n8n_owner) -> 200 and
               Set-Cookie: n8n-auth=<session>; POST /n8n/rest/executions/{id}/stop with that
               cookie -> 200 {"data":{...,"status":"canceled"}} while it runs, 500 {"code":0,...}
               once it ended or when unknown (as n8n 1.123), 401 without a valid session
  /llm         POST /llm/<...>/chat/completions (e.g. base URL .../llm/openai/v1), GET /llm/<...>/models
  /telegram    /telegram/bot<TOKEN>/sendMessage (JSON, form or query parameters), .../getMe,
               .../getUpdates (long polling: the updates the test queued with POST
               /_standin/telegram/updates; offset confirms, timeout waits for one; 409 while
               telegram_webhook is set or when another getUpdates arrives meanwhile, as the Bot API
               does), .../setWebhook, .../deleteWebhook, .../getWebhookInfo

Behaviours (config "behaviour": {"<service>": WORD}; for n8n also "n8n:<path>", and
"n8n:api" for the public API alone; "telegram:updates" for getUpdates alone, which the
"telegram" key does not touch, so that a poller does not use up a list meant for sendMessage):
  ok, slow (sleep slow_seconds, then normal), timeout (sleep timeout_seconds),
  empty (200, empty body), malformed (200, application/json, truncated JSON),
  429 (retry-after header + the service's rate-limit body), any 400-599 (the
  service's error body).  Service words: pumpfun "blocked"; n8n
  "unregistered"; llm "json_validate_failed", "fenced", "think", "prose",
  "not_json", "truncated".  A list of words is played one per request.
  Hostile answers, for every service (HOSTILE below): huge, nonfinite,
  wrong_types, not_utf8, control, deep, cut, gigantic.

Test control (these requests are not recorded):
  GET    /_standin/config          current configuration (all keys, defaults filled in)
  POST   /_standin/config          merge a JSON object into it; 400 if anything is invalid
  POST   /_standin/reset           forget requests and counters, restore the default configuration
  GET    /_standin/requests        recorded requests, oldest first;
                                   filters ?prefix=/n8n/webhook/ &method=POST &since=SEQ &limit=N (newest N)
  GET    /_standin/requests/count  {"count": n}, same filters
  DELETE /_standin/requests        forget requests only
  GET    /_standin/health          {"ok": true, ...}
  GET    /_standin/n8n/scans       {"scans": {key: executions that scanned}, "claims": {key: [verdicts]}}
  POST   /_standin/telegram/updates  queue updates for getUpdates: an object or a list of them, each
                                   {"chat_id", "text", "from_id" (default chat_id), "is_bot" (false),
                                   "chat_type", "date" (default now)} or {"update": {...}} as it is
                                   (update_id given or assigned); update_ids grow for ever (reset too)
                                   -> {"update_ids": [...]}
  GET    /_standin/telegram/updates  {"pending": [...], "offset": the highest confirmed, "polls": n,
                                   "open_polls": n}
  GET    /_standin/telegram/messages what the bot sent (sendMessage): [{seq, time, chat_id, text,
                                   parse_mode}], ?since=SEQ
  POST   /_standin/release         wake every handler sleeping now (slow, timeout, n8n_answer_seconds):
                                   each goes on as if its time were up; {"ok": true, "woken": n}

A recorded request: {seq, time, iso_time, service, method, path (decoded, no
query), query {name: last value}, query_string, headers {lower-case name:
value}, body (parsed JSON, else text, else null), body_is_json[, body_error]}.
--record appends the same objects as JSON lines (reset does not truncate it).
Request bodies over 1 MiB get 413.

Every configuration key, its default and meaning are in CONFIG_DOC below.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import email.utils
import hashlib
import http
import http.server
import json
import math
import os
import random
import re
import secrets
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

LISTEN_HOST = "127.0.0.1"
MAX_BODY = 1024 * 1024          # larger request bodies get 413
MAX_DRAIN = 16 * MAX_BODY       # read and discard up to this much before a 413
MAX_RECORDS = 100_000           # oldest recorded requests are dropped past this
PAIRS_FIXTURE = "dexscreener_latest_dex_pairs_sample.json"
PROFILES_FIXTURE = "dexscreener_token_profiles_2025-03-17.json"
SOL_MINT = "So11111111111111111111111111111111111111112"
USDC_MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"

N8N_DEFAULT_PATHS = [
    "crypto-aggressive-scan", "crypto-normal-scan", "crypto-light-monitoring",
    "forex-london-session", "forex-newyork-session", "forex-asia-session",
    "health-monitor-check", "deep-market-analysis",
]
N8N_PROD_HINT = ("The workflow must be active for a production URL to run successfully. "
                 "You can activate the workflow using the toggle in the top-right of the editor. "
                 "Note that unlike test URL calls, production URL calls aren't shown on the canvas "
                 "(only in the executions list)")
N8N_TEST_HINT = ("Click the 'Execute workflow' button on the canvas, then try again. "
                 "(In test mode, the webhook only works for one call after you click this button)")

LLM_DEFAULT_DECISION = {
    "mode": "crypto",
    "intensity": "normal",
    "workflows": ["crypto-normal-scan"],
    "next_decision_seconds": 300,
    "reason": "stand-in default decision",
    "confidence": 0.6,
}

CONFIG_DOC = {
    "behaviour": "per-service override, see BEHAVIOURS; keys dex, pumpfun, tradermade, birdeye, n8n, "
                 "n8n:<path>, telegram, llm; a list value is played in order, one item per request, "
                 "the last one sticking; null restores the default",
    "slow_seconds": "delay of the 'slow' behaviour (default 3)",
    "timeout_seconds": "delay of the 'timeout' behaviour (default 30)",
    "retry_after": "retry-after header of 429 answers, seconds (default 2)",
    "seed": "seed of the deterministic random walks (TraderMade, Birdeye); setting it restarts them",
    "dex_m5": "number: every DexScreener pair's priceChange.m5; null: the fixture's values",
    "dex_token_name": "string: the baseToken.name of the first DexScreener pair (market text with markup, "
                      "for the dashboard's test); null: the fixture's",
    "dex_created_ago_s": "number: shift pairCreatedAt so the newest pair is this many seconds old; "
                         "null: the fixture's values",
    "dex_walk_bp": "standard deviation, basis points, of a deterministic random walk (seed) that moves every "
                   "DexScreener pair's priceUsd once per request (default 0: the fixture's prices)",
    "dex_price_factor": "number: every DexScreener pair's priceUsd multiplied by it (default 1): a price jump",
    "tradermade_key": "the api_key TraderMade accepts (default test-tm-key)",
    "tradermade_step_bp": "standard deviation of the quote random walk per call, basis points (default 0.5)",
    "stale": "true: TraderMade quotes frozen, timestamp 3 days old (weekend closure)",
    "clock_offset_seconds": "number added to the stand-in's clock in the times it sends (TraderMade's timestamp): "
                            "a worker under libfaketime sees them in its own time (default 0)",
    "birdeye_key": "string: the only X-API-KEY Birdeye accepts; null: any non-empty key",
    "pumpfun_coins": "list returned by Pump.fun when its behaviour is ok; null: built from the fixture",
    "n8n_paths": "registered production webhook paths (default: the 8 catalog workflows)",
    "n8n_response": "JSON answered by a registered webhook (default {\"message\":\"Workflow was started\"})",
    "n8n_respond": "'immediately' (default): a webhook answers n8n_response; 'accepted': it answers like "
                   "our workflows' Respond node, {\"accepted\":true,\"execution_id\":\"<id>\",\"trigger_id\","
                   "\"idempotency_key\",\"workflow\",\"probe\"}",
    "n8n_exec_status": "final status of the execution a webhook creates: success (default), error, crashed, "
                       "canceled, running, waiting, new or unknown; a list is played one per execution, "
                       "the last one sticking",
    "n8n_exec_seconds": "seconds an execution stays 'running' before its final status (default 0)",
    "n8n_api_key": "string: the only X-N8N-API-KEY the public API accepts; null (default): any non-empty key",
    "n8n_workflows": "list of workflow objects served by /api/v1/workflows as they are; null (default): "
                     "one active workflow per n8n_paths entry, named after its path, with a Webhook node",
    "n8n_page_max": "largest page /api/v1/executions and /api/v1/workflows return (default 250, n8n's maximum)",
    "n8n_owner": "null (default: every /rest/login is refused), or {\"email\": e, \"password\": p}: the owner "
                 "login /rest/login accepts",
    "n8n_claim": "null (default), or {\"url\": the orchestrator's POST /claims URL, \"token\": its Bearer "
                 "token}: like our workflows, every execution a webhook starts first claims its idempotency key "
                 "there; a duplicate answers {\"accepted\":true,\"duplicate\":true,\"execution_id\":<the first>} "
                 "and scans nothing, a failed claim answers 503; GET /_standin/n8n/scans counts the scans per key",
    "n8n_answer_seconds": "seconds a webhook waits after starting its execution (and claiming its key) before "
                          "it answers (default 0): n8n accepted, the answer is slow",
    "n8n_auth": "null, or {\"header\": name, \"value\": v}: webhooks answer 403 "
                "'Authorization data is wrong!' unless that header carries that value",
    "telegram_token": "string: the only bot token accepted (others 401); null: any well-formed token",
    "telegram_retry_after": "retry_after of Telegram's flood-control 429 (default 3)",
    "telegram_webhook": "null (default), or the URL of an outgoing webhook: getUpdates then answers 409 "
                        "'Conflict: can't use getUpdates method while webhook is active' (setWebhook and "
                        "deleteWebhook change it too)",
    "llm_key": "string: the only Bearer key accepted; null: any non-empty key",
    "llm_content": "assistant message content: a string as is, other JSON serialised; "
                   "null: a default decision object",
    "llm_json_schema": "true: accept response_format json_schema; false (default): 400 like Groq's llama-3.3",
    "llm_remaining_requests": "number: the requests left in Groq's window from now on; each answer's "
                              "x-ratelimit-remaining-requests counts down from it, and a request that "
                              "arrives when none is left gets Groq's 429 (retry-after); null (default): "
                              "1000 minus the calls served, never 0",
}


def default_config() -> dict:
    """The configuration after start and after /_standin/reset."""
    return {
        "behaviour": {svc.name: svc.default_behaviour for svc in SERVICES},
        "slow_seconds": 3,
        "timeout_seconds": 30,
        "retry_after": 2,
        "seed": 1,
        "dex_m5": None,
        "dex_created_ago_s": None,
        "dex_token_name": None,
        "dex_walk_bp": 0,
        "dex_price_factor": 1,
        "tradermade_key": "test-tm-key",
        "tradermade_step_bp": 0.5,
        "stale": False,
        "clock_offset_seconds": 0,
        "birdeye_key": None,
        "pumpfun_coins": None,
        "n8n_paths": list(N8N_DEFAULT_PATHS),
        "n8n_response": {"message": "Workflow was started"},
        "n8n_auth": None,
        "n8n_respond": "immediately",
        "n8n_exec_status": "success",
        "n8n_exec_seconds": 0,
        "n8n_api_key": None,
        "n8n_workflows": None,
        "n8n_page_max": 250,
        "n8n_owner": None,
        "n8n_claim": None,
        "n8n_answer_seconds": 0,
        "telegram_token": None,
        "telegram_retry_after": 3,
        "telegram_webhook": None,
        "llm_key": None,
        "llm_content": None,
        "llm_json_schema": False,
        "llm_remaining_requests": None,
    }


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

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


class ConfigError(ValueError):
    """An invalid /_standin/config request: answered with 400."""


# ---------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------

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


class DexScreener(Service):
    """DexScreener (api.dexscreener.com) from the recorded fixtures.

    Error bodies are unverified (the real API sits behind Cloudflare):
    {"error": "<reason phrase>"}."""

    name = "dex"
    prefix = "/dex"
    routes = [
        (("GET",), r"/latest/dex/search/?", "search"),
        (("GET",), r"/token-profiles/latest/v1/?", "profiles"),
        (("GET",), r"/latest/dex/pairs/([^/]+)/([^/]+)/?", "pairs"),
        (("GET",), r"/token-pairs/v1/([^/]+)/([^/]+)/?", "token_pairs"),
        (("GET",), r"/tokens/v1/([^/]+)/([^/]+)/?", "tokens"),
    ]

    def _no_fixtures(self) -> Response:
        return Response.json(503, {"error": "stand-in has no DexScreener fixtures: start it with --fixtures DIR",
                                   "standin": True})

    def _pairs(self, req: Request) -> list | None:
        """The fixture's pairs, with dex_m5 / dex_created_ago_s applied."""
        fx = self.state.fixtures.get("pairs")
        if fx is None:
            return None
        pairs = copy.deepcopy(fx.get("pairs") or [])
        m5 = req.cfg.get("dex_m5")
        ago = req.cfg.get("dex_created_ago_s")
        created = [p["pairCreatedAt"] for p in pairs if isinstance(p, dict) and is_number(p.get("pairCreatedAt"))]
        shift = int(req.time * 1000 - ago * 1000 - max(created)) if ago is not None and created else 0
        for p in pairs:
            if not isinstance(p, dict):
                continue
            if m5 is not None:
                pc = p.get("priceChange")
                if not isinstance(pc, dict):
                    pc = p["priceChange"] = {}
                pc["m5"] = m5
            if shift and is_number(p.get("pairCreatedAt")):
                p["pairCreatedAt"] = int(p["pairCreatedAt"] + shift)
        walk = req.cfg.get("dex_walk_bp") or 0
        factor = req.cfg.get("dex_price_factor") or 1
        if walk or factor != 1:
            mult = self.state.fx_quote("dex:prices", 1.0, walk, move=bool(walk)) * factor
            for p in pairs:
                if not isinstance(p, dict):
                    continue
                try:
                    price = float(p.get("priceUsd"))
                except (TypeError, ValueError):
                    continue
                if math.isfinite(price) and price > 0:
                    p["priceUsd"] = "%.10g" % (price * mult)
        name = req.cfg.get("dex_token_name")
        if name is not None and pairs and isinstance(pairs[0], dict):
            base = pairs[0].get("baseToken")
            if not isinstance(base, dict):
                base = pairs[0]["baseToken"] = {}
            base["name"] = name
        return pairs

    def search(self, req, m):
        pairs = self._pairs(req)
        if pairs is None:
            return self._no_fixtures()
        out = copy.deepcopy(self.state.fixtures["pairs"])
        out["pairs"] = pairs
        return Response.json(200, out)

    def profiles(self, req, m):
        prof = self.state.fixtures.get("profiles")
        if prof is None:
            return self._no_fixtures()
        return Response.json(200, prof)

    def _find(self, req, chain: str, field, wanted: str) -> list | None:
        pairs = self._pairs(req)
        if pairs is None:
            return None
        keys = {a.strip().lower() for a in wanted.split(",") if a.strip()}
        return [p for p in pairs if isinstance(p, dict) and str(p.get("chainId", "")).lower() == chain.lower()
                and str(field(p)).lower() in keys]

    def pairs(self, req, m):
        found = self._find(req, m.group(1), lambda p: p.get("pairAddress", ""), m.group(2))
        if found is None:
            return self._no_fixtures()
        return Response.json(200, {"schemaVersion": "1.0.0", "pairs": found or None})

    def token_pairs(self, req, m):
        found = self._find(req, m.group(1), lambda p: (p.get("baseToken") or {}).get("address", ""), m.group(2))
        return self._no_fixtures() if found is None else Response.json(200, found)

    tokens = token_pairs


class PumpFun(Service):
    """Pump.fun's web backend (frontend-api-v3.pump.fun): refuses servers.

    Default behaviour "blocked": 403 with a Cloudflare block page, as it
    answers data-centre clients.  Behaviour "ok": 200 with a small JSON list
    of coins on every path.  Other errors in NestJS style:
    {"statusCode": s, "message": "..."}."""

    name = "pumpfun"
    prefix = "/pumpfun"
    default_behaviour = "blocked"
    specials = {"blocked": "403 with a Cloudflare 'Sorry, you have been blocked' HTML page"}

    def route(self, req, sub):
        coins = req.cfg.get("pumpfun_coins")
        if coins is None:
            coins = self._default_coins(req)
        return Response.json(200, coins)

    def _default_coins(self, req) -> list:
        fx = self.state.fixtures.get("pairs") or {}
        pairs = [p for p in fx.get("pairs") or [] if isinstance(p, dict)]
        now_ms = int(req.time * 1000)
        coins = []
        if not pairs:
            pairs = [{"baseToken": {"address": "StandinCoin111111111111111111111111111pump",
                                    "name": "Stand-in Coin", "symbol": "STAND"},
                      "marketCap": 5000, "dexId": "pumpfun"}]
        for i, p in enumerate(pairs):
            base = p.get("baseToken") or {}
            mint = str(base.get("address", ""))
            usd_cap = float(p.get("marketCap") or p.get("fdv") or 0)
            h = f"{stable_hash(mint):016x}"
            coins.append({
                "mint": mint,
                "name": base.get("name", ""),
                "symbol": base.get("symbol", ""),
                "description": "",
                "image_uri": (p.get("info") or {}).get("imageUrl", ""),
                "bonding_curve": f"Bc{h}standin",
                "creator": f"Cr{h[::-1]}standin",
                "created_timestamp": now_ms - (i + 1) * 60_000,
                "last_trade_timestamp": now_ms - i * 5_000,
                "complete": p.get("dexId") == "pumpswap",
                "market_cap": round(usd_cap / 140.0, 4),
                "usd_market_cap": usd_cap,
                "reply_count": i * 7,
                "nsfw": False,
            })
        return coins

    def special(self, word, req, sub):
        return self._blocked(req)

    def _blocked(self, req) -> Response:
        ray = f"{stable_hash(str(req.seq)):016x}"
        html = CLOUDFLARE_BLOCK_PAGE.replace("{RAY}", ray).replace("{IP}", "203.0.113.7")
        return Response(403, html, "text/html; charset=UTF-8",
                        [("Server", "cloudflare"), ("CF-RAY", f"{ray}-FRA"),
                         ("Cache-Control", "private, max-age=0, no-store, no-cache, must-revalidate"),
                         ("X-Frame-Options", "SAMEORIGIN")])

    def error(self, status, req):
        if status == 403:
            return self._blocked(req)
        msg = "ThrottlerException: Too Many Requests" if status == 429 else phrase(status)
        return Response.json(status, {"statusCode": status, "message": msg})


CLOUDFLARE_BLOCK_PAGE = """<!DOCTYPE html>
<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<!--[if gt IE 8]><!--> <html class="no-js" lang="en-US"> <!--<![endif]-->
<head>
<title>Attention Required! | Cloudflare</title>
<meta charset="UTF-8" />
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
<meta http-equiv="X-UA-Compatible" content="IE=Edge" />
<meta name="robots" content="noindex, nofollow" />
<meta name="viewport" content="width=device-width,initial-scale=1" />
<link rel="stylesheet" id="cf_styles-css" href="/cdn-cgi/styles/cf.errors.css" />
</head>
<body>
  <div id="cf-wrapper">
    <div id="cf-error-details" class="cf-error-details-wrapper">
      <div class="cf-wrapper cf-header cf-error-overview">
        <h1 data-translate="block_headline">Sorry, you have been blocked</h1>
        <h2 class="cf-subheadline"><span data-translate="unable_to_access">You are unable to access</span> pump.fun</h2>
      </div>
      <div class="cf-section cf-wrapper">
        <div class="cf-columns two">
          <div class="cf-column">
            <h2 data-translate="blocked_why_headline">Why have I been blocked?</h2>
            <p data-translate="blocked_why_detail">This website is using a security service to protect itself from online attacks. The action you just performed triggered the security solution. There are several actions that could trigger this block including submitting a certain word or phrase, a SQL command or malformed data.</p>
          </div>
          <div class="cf-column">
            <h2 data-translate="blocked_resolve_headline">What can I do to resolve this?</h2>
            <p data-translate="blocked_resolve_detail">You can email the site owner to let them know you were blocked. Please include what you were doing when this page came up and the Cloudflare Ray ID found at the bottom of this page.</p>
          </div>
        </div>
      </div>
      <div class="cf-error-footer cf-wrapper w-240 lg:w-full py-10 sm:py-4 sm:px-8 mx-auto text-center sm:text-left border-solid border-0 border-t border-gray-300">
        <p class="text-13">
          <span class="cf-footer-item sm:block sm:mb-1">Cloudflare Ray ID: <strong class="font-semibold">{RAY}</strong></span>
          <span class="cf-footer-separator sm:hidden">&bull;</span>
          <span id="cf-footer-item-ip" class="cf-footer-item sm:block sm:mb-1">Your IP: {IP}</span>
          <span class="cf-footer-separator sm:hidden">&bull;</span>
          <span class="cf-footer-item sm:block sm:mb-1"><span>Performance &amp; security by</span> <a rel="noopener noreferrer" href="https://www.cloudflare.com/5xx-error-landing" id="brand_link" target="_blank">Cloudflare</a></span>
        </p>
      </div>
    </div>
  </div>
</body>
</html>
"""


class TraderMade(Service):
    """TraderMade live quotes (marketdata.tradermade.com/api/v1/live).

    Quotes follow a deterministic random walk (seed, tradermade_step_bp).
    Error bodies {"errors": {"message": ...}} are unverified (CONTRACTS)."""

    name = "tradermade"
    prefix = "/tradermade"
    routes = [(("GET",), r"/api/v1/live/?", "live")]

    START = {"EURUSD": 1.0850, "GBPUSD": 1.2700, "USDJPY": 151.20, "AUDUSD": 0.6550, "USDCHF": 0.8800,
             "USDCAD": 1.3600, "NZDUSD": 0.6000, "EURGBP": 0.8550, "EURJPY": 164.10, "XAUUSD": 2650.0}

    def error(self, status, req):
        msg = {401: "API key is invalid", 429: "Too many requests, please slow down"}.get(status, phrase(status))
        return Response.json(status, {"errors": {"message": msg}})

    def live(self, req, m):
        key = req.query.get("api_key", "")
        if not key or key != req.cfg["tradermade_key"]:
            return self.error(401, req)
        codes = [c.strip().upper() for c in req.query.get("currency", "").split(",") if c.strip()]
        if not codes:
            return Response.json(400, {"errors": {"message": "currency parameter is required"}})
        stale = bool(req.cfg["stale"])
        quotes = []
        for code in codes:
            if not re.fullmatch(r"[A-Z]{6}", code):
                # Shape of a per-instrument error: unverified.
                quotes.append({"error": 400, "instrument": code,
                               "message": "We are not able to serve this request, please check your request"})
                continue
            mid = self.state.fx_quote(code, self.START.get(code), req.cfg["tradermade_step_bp"], move=not stale)
            digits = 3 if code.endswith("JPY") else (2 if code.startswith("XAU") else 5)
            pip = 10.0 ** -(digits - 1)
            quotes.append({
                "ask": round(mid + 0.4 * pip, digits),
                "base_currency": code[:3],
                "bid": round(mid - 0.4 * pip, digits),
                "mid": round(mid, digits),
                "quote_currency": code[3:],
            })
        ts = int(req.time + (req.cfg.get("clock_offset_seconds") or 0)) - (3 * 86400 if stale else 0)
        return Response.json(200, {"endpoint": "live", "quotes": quotes,
                                   "requested_time": rfc1123(req.time), "timestamp": ts})


class Birdeye(Service):
    """Birdeye public API (public-api.birdeye.so): GET /defi/price."""

    name = "birdeye"
    prefix = "/birdeye"
    routes = [(("GET",), r"/defi/price/?", "price")]

    def error(self, status, req):
        msg = {401: "Unauthorized", 429: "Too many requests"}.get(status, phrase(status))
        return Response.json(status, {"success": False, "message": msg})

    def price(self, req, m):
        key = req.header("x-api-key", "")
        want = req.cfg.get("birdeye_key")
        if not key or (want is not None and key != want):
            return self.error(401, req)
        addr = req.query.get("address", "").strip()
        if not addr:
            return Response.json(400, {"success": False, "message": "address is invalid"})
        value = None
        for p in (self.state.fixtures.get("pairs") or {}).get("pairs") or []:
            if isinstance(p, dict) and (p.get("baseToken") or {}).get("address") == addr:
                try:
                    value = float(p.get("priceUsd"))
                except (TypeError, ValueError):
                    pass
        if value is None:
            start = {SOL_MINT: 142.35, USDC_MINT: 1.0}.get(addr, (stable_hash(addr) % 100000) / 1000.0 + 0.001)
            value = self.state.fx_quote("birdeye:" + addr, start, 5.0 if addr != USDC_MINT else 0.0, move=True)
        return Response.json(200, {"success": True, "data": {
            "value": round(value, 10),
            "updateUnixTime": int(req.time),
            "updateHumanTime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(req.time)),
            "priceChange24h": round(((stable_hash(addr) % 2001) - 1000) / 100.0, 2),
        }})


N8N_EXEC_STATUSES = ("canceled", "crashed", "error", "new", "running", "success", "unknown", "waiting")
N8N_API_PAGE_MAX = 250


def n8n_workflow_id(path: str) -> str:
    """The id n8n/generate.py gives a workflow: 'orch' + the first 12 of the PascalCase path."""
    return ("orch" + "".join(part.capitalize() for part in path.split("-")))[:16]


def n8n_iso(t: float | None) -> str | None:
    """n8n's time format: 2025-03-17T09:00:00.123Z."""
    if t is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1000):03d}Z"


class N8n(Service):
    """n8n 1.x: production webhooks, test webhooks, /healthz and the public API.

    Behaviour keys: "n8n" for everything, "n8n:<path>" for one webhook path
    (wins over "n8n"), "n8n:api" for the public API (wins over "n8n").
    Special behaviour "unregistered": n8n's 404.

    Every webhook POST that n8n would run (registered, authorised, valid
    body) creates an execution, numbered from 1 like n8n's, readable through
    /api/v1/executions.  Its status is 'running' for n8n_exec_seconds, then
    the next n8n_exec_status ('new' stays 'new', with startedAt null)."""

    name = "n8n"
    prefix = "/n8n"
    specials = {"unregistered": "404 'The requested webhook \"<METHOD> <path>\" is not registered.'"}
    routes = [
        (("GET",), r"/healthz/?", "healthz"),
        (("GET",), r"/healthz/readiness/?", "healthz"),
        (("GET",), r"/api/v1/executions/?", "api_executions"),
        (("GET", "DELETE"), r"/api/v1/executions/([^/]+)/?", "api_execution"),
        (("GET",), r"/api/v1/workflows/?", "api_workflows"),
        (("GET",), r"/api/v1/workflows/([^/]+)/?", "api_workflow"),
        (("POST",), r"/rest/login/?", "rest_login"),
        (("POST",), r"/rest/executions/([^/]+)/stop/?", "rest_stop"),
        ((), r"/webhook/(.*)", "webhook"),
        ((), r"/webhook-test/(.*)", "webhook_test"),
    ]
    _WEBHOOK = re.compile(r"/webhook(?:-test)?/(.*)")

    @staticmethod
    def _clean(path: str) -> str:
        return path.strip("/")

    def behaviour_keys(self, req, sub):
        if sub.startswith("/api/"):
            return ["n8n:api", "n8n"]
        if sub.startswith("/rest/"):
            return ["n8n:rest", "n8n"]
        m = self._WEBHOOK.fullmatch(sub)
        return [f"n8n:{self._clean(m.group(1))}", "n8n"] if m else ["n8n"]

    def error(self, status, req):
        if status == 500:
            return Response.json(500, {"message": "Error in workflow"})
        return Response.json(status, {"code": status, "message": phrase(status)})

    def not_found(self, req, sub, wrong_method):
        return Response.json(404, {"code": 404, "message": f"Cannot {req.method} {sub}"})

    @staticmethod
    def _unregistered(req, path: str, hint: str) -> Response:
        return Response.json(404, {"code": 404,
                                   "message": f"The requested webhook \"{req.method} {path}\" is not registered.",
                                   "hint": hint})

    def special(self, word, req, sub):
        m = self._WEBHOOK.fullmatch(sub)
        path = self._clean(m.group(1)) if m else sub.strip("/")
        return self._unregistered(req, path, N8N_PROD_HINT)

    def healthz(self, req, m):
        return Response.json(200, {"status": "ok"})

    def webhook(self, req, m):
        path = self._clean(m.group(1))
        registered = path in req.cfg["n8n_paths"]
        if req.method == "OPTIONS":
            return Response(204, b"", None)
        if req.method != "POST":
            if registered:
                return Response.json(404, {"code": 404, "message": f"This webhook is not registered for "
                                                                   f"{req.method} requests. Did you mean to "
                                                                   f"make a POST request?"})
            return self._unregistered(req, path, N8N_PROD_HINT)
        if not registered:
            return self._unregistered(req, path, N8N_PROD_HINT)
        auth = req.cfg.get("n8n_auth")
        if auth and req.header(auth["header"]) != auth["value"]:
            return Response(403, "Authorization data is wrong!", "text/plain; charset=utf-8")
        ctype = (req.header("content-type") or "").lower()
        if "json" in ctype and req.raw_body.strip() and not req.json_ok:
            try:
                loads_strict(req.raw_body.decode("utf-8"))
                hint = "invalid JSON"
            except (ValueError, RecursionError) as e:
                hint = str(e)
            return Response.json(422, {"code": 422, "message": "Failed to parse request body", "hint": hint})
        exec_id = self._new_execution(req, path)
        body = req.json if isinstance(req.json, dict) else {}
        key = body.get("idempotency_key") or req.header("idempotency-key")
        claim = req.cfg.get("n8n_claim")
        if claim and body.get("probe") is not True and isinstance(key, str) and key:
            verdict, first = self._claim(claim, key, exec_id, path)
            with self.state.lock:
                self.state.n8n_claims.setdefault(key, []).append(verdict)
            if verdict == "duplicate":
                return Response.json(200, {"accepted": True, "duplicate": True, "execution_id": first,
                                           "duplicate_execution_id": exec_id, "trigger_id": body.get("trigger_id"),
                                           "idempotency_key": key, "workflow": path})
            if verdict != "claimed":
                return Response.json(503, {"accepted": False, "error": f"claim failed: {verdict}"})
        if isinstance(key, str) and key and body.get("probe") is not True:
            with self.state.lock:
                self.state.n8n_scans[key] = self.state.n8n_scans.get(key, 0) + 1
        if req.cfg["n8n_answer_seconds"]:
            self.state.sleep(req.cfg["n8n_answer_seconds"])
        if req.cfg["n8n_respond"] == "accepted":
            body = req.json if isinstance(req.json, dict) else {}
            return Response.json(200, {"accepted": True, "execution_id": exec_id,
                                       "trigger_id": body.get("trigger_id"),
                                       "idempotency_key": body.get("idempotency_key") or req.header("idempotency-key"),
                                       "workflow": path, "probe": body.get("probe") is True})
        return Response.json(200, req.cfg["n8n_response"])

    @staticmethod
    def _claim(claim: dict, key: str, exec_id: str, path: str) -> tuple[str, str | None]:
        """POST the claim of key by execution exec_id to the orchestrator:
        ('claimed', None), ('duplicate', the first execution id), or the error."""
        data = json.dumps({"idempotency_key": key, "execution_id": exec_id, "workflow": path}).encode()
        rq = urllib.request.Request(claim["url"], data=data, method="POST",
                                    headers={"Content-Type": "application/json",
                                             "Authorization": f"Bearer {claim['token']}"})
        try:
            with urllib.request.urlopen(rq, timeout=10) as resp:
                ans = json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            return f"http {e.code}", None
        except (OSError, ValueError) as e:
            return f"error {e}", None
        if ans.get("duplicate") is True:
            return "duplicate", str(ans.get("execution_id"))
        return ("claimed", None) if ans.get("claimed") is True else ("refused", None)

    # -- executions and the public API ---------------------------------------
    def _new_execution(self, req, path: str) -> str:
        """Record the execution a webhook call starts; returns its id."""
        status = req.cfg["n8n_exec_status"]
        if isinstance(status, list):
            i = self.state.bump("n8n_exec_status") - 1
            status = status[min(i, len(status) - 1)]
        with self.state.lock:
            exec_id = str(self.state.bump("n8n_execution_id"))
            self.state.n8n_executions[exec_id] = {
                "id": exec_id, "workflowId": n8n_workflow_id(path), "path": path, "started": req.time,
                "final": status, "seconds": req.cfg["n8n_exec_seconds"]}
        return exec_id

    @staticmethod
    def _exec_view(e: dict, now: float) -> dict:
        """An execution as GET /api/v1/executions/{id} shows it at time now."""
        started, final, secs = e["started"], e["final"], e["seconds"]
        if e.get("canceled_at") is not None:
            status, start, stop = "canceled", started, e["canceled_at"]
        elif final == "new":
            status, start, stop = "new", None, None
        elif now < started + secs:
            status, start, stop = "running", started, None
        else:
            status, start = final, started
            stop = None if final in ("running", "waiting") else started + secs
        return {"id": e["id"], "finished": status == "success", "mode": "webhook", "status": status,
                "startedAt": n8n_iso(start), "stoppedAt": n8n_iso(stop), "workflowId": e["workflowId"],
                "retryOf": None, "retrySuccessId": None,
                "waitTill": n8n_iso(started + 3600) if status == "waiting" else None, "customData": {}}

    @staticmethod
    def _api_auth(req) -> Response | None:
        key = req.header("x-n8n-api-key")
        if not key:
            return Response.json(401, {"message": "'X-N8N-API-KEY' header required"})
        want = req.cfg.get("n8n_api_key")
        if want is not None and key != want:
            return Response.json(401, {"message": "unauthorized"})
        return None

    @staticmethod
    def _page(req, items: list) -> Response:
        """{"data": [...], "nextCursor"} for items, with limit and cursor from the query."""
        try:
            limit = int(req.query.get("limit", "100"))
        except ValueError:
            return Response.json(400, {"message": "request/query/limit must be integer"})
        if limit < 1 or limit > N8N_API_PAGE_MAX:
            return Response.json(400, {"message": f"request/query/limit must be <= {N8N_API_PAGE_MAX}"
                                       if limit > 0 else "request/query/limit must be >= 1"})
        offset = 0
        if req.query.get("cursor"):
            try:
                cur = json.loads(base64.b64decode(req.query["cursor"], validate=True).decode("utf-8"))
                offset = int(cur["offset"])
                limit = int(cur["limit"])
                if offset < 0 or not 1 <= limit <= N8N_API_PAGE_MAX:
                    raise ValueError("range")
            except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
                return Response.json(400, {"message": "An invalid cursor was provided"})
        size = min(limit, req.cfg["n8n_page_max"])
        page = items[offset:offset + size]
        nxt = None
        if offset + size < len(items):
            nxt = base64.b64encode(dumps({"offset": offset + size, "limit": limit})).decode("ascii")
        return Response.json(200, {"data": page, "nextCursor": nxt})

    def api_execution(self, req, m):
        denied = self._api_auth(req)
        if denied:
            return denied
        exec_id = m.group(1)
        with self.state.lock:
            e = self.state.n8n_executions.get(exec_id)
            if e is not None and req.method == "DELETE":
                del self.state.n8n_executions[exec_id]
        if e is None:
            return Response.json(404, {"message": "Not Found"})
        return Response.json(200, self._exec_view(e, time.time()))

    # -- the internal REST API: owner login and stop ----------------------------
    def rest_login(self, req, m):
        owner = req.cfg.get("n8n_owner")
        body = req.json if isinstance(req.json, dict) else {}
        if (not owner or body.get("emailOrLdapLoginId") != owner["email"]
                or body.get("password") != owner["password"]):
            return Response.json(401, {"code": 401, "message": "Wrong username or password. Do you have caps lock on?"})
        token = "sess-" + secrets.token_hex(24)
        with self.state.lock:
            self.state.n8n_sessions.add(token)
            self.state.bump("n8n_logins")
        return Response.json(200, {"data": {"id": "owner-1", "email": owner["email"], "role": "global:owner"}},
                             headers=[("Set-Cookie", f"n8n-auth={token}; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax")])

    def rest_stop(self, req, m):
        cookies = dict(c.strip().split("=", 1) for c in (req.header("cookie") or "").split(";") if "=" in c)
        with self.state.lock:
            ok = cookies.get("n8n-auth") in self.state.n8n_sessions
        if not ok:
            return Response.json(401, {"status": "error", "message": "Unauthorized"})
        exec_id = m.group(1)
        now = time.time()
        with self.state.lock:
            e = self.state.n8n_executions.get(exec_id)
            # n8n 1.123 answers both with HTTP 500 and "code": 0
            if e is None:
                return Response.json(500, {"code": 0, "message": "Failed to find execution to stop"})
            view = self._exec_view(e, now)
            if view["status"] not in ("new", "unknown", "waiting", "running"):
                return Response.json(500, {"code": 0, "message": f"Only running or waiting executions can be "
                                                                f"stopped and {exec_id} is currently {view['status']}"})
            e["canceled_at"] = now
            self.state.bump("n8n_stops")
            view = self._exec_view(e, now)
        return Response.json(200, {"data": {"mode": "webhook", "startedAt": view["startedAt"],
                                            "stoppedAt": view["stoppedAt"], "finished": False,
                                            "status": "canceled"}})

    def api_executions(self, req, m):
        denied = self._api_auth(req)
        if denied:
            return denied
        now = time.time()
        with self.state.lock:
            views = [self._exec_view(e, now) for e in reversed(list(self.state.n8n_executions.values()))]
        if req.query.get("workflowId"):
            views = [v for v in views if v["workflowId"] == req.query["workflowId"]]
        if req.query.get("status"):
            views = [v for v in views if v["status"] == req.query["status"]]
        return self._page(req, views)

    @staticmethod
    def _workflows(req) -> list:
        given = req.cfg.get("n8n_workflows")
        if given is not None:
            return copy.deepcopy(given)
        out = []
        for path in req.cfg["n8n_paths"]:
            wid = n8n_workflow_id(path)
            out.append({
                "id": wid, "name": path, "active": True, "isArchived": False,
                "createdAt": "2025-03-17T09:00:00.000Z", "updatedAt": "2025-03-17T09:00:00.000Z",
                "nodes": [{"id": f"{wid}-webhook", "name": "Webhook", "type": "n8n-nodes-base.webhook",
                           "typeVersion": 2, "position": [0, 0], "webhookId": f"{wid}-hook",
                           "parameters": {"httpMethod": "POST", "path": path, "authentication": "headerAuth",
                                          "responseMode": "responseNode", "options": {}}}],
                "connections": {}, "settings": {"executionOrder": "v1"}, "staticData": None, "meta": None,
                "pinData": {}, "versionId": f"{wid}-v1", "triggerCount": 1, "tags": []})
        return out

    def api_workflows(self, req, m):
        denied = self._api_auth(req)
        if denied:
            return denied
        wfs = self._workflows(req)
        active = req.query.get("active")
        if active in ("true", "false"):
            wfs = [w for w in wfs if isinstance(w, dict) and bool(w.get("active")) == (active == "true")]
        elif active is not None:
            return Response.json(400, {"message": "request/query/active must be boolean"})
        return self._page(req, wfs)

    def api_workflow(self, req, m):
        denied = self._api_auth(req)
        if denied:
            return denied
        for w in self._workflows(req):
            if isinstance(w, dict) and str(w.get("id")) == m.group(1):
                return Response.json(200, w)
        return Response.json(404, {"message": "Not Found"})

    def webhook_test(self, req, m):
        return self._unregistered(req, self._clean(m.group(1)), N8N_TEST_HINT)


class Llm(Service):
    """OpenAI-compatible chat completions, Groq flavour (CONTRACTS.md).

    POST /llm/<anything>/chat/completions (so base URLs .../llm/v1 and
    .../llm/openai/v1 both work), GET /llm/<anything>/models.  Every answer
    carries Groq's x-ratelimit-* headers."""

    name = "llm"
    prefix = "/llm"
    specials = {
        "json_validate_failed": "400 code json_validate_failed (Groq JSON-mode failure)",
        "fenced": "content wrapped in ```json fences",
        "think": "content preceded by <think>...</think>",
        "prose": "text before and after the JSON content",
        "not_json": "content that holds no JSON at all",
        "truncated": "content cut in half, finish_reason length",
    }
    routes = [
        (("POST",), r"(?:/.*)?/chat/completions/?", "completions"),
        (("GET",), r"(?:/.*)?/models/?", "models"),
    ]
    ERROR_TYPES = {400: ("invalid_request_error", None), 401: ("invalid_request_error", "invalid_api_key"),
                   403: ("permission_error", None), 404: ("invalid_request_error", "unknown_url"),
                   413: ("invalid_request_error", "request_too_large"),
                   422: ("invalid_request_error", None), 498: ("invalid_request_error", "capacity_exceeded")}

    def _ratelimit_headers(self, remaining: int) -> list[tuple[str, str]]:
        n = self.state.bump("llm_calls")
        return [("x-ratelimit-limit-requests", "1000"), ("x-ratelimit-limit-tokens", "12000"),
                ("x-ratelimit-remaining-requests", str(max(0, remaining))),
                ("x-ratelimit-remaining-tokens", str(max(0, 12000 - 900 * n))),
                ("x-ratelimit-reset-requests", "2m59.56s"), ("x-ratelimit-reset-tokens", "7.66s")]

    def serve(self, req, sub):
        window = req.cfg.get("llm_remaining_requests")
        if window is not None:
            used = self.state.bump("llm_window") - 1        # requests before this one
            if used >= window:                               # none left: Groq's 429
                r = self.too_many(req)
                r.headers.extend(self._ratelimit_headers(0))
                return r
            remaining = window - used - 1
        else:
            remaining = max(1, 1000 - self.state.counters.get("llm_calls", 0) - 1)
        r = super().serve(req, sub)
        if r.hostile == "huge":
            r.headers.extend([("x-ratelimit-remaining-requests", "1e19"), ("x-ratelimit-remaining-tokens", "1e19"),
                              ("x-ratelimit-reset-requests", "1e19s"), ("x-ratelimit-reset-tokens", "1e19"),
                              ("retry-after", "1e300")])
        else:
            r.headers.extend(self._ratelimit_headers(remaining))
        return r

    def _err(self, status, message, etype=None, code=None, **extra) -> Response:
        e = {"message": message, "type": etype or ("internal_server_error" if status >= 500 else
                                                   "invalid_request_error")}
        if code:
            e["code"] = code
        e.update(extra)
        return Response.json(status, {"error": e})

    def error(self, status, req):
        etype, code = self.ERROR_TYPES.get(status, (None, None))
        msg = {401: "Invalid API Key"}.get(status, phrase(status))
        return self._err(status, msg, etype, code)

    def too_many(self, req):
        ra = req.cfg["retry_after"]
        model = req.json.get("model", "llama-3.3-70b-versatile") if isinstance(req.json, dict) else "unknown"
        r = self._err(429, f"Rate limit reached for model `{model}` in organization `org_standin` service tier "
                           f"`on_demand` on tokens per minute (TPM): Limit 12000, Used 11800, Requested 900. "
                           f"Please try again in {ra}s. Need more tokens? Upgrade to Dev Tier today at "
                           f"https://console.groq.com/settings/billing", "tokens", "rate_limit_exceeded")
        r.headers.append(("retry-after", str(ra)))
        return r

    def _content(self, req) -> str:
        c = req.cfg.get("llm_content")
        if c is None:
            c = LLM_DEFAULT_DECISION
        return c if isinstance(c, str) else json.dumps(c)

    def _check(self, req) -> Response | None:
        """Authentication and request validation, as Groq does them."""
        auth = req.header("authorization", "")
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        want = req.cfg.get("llm_key")
        if not key or (want is not None and key != want):
            return self.error(401, req)
        if not req.json_ok or not isinstance(req.json, dict):
            return self._err(400, "We could not parse the JSON body of your request. (HINT: This likely means "
                                  "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                                  "payload, but what was sent was not valid JSON.)")
        body = req.json
        if not isinstance(body.get("model"), str) or not body["model"]:
            return self._err(400, "'model' : property 'model' is missing")
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs:
            return self._err(400, "'messages' : minimum number of items is 1")
        for i, mm in enumerate(msgs):
            if not isinstance(mm, dict) or mm.get("role") not in ("system", "user", "assistant", "tool", "developer"):
                return self._err(400, f"'messages.{i}' : discriminator property 'role' has invalid value")
        rf = body.get("response_format")
        if isinstance(rf, dict) and rf.get("type") == "json_schema" and not req.cfg["llm_json_schema"]:
            return self._err(400, f"This model does not support response format `json_schema`. See supported "
                                  f"models at https://console.groq.com/docs/structured-outputs#supported-models")
        return None

    def completions(self, req, m, word="ok"):
        bad = self._check(req)
        if bad:
            return bad
        content = self._content(req)
        finish = "stop"
        if word == "json_validate_failed":
            return self._err(400, "Failed to generate JSON. Please adjust your prompt. See 'failed_generation' "
                                  "for more details.", "invalid_request_error", "json_validate_failed",
                             failed_generation=content[: max(1, len(content) // 2)])
        if word == "fenced":
            content = f"```json\n{content}\n```"
        elif word == "think":
            content = f"<think>\nThe sources look fine; pick the normal scan.\n</think>\n{content}"
        elif word == "prose":
            content = f"Here is my decision:\n{content}\nLet me know if you need anything else."
        elif word == "not_json":
            content = "I cannot decide without more information about the market."
        elif word == "truncated":
            content, finish = content[: max(1, len(content) // 2)], "length"
        n = self.state.bump("llm_completions")
        prompt_chars = sum(len(str(x.get("content", ""))) for x in req.json["messages"])
        pt, ct = max(1, prompt_chars // 4), max(1, len(content) // 4)
        return Response.json(200, {
            "id": f"chatcmpl-standin-{n}",
            "object": "chat.completion",
            "created": int(req.time),
            "model": req.json["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "logprobs": None, "finish_reason": finish}],
            "usage": {"queue_time": 0.012, "prompt_tokens": pt, "prompt_time": 0.021,
                      "completion_tokens": ct, "completion_time": 0.054, "total_tokens": pt + ct,
                      "total_time": 0.075},
            "system_fingerprint": "fp_standin",
            "x_groq": {"id": f"req_standin_{n}"},
        })

    def models(self, req, m):
        return Response.json(200, {"object": "list", "data": [
            {"id": "llama-3.3-70b-versatile", "object": "model", "created": 1733447754, "owned_by": "Meta",
             "active": True, "context_window": 131072}]})

    def special(self, word, req, sub):
        if req.method == "POST" and re.fullmatch(r"(?:/.*)?/chat/completions/?", sub):
            return self.completions(req, None, word)
        return self.route(req, sub)

    def not_found(self, req, sub, wrong_method):
        return self._err(404, "Unknown request URL: " + req.method + " " + req.path
                         + ". Please check the URL for typos, or see the docs at https://console.groq.com/docs/",
                         "invalid_request_error", "unknown_url")


class Telegram(Service):
    """Telegram Bot API: /telegram/bot<TOKEN>/<method> (sendMessage, getMe).

    Behaviour "429" is Telegram's flood control:
    {"ok":false,"error_code":429,"description":"Too Many Requests: retry after N",
     "parameters":{"retry_after":N}} with N = telegram_retry_after."""

    name = "telegram"
    prefix = "/telegram"
    routes = [((), r"/bot([^/]*)/([A-Za-z]+)/?", "method")]
    DESCRIPTIONS = {400: "Bad Request: chat not found", 401: "Unauthorized",
                    403: "Forbidden: bot was blocked by the user", 404: "Not Found",
                    409: "Conflict: terminated by other getUpdates request"}
    TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
            "tg-emoji", "code", "pre", "blockquote"}
    TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s[^<>]*)?)>")

    CONFLICT_WEBHOOK = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to " \
                       "delete the webhook first"
    CONFLICT_POLLER = "Conflict: terminated by other getUpdates request; make sure that only one bot instance " \
                      "is running"

    def behaviour_keys(self, req, sub):
        m = re.fullmatch(r"/bot[^/]*/([A-Za-z]+)/?", sub)
        if m and m.group(1).lower() == "getupdates":
            return ["telegram:updates"]
        return ["telegram"]

    def _fail(self, status, description, **params) -> Response:
        body = {"ok": False, "error_code": status, "description": description}
        if params:
            body["parameters"] = params
        return Response.json(status, body)

    def error(self, status, req):
        return self._fail(status, self.DESCRIPTIONS.get(status, phrase(status)))

    def too_many(self, req):
        n = req.cfg["telegram_retry_after"]
        return self._fail(429, f"Too Many Requests: retry after {n}", retry_after=n)

    def not_found(self, req, sub, wrong_method):
        return self._fail(404, "Not Found")

    def _params(self, req) -> dict:
        """Parameters from the query string, then a JSON or form body."""
        params: dict = dict(req.query)
        if isinstance(req.json, dict):
            params.update(req.json)
        elif "application/x-www-form-urlencoded" in (req.header("content-type") or ""):
            params.update(dict(query_pairs(req.text)))
        return params

    def html_error(self, text: str) -> str | None:
        """Why Telegram's HTML parse mode would refuse text, or None.

        Wording follows Telegram's messages; byte offsets are UTF-8."""
        stack: list[str] = []
        i = 0
        while True:
            j = text.find("<", i)
            if j < 0:
                break
            off = len(text[:j].encode("utf-8"))
            m = self.TAG_RE.match(text, j)
            if not m:
                nm = re.match(r"</?([^\s<>]*)", text[j:]).group(1)
                return f"Unsupported start tag \"{nm}\" at byte offset {off}"
            close, name = m.group(1) == "/", m.group(2).lower()
            if close:
                if not stack:
                    return f"Unexpected end tag at byte offset {off}"
                if stack[-1] != name:
                    return (f"Unmatched end tag at byte offset {off}, expected \"</{stack[-1]}>\", "
                            f"found \"</{name}>\"")
                stack.pop()
            else:
                if name not in self.TAGS:
                    return f"Unsupported start tag \"{name}\" at byte offset {off}"
                stack.append(name)
            i = m.end()
        if stack:
            return f"Can't find end tag corresponding to start tag \"{stack[-1]}\""
        return None

    def method(self, req, m):
        token, method = m.group(1), m.group(2).lower()
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token):
            return self._fail(404, "Not Found")
        want = req.cfg.get("telegram_token")
        if want is not None and token != want:
            return self._fail(401, "Unauthorized")
        bot = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": "Stand-in Bot",
               "username": "standin_bot"}
        if method == "getme":
            return Response.json(200, {"ok": True, "result": dict(bot, can_join_groups=True,
                                                                  can_read_all_group_messages=False,
                                                                  supports_inline_queries=False)})
        if method == "getupdates":
            return self.get_updates(req)
        if method in ("setwebhook", "deletewebhook", "getwebhookinfo"):
            return self.webhook(req, method)
        if method != "sendmessage":
            return self._fail(404, "Not Found")
        p = self._params(req)
        chat_id = p.get("chat_id")
        if chat_id is None or chat_id == "":
            return self._fail(400, "Bad Request: chat_id is empty")
        if isinstance(chat_id, str) and re.fullmatch(r"-?\d+", chat_id):
            chat_id = int(chat_id)
        if not isinstance(chat_id, (int, str)) or isinstance(chat_id, bool):
            return self._fail(400, "Bad Request: chat not found")
        text = p.get("text")
        if not isinstance(text, str) or not text.strip():
            return self._fail(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return self._fail(400, "Bad Request: message is too long")
        mode = p.get("parse_mode")
        if mode not in (None, "", "HTML", "html", "Markdown", "MarkdownV2"):
            return self._fail(400, "Bad Request: unsupported parse_mode")
        if mode in ("HTML", "html"):
            why = self.html_error(text)
            if why:
                return self._fail(400, "Bad Request: can't parse entities: " + why)
            plain = re.sub(r"<[^>]*>", "", text)
            plain = plain.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
        else:
            plain = text
        if isinstance(chat_id, int):
            chat = {"id": chat_id, "type": "private" if chat_id > 0 else
                    ("supergroup" if str(chat_id).startswith("-100") else "group")}
        else:
            chat = {"id": -1000000000000 - stable_hash(chat_id) % 10**9, "type": "channel",
                    "username": chat_id.lstrip("@")}
        n = self.state.bump("telegram_message_id")
        with self.state.lock:
            self.state.tg_sent.append({"seq": req.seq, "time": round(req.time, 6), "message_id": n,
                                       "chat_id": p.get("chat_id"), "text": text, "plain": plain,
                                       "parse_mode": mode})
        return Response.json(200, {"ok": True, "result": {
            "message_id": n, "from": bot, "chat": chat, "date": int(req.time), "text": plain}})

    @staticmethod
    def _int_param(p: dict, name: str, default: int, lo: int, hi: int) -> int | None:
        v = p.get(name, default)
        if isinstance(v, str) and re.fullmatch(r"-?\d+", v):
            v = int(v)
        if not isinstance(v, int) or isinstance(v, bool):
            return None
        return max(lo, min(hi, v))

    def get_updates(self, req) -> Response:
        """Long polling as the Bot API does it: confirm what is below offset,
        answer the pending updates at once, else wait up to timeout seconds
        for one; a newer getUpdates ends this one with 409."""
        p = self._params(req)
        offset = self._int_param(p, "offset", 0, -(2 ** 31), 2 ** 53)
        limit = self._int_param(p, "limit", 100, 1, 100)
        timeout = self._int_param(p, "timeout", 0, 0, 50)
        if offset is None or limit is None or timeout is None:
            return self._fail(400, "Bad Request: wrong parameter type")
        st = self.state
        with st.lock:
            if req.cfg.get("telegram_webhook"):
                return self._fail(409, self.CONFLICT_WEBHOOK)
            st.tg_polls += 1
            st.tg_poll_gen += 1
            gen = st.tg_poll_gen
            st.tg_cond.notify_all()                  # an older poll still open ends with 409
            if offset > 0:
                st.tg_updates = [u for u in st.tg_updates if u["update_id"] >= offset]
                st.tg_offset = max(st.tg_offset, offset)
            deadline = time.monotonic() + timeout
            st.tg_open_polls += 1
            try:
                while True:
                    pending = [u for u in st.tg_updates if u["update_id"] >= offset][:limit]
                    left = deadline - time.monotonic()
                    if pending or left <= 0 or st.stopping.is_set():
                        return Response.json(200, {"ok": True, "result": copy.deepcopy(pending)})
                    st.tg_cond.wait(min(left, 0.5))
                    if st.tg_poll_gen != gen:
                        return self._fail(409, self.CONFLICT_POLLER)
            finally:
                st.tg_open_polls -= 1

    def webhook(self, req, method) -> Response:
        p = self._params(req)
        with self.state.lock:
            if method == "getwebhookinfo":
                return Response.json(200, {"ok": True, "result": {
                    "url": self.state.config.get("telegram_webhook") or "", "has_custom_certificate": False,
                    "pending_update_count": len(self.state.tg_updates)}})
            url = p.get("url") if method == "setwebhook" else None
            if method == "setwebhook" and not (isinstance(url, str) and url):
                return self._fail(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
            self.state.config["telegram_webhook"] = url
            self.state.tg_cond.notify_all()
        return Response.json(200, {"ok": True, "result": True,
                                   "description": "Webhook was set" if url else "Webhook was deleted"})


# The dispatch table: prefix -> service class.  Add a class here to add a route.
SERVICES = [DexScreener, PumpFun, TraderMade, Birdeye, N8n, Llm, Telegram]
SERVICE_BY_NAME = {s.name: s for s in SERVICES}


# ---------------------------------------------------------------------------
# Configuration validation
# ---------------------------------------------------------------------------

def _check_behaviour_value(key: str, value) -> None:
    svc = SERVICE_BY_NAME[key.split(":", 1)[0]]
    values = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not value:
        raise ConfigError(f"behaviour {key}: empty list")
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool):
            v = str(v)
        if not isinstance(v, str):
            raise ConfigError(f"behaviour {key}: expected a string, got {json.dumps(v)}")
        if v in ("ok", "slow", "timeout", "empty", "malformed") or v in svc.specials or v in HOSTILE:
            continue
        if v.isdigit() and 400 <= int(v) <= 599:
            continue
        allowed = ["ok", "slow", "timeout", "empty", "malformed", "429", "<400-599>"] + sorted(HOSTILE) + sorted(svc.specials)
        raise ConfigError(f"behaviour {key}: unknown value {v!r}; allowed: {', '.join(allowed)}")


def _num(lo=None, hi=None, nullable=False, integer=False):
    def check(k, v):
        if v is None and nullable:
            return
        if not is_number(v) or (integer and not isinstance(v, int)):
            raise ConfigError(f"{k}: expected {'an integer' if integer else 'a number'}"
                              f"{' or null' if nullable else ''}, got {json.dumps(v)}")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ConfigError(f"{k}: {v} out of range [{lo}, {hi}]")
    return check


def _str(nullable=False):
    def check(k, v):
        if not (isinstance(v, str) or (nullable and v is None)):
            raise ConfigError(f"{k}: expected a string{' or null' if nullable else ''}, got {json.dumps(v)}")
    return check


def _bool(k, v):
    if not isinstance(v, bool):
        raise ConfigError(f"{k}: expected true or false, got {json.dumps(v)}")


def _list_or_null(k, v):
    if v is not None and not isinstance(v, list):
        raise ConfigError(f"{k}: expected a list or null")


def _paths(k, v):
    if not isinstance(v, list) or not all(isinstance(p, str) and p.strip("/") for p in v):
        raise ConfigError(f"{k}: expected a list of non-empty strings")


def _auth(k, v):
    if v is None:
        return
    if (not isinstance(v, dict) or set(v) != {"header", "value"} or not isinstance(v["header"], str)
            or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", v["header"]) or not isinstance(v["value"], str)):
        raise ConfigError(f"{k}: expected null or {{\"header\": name, \"value\": string}}")


def _any(k, v):
    pass


def _respond(k, v):
    if v not in ("immediately", "accepted"):
        raise ConfigError(f"{k}: expected 'immediately' or 'accepted', got {json.dumps(v)}")


def _exec_status(k, v):
    values = v if isinstance(v, list) else [v]
    if isinstance(v, list) and not v:
        raise ConfigError(f"{k}: empty list")
    for x in values:
        if x not in N8N_EXEC_STATUSES:
            raise ConfigError(f"{k}: unknown status {json.dumps(x)}; allowed: {', '.join(N8N_EXEC_STATUSES)}")


def _claim(k, v):
    if v is not None and not (isinstance(v, dict) and set(v) == {"url", "token"}
                              and isinstance(v["url"], str) and v["url"].startswith("http://")
                              and isinstance(v["token"], str)):
        raise ConfigError(f"{k}: expected null or {{\"url\": \"http://...\", \"token\": string}}")


def _owner(k, v):
    if v is not None and not (isinstance(v, dict) and set(v) == {"email", "password"}
                              and all(isinstance(x, str) and x for x in v.values())):
        raise ConfigError(f"{k}: expected null or {{\"email\": string, \"password\": string}}")


def _workflow_list(k, v):
    if v is not None and not (isinstance(v, list) and all(isinstance(w, dict) for w in v)):
        raise ConfigError(f"{k}: expected null or a list of objects")


CONFIG_CHECKS = {
    "slow_seconds": _num(0, 3600), "timeout_seconds": _num(0, 3600), "retry_after": _num(0, 86400, integer=True),
    "seed": _num(integer=True), "dex_m5": _num(nullable=True), "dex_created_ago_s": _num(nullable=True),
    "dex_token_name": _str(nullable=True),
    "dex_walk_bp": _num(0, 10000), "dex_price_factor": _num(1e-6, 1e6),
    "tradermade_key": _str(), "tradermade_step_bp": _num(0, 10000), "stale": _bool,
    "clock_offset_seconds": _num(-10 ** 10, 10 ** 10),
    "birdeye_key": _str(nullable=True), "pumpfun_coins": _list_or_null, "n8n_paths": _paths,
    "n8n_response": _any, "n8n_auth": _auth, "telegram_token": _str(nullable=True),
    "telegram_retry_after": _num(0, 86400, integer=True), "telegram_webhook": _str(nullable=True),
    "llm_key": _str(nullable=True),
    "llm_content": _any, "llm_json_schema": _bool,
    "n8n_respond": _respond, "n8n_exec_status": _exec_status, "n8n_exec_seconds": _num(0, 86400),
    "n8n_api_key": _str(nullable=True), "n8n_workflows": _workflow_list,
    "n8n_page_max": _num(1, N8N_API_PAGE_MAX, integer=True), "n8n_owner": _owner, "n8n_claim": _claim,
    "n8n_answer_seconds": _num(0, 3600),
    "llm_remaining_requests": _num(0, 10 ** 9, integer=True, nullable=True),
}
assert set(CONFIG_CHECKS) | {"behaviour"} == set(CONFIG_DOC)


# ---------------------------------------------------------------------------
# Shared state
# ---------------------------------------------------------------------------

class State:
    """Configuration, recorded requests and the random walks, under one lock."""

    def __init__(self, fixtures: dict, record_path: str | None, quiet: bool):
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.woken = threading.Event()     # set (and replaced) by release()
        self.sleeping = 0                  # handlers in sleep() now
        self.fixtures = fixtures
        self.quiet = quiet
        try:
            self.record_file = open(record_path, "a", encoding="utf-8") if record_path else None
        except OSError as e:
            raise SystemExit(f"standin: cannot open the record file: {e}")
        self.seq = 0
        self.requests: list[dict] = []
        self.dropped = 0
        self.reset()

    def log(self, msg: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"standin {time.strftime('%H:%M:%S')} {msg}\n")
            sys.stderr.flush()

    def reset(self) -> None:
        """Default configuration, no requests, random walks restarted."""
        with self.lock:
            self.config = default_config()
            self.requests = []
            self.dropped = 0
            self.counters: dict[str, int] = {}
            self.n8n_executions: dict[str, dict] = {}
            self.n8n_sessions: set[str] = set()
            self.n8n_scans: dict[str, int] = {}        # idempotency key -> executions that scanned
            self.n8n_claims: dict[str, list] = {}      # idempotency key -> [claim verdicts]
            # Telegram: updates queued for getUpdates, what the bot sent; the
            # update ids keep growing across resets, as Telegram's do
            self.tg_updates: list[dict] = []
            self.tg_offset = 0                         # the highest offset a getUpdates confirmed
            self.tg_polls = 0
            self.tg_open_polls = 0
            self.tg_poll_gen = getattr(self, "tg_poll_gen", 0) + 1   # wakes (409) a poll still open
            self.tg_sent: list[dict] = []
            if not hasattr(self, "tg_next_id"):
                self.tg_next_id = 1000
            if not hasattr(self, "tg_cond"):
                self.tg_cond = threading.Condition(self.lock)
            self.tg_cond.notify_all()
            self._reseed()

    def _reseed(self) -> None:
        self.rng = random.Random(self.config["seed"])
        self.walk: dict[str, float] = {}

    def next_seq(self) -> int:
        with self.lock:
            self.seq += 1
            return self.seq

    def bump(self, counter: str) -> int:
        """Increment a named counter (reset by /_standin/reset); returns the new value."""
        with self.lock:
            self.counters[counter] = self.counters.get(counter, 0) + 1
            return self.counters[counter]

    def snapshot(self) -> dict:
        with self.lock:
            return copy.deepcopy(self.config)

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake up at shutdown or at release()."""
        with self.lock:
            woken = self.woken
            self.sleeping += 1
        try:
            if not self.stopping.is_set():
                woken.wait(seconds)
        finally:
            with self.lock:
                self.sleeping -= 1

    def release(self) -> int:
        """Wake every handler sleeping now; returns how many there were."""
        with self.lock:
            woken, self.woken = self.woken, threading.Event()
            n = self.sleeping
        woken.set()
        return n

    def pick_behaviour(self, keys: list[str]) -> str:
        """The behaviour word for the first configured key; lists advance one step per call."""
        with self.lock:
            beh = self.config["behaviour"]
            for key in keys:
                if key not in beh:
                    continue
                v = beh[key]
                if isinstance(v, list):
                    i = self.counters.get("behaviour:" + key, 0)
                    self.counters["behaviour:" + key] = i + 1
                    v = v[min(i, len(v) - 1)]
                return str(v)
            return "ok"

    def fx_quote(self, name: str, start: float | None, step_bp: float, move: bool) -> float:
        """Next value of a deterministic geometric random walk named name."""
        with self.lock:
            if name not in self.walk:
                self.walk[name] = start if start else 1.0 + (stable_hash(name) % 1000) / 1000.0
            elif move and step_bp > 0:
                self.walk[name] *= math.exp(self.rng.gauss(0.0, step_bp / 10000.0))
            return self.walk[name]

    def update_config(self, patch) -> dict:
        """Validate patch and merge it; all or nothing.  Raises ConfigError."""
        if not isinstance(patch, dict):
            raise ConfigError("expected a JSON object")
        patch = dict(patch)
        if "behavior" in patch:                     # accept the American spelling
            if "behaviour" in patch:
                raise ConfigError("give behaviour or behavior, not both")
            patch["behaviour"] = patch.pop("behavior")
        for k, v in patch.items():
            if k == "behaviour":
                if not isinstance(v, dict):
                    raise ConfigError("behaviour: expected an object")
                for bk, bv in v.items():
                    if not (bk in SERVICE_BY_NAME or (bk.startswith("n8n:") and bk[4:].strip("/"))
                            or bk == "telegram:updates"):
                        raise ConfigError(f"behaviour: unknown key {bk!r}; allowed: "
                                          f"{', '.join(SERVICE_BY_NAME)}, n8n:<path>, telegram:updates")
                    if bv is not None:
                        _check_behaviour_value(bk, bv)
            elif k in CONFIG_CHECKS:
                CONFIG_CHECKS[k](k, v)
            else:
                raise ConfigError(f"unknown key {k!r}; known: behaviour, {', '.join(CONFIG_CHECKS)}")
        with self.lock:
            new = copy.deepcopy(self.config)
            for k, v in patch.items():
                if k == "behaviour":
                    defaults = default_config()["behaviour"]
                    for bk, bv in v.items():
                        if bk.startswith("n8n:"):
                            bk = "n8n:" + bk[4:].strip("/")
                        self.counters.pop("behaviour:" + bk, None)
                        if bv is None:
                            if bk in defaults:
                                new["behaviour"][bk] = defaults[bk]
                            else:
                                new["behaviour"].pop(bk, None)
                        else:
                            new["behaviour"][bk] = [str(x) for x in bv] if isinstance(bv, list) else str(bv)
                elif k == "n8n_paths":
                    new[k] = [p.strip("/") for p in v]
                elif k == "n8n_exec_status":
                    self.counters.pop("n8n_exec_status", None)
                    new[k] = copy.deepcopy(v)
                elif k == "llm_remaining_requests":
                    self.counters.pop("llm_window", None)      # a new window starts now
                    new[k] = v
                else:
                    new[k] = copy.deepcopy(v)
            reseed = "seed" in patch
            self.config = new
            if reseed:
                self._reseed()
            return copy.deepcopy(self.config)

    def record(self, rec: dict) -> None:
        with self.lock:
            self.requests.append(rec)
            if len(self.requests) > MAX_RECORDS:
                del self.requests[0]
                self.dropped += 1
            if self.record_file:
                try:
                    self.record_file.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    self.record_file.flush()
                except OSError as e:
                    self.log(f"cannot write the record file: {e}")

    def find(self, prefix: str, method: str | None, since: int | None) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"].startswith(prefix)
                    and (method is None or r["method"] == method)
                    and (since is None or r["seq"] > since)]

    def clear_requests(self) -> None:
        with self.lock:
            self.requests = []
            self.dropped = 0


# ---------------------------------------------------------------------------
# Application: control routes and dispatch
# ---------------------------------------------------------------------------

class App:
    """Routes a Request to the control API or to a service."""

    def __init__(self, state: State):
        self.state = state
        self.services = [(cls.prefix, cls(state)) for cls in SERVICES]

    @staticmethod
    def _under(path: str, prefix: str) -> str | None:
        """The part of path below prefix, or None when path is not under it."""
        if path == prefix:
            return "/"
        if path.startswith(prefix + "/"):
            return path[len(prefix):]
        return None

    def service_for(self, path: str):
        for prefix, svc in self.services:
            sub = self._under(path, prefix)
            if sub is not None:
                return svc, sub
        return None, None

    def handle(self, req: Request) -> Response:
        sub = self._under(req.path, "/_standin")
        if sub is not None:
            return self.control(req, sub)
        svc, sub = self.service_for(req.path)
        self.state.record(req.to_record(svc.name if svc else None))
        if svc is None:
            return Response.json(404, {"error": "no stand-in service at this path", "path": req.path,
                                       "services": [p for p, _ in self.services]})
        req.cfg = self.state.snapshot()
        try:
            return svc.serve(req, sub)
        except Exception:                       # a bug here must not kill the thread silently
            tb = traceback.format_exc()
            self.state.log(f"internal error on {req.method} {req.path}:\n{tb}")
            return Response.json(500, {"error": "stand-in internal error", "standin": True,
                                       "detail": tb.strip().splitlines()[-1]})

    def control(self, req: Request, sub: str) -> Response:
        """The /_standin/ API used by tests."""
        method = "GET" if req.method == "HEAD" else req.method
        table = {
            "/config": {"GET": self.get_config, "POST": self.post_config},
            "/reset": {"POST": self.post_reset},
            "/requests": {"GET": self.get_requests, "DELETE": self.delete_requests},
            "/requests/count": {"GET": self.get_count},
            "/health": {"GET": self.get_health},
            "/n8n/scans": {"GET": self.get_scans},
            "/telegram/updates": {"GET": self.get_tg_updates, "POST": self.post_tg_updates},
            "/telegram/messages": {"GET": self.get_tg_messages},
            "/release": {"POST": self.post_release},
        }
        key = sub.rstrip("/") or "/"
        if key not in table:
            return Response.json(404, {"error": "unknown control route", "routes":
                                       [f"{m} /_standin{p}" for p, ms in table.items() for m in ms]})
        fn = table[key].get(method)
        if fn is None:
            return Response.json(405, {"error": "method not allowed"},
                                 headers=[("Allow", ", ".join(table[key]))])
        try:
            return fn(req)
        except ConfigError as e:
            return Response.json(400, {"error": str(e)})

    def get_config(self, req):
        return Response.json(200, self.state.snapshot())

    def post_config(self, req):
        if not req.json_ok:
            raise ConfigError("body is not valid JSON" if req.raw_body.strip() else "empty body: expected a JSON object")
        return Response.json(200, self.state.update_config(req.json))

    def post_reset(self, req):
        self.state.reset()
        return Response.json(200, {"ok": True})

    def post_release(self, req):
        return Response.json(200, {"ok": True, "woken": self.state.release()})

    def _filters(self, req):
        prefix = req.query.get("prefix", "")
        method = req.query.get("method") or None
        try:
            since = int(req.query["since"]) if req.query.get("since") else None
            limit = int(req.query["limit"]) if req.query.get("limit") else None
        except ValueError:
            raise ConfigError("since and limit must be integers")
        if limit is not None and limit < 0:
            raise ConfigError("limit must be >= 0")
        found = self.state.find(prefix, method.upper() if method else None, since)
        if limit is not None:
            found = found[len(found) - limit:] if limit else []
        return found

    def get_requests(self, req):
        return Response.json(200, self._filters(req))

    def get_count(self, req):
        return Response.json(200, {"count": len(self._filters(req))})

    def delete_requests(self, req):
        self.state.clear_requests()
        return Response.json(200, {"ok": True})

    def get_scans(self, req):
        with self.state.lock:
            return Response.json(200, {"scans": dict(self.state.n8n_scans),
                                       "claims": {k: list(v) for k, v in self.state.n8n_claims.items()}})

    def post_tg_updates(self, req):
        if not req.json_ok:
            raise ConfigError("expected a JSON object or a list of them")
        items = req.json if isinstance(req.json, list) else [req.json]
        made = []
        for it in items:
            if not isinstance(it, dict):
                raise ConfigError("each update: expected an object")
            if "update" in it:
                if not isinstance(it["update"], dict) or set(it) != {"update"}:
                    raise ConfigError("update: expected {\"update\": {...}} alone")
                made.append(copy.deepcopy(it["update"]))
                continue
            unknown = set(it) - {"chat_id", "text", "from_id", "is_bot", "chat_type", "date", "username"}
            if unknown:
                raise ConfigError(f"unknown update fields: {', '.join(sorted(unknown))}")
            chat = it.get("chat_id")
            if not isinstance(chat, int) or isinstance(chat, bool):
                raise ConfigError("chat_id: expected an integer")
            text = it.get("text")
            if text is not None and not isinstance(text, str):
                raise ConfigError("text: expected a string")
            frm = it.get("from_id", chat if chat > 0 else 1)
            if not isinstance(frm, int) or isinstance(frm, bool):
                raise ConfigError("from_id: expected an integer")
            date = it.get("date", int(time.time()))
            if not isinstance(date, int) or isinstance(date, bool):
                raise ConfigError("date: expected an integer")
            ctype = it.get("chat_type") or ("private" if chat > 0 else
                                            "supergroup" if str(chat).startswith("-100") else "group")
            msg = {"message_id": 0, "from": {"id": frm, "is_bot": bool(it.get("is_bot", False)),
                                             "first_name": "Stand-in", "username": it.get("username", "standin_user")},
                   "chat": {"id": chat, "type": ctype}, "date": date}
            if text is not None:
                msg["text"] = text
                if text.startswith("/"):
                    n = len(re.match(r"/[A-Za-z0-9_@]*", text).group(0))
                    msg["entities"] = [{"offset": 0, "length": n, "type": "bot_command"}]
            made.append({"message": msg})
        ids = []
        with self.state.lock:
            for u in made:
                if not isinstance(u.get("update_id"), int) or isinstance(u.get("update_id"), bool):
                    self.state.tg_next_id += 1
                    u = {"update_id": self.state.tg_next_id, **{k: v for k, v in u.items() if k != "update_id"}}
                else:
                    self.state.tg_next_id = max(self.state.tg_next_id, u["update_id"])
                if isinstance(u.get("message"), dict) and not u["message"].get("message_id"):
                    u["message"]["message_id"] = self.state.bump("telegram_message_id")
                self.state.tg_updates.append(u)
                ids.append(u["update_id"])
            self.state.tg_cond.notify_all()
        return Response.json(200, {"update_ids": ids})

    def get_tg_updates(self, req):
        with self.state.lock:
            return Response.json(200, {"pending": copy.deepcopy(self.state.tg_updates), "offset": self.state.tg_offset,
                                       "polls": self.state.tg_polls, "open_polls": self.state.tg_open_polls})

    def get_tg_messages(self, req):
        try:
            since = int(req.query["since"]) if req.query.get("since") else None
        except ValueError:
            raise ConfigError("since must be an integer")
        with self.state.lock:
            return Response.json(200, [m for m in self.state.tg_sent if since is None or m["seq"] > since])

    def get_health(self, req):
        return Response.json(200, {"ok": True, "pid": os.getpid(), "services": [p for p, _ in self.services],
                                   "fixtures": sorted(self.state.fixtures), "recorded": len(self.state.requests),
                                   "dropped": self.state.dropped})


# ---------------------------------------------------------------------------
# HTTP plumbing
# ---------------------------------------------------------------------------

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

    app: App                            # set on the class by make_server()

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


# ---------------------------------------------------------------------------
# Start-up
# ---------------------------------------------------------------------------

def load_fixtures(directory: str | None, explicit: bool) -> dict:
    """Read the DexScreener fixtures.  An explicit --fixtures must be complete."""
    out: dict = {}
    if not directory:
        return out
    for key, name, kind in (("pairs", PAIRS_FIXTURE, dict), ("profiles", PROFILES_FIXTURE, list)):
        path = os.path.join(directory, name)
        try:
            with open(path, encoding="utf-8") as f:
                data = loads_strict(f.read())
        except FileNotFoundError:
            if explicit:
                raise SystemExit(f"standin: fixture missing: {path}")
            continue
        except (OSError, ValueError) as e:
            raise SystemExit(f"standin: cannot read fixture {path}: {e}")
        if not isinstance(data, kind):
            raise SystemExit(f"standin: fixture {path}: expected a JSON {kind.__name__}")
        out[key] = data
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Local stand-in for the orchestrator's external services.")
    ap.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1; 0 picks a free one")
    ap.add_argument("--fixtures", metavar="DIR",
                    help="directory with the DexScreener fixtures (default: $SHARED_DATA/fixtures if present)")
    ap.add_argument("--record", metavar="FILE.jsonl", help="append every request to this file as JSON lines")
    ap.add_argument("--pidfile", metavar="F", help="write the process id here; removed at exit")
    ap.add_argument("--quiet", action="store_true", help="no per-request log lines on stderr")
    args = ap.parse_args(argv)
    if not 0 <= args.port <= 65535:
        ap.error("--port must be 0..65535")

    if args.fixtures:
        fixtures = load_fixtures(args.fixtures, explicit=True)
    else:
        shared = os.environ.get("SHARED_DATA")
        fixtures = load_fixtures(os.path.join(shared, "fixtures"), explicit=False) if shared else {}
    state = State(fixtures, args.record, args.quiet)
    if "pairs" not in fixtures:
        state.log("warning: no DexScreener fixtures (use --fixtures DIR); /dex answers 503")

    Handler.app = App(state)
    try:
        server = Server((LISTEN_HOST, args.port), Handler)
    except OSError as e:
        sys.stderr.write(f"standin: cannot listen on {LISTEN_HOST}:{args.port}: {e}\n")
        return 2
    port = server.server_address[1]

    if args.pidfile:
        with open(args.pidfile, "w", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    print(f"standin listening on {LISTEN_HOST}:{port}", flush=True)

    while not stop.wait(0.5):
        pass
    state.stopping.set()
    state.release()                     # wake handlers sleeping in slow/timeout
    server.shutdown()
    server.server_close()
    if state.record_file:
        state.record_file.close()
    if args.pidfile:
        try:
            os.unlink(args.pidfile)
        except OSError:
            pass
    state.log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
