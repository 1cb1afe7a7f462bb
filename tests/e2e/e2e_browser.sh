#!/usr/bin/env bash
# The dashboard in a real browser: headless Chromium (Debian's chromium
# package, /usr/bin/chromium; no browser download) driven by playwright-core
# from npm (the version pinned in tests/browser/package.json and its lock,
# installed once into a cache), against the running stack (PostgreSQL,
# orch-api behind nginx, orch-worker, the stand-in).  tests/browser/dashboard.test.js
# checks: the page loads with no console error, refreshes by itself (a
# decision forced through the API appears without a reload), the control
# buttons ask for the token and act (stop, start, force seen in /status and
# the page), a decision row expands to its audit, and market text with markup
# -- a DexScreener token named like an <img onerror> tag, which the stand-in
# LLM quotes in its reason -- is shown as text.  Screenshots go to
# BROWSER_SHOTS_DIR (default: e2e_browser-screenshots beside this test's log).
#
# Run by `make check TESTS=tests/e2e/e2e_browser.sh`; by hand:
#   top_builddir=/path/to/build bash tests/e2e/e2e_browser.sh   (KEEP_TMP=1 keeps the logs)
# Environment: ORCH_BROWSER_CACHE (default /var/cache/ai-orchestrator/browser)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

E2E_NAME=e2e_browser
# shellcheck source=../lib/e2e.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)/e2e.sh"
e2e_begin

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
SHOTS=${BROWSER_SHOTS_DIR:-$top_builddir/tests/e2e/e2e_browser-screenshots}
[ -x "$CHROMIUM" ] || bail "Debian's chromium installed at $CHROMIUM (scripts/setup-deps.sh)"
command -v node >/dev/null && command -v npm >/dev/null || bail "node and npm installed (scripts/setup-deps.sh)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || bail "Node >= 20 for playwright-core (found $(node --version))"

# ---- playwright-core from npm, cached by the lock file's hash -----------------------------
B=$top_srcdir/tests/browser
CACHE=${ORCH_BROWSER_CACHE:-/var/cache/ai-orchestrator/browser}
key=$(cat "$B/package.json" "$B/package-lock.json" | sha256sum | cut -c1-16)
PW_DIR=$CACHE/$key
mkdir -p "$CACHE" || bail "cache directory $CACHE"
(
  flock 9
  if [ ! -f "$PW_DIR/node_modules/playwright-core/package.json" ]; then
    rm -rf "$PW_DIR.tmp" && mkdir -p "$PW_DIR.tmp" &&
    cp "$B/package.json" "$B/package-lock.json" "$PW_DIR.tmp/" &&
    (cd "$PW_DIR.tmp" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts \
       >"$T/log/npm.log" 2>&1) &&
    rm -rf "$PW_DIR" && mv "$PW_DIR.tmp" "$PW_DIR"
  fi
) 9>"$CACHE/.lock"
[ -f "$PW_DIR/node_modules/playwright-core/package.json" ] ||
  { tail -n 20 "$T/log/npm.log" 2>/dev/null | sed 's/^/#   /'; bail "playwright-core installed from npm into $PW_DIR"; }
ok "playwright-core $(node -p "require('$PW_DIR/node_modules/playwright-core/package.json').version") (cache $PW_DIR), $("$CHROMIUM" --version 2>/dev/null | head -n 1)"

# ---- the stack: the stand-in serves a token name with markup, the LLM quotes it ---------------
[ -x "$ORCH_WORKER_BIN" ] && [ -x "$ORCH_API_BIN" ] || bail "binaries built"
PG_FAST=1 stack_start_pg || bail "PostgreSQL started"
standin_start
TOKEN=$(rnd 24) LLM_KEY=llm-$(rnd 6)
MARKUP='<img src=x onerror=alert(1)>'
export ORCHESTRATOR_API_TOKEN=$TOKEN
export DEXSCREENER_BASE_URL=$SA/dex PUMPFUN_BASE_URL=$SA/pumpfun
export DECISION_MIN_SECONDS=5 DECISION_MAX_SECONDS=8 HEARTBEAT_SECONDS=1 PROBE_TIMEOUT_MS=1500
export LLM_BASE_URL=$SA/llm/v1 LLM_API_KEY=$LLM_KEY LLM_TIMEOUT_MS=2000 LLM_CYCLE_BUDGET_MS=4000
answer=$("$PYTHON" -c 'import json, sys; print(json.dumps({"mode": "crypto", "intensity": "normal",
  "workflows": ["crypto-normal-scan"], "next_decision_seconds": 8,
  "reason": "token " + sys.argv[1] + " is moving: a normal crypto scan", "confidence": 0.7}))' "$MARKUP")
