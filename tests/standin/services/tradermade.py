"""TraderMade live forex quotes."""

from __future__ import annotations

import re

from .behaviour import Service
from .common import Response, phrase, rfc1123


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
