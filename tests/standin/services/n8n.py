"""n8n 1.x: webhooks (with executions and claims), the public API, the
internal REST login and stop, and the /_standin/n8n/scans control route."""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import secrets
import time
import urllib.error
import urllib.request

from .behaviour import Service
from .common import Response, dumps, loads_strict, phrase

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
                "final": status, "seconds": req.cfg["n8n_exec_seconds"],
                # what n8n's Webhook node outputs: the request, shown by ?includeData=true
                "input": {"headers": dict(req.headers), "params": {}, "query": dict(req.query),
                          "body": req.json if req.json_ok else req.text, "webhookUrl": f"/webhook/{path}",
                          "executionMode": "production"}}
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

    @staticmethod
    def _exec_data(e: dict) -> dict:
        """The execution's data as n8n 1.x's public API shows it with
        includeData=true (unflattened): the Webhook node's run, its output
        the request the execution received."""
        started = int(e["started"] * 1000)
        run = {"startTime": started, "executionTime": 1, "executionStatus": "success", "source": [],
               "data": {"main": [[{"json": e.get("input", {}), "pairedItem": {"item": 0}}]]}}
        return {"startData": {}, "resultData": {"runData": {"Webhook": [run]}, "lastNodeExecuted": "Webhook"},
                "executionData": {"contextData": {}, "nodeExecutionStack": [], "metadata": {},
                                  "waitingExecution": {}, "waitingExecutionSource": {}}}

    def api_executions(self, req, m):
        denied = self._api_auth(req)
        if denied:
            return denied
        data = req.query.get("includeData")
        if data not in (None, "true", "false"):
            return Response.json(400, {"message": "request/query/includeData must be boolean"})
        now = time.time()
        with self.state.lock:
            execs = list(reversed(list(self.state.n8n_executions.values())))
            views = [self._exec_view(e, now) for e in execs]
            if data == "true":
                # as n8n 1.x: an execution's data is written when it ends (a running one lists none)
                for v, e in zip(views, execs):
                    if v["status"] in ("success", "error", "crashed", "canceled"):
                        v["data"] = self._exec_data(e)
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


def control_get_scans(state, req) -> Response:
    """GET /_standin/n8n/scans: the executions that scanned, and the claim verdicts, per key."""
    with state.lock:
        return Response.json(200, {"scans": dict(state.n8n_scans),
                                   "claims": {k: list(v) for k, v in state.n8n_claims.items()}})
