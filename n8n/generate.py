#!/usr/bin/env python3
"""Generate the orchestrator's n8n workflows (n8n/workflows/<path>.json) and the
webhook credential template (n8n/credentials/webhook-auth.json).

    python3 n8n/generate.py          rewrite the files
    python3 n8n/generate.py --check  exit 1 when a file differs from what would be written
    python3 n8n/generate.py --catalog FILE --out DIR [--tag NAME]...
                                     one workflow of the same shape per entry of a
                                     catalog file (CATALOG_FILE), named after the entry
                                     (its webhook path), into DIR: a scan of DexScreener
                                     (crypto), TraderMade (forex), both, or the sources'
                                     health (system), tagged NAME in n8n (for discovery);
                                     an entry with "claims": false (the catalog's default)
                                     gets no Claim nodes: like a user's own workflow, it
                                     does not claim its key (Prepare -> Respond accepted);
                                     one with "expects_result": false (the default too)
                                     no Report result node (Analyse -> Finish)

All eight workflows have the same nodes:

    Webhook -> Prepare -> Claim? -(yes)-> Claim -> Claimed -> Respond accepted -> Plan -> Fetch
                                  -(no)------------------->                        -> Analyse -> Report result -> Finish

  Webhook           POST /webhook/<path>, header auth (credential "Orchestrator webhook auth"),
                    answers through the Respond node.
  Prepare           (Code) validates the body, reads the scan "parameters" the orchestrator
                    sends (with bounds and defaults), picks the intensity and threshold, plans
                    the GET requests, and describes the claim of the idempotency key.  Always
                    one item.
  Claim?            (If) a delivery with an idempotency key that is not a readiness probe
                    claims its key; the others go straight to the answer.
  Claim             (HTTP Request) POST $env.ORCH_CLAIMS_URL (default $env.ORCH_BASE_URL/claims),
                    Bearer $env.ORCH_RESULTS_TOKEN, {"idempotency_key","execution_id","workflow"}:
                    the orchestrator is the idempotency authority.  The first execution that
                    claims a key wins; any other is told it is a duplicate -- even while the
                    first one still runs -- and scans nothing.
  Claimed           (Code) reads the claim's answer: claimed (go on), duplicate (answer the first
                    execution's id, "duplicate": true, scan nothing), or refused (answer 409 for
                    a key the orchestrator does not know or never sent, 503 when it could not be
                    asked: the delivery fails and the orchestrator retries it).
  Respond accepted  answers at once: {"accepted":true,"execution_id","trigger_id",
                    "idempotency_key","workflow","probe","duplicate"} (a duplicate answers
                    the first execution's id, and its own as "duplicate_execution_id").
  Plan              (Code) one item per planned request; none for a probe, a duplicate or a
                    refused claim: the execution ends here, nothing is scanned.
  Fetch             (HTTP Request) one GET per planned request; never fails the workflow:
                    HTTP errors come back as data (neverError), transport errors as
                    {"error": ...} items (onError: continueRegularOutput).
  Analyse           (Code) parses the answers, counts opportunities, builds the report.
  Report result     (HTTP Request) POST $env.ORCH_RESULTS_URL, Bearer $env.ORCH_RESULTS_TOKEN.
  Finish            (Code) throws when the scan failed, so that the n8n execution ends
                    with status "error" (after the report was sent).

Only the CONFIG object at the top of Prepare differs between workflows.
Python 3 standard library only; the output is deterministic (stable ids).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
NS = uuid.UUID("5b0c1f9e-4d1a-4c43-9a55-6f2d3b7a8e10")  # namespace of the stable node ids

CREDENTIAL_ID = "orchWebhookAuth1"
CREDENTIAL_NAME = "Orchestrator webhook auth"

# Crypto: |priceChange.m5| (percent) above which a pair counts as an opportunity.
CRYPTO_M5_PCT = {"light": 2.0, "normal": 1.0, "aggressive": 0.5}
# Forex: |mid - the orchestrator's quote| / quote (percent) above which a pair counts.
FOREX_MOVE_PCT = {"light": 0.10, "normal": 0.05, "aggressive": 0.02}

# Pairs a crypto scan analyses, at most, when the orchestrator sends no "limit"
# (the same table as worker/act.c's act_scan_limit).
SCAN_LIMIT = {"light": 10, "normal": 25, "aggressive": 50}

WORKFLOWS = [
    # path, default intensity, DexScreener search queries, TraderMade pairs, orchestrator health
    ("crypto-aggressive-scan", "aggressive", ["SOL/USDC", "WETH/USDC", "pump", "BNB/USDT"], [], False),
    ("crypto-normal-scan", "normal", ["SOL/USDC", "WETH/USDC"], [], False),
    ("crypto-light-monitoring", "light", ["SOL/USDC"], [], False),
    ("forex-london-session", "normal", [], ["EURUSD", "GBPUSD", "EURGBP", "USDCHF"], False),
    ("forex-newyork-session", "normal", [], ["EURUSD", "GBPUSD", "USDCAD", "USDJPY"], False),
    ("forex-asia-session", "normal", [], ["USDJPY", "AUDUSD", "NZDUSD", "EURJPY"], False),
    ("health-monitor-check", "light", ["SOL/USDC"], ["EURUSD"], True),
    ("deep-market-analysis", "normal", ["SOL/USDC", "WETH/USDC", "pump"],
     ["EURUSD", "GBPUSD", "USDJPY", "AUDUSD", "USDCAD", "USDCHF"], False),
]

PREPARE_JS = r"""// Prepare: read what the orchestrator sent, deduplicate, plan the GET requests.
// Generated by n8n/generate.py: edit there, not in the editor.  Returns one item.
const CONFIG = __CONFIG__;

