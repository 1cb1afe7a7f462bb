"""An OpenAI-compatible LLM, answering as Groq does."""

from __future__ import annotations

import json
import re

from .behaviour import Service
from .common import Response, phrase

LLM_DEFAULT_DECISION = {
    "mode": "crypto",
    "intensity": "normal",
    "workflows": ["crypto-normal-scan"],
    "next_decision_seconds": 300,
    "reason": "stand-in default decision",
    "confidence": 0.6,
}


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
