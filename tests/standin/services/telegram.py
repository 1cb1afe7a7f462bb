"""The Telegram Bot API (sendMessage, getMe, getUpdates long polling,
webhooks) and its /_standin/telegram/* control routes."""

from __future__ import annotations

import copy
import re
import time

from .behaviour import Service
from .common import ConfigError, Response, phrase, query_pairs, stable_hash


class Telegram(Service):
    """Telegram Bot API: /telegram/bot<TOKEN>/<method> (sendMessage, getMe).

    Behaviour "429" is Telegram's flood control:
    {"ok":false,"error_code":429,"description":"Too Many Requests: retry after N",
     "parameters":{"retry_after":N}} with N = telegram_retry_after."""

    name = "telegram"
    prefix = "/telegram"
    routes = [((), r"/bot([^/]*)/([A-Za-z]+)/?", "method")]
    DESCRIPTIONS = {400: "Bad Request: chat not found", 401: "Unauthorized",
                    403: "Forbidden: bot was blocked by the user", 404: "Not Found",
                    409: "Conflict: terminated by other getUpdates request"}
    TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
            "tg-emoji", "code", "pre", "blockquote"}
    TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s[^<>]*)?)>")

    CONFLICT_WEBHOOK = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to " \
                       "delete the webhook first"
    CONFLICT_POLLER = "Conflict: terminated by other getUpdates request; make sure that only one bot instance " \
                      "is running"

    def behaviour_keys(self, req, sub):
        m = re.fullmatch(r"/bot[^/]*/([A-Za-z]+)/?", sub)
        if m and m.group(1).lower() == "getupdates":
            return ["telegram:updates"]
        return ["telegram"]

    def _fail(self, status, description, **params) -> Response:
        body = {"ok": False, "error_code": status, "description": description}
        if params:
            body["parameters"] = params
        return Response.json(status, body)

    def error(self, status, req):
        return self._fail(status, self.DESCRIPTIONS.get(status, phrase(status)))

    def too_many(self, req):
        n = req.cfg["telegram_retry_after"]
        return self._fail(429, f"Too Many Requests: retry after {n}", retry_after=n)

    def not_found(self, req, sub, wrong_method):
        return self._fail(404, "Not Found")

    def _params(self, req) -> dict:
        """Parameters from the query string, then a JSON or form body."""
        params: dict = dict(req.query)
        if isinstance(req.json, dict):
            params.update(req.json)
        elif "application/x-www-form-urlencoded" in (req.header("content-type") or ""):
            params.update(dict(query_pairs(req.text)))
        return params

    def html_error(self, text: str) -> str | None:
        """Why Telegram's HTML parse mode would refuse text, or None.

        Wording follows Telegram's messages; byte offsets are UTF-8."""
        stack: list[str] = []
        i = 0
        while True:
            j = text.find("<", i)
            if j < 0:
                break
            off = len(text[:j].encode("utf-8"))
            m = self.TAG_RE.match(text, j)
            if not m:
                nm = re.match(r"</?([^\s<>]*)", text[j:]).group(1)
                return f"Unsupported start tag \"{nm}\" at byte offset {off}"
            close, name = m.group(1) == "/", m.group(2).lower()
            if close:
                if not stack:
                    return f"Unexpected end tag at byte offset {off}"
                if stack[-1] != name:
                    return (f"Unmatched end tag at byte offset {off}, expected \"</{stack[-1]}>\", "
                            f"found \"</{name}>\"")
                stack.pop()
            else:
                if name not in self.TAGS:
                    return f"Unsupported start tag \"{name}\" at byte offset {off}"
                stack.append(name)
            i = m.end()
        if stack:
            return f"Can't find end tag corresponding to start tag \"{stack[-1]}\""
        return None

    def method(self, req, m):
        token, method = m.group(1), m.group(2).lower()
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token):
            return self._fail(404, "Not Found")
        want = req.cfg.get("telegram_token")
        if want is not None and token != want:
            return self._fail(401, "Unauthorized")
        bot = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": "Stand-in Bot",
               "username": "standin_bot"}
        if method == "getme":
            return Response.json(200, {"ok": True, "result": dict(bot, can_join_groups=True,
                                                                  can_read_all_group_messages=False,
                                                                  supports_inline_queries=False)})
        if method == "getupdates":
            return self.get_updates(req)
        if method in ("setwebhook", "deletewebhook", "getwebhookinfo"):
            return self.webhook(req, method)
        if method != "sendmessage":
            return self._fail(404, "Not Found")
        p = self._params(req)
        chat_id = p.get("chat_id")
        if chat_id is None or chat_id == "":
            return self._fail(400, "Bad Request: chat_id is empty")
        if isinstance(chat_id, str) and re.fullmatch(r"-?\d+", chat_id):
            chat_id = int(chat_id)
        if not isinstance(chat_id, (int, str)) or isinstance(chat_id, bool):
            return self._fail(400, "Bad Request: chat not found")
        text = p.get("text")
        if not isinstance(text, str) or not text.strip():
            return self._fail(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return self._fail(400, "Bad Request: message is too long")
        mode = p.get("parse_mode")
        if mode not in (None, "", "HTML", "html", "Markdown", "MarkdownV2"):
            return self._fail(400, "Bad Request: unsupported parse_mode")
        if mode in ("HTML", "html"):
            why = self.html_error(text)
            if why:
                return self._fail(400, "Bad Request: can't parse entities: " + why)
            plain = re.sub(r"<[^>]*>", "", text)
            plain = plain.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
        else:
            plain = text
        if isinstance(chat_id, int):
            chat = {"id": chat_id, "type": "private" if chat_id > 0 else
                    ("supergroup" if str(chat_id).startswith("-100") else "group")}
        else:
            chat = {"id": -1000000000000 - stable_hash(chat_id) % 10**9, "type": "channel",
                    "username": chat_id.lstrip("@")}
        n = self.state.bump("telegram_message_id")
        with self.state.lock:
            self.state.tg_sent.append({"seq": req.seq, "time": round(req.time, 6), "message_id": n,
                                       "chat_id": p.get("chat_id"), "text": text, "plain": plain,
                                       "parse_mode": mode})
        return Response.json(200, {"ok": True, "result": {
            "message_id": n, "from": bot, "chat": chat, "date": int(req.time), "text": plain}})

    @staticmethod
    def _int_param(p: dict, name: str, default: int, lo: int, hi: int) -> int | None:
        v = p.get(name, default)
        if isinstance(v, str) and re.fullmatch(r"-?\d+", v):
            v = int(v)
        if not isinstance(v, int) or isinstance(v, bool):
            return None
        return max(lo, min(hi, v))

    def get_updates(self, req) -> Response:
        """Long polling as the Bot API does it: confirm what is below offset,
        answer the pending updates at once, else wait up to timeout seconds
        for one; a newer getUpdates ends this one with 409."""
        p = self._params(req)
        offset = self._int_param(p, "offset", 0, -(2 ** 31), 2 ** 53)
        limit = self._int_param(p, "limit", 100, 1, 100)
        timeout = self._int_param(p, "timeout", 0, 0, 50)
        if offset is None or limit is None or timeout is None:
            return self._fail(400, "Bad Request: wrong parameter type")
        st = self.state
        with st.lock:
            if req.cfg.get("telegram_webhook"):
                return self._fail(409, self.CONFLICT_WEBHOOK)
            st.tg_polls += 1
            st.tg_poll_gen += 1
            gen = st.tg_poll_gen
            st.tg_cond.notify_all()                  # an older poll still open ends with 409
            if offset > 0:
                st.tg_updates = [u for u in st.tg_updates if u["update_id"] >= offset]
                st.tg_offset = max(st.tg_offset, offset)
            deadline = time.monotonic() + timeout
            st.tg_open_polls += 1
            try:
                while True:
                    pending = [u for u in st.tg_updates if u["update_id"] >= offset][:limit]
                    left = deadline - time.monotonic()
                    if pending or left <= 0 or st.stopping.is_set():
                        return Response.json(200, {"ok": True, "result": copy.deepcopy(pending)})
                    st.tg_cond.wait(min(left, 0.5))
                    if st.tg_poll_gen != gen:
                        return self._fail(409, self.CONFLICT_POLLER)
            finally:
                st.tg_open_polls -= 1

    def webhook(self, req, method) -> Response:
        p = self._params(req)
        with self.state.lock:
            if method == "getwebhookinfo":
                return Response.json(200, {"ok": True, "result": {
                    "url": self.state.config.get("telegram_webhook") or "", "has_custom_certificate": False,
                    "pending_update_count": len(self.state.tg_updates)}})
            url = p.get("url") if method == "setwebhook" else None
            if method == "setwebhook" and not (isinstance(url, str) and url):
                return self._fail(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
            self.state.config["telegram_webhook"] = url
            self.state.tg_cond.notify_all()
        return Response.json(200, {"ok": True, "result": True,
                                   "description": "Webhook was set" if url else "Webhook was deleted"})


# -- /_standin/telegram/*: the test's side of the Bot API ---------------------

def control_post_updates(state, req) -> Response:
    """POST /_standin/telegram/updates: queue updates for getUpdates."""
    if not req.json_ok:
        raise ConfigError("expected a JSON object or a list of them")
    items = req.json if isinstance(req.json, list) else [req.json]
    made = []
    for it in items:
        if not isinstance(it, dict):
            raise ConfigError("each update: expected an object")
        if "update" in it:
            if not isinstance(it["update"], dict) or set(it) != {"update"}:
                raise ConfigError("update: expected {\"update\": {...}} alone")
            made.append(copy.deepcopy(it["update"]))
            continue
        unknown = set(it) - {"chat_id", "text", "from_id", "is_bot", "chat_type", "date", "username"}
        if unknown:
            raise ConfigError(f"unknown update fields: {', '.join(sorted(unknown))}")
        chat = it.get("chat_id")
        if not isinstance(chat, int) or isinstance(chat, bool):
            raise ConfigError("chat_id: expected an integer")
        text = it.get("text")
        if text is not None and not isinstance(text, str):
            raise ConfigError("text: expected a string")
        frm = it.get("from_id", chat if chat > 0 else 1)
        if not isinstance(frm, int) or isinstance(frm, bool):
            raise ConfigError("from_id: expected an integer")
        date = it.get("date", int(time.time()))
        if not isinstance(date, int) or isinstance(date, bool):
            raise ConfigError("date: expected an integer")
        ctype = it.get("chat_type") or ("private" if chat > 0 else
                                        "supergroup" if str(chat).startswith("-100") else "group")
        msg = {"message_id": 0, "from": {"id": frm, "is_bot": bool(it.get("is_bot", False)),
                                         "first_name": "Stand-in", "username": it.get("username", "standin_user")},
               "chat": {"id": chat, "type": ctype}, "date": date}
        if text is not None:
            msg["text"] = text
            if text.startswith("/"):
                n = len(re.match(r"/[A-Za-z0-9_@]*", text).group(0))
                msg["entities"] = [{"offset": 0, "length": n, "type": "bot_command"}]
        made.append({"message": msg})
    ids = []
    with state.lock:
        for u in made:
            if not isinstance(u.get("update_id"), int) or isinstance(u.get("update_id"), bool):
                state.tg_next_id += 1
                u = {"update_id": state.tg_next_id, **{k: v for k, v in u.items() if k != "update_id"}}
            else:
                state.tg_next_id = max(state.tg_next_id, u["update_id"])
            if isinstance(u.get("message"), dict) and not u["message"].get("message_id"):
                u["message"]["message_id"] = state.bump("telegram_message_id")
            state.tg_updates.append(u)
            ids.append(u["update_id"])
        state.tg_cond.notify_all()
    return Response.json(200, {"update_ids": ids})


def control_get_updates(state, req) -> Response:
    """GET /_standin/telegram/updates: the pending updates and the poll counters."""
    with state.lock:
        return Response.json(200, {"pending": copy.deepcopy(state.tg_updates), "offset": state.tg_offset,
                                   "polls": state.tg_polls, "open_polls": state.tg_open_polls})


def control_get_messages(state, req) -> Response:
    """GET /_standin/telegram/messages: what the bot sent, ?since=SEQ."""
    try:
        since = int(req.query["since"]) if req.query.get("since") else None
    except ValueError:
        raise ConfigError("since must be an integer")
    with state.lock:
        return Response.json(200, [m for m in state.tg_sent if since is None or m["seq"] > since])