const hook = $('Webhook').first().json;
const body = hook.body && typeof hook.body === 'object' && !Array.isArray(hook.body) ? hook.body : {};
const headers = hook.headers || {};
const scalar = (v) => (typeof v === 'number' || typeof v === 'string' ? v : null);
const keyOf = (v) => (typeof v === 'string' && v.length >= 1 && v.length <= 95 && /^[\x20-\x7e]+$/.test(v) ? v : null);
const key = keyOf(body.idempotency_key) ?? keyOf(headers['idempotency-key']);
const execution_id = String($execution.id);
const answer = { accepted: true, execution_id, trigger_id: scalar(body.trigger_id), idempotency_key: key,
  workflow: CONFIG.workflow, probe: body.probe === true, duplicate: false };
// Readiness probe (scripts/n8n.sh): answered; fetch nothing, report nothing, remember nothing.
if (answer.probe) return [{ json: { answer, requests: [], claim: null } }];

// n8n does not deduplicate: a delivery retried after a lost answer would scan twice.  The
// orchestrator is the idempotency authority: the key is claimed from it (the Claim node),
// and only the first execution that claims it scans.
const base = (name, fallback) => String($env[name] || fallback).replace(/\/+$/, '');
const claim = key === null ? null : {
  url: String($env.ORCH_CLAIMS_URL || base('ORCH_BASE_URL', 'http://127.0.0.1:8080') + '/claims'),
  body: { idempotency_key: key, execution_id, workflow: CONFIG.workflow },
};

const intensity = ['light', 'normal', 'aggressive'].includes(body.intensity) ? body.intensity : CONFIG.intensity;
// The scan parameters the orchestrator sends ("parameters"), bounded; the defaults otherwise.
const params = body.parameters && typeof body.parameters === 'object' && !Array.isArray(body.parameters)
  ? body.parameters : {};
const strings = (v, max, ok) => (Array.isArray(v)
  ? [...new Set(v.filter((s) => typeof s === 'string').map((s) => s.trim()).filter(ok))].slice(0, max) : []);
let queries = strings(params.queries, 5, (s) => s !== '' && s.length <= 64 && /^[\x20-\x7e]+$/.test(s));
if (!queries.length) queries = CONFIG.queries;
let pairs = strings(params.pairs, 10, (s) => /^[A-Z]{6}$/.test(s));
if (!pairs.length) pairs = CONFIG.pairs;
if (!CONFIG.queries.length) queries = [];
if (!CONFIG.pairs.length) pairs = [];
const limit = Number.isInteger(params.limit) && params.limit >= 1 && params.limit <= 100
  ? params.limit : CONFIG.scan_limit[intensity];

