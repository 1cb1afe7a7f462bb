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
the others.  This file is the entry point; the stand-in itself is the
package services/ beside it, one module per service (services/__init__.py
lists them).

Routes (SERVICES in services/registry.py is the dispatch table: add a Service
subclass there to add a prefix):
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
               &status=&limit=&cursor=&includeData= (true: each ended one with its "data", the Webhook
               node's output being the request that started it; none while it runs), GET /n8n/api/v1/workflows?active=&limit=&cursor=,
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
  Hostile answers, for every service (HOSTILE in services/behaviour.py): huge, nonfinite,
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

Every configuration key, its default and meaning are in CONFIG_DOC in services/config.py.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

# The package services/ sits beside this file (found even under python3 -I);
# nothing is compiled into a __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from services.app import App  # noqa: E402
from services.dex import load_fixtures  # noqa: E402
from services.server import LISTEN_HOST, Handler, Server  # noqa: E402
from services.state import State  # noqa: E402


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