standin_config "$("$PYTHON" -c 'import json, sys; print(json.dumps({"llm_key": sys.argv[1], "llm_content": json.loads(sys.argv[2]),
  "dex_token_name": sys.argv[3]}))' "$LLM_KEY" "$answer" "$MARKUP")" || bail "stand-in configured"
stack_start_api 2 || bail "orch-api started"
for _ in 1 2 3; do stack_start_nginx "$(stack_free_port)" && break; done
[ -n "$STACK_PORT" ] || bail "nginx started"
BASE=http://127.0.0.1:$STACK_PORT
N8N_BASE_URL=$SA/n8n stack_start_worker || bail "orch-worker started"

llm_decision() { [ "$(sql "SELECT count(*) FROM decisions WHERE source = 'llm'")" -gt 0 ]; }
wait_for 30 llm_decision || bail "a decision by the stand-in LLM"
prompt_has_markup() {
  curl -s --max-time 5 "$SA/_standin/requests?prefix=/llm/&method=POST" |
    MARKUP=$MARKUP "$PYTHON" -c '
import json, os, sys
reqs = json.load(sys.stdin)
def user(r):
    b = r.get("body") or {}
    return " ".join(m.get("content", "") for m in b.get("messages", []) if m.get("role") == "user")
sys.exit(0 if any(os.environ["MARKUP"] in user(r) and "untrusted_market_text" in user(r) for r in reqs) else 1)'
}
check "the worker passed the DexScreener token name to the LLM as untrusted market text" prompt_has_markup

# ---- the browser ------------------------------------------------------------------------------
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
# a decision the watch woke (as the worker records one: wake 'event' with its
# signal, value and threshold), for the page's wake chip and detail
EVENT_ID=$(sql "INSERT INTO decisions (cycle_id, mode, intensity, source, reason, inputs, menu, sessions, session,
                  next_seconds, next_decision_at, dry_run, status, completed_at, llm_outcome, wake, wake_detail)
                SELECT 'e2e-event', mode, intensity, source, 'e2e: woken by the watch', inputs, menu, sessions, session,
                       next_seconds, next_decision_at, dry_run, status, completed_at, llm_outcome, 'event',
                       '{\"reason\":\"event\",\"market\":\"crypto\",\"signal\":\"activity:dex:e2ePair\",\"value\":14.2,\"threshold\":1.5}'
                  FROM decisions ORDER BY id DESC LIMIT 1 RETURNING id")
[ -n "$EVENT_ID" ] || bail "an event decision recorded for the page"
watch_reported() { [ "$(sql "SELECT watch ? 'markets' FROM worker_state")" = t ]; }
wait_for 30 watch_reported || note "the watch has not reported yet"
EVENT_ID=$EVENT_ID PLAYWRIGHT_CORE=$PW_DIR/node_modules/playwright-core BASE=$BASE TOKEN=$TOKEN MARKUP=$MARKUP SHOTS=$SHOTS \
  CHROMIUM=$CHROMIUM timeout 300 node "$B/dashboard.test.js" > "$T/browser.out" 2>"$T/log/browser-stderr.log"
rc=$?
while IFS= read -r line; do
  case $line in
    "ok - "*) ok "${line#ok - }";;
    "not ok - "*) not_ok "${line#not ok - }";;
    *) echo "$line";;
  esac
done < "$T/browser.out"
[ "$rc" = 0 ] || not_ok "dashboard.test.js exited $rc$( [ "$rc" = 124 ] && echo ' (timed out)')"
note "screenshots: $SHOTS ($(ls "$SHOTS" | wc -l) files)"
E2E_EXTRA_LOGS="$T/log/browser-stderr.log"