const market = body.market && typeof body.market === 'object' ? body.market : {};
const forex = market.forex && typeof market.forex === 'object' ? market.forex : {};
const crypto = market.crypto && typeof market.crypto === 'object' ? market.crypto : {};
const quotes = {};
if (forex.quotes && typeof forex.quotes === 'object') {
  for (const [k, v] of Object.entries(forex.quotes)) if (typeof v === 'number' && v > 0) quotes[k] = v;
}
const ctx = {
  workflow: CONFIG.workflow,
  trigger_id: scalar(body.trigger_id),
  decision_id: scalar(body.decision_id),
  idempotency_key: key,
  intensity,
  queries,
  pairs,
  limit,
  crypto_threshold_pct: CONFIG.crypto_m5_pct[intensity],
  forex_threshold_pct: CONFIG.forex_move_pct[intensity],
  context_quotes: quotes,
  context_volatility_m5_pct: typeof crypto.volatility_m5_pct === 'number' ? crypto.volatility_m5_pct : null,
  session: typeof body.session === 'string' ? body.session : null,
  count_opportunities: CONFIG.count_opportunities,
  dry_run: body.dry_run === true,
  started_ms: Date.now(),
};

const requests = [];
for (const q of queries) {
  requests.push({ source: 'dexscreener', label: `dexscreener search ${q}`,
    url: base('DEXSCREENER_BASE_URL', 'https://api.dexscreener.com') + '/latest/dex/search', query: { q } });
}
if (pairs.length) {
  requests.push({ source: 'tradermade', label: `tradermade live ${pairs.join(',')}`,
    url: base('TRADERMADE_BASE_URL', 'https://marketdata.tradermade.com') + '/api/v1/live',
    query: { currency: pairs.join(',') } });
}
if (CONFIG.orchestrator_health) {
  requests.push({ source: 'orchestrator', label: 'orchestrator health',
    url: base('ORCH_BASE_URL', 'http://127.0.0.1:8080') + '/health', query: {} });
}
return [{ json: { answer, requests: requests.map((r) => ({ ...r, ctx })), claim } }];
"""

CLAIMED_JS = r"""// Claimed: what the orchestrator answered the claim of this delivery's key.
// Generated by n8n/generate.py: edit there, not in the editor.  Returns one item.
const prepared = $('Prepare').first().json;
const r = $input.first().json || {};
const answer = Object.assign({}, prepared.answer);
const code = Number(r.statusCode);
const raw = r.data !== undefined ? r.data : r.body;
let doc = null;
try {
  doc = typeof raw === 'string' ? JSON.parse(raw) : raw;
} catch (err) {
  doc = null;
}
doc = doc && typeof doc === 'object' ? doc : {};
let status_code = 200;
if (r.error === undefined && code === 200 && doc.duplicate === true) {
  // another execution claimed the key first: answer its id, scan nothing
  answer.duplicate = true;
  answer.duplicate_execution_id = answer.execution_id;
  answer.execution_id = String(doc.execution_id);
} else if (!(r.error === undefined && code === 200 && doc.claimed === true)) {
  // not claimed: a key the orchestrator does not know (409, not retried), or it could not
  // be asked (503: the orchestrator retries the delivery)
  answer.accepted = false;
  const why = r.error !== undefined ? String((r.error && r.error.message) || r.error)
    : `HTTP ${Number.isFinite(code) ? code : '?'}${typeof doc.error === 'string' ? ' ' + doc.error : ''}`;
  answer.error = `claim not granted - ${why}`.slice(0, 200);
  status_code = code === 400 || code === 404 || code === 409 ? 409 : 503;
}
return [{ json: { answer, requests: prepared.requests, status_code } }];
"""

PLAN_JS = r"""// Plan: one item per planned request; none for a probe, a duplicate or a refused claim.
// Generated by n8n/generate.py: edit there, not in the editor.
const prepared = $input.first().json;
if (prepared.answer.probe || prepared.answer.duplicate || prepared.answer.accepted === false) return [];
return prepared.requests.map((r) => ({ json: r }));
"""

ANALYSE_JS = r"""// Analyse: parse the answers, count opportunities, build the report for the orchestrator.
// Generated by n8n/generate.py: edit there, not in the editor.
const planned = $('Plan').all();
const ctx = planned[0].json.ctx;
const secret = String($env.TRADERMADE_API_KEY || '');
const clean = (s) => {
  s = String(s);
  if (secret) s = s.split(secret).join('***');
  return s.length > 200 ? s.slice(0, 197) + '...' : s;
};
const num = (v) => {
  const n = typeof v === 'string' ? parseFloat(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
};
const obj = (v) => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});

