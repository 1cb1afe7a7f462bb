"""Every configuration key: its meaning (CONFIG_DOC), its default
(default_config) and its check (CONFIG_CHECKS, applied by check_patch)."""

from __future__ import annotations

import json
import re

from .behaviour import HOSTILE
from .common import ConfigError, is_number
from .n8n import N8N_API_PAGE_MAX, N8N_DEFAULT_PATHS, N8N_EXEC_STATUSES
from .registry import SERVICE_BY_NAME, SERVICES

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


def check_patch(patch) -> dict:
    """patch, a /_standin/config body, checked key by key: returns a copy with
    "behavior" spelt "behaviour"; raises ConfigError naming the first bad key."""
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
    return patch
