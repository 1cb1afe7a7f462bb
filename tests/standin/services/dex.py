"""DexScreener (api.dexscreener.com), answered from the recorded fixtures."""

from __future__ import annotations

import copy
import math
import os

from .behaviour import Service
from .common import Request, Response, is_number, loads_strict

PAIRS_FIXTURE = "dexscreener_latest_dex_pairs_sample.json"
PROFILES_FIXTURE = "dexscreener_token_profiles_2025-03-17.json"


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