const errors = [];
const sources = {};
const pairsSeen = new Map();
const fxQuotes = [];
let fxTimestamp = null;
let orchestrator = null;

$input.all().forEach((item, i) => {
  const p = item.pairedItem;
  const idx = p && typeof p === 'object' && typeof p.item === 'number' ? p.item : i;
  const req = (planned[idx] || planned[i] || planned[0]).json;
  const r = obj(item.json);
  const fail = (msg) => {
    errors.push(clean(`${req.label}: ${msg}`));
    sources[req.source] = 'error';
  };
  if (r.error !== undefined) {
    const e = r.error;
    return fail(typeof e === 'string' ? e : (e && (e.message || e.description)) || JSON.stringify(e));
  }
  const code = Number(r.statusCode);
  const raw = r.data !== undefined ? r.data : r.body;
  const text = typeof raw === 'string' ? raw : raw === undefined || raw === null ? '' : JSON.stringify(raw);
  let doc;
  try {
    doc = text.trim() === '' ? null : JSON.parse(text);
  } catch (err) {
    doc = undefined;
  }
  if (!(code >= 200 && code < 300)) {
    const d = obj(doc);
    const why = typeof d.error === 'string' ? d.error : obj(d.error).message || obj(d.errors).message || d.message;
    return fail(`HTTP ${Number.isFinite(code) ? code : '?'}${why ? ' ' + why : ''}`);
  }
  if (doc === undefined) return fail(`invalid JSON (${text.length} bytes)`);
  if (doc === null || typeof doc !== 'object') return fail('empty or non-object body');
  sources[req.source] = sources[req.source] === 'error' ? 'error' : 'ok';
  if (req.source === 'dexscreener') {
    (Array.isArray(doc.pairs) ? doc.pairs : []).forEach((pair, k) => {
      if (pair && typeof pair === 'object') pairsSeen.set(pair.pairAddress || pair.url || `${req.label}#${k}`, pair);
    });
  } else if (req.source === 'tradermade') {
    if (!Array.isArray(doc.quotes)) return fail('no quotes in the answer');
    if (num(doc.timestamp) !== null) fxTimestamp = num(doc.timestamp);
    for (const q of doc.quotes) fxQuotes.push(obj(q));
  } else if (req.source === 'orchestrator') {
    orchestrator = typeof doc.status === 'string' ? doc.status : 'ok';
  }
});

// Crypto: pairs whose 5-minute price change is beyond the intensity's threshold,
// among the first ctx.limit pairs found (the orchestrator's "limit").
const movers = [];
const analysed = [...pairsSeen.values()].slice(0, ctx.limit);
for (const pair of analysed) {
  const m5 = num(obj(pair.priceChange).m5);
  if (!ctx.count_opportunities || m5 === null || Math.abs(m5) <= ctx.crypto_threshold_pct) continue;
  movers.push({
    pair: `${obj(pair.baseToken).symbol || '?'}/${obj(pair.quoteToken).symbol || '?'}`,
    chain: typeof pair.chainId === 'string' ? pair.chainId : null,
    m5_pct: m5,
    price_usd: num(pair.priceUsd),
    liquidity_usd: num(obj(pair.liquidity).usd),
  });
}
movers.sort((a, b) => Math.abs(b.m5_pct) - Math.abs(a.m5_pct));

// Forex: mid moved beyond the threshold since the quote the orchestrator sent.
// A stale timestamp (over 30 minutes old) means the market is closed: nothing counts.
const marketClosed = fxTimestamp !== null && Date.now() / 1000 - fxTimestamp > 1800;
const fxMoves = [];
let compared = 0;
for (const q of fxQuotes) {
  const code = `${q.base_currency || ''}${q.quote_currency || ''}`;
  const mid = num(q.mid);
  const ref = ctx.context_quotes[code];
  if (!ctx.count_opportunities || mid === null || !(ref > 0)) continue;
  compared++;
  const move = ((mid - ref) / ref) * 100;
  if (!marketClosed && Math.abs(move) > ctx.forex_threshold_pct) {
    fxMoves.push({ pair: code, mid, sent: ref, move_pct: Math.round(move * 10000) / 10000 });
  }
}
fxMoves.sort((a, b) => Math.abs(b.move_pct) - Math.abs(a.move_pct));

