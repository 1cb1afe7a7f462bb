"""Routing: /_standin/* to the control API, every other path to its service."""

from __future__ import annotations

import os
import traceback

from . import n8n, telegram
from .common import ConfigError, Request, Response
from .registry import SERVICES
from .state import State


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
            "/n8n/scans": {"GET": self._on_state(n8n.control_get_scans)},
            "/telegram/updates": {"GET": self._on_state(telegram.control_get_updates),
                                  "POST": self._on_state(telegram.control_post_updates)},
            "/telegram/messages": {"GET": self._on_state(telegram.control_get_messages)},
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

    def _on_state(self, fn):
        """A control handler of a service module, fn(state, req), as a handler of req."""
        return lambda req: fn(self.state, req)

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

    def get_health(self, req):
        return Response.json(200, {"ok": True, "pid": os.getpid(), "services": [p for p, _ in self.services],
                                   "fixtures": sorted(self.state.fixtures), "recorded": len(self.state.requests),
                                   "dropped": self.state.dropped})
