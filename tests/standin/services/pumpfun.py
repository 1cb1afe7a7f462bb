"""Pump.fun's web backend: a Cloudflare block page by default, coins on request."""

from __future__ import annotations

from .behaviour import Service
from .common import Response, phrase, stable_hash


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