const status = errors.length ? 'error' : 'success';
const details = {
  intensity: ctx.intensity,
  requests: planned.length,
  failed: errors.length,
  sources,
};
if (!ctx.count_opportunities) {
  Object.assign(details, { pairs_scanned: pairsSeen.size, quotes: fxQuotes.length });
} else if (pairsSeen.size || sources.dexscreener) {
  Object.assign(details, { crypto_threshold_pct: ctx.crypto_threshold_pct, pairs_scanned: pairsSeen.size,
    pairs_analysed: analysed.length, limit: ctx.limit, queries: ctx.queries,
    crypto_opportunities: movers.length, top_movers: movers.slice(0, 5) });
}
if (ctx.count_opportunities && (fxQuotes.length || sources.tradermade)) {
  Object.assign(details, { forex_threshold_pct: ctx.forex_threshold_pct, pairs: ctx.pairs, quotes: fxQuotes.length,
    compared, market_closed: marketClosed, forex_opportunities: fxMoves.length, top_moves: fxMoves.slice(0, 5) });
}
if (orchestrator !== null) details.orchestrator = clean(orchestrator);
if (errors.length) details.errors = errors.slice(0, 5);
details.n8n_workflow_id = $workflow.id;

return [{ json: { report: {
  trigger_id: ctx.trigger_id,
  idempotency_key: ctx.idempotency_key,
  decision_id: ctx.decision_id,
  workflow: ctx.workflow,
  execution_id: String($execution.id),
  status,
  opportunities: movers.length + fxMoves.length,
  duration_ms: Date.now() - ctx.started_ms,
  error: errors.length ? clean(errors.join('; ')) : null,
  details,
} } }];
"""

FINISH_JS = r"""// Finish: the report is sent; end the n8n execution with status "error" when the scan failed.
// (No ':' in the message: n8n would cut it there.)
const report = $('Analyse').first().json.report;
if (report.status !== 'success') {
  throw new Error(`${report.workflow} scan failed - ${String(report.error).replace(/:\s*/g, ' - ')}`);
}
return [{ json: { reported: true, status: report.status, opportunities: report.opportunities } }];
"""

RESPOND_BODY = "={{ JSON.stringify($json.answer) }}"
RESPOND_CODE = "={{ $json.status_code || 200 }}"

FETCH_QUERY = (
    "={{ JSON.stringify($json.source === 'tradermade' "
    "? Object.assign({}, $json.query, { api_key: $env.TRADERMADE_API_KEY || '' }) : $json.query) }}"
)


def node_id(path: str, name: str) -> str:
    return str(uuid.uuid5(NS, f"{path}/{name}"))


def workflow_id(path: str) -> str:
    """16 characters like n8n's own ids: 'orch' + the first 12 of the PascalCase path."""
    pascal = "".join(part.capitalize() for part in path.split("-"))
    return ("orch" + pascal)[:16]


def custom_id(path: str) -> str:
    """A stable 16-character id for a workflow of a user's catalog (any path)."""
    return "orc" + uuid.uuid5(NS, "catalog/" + path).hex[:13]


