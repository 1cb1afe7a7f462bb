"""The stand-in's shared state: configuration, recorded requests, counters,
per-service memory (n8n executions, Telegram updates), the random walks, and
the sleeps that /_standin/release and shutdown cut short."""

from __future__ import annotations

import copy
import json
import math
import random
import sys
import threading
import time

from .common import stable_hash
from .config import check_patch, default_config

MAX_RECORDS = 100_000           # oldest recorded requests are dropped past this


class State:
    """Configuration, recorded requests and the random walks, under one lock."""

    def __init__(self, fixtures: dict, record_path: str | None, quiet: bool):
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.woken = threading.Event()     # set (and replaced) by release()
        self.sleeping = 0                  # handlers in sleep() now
        self.fixtures = fixtures
        self.quiet = quiet
        try:
            self.record_file = open(record_path, "a", encoding="utf-8") if record_path else None
        except OSError as e:
            raise SystemExit(f"standin: cannot open the record file: {e}")
        self.seq = 0
        self.requests: list[dict] = []
        self.dropped = 0
        self.reset()

    def log(self, msg: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"standin {time.strftime('%H:%M:%S')} {msg}\n")
            sys.stderr.flush()

    def reset(self) -> None:
        """Default configuration, no requests, random walks restarted."""
        with self.lock:
            self.config = default_config()
            self.requests = []
            self.dropped = 0
            self.counters: dict[str, int] = {}
            self.n8n_executions: dict[str, dict] = {}
            self.n8n_sessions: set[str] = set()
            self.n8n_scans: dict[str, int] = {}        # idempotency key -> executions that scanned
            self.n8n_claims: dict[str, list] = {}      # idempotency key -> [claim verdicts]
            # Telegram: updates queued for getUpdates, what the bot sent; the
            # update ids keep growing across resets, as Telegram's do
            self.tg_updates: list[dict] = []
            self.tg_offset = 0                         # the highest offset a getUpdates confirmed
            self.tg_polls = 0
            self.tg_open_polls = 0
            self.tg_poll_gen = getattr(self, "tg_poll_gen", 0) + 1   # wakes (409) a poll still open
            self.tg_sent: list[dict] = []
            if not hasattr(self, "tg_next_id"):
                self.tg_next_id = 1000
            if not hasattr(self, "tg_cond"):
                self.tg_cond = threading.Condition(self.lock)
            self.tg_cond.notify_all()
            self._reseed()

    def _reseed(self) -> None:
        self.rng = random.Random(self.config["seed"])
        self.walk: dict[str, float] = {}

    def next_seq(self) -> int:
        with self.lock:
            self.seq += 1
            return self.seq

    def bump(self, counter: str) -> int:
        """Increment a named counter (reset by /_standin/reset); returns the new value."""
        with self.lock:
            self.counters[counter] = self.counters.get(counter, 0) + 1
            return self.counters[counter]

    def snapshot(self) -> dict:
        with self.lock:
            return copy.deepcopy(self.config)

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake up at shutdown or at release()."""
        with self.lock:
            woken = self.woken
            self.sleeping += 1
        try:
            if not self.stopping.is_set():
                woken.wait(seconds)
        finally:
            with self.lock:
                self.sleeping -= 1

    def release(self) -> int:
        """Wake every handler sleeping now; returns how many there were."""
        with self.lock:
            woken, self.woken = self.woken, threading.Event()
            n = self.sleeping
        woken.set()
        return n

    def pick_behaviour(self, keys: list[str]) -> str:
        """The behaviour word for the first configured key; lists advance one step per call."""
        with self.lock:
            beh = self.config["behaviour"]
            for key in keys:
                if key not in beh:
                    continue
                v = beh[key]
                if isinstance(v, list):
                    i = self.counters.get("behaviour:" + key, 0)
                    self.counters["behaviour:" + key] = i + 1
                    v = v[min(i, len(v) - 1)]
                return str(v)
            return "ok"

    def fx_quote(self, name: str, start: float | None, step_bp: float, move: bool) -> float:
        """Next value of a deterministic geometric random walk named name."""
        with self.lock:
            if name not in self.walk:
                self.walk[name] = start if start else 1.0 + (stable_hash(name) % 1000) / 1000.0
            elif move and step_bp > 0:
                self.walk[name] *= math.exp(self.rng.gauss(0.0, step_bp / 10000.0))
            return self.walk[name]

    def update_config(self, patch) -> dict:
        """Validate patch (config.check_patch) and merge it; all or nothing.
        Returns the new configuration; raises ConfigError."""
        patch = check_patch(patch)
        with self.lock:
            new = copy.deepcopy(self.config)
            for k, v in patch.items():
                if k == "behaviour":
                    defaults = default_config()["behaviour"]
                    for bk, bv in v.items():
                        if bk.startswith("n8n:"):
                            bk = "n8n:" + bk[4:].strip("/")
                        self.counters.pop("behaviour:" + bk, None)
                        if bv is None:
                            if bk in defaults:
                                new["behaviour"][bk] = defaults[bk]
                            else:
                                new["behaviour"].pop(bk, None)
                        else:
                            new["behaviour"][bk] = [str(x) for x in bv] if isinstance(bv, list) else str(bv)
                elif k == "n8n_paths":
                    new[k] = [p.strip("/") for p in v]
                elif k == "n8n_exec_status":
                    self.counters.pop("n8n_exec_status", None)
                    new[k] = copy.deepcopy(v)
                elif k == "llm_remaining_requests":
                    self.counters.pop("llm_window", None)      # a new window starts now
                    new[k] = v
                else:
                    new[k] = copy.deepcopy(v)
            reseed = "seed" in patch
            self.config = new
            if reseed:
                self._reseed()
            return copy.deepcopy(self.config)

    def record(self, rec: dict) -> None:
        with self.lock:
            self.requests.append(rec)
            if len(self.requests) > MAX_RECORDS:
                del self.requests[0]
                self.dropped += 1
            if self.record_file:
                try:
                    self.record_file.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    self.record_file.flush()
                except OSError as e:
                    self.log(f"cannot write the record file: {e}")

    def find(self, prefix: str, method: str | None, since: int | None) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"].startswith(prefix)
                    and (method is None or r["method"] == method)
                    and (since is None or r["seq"] > since)]

    def clear_requests(self) -> None:
        with self.lock:
            self.requests = []
            self.dropped = 0
