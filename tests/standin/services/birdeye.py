"""Birdeye's public price API."""

from __future__ import annotations

import time

from .behaviour import Service
from .common import Response, phrase, stable_hash

SOL_MINT = "So11111111111111111111111111111111111111112"
USDC_MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


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