def workflow(path: str, intensity: str, queries: list, pairs: list, orch_health: bool,
             wid: str | None = None, tags: list | None = None, claims: bool = True,
             reports: bool = True) -> dict:
    config = {
        "workflow": path,
        "intensity": intensity,
        "queries": queries,
        "pairs": pairs,
        "orchestrator_health": orch_health,
        # The health check only checks the sources: it counts no opportunities.
        "count_opportunities": not orch_health,
        "crypto_m5_pct": CRYPTO_M5_PCT,
        "forex_move_pct": FOREX_MOVE_PCT,
        "scan_limit": SCAN_LIMIT,
    }
    prepare = PREPARE_JS.replace("__CONFIG__", json.dumps(config))
    sources = []
    if queries:
        sources.append(f"DexScreener search ({', '.join(queries)})")
    if pairs:
        sources.append(f"TraderMade live ({','.join(pairs)})")
    if orch_health:
        sources.append("orchestrator /health")
    claim_note = ("Claims its idempotency key from the orchestrator (POST /claims: a key claimed before "
                  "answers \"duplicate\": true, no second scan), answers" if claims else
                  "Does not claim its idempotency key (catalog \"claims\": false), answers")
    note = (
        f"## {path}\n"
        f"Started by the AI trading orchestrator: POST /webhook/{path} with header auth "
        f"(credential \"{CREDENTIAL_NAME}\").\n\n"
        f"{claim_note} at once with the execution id, then GETs {' + '.join(sources)} (or what the body's \"parameters\" ask for), "
        f"counts opportunities (default intensity {intensity})"
        + (" and POSTs the result to $env.ORCH_RESULTS_URL.\n\n" if reports else
           "; it posts no result (catalog \"expects_result\": false): the orchestrator follows "
           "its execution through n8n's API.\n\n")
        + "Generated by n8n/generate.py in the orchestrator's repository."
    )

    def n(name, typ, version, pos, params, **extra):
        d = {"parameters": params, "id": node_id(path, name), "name": name, "type": typ,
             "typeVersion": version, "position": pos}
        d.update(extra)
        return d

    http_options = {"timeout": 15000}
    nodes = [
        n("Note", "n8n-nodes-base.stickyNote", 1, [-40, -260],
          {"content": note, "height": 220, "width": 760}),
        n("Webhook", "n8n-nodes-base.webhook", 2, [0, 0],
          {"httpMethod": "POST", "path": path, "authentication": "headerAuth",
           "responseMode": "responseNode", "options": {}},
          webhookId=str(uuid.uuid5(NS, f"{path}/webhook-id")),
          credentials={"httpHeaderAuth": {"id": CREDENTIAL_ID, "name": CREDENTIAL_NAME}}),
        n("Prepare", "n8n-nodes-base.code", 2, [220, 0], {"jsCode": prepare}),
        n("Claim?", "n8n-nodes-base.if", 1, [330, 0],
          {"conditions": {"boolean": [{"value1": "={{ $json.claim !== null && $json.claim !== undefined }}",
                                       "value2": True}]}}),
        n("Claim", "n8n-nodes-base.httpRequest", 4.2, [440, -120],
          {"method": "POST", "url": "={{ $json.claim.url }}",
           "sendHeaders": True,
           "headerParameters": {"parameters": [
               {"name": "Authorization", "value": "=Bearer {{ $env.ORCH_RESULTS_TOKEN }}"}]},
           "sendBody": True, "specifyBody": "json", "jsonBody": "={{ JSON.stringify($json.claim.body) }}",
           "options": {"timeout": 10000, "response": {"response": {
               "fullResponse": True, "neverError": True, "responseFormat": "text"}}}},
          onError="continueRegularOutput", retryOnFail=True, maxTries=3, waitBetweenTries=1000),
        n("Claimed", "n8n-nodes-base.code", 2, [550, -120], {"jsCode": CLAIMED_JS}),
        n("Respond accepted", "n8n-nodes-base.respondToWebhook", 1.1, [660, 0],
          {"respondWith": "json", "responseBody": RESPOND_BODY,
           "options": {"responseCode": RESPOND_CODE}}),
        n("Plan", "n8n-nodes-base.code", 2, [770, 0], {"jsCode": PLAN_JS}),
        n("Fetch", "n8n-nodes-base.httpRequest", 4.2, [880, 0],
          {"url": "={{ $json.url }}",
           "sendQuery": True, "specifyQuery": "json", "jsonQuery": FETCH_QUERY,
           "sendHeaders": True,
           "headerParameters": {"parameters": [{"name": "Accept", "value": "application/json"}]},
           "options": dict(http_options, response={"response": {
               "fullResponse": True, "neverError": True, "responseFormat": "text"}})},
          onError="continueRegularOutput"),
        n("Analyse", "n8n-nodes-base.code", 2, [990, 0], {"jsCode": ANALYSE_JS}),
        n("Report result", "n8n-nodes-base.httpRequest", 4.2, [1100, 0],
          {"method": "POST", "url": "={{ $env.ORCH_RESULTS_URL }}",
           "sendHeaders": True,
           "headerParameters": {"parameters": [
               {"name": "Authorization", "value": "=Bearer {{ $env.ORCH_RESULTS_TOKEN }}"},
               {"name": "Idempotency-Key",
                "value": "=result-{{ $json.report.idempotency_key || ('n8n-execution-' + $json.report.execution_id) }}"}]},
           "sendBody": True, "specifyBody": "json", "jsonBody": "={{ JSON.stringify($json.report) }}",
           "options": dict(http_options, response={"response": {"responseFormat": "text"}})},
          retryOnFail=True, maxTries=3, waitBetweenTries=2000),
        n("Finish", "n8n-nodes-base.code", 2, [1320, 0], {"jsCode": FINISH_JS}),
    ]
    chain = ["Respond accepted", "Plan", "Fetch", "Analyse", "Report result", "Finish"]
    if not reports:
        nodes = [d for d in nodes if d["name"] != "Report result"]
        chain.remove("Report result")
    connections = {a: {"main": [[{"node": b, "type": "main", "index": 0}]]} for a, b in zip(chain, chain[1:])}
    to = lambda b: [{"node": b, "type": "main", "index": 0}]  # noqa: E731
    connections["Webhook"] = {"main": [to("Prepare")]}
    if claims:
        connections["Prepare"] = {"main": [to("Claim?")]}
        connections["Claim?"] = {"main": [to("Claim"), to("Respond accepted")]}      # true, false
        connections["Claim"] = {"main": [to("Claimed")]}
        connections["Claimed"] = {"main": [to("Respond accepted")]}
    else:
        nodes = [d for d in nodes if d["name"] not in ("Claim?", "Claim", "Claimed")]
        connections["Prepare"] = {"main": [to("Respond accepted")]}
    out = {
        "id": wid or workflow_id(path),
        "name": path,
        "active": False,
        "nodes": nodes,
        "connections": connections,
        "settings": {
            "executionOrder": "v1",
            "saveDataSuccessExecution": "all",
            "saveDataErrorExecution": "all",
            "saveManualExecutions": True,
            "executionTimeout": 120,
            "timezone": "UTC",
            "callerPolicy": "workflowsFromSameOwner",
        },
        "staticData": None,
        "pinData": {},
        "meta": {"templateCredsSetupCompleted": True},
    }
    if tags:
        out["tags"] = [{"id": "orcTag" + uuid.uuid5(NS, "tag/" + t).hex[:10], "name": t} for t in tags]
    return out


def credential_template() -> list:
    # ${...} are filled from the environment by scripts/n8n.sh at import time.
    return [{
        "id": CREDENTIAL_ID,
        "name": CREDENTIAL_NAME,
        "type": "httpHeaderAuth",
        "data": {"name": "${N8N_WEBHOOK_AUTH_HEADER}", "value": "${N8N_WEBHOOK_AUTH_VALUE}"},
    }]


def outputs() -> dict[Path, str]:
    files = {}
    for path, intensity, queries, pairs, orch in WORKFLOWS:
        files[HERE / "workflows" / f"{path}.json"] = workflow(path, intensity, queries, pairs, orch)
    files[HERE / "credentials" / "webhook-auth.json"] = credential_template()
    return {p: json.dumps(v, indent=2, ensure_ascii=False) + "\n" for p, v in files.items()}


def catalog_outputs(catalog: Path, tags: list) -> dict[str, str]:
    """File name -> export text for every entry of a catalog file."""
    doc = json.loads(catalog.read_text())
    files = {}
    for e in doc["workflows"]:
        name, market = e["name"], e["market"]
        intensity = e.get("intensity", "any")
        queries = ["SOL/USDC"] if market in ("crypto", "both", "system") else []
        pairs = ["EURUSD", "GBPUSD"] if market in ("forex", "both", "system") else []
        wf = workflow(name, intensity if intensity in SCAN_LIMIT else "normal", queries, pairs,
                      market == "system", wid=custom_id(name), tags=tags, claims=e.get("claims", False),
                      reports=e.get("expects_result", False))
        files[name.replace("/", "__") + ".json"] = json.dumps(wf, indent=2, ensure_ascii=False) + "\n"
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    ap.add_argument("--catalog", type=Path, help="a catalog file: one workflow per entry, into --out")
    ap.add_argument("--out", type=Path, help="the directory of --catalog's workflows")
    ap.add_argument("--tag", action="append", default=[], help="a tag of --catalog's workflows in n8n")
    args = ap.parse_args(argv)
    if args.catalog:
        if not args.out:
            ap.error("--catalog needs --out")
        args.out.mkdir(parents=True, exist_ok=True)
        for name, text in catalog_outputs(args.catalog, args.tag).items():
            (args.out / name).write_text(text)
            print(f"wrote: {args.out / name}")
        return 0
    stale = []
    for path, text in outputs().items():
        old = path.read_text() if path.exists() else None
        if old == text:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    for p in stale:
        print(f"{'differs' if args.check else 'wrote'}: {p.relative_to(HERE.parent)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
