#!/bin/bash
# Self-check of the stand-in: every route and every behaviour, with curl.
#
#   tests/standin/test_standin.sh [FIXTURES_DIR]
#
# FIXTURES_DIR defaults to $SHARED_DATA/fixtures, then ../shared/data/fixtures
# next to the repository.  Needs bash, curl and python3 (for JSON checks).
# Exit status 0 when every check passed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
standin="$here/standin.py"
py=${PYTHON:-/usr/bin/python3}
[ -x "$py" ] || py=python3
fixtures=${1:-${SHARED_DATA:+$SHARED_DATA/fixtures}}
[ -n "$fixtures" ] || fixtures="$here/../../../shared/data/fixtures"

tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

pass=0
fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# start_standin OUTFILE ARGS...: start in the background, wait for the first line.
start_standin() {
    local out=$1; shift
    "$py" "$standin" "$@" >"$out" 2>>"$tmp/stderr" &
    pid=$!
    for _ in $(seq 100); do
        grep -q '^standin listening on 127.0.0.1:' "$out" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# req METHOD PATH [curl args...]: sets $status; body in $tmp/body, headers in $tmp/hdr.
req() {
    local method=$1 path=$2; shift 2
    status=$(curl -s -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' -X "$method" "$@" "$base$path")
}

# expect_status N LABEL
expect_status() {
    if [ "$status" = "$1" ]; then ok; else bad "$2: status $status, wanted $1: $(head -c 300 "$tmp/body")"; fi
}

# expect_json PYTHON_EXPR LABEL: the expression sees the parsed body as j.
expect_json() {
    if "$py" -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
        "$tmp/body" "$1" 2>/dev/null; then ok; else bad "$2: ($1) false on: $(head -c 300 "$tmp/body")"; fi
}

# expect_invalid_json LABEL
expect_invalid_json() {
    if "$py" -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/body" 2>/dev/null; then
        bad "$1: body parses as JSON"; else ok; fi
}

# expect_header REGEX LABEL (case-insensitive, on the header block)
expect_header() {
    if tr -d '\r' <"$tmp/hdr" | grep -qiE "$1"; then ok; else bad "$2: no header matching $1"; fi
}

# expect_body REGEX LABEL
expect_body() {
    if grep -qE "$1" "$tmp/body"; then ok; else bad "$2: body does not match $1"; fi
}

config() {   # config JSON: merge into the stand-in's configuration, must be accepted
    req POST /_standin/config -H 'Content-Type: application/json' --data-binary "$1"
    expect_status 200 "config $1"
}
reset() { req POST /_standin/reset; expect_status 200 reset; }

# ---------------------------------------------------------------------------
start_standin "$tmp/out" --port 0 --fixtures "$fixtures" --record "$tmp/rec.jsonl" --pidfile "$tmp/pid" \
    || { echo "stand-in did not start:"; cat "$tmp/stderr"; exit 1; }
port=$(sed -n '1s/^standin listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/out")
base="http://127.0.0.1:$port"
[ -n "$port" ] && ok || bad "first stdout line: $(head -1 "$tmp/out")"
[ "$(cat "$tmp/pid" 2>/dev/null)" = "$pid" ] && ok || bad "pidfile"
if ss -ltn 2>/dev/null | grep -q "127.0.0.1:$port "; then ok; elif command -v ss >/dev/null; then bad "not bound to 127.0.0.1"; fi

# --- control ---------------------------------------------------------------
req GET /_standin/health;                  expect_status 200 health
req GET /_standin/config;                  expect_status 200 "get config"
expect_json 'j["behaviour"]["pumpfun"] == "blocked" and j["tradermade_key"] == "test-tm-key" and len(j["n8n_paths"]) == 8' "default config"
req POST /_standin/config -H 'Content-Type: application/json' --data-binary '{"behaviour": {"dex": '
expect_status 400 "config: bad JSON"
req POST /_standin/config --data-binary '[1,2]';                      expect_status 400 "config: not an object"
req POST /_standin/config --data-binary '{"nope": 1}';                expect_status 400 "config: unknown key"
req POST /_standin/config --data-binary '{"behaviour": {"dex": "sometimes"}}'; expect_status 400 "config: bad behaviour"
req POST /_standin/config --data-binary '{"behaviour": {"dexx": "ok"}}';       expect_status 400 "config: bad service"
req POST /_standin/config --data-binary '{"slow_seconds": "3"}';     expect_status 400 "config: bad type"
req POST /_standin/config --data-binary '{"dex_m5": NaN}';           expect_status 400 "config: NaN"
req POST /_standin/config;                                            expect_status 400 "config: empty body"
req GET /_standin/nothing;                                            expect_status 404 "control: unknown"
req DELETE /_standin/config;                                          expect_status 405 "control: wrong method"
req GET /nowhere;                                                     expect_status 404 "unknown prefix"

# --- DexScreener -----------------------------------------------------------
req GET '/dex/latest/dex/search?q=solana'; expect_status 200 "dex search"
expect_json 'j["schemaVersion"] == "1.0.0" and len(j["pairs"]) == 3 and j["pairs"][0]["priceChange"]["m5"] == 11.8 and isinstance(j["pairs"][0]["priceUsd"], str)' "dex search body"
req GET /dex/token-profiles/latest/v1;     expect_status 200 "dex profiles"
expect_json 'isinstance(j, list) and len(j) == 53 and "tokenAddress" in j[0]' "dex profiles body"
req GET /dex/latest/dex/pairs/solana/FVZqEg9dYKqRXUmswwtBRPSaneoV6guujtCvLrDyt6qi; expect_status 200 "dex pair"
expect_json 'j["pairs"][0]["baseToken"]["symbol"] == "STONK" and len(j["pairs"]) == 1' "dex pair body"
req GET /dex/latest/dex/pairs/solana/nosuchpair; expect_status 200 "dex pair missing"
expect_json 'j == {"schemaVersion": "1.0.0", "pairs": None}' "dex pair missing body"
req GET /dex/latest/dex/pairs/ethereum/FVZqEg9dYKqRXUmswwtBRPSaneoV6guujtCvLrDyt6qi
expect_json 'j["pairs"] is None' "dex pair wrong chain"
req GET /dex/tokens/v1/solana/DppWLLeBgn49Poy15Jqq8vewEEtSrMBQNzKKzYgZpump
expect_json 'len(j) == 1 and j[0]["baseToken"]["symbol"] == "KYS"' "dex tokens"
req GET /dex/unknown/route;                expect_status 404 "dex unknown"
req POST '/dex/latest/dex/search?q=x';     expect_status 405 "dex wrong method"
config '{"dex_m5": 4.2, "dex_created_ago_s": 120}'
req GET '/dex/latest/dex/search?q=solana'
expect_json 'all(p["priceChange"]["m5"] == 4.2 for p in j["pairs"]) and all(p["priceChange"]["h1"] != 4.2 for p in j["pairs"])' "dex_m5 override"
expect_json '__import__("time").time() - max(p["pairCreatedAt"] for p in j["pairs"]) / 1000 < 130' "dex_created_ago_s"
config '{"dex_m5": null, "dex_created_ago_s": null}'
req GET '/dex/latest/dex/search?q=solana'
expect_json '[p["priceChange"]["m5"] for p in j["pairs"]] == [11.8, 13.64, -63.35]' "dex_m5 back to fixture"

# --- generic behaviours, on every service ----------------------------------
# plain_request SERVICE: one ordinary request to that service
plain_request() {
    case $1 in
    dex)        req GET '/dex/latest/dex/search?q=solana' ;;
    pumpfun)    req GET /pumpfun/coins/latest ;;
    tradermade) req GET '/tradermade/api/v1/live?currency=EURUSD,GBPUSD&api_key=test-tm-key' ;;
    birdeye)    req GET '/birdeye/defi/price?address=So11111111111111111111111111111111111111112' -H 'X-API-KEY: bk' ;;
    n8n)        req POST /n8n/webhook/crypto-normal-scan -H 'Content-Type: application/json' --data-binary '{"a":1}' ;;
    llm)        req POST /llm/v1/chat/completions -H 'Authorization: Bearer gk' -H 'Content-Type: application/json' \
                    --data-binary '{"model":"m","messages":[{"role":"user","content":"hi"}]}' ;;
    telegram)   req POST /telegram/bot123:abc/sendMessage -H 'Content-Type: application/json' \
                    --data-binary '{"chat_id":42,"text":"hi"}' ;;
    esac
}
config '{"slow_seconds": 1}'
for svc in dex pumpfun tradermade birdeye n8n llm telegram; do
for b in 500 503 429 malformed empty slow ok; do
        [ "$svc" = pumpfun ] && [ "$b" = ok ] && continue
        config "{\"behaviour\": {\"$svc\": \"$b\"}}"
        t0=$(date +%s.%N)
        plain_request "$svc"
        t1=$(date +%s.%N)
        case $b in
        500|503) expect_status "$b" "$svc $b"
                 expect_header '^content-type: application/json' "$svc $b content-type"
                 expect_json 'isinstance(j, dict)' "$svc $b JSON body" ;;
        429)     expect_status 429 "$svc 429"
                 if [ "$svc" = telegram ]; then
                     expect_json 'j == {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3", "parameters": {"retry_after": 3}}' "telegram flood control"
                 else
                     expect_header '^retry-after: 2$' "$svc 429 retry-after"
                 fi ;;
        malformed) expect_status 200 "$svc malformed"
                 expect_header '^content-type: application/json' "$svc malformed content-type"
                 expect_invalid_json "$svc malformed body" ;;
        empty)   expect_status 200 "$svc empty"
                 [ ! -s "$tmp/body" ] && ok || bad "$svc empty: body not empty" ;;
        slow)    expect_status 200 "$svc slow"
                 awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a >= 1.0) }' && ok || bad "$svc slow: answered in less than 1 s" ;;
        ok)      expect_status 200 "$svc ok"
                 expect_json 'isinstance(j, (dict, list))' "$svc ok body" ;;
        esac
    done
done
reset

# hostile answers (issue 10): every service, every word
for svc in dex pumpfun tradermade birdeye n8n llm telegram; do
    for b in huge nonfinite wrong_types not_utf8 control deep cut gigantic; do
        config "{\"behaviour\": {\"$svc\": \"$b\"}}"
        plain_request "$svc"
        size=$(wc -c <"$tmp/body")
        case $b in
        huge)        # n8n's default answer holds no number
                     [ "$svc" = n8n ] || { grep -q '1e+305' "$tmp/body" && ok || bad "$svc huge: no 1e+305 in $(head -c 200 "$tmp/body")"; }
                     [ "$svc" = llm ] && expect_header '^retry-after: 1e300$' "llm huge retry-after" ;;
        nonfinite)   [ "$svc" = n8n ] && continue
                     "$py" -c 'import json,sys
def no(c): raise ValueError(c)
json.loads(open(sys.argv[1]).read(), parse_constant=no)' "$tmp/body" 2>/dev/null &&
                         bad "$svc nonfinite: body is strict JSON" || ok
                     grep -qE 'NaN|Infinity|1e400' "$tmp/body" && ok || bad "$svc nonfinite: nothing non-finite" ;;
        wrong_types) expect_json 'isinstance(j, (dict, list))' "$svc wrong_types is JSON" ;;
        not_utf8)    "$py" -c 'import sys; open(sys.argv[1],"rb").read().decode("utf-8")' "$tmp/body" 2>/dev/null &&
                         bad "$svc not_utf8: body is valid UTF-8" || ok ;;
        control)     grep -q '\\u0007' "$tmp/body" && ok || bad "$svc control: no \\u0007" ;;
        deep)        [ "$size" = 400000 ] && ok || bad "$svc deep: $size bytes" ;;
        cut)         [ "$status" = 000 ] || [ "$status" = 200 ] && ok || bad "$svc cut: status $status" ;;
        gigantic)    [ "$size" -gt 8000000 ] && ok || bad "$svc gigantic: $size bytes" ;;
        esac
    done
done
reset

# behaviour sequences: one item per request, the last one sticks
config '{"behaviour": {"n8n:crypto-light-monitoring": ["500", "503", "ok"]}}'
seq_got=
for _ in 1 2 3 4; do req POST /n8n/webhook/crypto-light-monitoring --data-binary '{}'; seq_got="$seq_got$status "; done
[ "$seq_got" = "500 503 200 200 " ] && ok || bad "behaviour sequence: $seq_got"
reset

# --- timeout: the client times out, others are answered meanwhile ----------
config '{"behaviour": {"dex": "timeout", "n8n:deep-market-analysis": "timeout"}}'
t0=$(date +%s.%N)
curl -s -m 2 -o /dev/null "$base/dex/latest/dex/search?q=solana" & c1=$!
curl -s -m 2 -o /dev/null -X POST --data-binary '{}' "$base/n8n/webhook/deep-market-analysis" & c2=$!
sleep 0.3
for _ in 1 2 3; do
    q0=$(date +%s.%N)
    req GET "/tradermade/api/v1/live?currency=EURUSD&api_key=test-tm-key"
    q1=$(date +%s.%N)
    expect_status 200 "answered during a timeout"
    awk -v a="$q0" -v b="$q1" 'BEGIN { exit !(b - a < 0.5) }' && ok || bad "other request blocked by a timeout"
done
req POST /n8n/webhook/crypto-normal-scan --data-binary '{}'; expect_status 200 "other webhook during a timeout"
wait $c1; rc1=$?
wait $c2; rc2=$?
t1=$(date +%s.%N)
[ "$rc1" = 28 ] && ok || bad "dex timeout: curl -m 2 exit $rc1, wanted 28"
[ "$rc2" = 28 ] && ok || bad "n8n timeout: curl -m 2 exit $rc2, wanted 28"
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a >= 1.9 && b - a < 4) }' && ok || bad "timeout elapsed"
reset

# --- Pump.fun ----------------------------------------------------------------
req GET /pumpfun/coins/latest;   expect_status 403 "pumpfun blocked"
expect_header '^content-type: text/html' "pumpfun html"
expect_header '^server: cloudflare' "pumpfun server header"
expect_body 'Sorry, you have been blocked' "pumpfun block page"
config '{"behaviour": {"pumpfun": "ok"}}'
req GET '/pumpfun/coins?offset=0&limit=5'; expect_status 200 "pumpfun ok"
expect_json 'isinstance(j, list) and j and all("mint" in c and "usd_market_cap" in c for c in j)' "pumpfun coins"
config '{"pumpfun_coins": [{"mint": "M1", "name": "One"}]}'
req GET /pumpfun/coins/latest;   expect_json 'j == [{"mint": "M1", "name": "One"}]' "pumpfun_coins"
config '{"behaviour": {"pumpfun": "403"}}'
req GET /pumpfun/coins/latest;   expect_status 403 "pumpfun 403"
reset

# --- TraderMade --------------------------------------------------------------
tm='/tradermade/api/v1/live?currency=EURUSD,GBPUSD&api_key=test-tm-key'
req GET "$tm"; expect_status 200 "tradermade live"
expect_json 'j["endpoint"] == "live" and [q["base_currency"] + q["quote_currency"] for q in j["quotes"]] == ["EURUSD", "GBPUSD"] and all(q["bid"] < q["mid"] < q["ask"] for q in j["quotes"])' "tradermade quotes"
expect_json 'abs(j["timestamp"] - __import__("time").time()) < 5 and j["requested_time"].endswith(" GMT")' "tradermade timestamp"
cp "$tmp/body" "$tmp/q1"
req GET "$tm"; cp "$tmp/body" "$tmp/q2"
"$py" - "$tmp/q1" "$tmp/q2" <<'EOF' && ok || bad "tradermade quotes do not move, or move too much"
import json, sys
a, b = (json.load(open(f))["quotes"] for f in sys.argv[1:3])
moves = [abs(y["mid"] - x["mid"]) / x["mid"] * 1e4 for x, y in zip(a, b)]
sys.exit(0 if any(m > 0 for m in moves) and all(m < 5 for m in moves) else 1)
EOF
reset; req GET "$tm"; cp "$tmp/body" "$tmp/r1"
reset; req GET "$tm"
cmp -s <("$py" -c 'import json,sys; print([q["mid"] for q in json.load(open(sys.argv[1]))["quotes"]])' "$tmp/r1") \
       <("$py" -c 'import json,sys; print([q["mid"] for q in json.load(open(sys.argv[1]))["quotes"]])' "$tmp/body") \
    && ok || bad "tradermade walk not deterministic after reset"
req GET '/tradermade/api/v1/live?currency=EURUSD'; expect_status 401 "tradermade no key"
expect_json 'j == {"errors": {"message": "API key is invalid"}}' "tradermade no key body"
req GET '/tradermade/api/v1/live?currency=EURUSD&api_key=wrong'; expect_status 401 "tradermade wrong key"
config '{"tradermade_key": "k2"}'
req GET '/tradermade/api/v1/live?currency=EURUSD&api_key=k2'; expect_status 200 "tradermade_key"
config '{"stale": true}'
req GET '/tradermade/api/v1/live?currency=EURUSD&api_key=k2'
expect_json '2.9 * 86400 < __import__("time").time() - j["timestamp"] < 3.1 * 86400' "tradermade stale"
req GET '/tradermade/api/v1/live?api_key=k2';  expect_status 400 "tradermade no currency"
req GET '/tradermade/api/v1/live?currency=EURUSD,XX&api_key=k2'
expect_json 'j["quotes"][1]["instrument"] == "XX" and "error" in j["quotes"][1]' "tradermade bad instrument"
reset

# --- Birdeye -----------------------------------------------------------------
req GET "/birdeye/defi/price?address=So11111111111111111111111111111111111111112" -H 'X-API-KEY: anything'
expect_status 200 "birdeye price"
expect_json 'j["success"] is True and j["data"]["value"] > 0 and abs(j["data"]["updateUnixTime"] - __import__("time").time()) < 5' "birdeye body"
req GET "/birdeye/defi/price?address=3Y1SCEJABneLzJ1KL7f6jp5NyP7wxjtqmAy5qKAVpump" -H 'X-API-KEY: anything'
expect_json 'j["data"]["value"] == 0.0003798' "birdeye fixture price"
req GET "/birdeye/defi/price?address=So11111111111111111111111111111111111111112"
expect_status 401 "birdeye no key"
expect_json 'j == {"success": False, "message": "Unauthorized"}' "birdeye no key body"
config '{"birdeye_key": "bk"}'
req GET "/birdeye/defi/price?address=x" -H 'X-API-KEY: other'; expect_status 401 "birdeye wrong key"
req GET "/birdeye/defi/price?address=x" -H 'X-API-KEY: bk';    expect_status 200 "birdeye right key"
reset

# --- n8n ---------------------------------------------------------------------
for p in crypto-aggressive-scan crypto-normal-scan crypto-light-monitoring forex-london-session \
         forex-newyork-session forex-asia-session health-monitor-check deep-market-analysis; do
    req POST "/n8n/webhook/$p" -H 'Content-Type: application/json' --data-binary "{\"trigger_id\":\"t-$p\"}"
    expect_status 200 "n8n $p"
    expect_json 'j == {"message": "Workflow was started"}' "n8n $p body"
done
req POST /n8n/webhook/no-such-path --data-binary '{}'; expect_status 404 "n8n unregistered"
expect_json 'j["code"] == 404 and j["message"] == "The requested webhook \"POST no-such-path\" is not registered." and j["hint"]' "n8n unregistered body"
req GET /n8n/webhook/crypto-normal-scan; expect_status 404 "n8n GET registered"
expect_json 'j == {"code": 404, "message": "This webhook is not registered for GET requests. Did you mean to make a POST request?"}' "n8n GET registered body"
req GET /n8n/webhook/no-such-path; expect_status 404 "n8n GET unregistered"
expect_json 'j["message"] == "The requested webhook \"GET no-such-path\" is not registered."' "n8n GET unregistered body"
req POST /n8n/webhook-test/crypto-normal-scan --data-binary '{}'; expect_status 404 "n8n webhook-test"
expect_json '"Execute workflow" in j["hint"]' "n8n webhook-test hint"
req GET /n8n/healthz;           expect_status 200 "n8n healthz"; expect_json 'j == {"status": "ok"}' "n8n healthz body"
req GET /n8n/healthz/readiness; expect_status 200 "n8n readiness"
req POST /n8n/webhook/crypto-normal-scan -H 'Content-Type: application/json' --data-binary '{"broken'
expect_status 422 "n8n bad JSON body"
config '{"behaviour": {"n8n:forex-asia-session": "unregistered", "n8n:deep-market-analysis": "500"}}'
req POST /n8n/webhook/forex-asia-session --data-binary '{}'; expect_status 404 "n8n per-path unregistered"
expect_json '"is not registered" in j["message"]' "n8n per-path unregistered body"
req POST /n8n/webhook/deep-market-analysis --data-binary '{}'; expect_status 500 "n8n per-path 500"
req POST /n8n/webhook/forex-london-session --data-binary '{}'; expect_status 200 "n8n other paths unaffected"
config '{"behaviour": {"n8n:forex-asia-session": null}}'
req POST /n8n/webhook/forex-asia-session --data-binary '{}'; expect_status 200 "n8n per-path override removed"
config '{"n8n_paths": ["only-this"], "n8n_response": {"executionId": "7"}}'
req POST /n8n/webhook/only-this --data-binary '{}'; expect_json 'j == {"executionId": "7"}' "n8n_response"
req POST /n8n/webhook/crypto-normal-scan --data-binary '{}'; expect_status 404 "n8n_paths"
config '{"n8n_auth": {"header": "X-Orch-Auth", "value": "s3"}}'
req POST /n8n/webhook/only-this --data-binary '{}'; expect_status 403 "n8n auth missing"
expect_body 'Authorization data is wrong!' "n8n auth body"
req POST /n8n/webhook/only-this -H 'X-Orch-Auth: s3' --data-binary '{}'; expect_status 200 "n8n auth ok"
reset

# --- n8n internal REST: owner login and stopping an execution ------------------
req POST /n8n/rest/login -H 'Content-Type: application/json' --data-binary '{"emailOrLdapLoginId":"o@x.invalid","password":"pw"}'
expect_status 401 "n8n login without an owner configured"
config '{"n8n_owner": {"email": "o@x.invalid", "password": "pw"}, "n8n_respond": "accepted", "n8n_exec_seconds": 60}'
req POST /_standin/config --data-binary '{"n8n_owner": {"email": 1}}'; expect_status 400 "config: bad n8n_owner"
req POST /n8n/rest/login -H 'Content-Type: application/json' --data-binary '{"emailOrLdapLoginId":"o@x.invalid","password":"wrong"}'
expect_status 401 "n8n login wrong password"
expect_json '"Wrong username or password" in j["message"]' "n8n login refused body"
req POST /n8n/rest/login -H 'Content-Type: application/json' --data-binary '{"emailOrLdapLoginId":"o@x.invalid","password":"pw"}'
expect_status 200 "n8n login"
expect_header '^set-cookie: n8n-auth=sess-[0-9a-f]+; ' "n8n login cookie"
sess=$(tr -d '\r' <"$tmp/hdr" | sed -n 's/^[Ss]et-[Cc]ookie: n8n-auth=\([^;]*\).*/\1/p')
req POST /n8n/webhook/crypto-normal-scan -H 'Content-Type: application/json' --data-binary '{"trigger_id":1}'
xid=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["execution_id"])' "$tmp/body")
req POST "/n8n/rest/executions/$xid/stop"; expect_status 401 "n8n stop without a session"
req POST "/n8n/rest/executions/$xid/stop" -H "Cookie: n8n-auth=nope"; expect_status 401 "n8n stop with a wrong session"
req POST "/n8n/rest/executions/$xid/stop" -H "Cookie: n8n-auth=$sess"; expect_status 200 "n8n stop a running execution"
expect_json 'j["data"]["status"] == "canceled" and j["data"]["finished"] is False and j["data"]["stoppedAt"]' "n8n stop body"
req GET "/n8n/api/v1/executions/$xid" -H 'X-N8N-API-KEY: k'
expect_json 'j["status"] == "canceled" and j["stoppedAt"]' "n8n stopped execution is canceled"
req POST "/n8n/rest/executions/$xid/stop" -H "Cookie: n8n-auth=$sess"; expect_status 500 "n8n stop an ended execution"
expect_json '"Only running or waiting executions can be stopped" in j["message"]' "n8n stop ended body"
req POST /n8n/rest/executions/999999/stop -H "Cookie: n8n-auth=$sess"; expect_status 500 "n8n stop unknown execution"
expect_json 'j == {"code": 0, "message": "Failed to find execution to stop"}' "n8n stop unknown body"
reset

# --- Telegram ----------------------------------------------------------------
req POST /telegram/bot123456:AAE-x_y/sendMessage -H 'Content-Type: application/json' \
    --data-binary '{"chat_id": 42, "text": "<b>Decision</b>: crypto &amp; normal", "parse_mode": "HTML", "disable_notification": true}'
expect_status 200 "telegram sendMessage"
expect_json 'j["ok"] is True and j["result"]["chat"]["id"] == 42 and j["result"]["text"] == "Decision: crypto & normal" and j["result"]["message_id"] == 1' "telegram result"
req POST /telegram/bot123456:AAE-x_y/sendMessage --data-urlencode chat_id=-1001 --data-urlencode text=hello
expect_json 'j["result"]["message_id"] == 2 and j["result"]["chat"]["id"] == -1001' "telegram form body"
req POST /telegram/bot123456:AAE-x_y/sendMessage -H 'Content-Type: application/json' --data-binary '{"chat_id": 42, "text": "load < 0.9", "parse_mode": "HTML"}'
expect_status 400 "telegram bad HTML"
expect_json 'j["description"].startswith("Bad Request: can'"'"'t parse entities")' "telegram bad HTML body"
req POST /telegram/bot123456:AAE-x_y/sendMessage -H 'Content-Type: application/json' --data-binary '{"text": "x"}'
expect_status 400 "telegram no chat_id"
long=$("$py" -c 'print("x" * 4097)')
req POST /telegram/bot123456:AAE-x_y/sendMessage -H 'Content-Type: application/json' --data-binary "{\"chat_id\": 1, \"text\": \"$long\"}"
expect_json 'j["description"] == "Bad Request: message is too long"' "telegram too long"
req GET /telegram/bot123456:AAE-x_y/getMe; expect_json 'j["ok"] and j["result"]["is_bot"]' "telegram getMe"
req POST /telegram/botnotatoken/sendMessage --data-binary '{}'; expect_status 404 "telegram bad token"
config '{"telegram_token": "9:good", "telegram_retry_after": 15}'
req POST /telegram/bot9:bad/sendMessage --data-binary '{}'; expect_status 401 "telegram wrong token"
config '{"behaviour": {"telegram": "429"}}'
req POST /telegram/bot9:good/sendMessage -H 'Content-Type: application/json' --data-binary '{"chat_id": 1, "text": "x"}'
expect_json 'j["parameters"]["retry_after"] == 15 and j["description"] == "Too Many Requests: retry after 15"' "telegram_retry_after"
reset

# getUpdates: long polling over the updates the test queues; what the bot sent
body_get() { "$py" -c 'import json,sys; print(eval(sys.argv[2], {"j": json.load(open(sys.argv[1]))}))' "$tmp/body" "$1"; }
req POST /_standin/telegram/updates -H 'Content-Type: application/json' \
    --data-binary '[{"chat_id": -1001234, "text": "/status@standin_bot"}, {"chat_id": 5, "text": "hi", "from_id": 6}]'
expect_status 200 "telegram: queue updates"
expect_json 'len(j["update_ids"]) == 2 and j["update_ids"][1] == j["update_ids"][0] + 1' "telegram: update ids given in order"
u1=$(body_get 'j["update_ids"][1]')
req POST /telegram/bot1:t/getUpdates -H 'Content-Type: application/json' --data-binary '{"offset": 0, "timeout": 5}'
expect_json 'j["ok"] and [u["message"]["text"] for u in j["result"]] == ["/status@standin_bot", "hi"] and j["result"][0]["message"]["chat"] == {"id": -1001234, "type": "supergroup"} and j["result"][0]["message"]["entities"][0]["type"] == "bot_command" and j["result"][1]["message"]["from"]["id"] == 6' "telegram getUpdates: the queued updates at once"
t0=$(date +%s.%N)
req POST /telegram/bot1:t/getUpdates -H 'Content-Type: application/json' --data-binary "{\"offset\": $((u1 + 1)), \"timeout\": 1}"
t1=$(date +%s.%N)
expect_json 'j == {"ok": True, "result": []}' "telegram getUpdates: nothing new"
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a >= 0.95) }' && ok || bad "telegram getUpdates: did not wait its timeout"
req GET /_standin/telegram/updates
expect_json "j['pending'] == [] and j['offset'] == $((u1 + 1)) and j['polls'] == 2" "telegram: offset confirms, confirmed updates dropped"
# tg_poll_open: wait (10 s at most) until a getUpdates long poll is open in the stand-in
tg_poll_open() {
    local end=$(( $(date +%s) + 10 )) n
    while [ "$(date +%s)" -le "$end" ]; do
        n=$(curl -s "$base/_standin/telegram/updates" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["open_polls"])')
        [ "${n:-0}" -ge 1 ] && return 0
        sleep 0.05
    done
    return 1
}
# a long poll that an update ends
curl -s -o "$tmp/longpoll" -X POST "$base/telegram/bot1:t/getUpdates?offset=$((u1 + 1))&timeout=30" &
poller=$!
tg_poll_open && ok || bad "telegram getUpdates: the long poll is not open"
t0=$(date +%s.%N)
curl -s -o /dev/null -X POST --data-binary '{"chat_id": 7, "text": "/force"}' "$base/_standin/telegram/updates"
wait "$poller"
t1=$(date +%s.%N)
"$py" -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if [u["message"]["text"] for u in j["result"]] == ["/force"] else 1)' \
    "$tmp/longpoll" && ok || bad "telegram getUpdates: an update ends the long poll"
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 10) }' && ok || bad "telegram getUpdates: the update did not end the poll"
# another poller ends the open one with 409, as the Bot API does
curl -s -o "$tmp/first" -X POST "$base/telegram/bot1:t/getUpdates?offset=999999&timeout=30" &
first=$!
tg_poll_open && ok || bad "telegram getUpdates: the first long poll is not open"
req POST "/telegram/bot1:t/getUpdates?offset=999999&timeout=0"
expect_json 'j == {"ok": True, "result": []}' "telegram getUpdates: the newer poll answers"
wait "$first"
"$py" -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j["error_code"] == 409 and "terminated by other getUpdates request" in j["description"] else 1)' "$tmp/first" && ok || bad "telegram: the older poll ended with 409"
req POST /telegram/bot1:t/setWebhook -H 'Content-Type: application/json' --data-binary '{"url": "https://example.invalid/hook"}'
expect_json 'j["ok"] and j["result"] is True' "telegram setWebhook"
req POST /telegram/bot1:t/getUpdates --data-binary '{}'
expect_status 409 "telegram getUpdates with a webhook"
expect_json '"can'"'"'t use getUpdates method while webhook is active" in j["description"]' "telegram webhook conflict body"
req POST /telegram/bot1:t/deleteWebhook --data-binary '{}'
req POST /telegram/bot1:t/getUpdates --data-binary '{"offset": -1}'
expect_status 200 "telegram getUpdates after deleteWebhook"
config '{"telegram_webhook": "https://example.invalid/x"}'
req POST /telegram/bot1:t/getUpdates --data-binary '{}'; expect_status 409 "telegram_webhook config"
config '{"telegram_webhook": null, "behaviour": {"telegram:updates": ["429", "ok"]}}'
req POST /telegram/bot1:t/getUpdates --data-binary '{}'; expect_status 429 "telegram:updates behaviour 429"
req POST /telegram/bot1:t/sendMessage -H 'Content-Type: application/json' --data-binary '{"chat_id": 3, "text": "sent"}'
expect_status 200 "telegram:updates leaves sendMessage alone"
req POST /telegram/bot1:t/getUpdates --data-binary '{}'; expect_status 200 "telegram:updates list played in order"
req GET /_standin/telegram/messages
expect_json 'len(j) == 1 and j[0]["chat_id"] == 3 and j[0]["text"] == "sent" and j[0]["plain"] == "sent"' "telegram: messages sent recorded"
req POST /_standin/telegram/updates --data-binary '{"chat_id": "x"}'; expect_status 400 "telegram: bad update refused"
reset
req POST /_standin/telegram/updates --data-binary '{"chat_id": 1, "text": "x"}'
expect_json "j['update_ids'][0] > $((u1 + 1))" "telegram: update ids keep growing across a reset"
reset

# --- LLM ---------------------------------------------------------------------
chat='{"model": "llama-3.3-70b-versatile", "messages": [{"role": "system", "content": "decide"}, {"role": "user", "content": "state"}], "response_format": {"type": "json_object"}, "temperature": 0}'
req POST /llm/openai/v1/chat/completions -H 'Authorization: Bearer gk' -H 'Content-Type: application/json' --data-binary "$chat"
expect_status 200 "llm completion"
expect_json 'j["object"] == "chat.completion" and j["choices"][0]["finish_reason"] == "stop" and isinstance(__import__("json").loads(j["choices"][0]["message"]["content"]), dict) and j["usage"]["total_tokens"] > 0 and j["x_groq"]["id"]' "llm body"
expect_header '^x-ratelimit-remaining-requests: [0-9]+' "llm rate-limit headers"
req POST /llm/v1/chat/completions -H 'Content-Type: application/json' --data-binary "$chat"
expect_status 401 "llm no key"; expect_json 'j["error"]["code"] == "invalid_api_key"' "llm no key body"
req POST /llm/v1/chat/completions -H 'Authorization: Bearer gk' --data-binary '{"model": '
expect_status 400 "llm bad JSON"
req POST /llm/v1/chat/completions -H 'Authorization: Bearer gk' --data-binary '{"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema", "json_schema": {}}}'
expect_status 400 "llm json_schema refused"
config '{"llm_json_schema": true, "llm_content": {"mode": "forex"}}'
req POST /llm/v1/chat/completions -H 'Authorization: Bearer gk' --data-binary '{"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema", "json_schema": {}}}'
expect_json 'j["choices"][0]["message"]["content"] == "{\"mode\": \"forex\"}"' "llm_content"
config '{"behaviour": {"llm": "json_validate_failed"}}'
req POST /llm/v1/chat/completions -H 'Authorization: Bearer gk' --data-binary "$chat"
expect_status 400 "llm json_validate_failed"; expect_json 'j["error"]["code"] == "json_validate_failed" and "failed_generation" in j["error"]' "llm json_validate_failed body"
for w in fenced think prose not_json truncated; do
    config "{\"behaviour\": {\"llm\": \"$w\"}}"
    req POST /llm/v1/chat/completions -H 'Authorization: Bearer gk' --data-binary "$chat"
    expect_status 200 "llm $w"
done
expect_json 'j["choices"][0]["finish_reason"] == "length"' "llm truncated"
config '{"behaviour": {"llm": "429"}}'
req POST /llm/v1/chat/completions -H 'Authorization: Bearer gk' --data-binary "$chat"
expect_json 'j["error"]["code"] == "rate_limit_exceeded"' "llm 429 body"
reset
req GET /llm/v1/models -H 'Authorization: Bearer gk'; expect_status 200 "llm models"

# --- recording and inspection ------------------------------------------------
reset
req POST '/n8n/webhook/crypto-normal-scan?x=1' -H 'Content-Type: application/json' -H 'X-Test: yes' --data-binary '{"trigger_id": "abc"}'
req POST /n8n/webhook/health-monitor-check --data-binary 'not json'
req GET '/dex/latest/dex/search?q=solana'
req GET '/_standin/requests?prefix=/n8n/webhook/'
expect_json 'len(j) == 2 and j[0]["method"] == "POST" and j[0]["path"] == "/n8n/webhook/crypto-normal-scan" and j[0]["query"] == {"x": "1"} and j[0]["headers"]["x-test"] == "yes" and j[0]["body"] == {"trigger_id": "abc"} and j[0]["body_is_json"] and j[1]["body"] == "not json" and not j[1]["body_is_json"] and j[0]["time"] <= j[1]["time"]' "recorded requests"
req GET '/_standin/requests/count?prefix=/n8n/webhook/'; expect_json 'j == {"count": 2}' "request count"
req GET '/_standin/requests/count';                     expect_json 'j == {"count": 3}' "control requests not recorded"
req GET '/_standin/requests/count?prefix=/dex/&method=get'; expect_json 'j == {"count": 1}' "count by method"
req GET '/_standin/requests?limit=1';                   expect_json 'len(j) == 1 and j[0]["path"].startswith("/dex/")' "limit: newest last"
req GET '/_standin/requests?since=abc';                 expect_status 400 "bad since"
req DELETE /_standin/requests
req GET '/_standin/requests/count';                     expect_json 'j == {"count": 0}' "DELETE requests"
[ "$(grep -c . "$tmp/rec.jsonl")" -gt 100 ] && ok || bad "record file too short"
"$py" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$tmp/rec.jsonl" && ok || bad "record file is not JSON lines"

# --- robustness ----------------------------------------------------------------
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' 'a' >"$tmp/big"
req POST /n8n/webhook/crypto-normal-scan --data-binary @"$tmp/big";              expect_status 413 "413 (Expect: 100-continue)"
req POST /n8n/webhook/crypto-normal-scan -H 'Expect:' --data-binary @"$tmp/big"; expect_status 413 "413 (body sent)"
req POST /n8n/webhook/crypto-normal-scan -H 'Transfer-Encoding: chunked' --data-binary @"$tmp/big"; expect_status 413 "413 (chunked)"
head -c $((1024 * 1024)) "$tmp/big" >"$tmp/max"
req POST /n8n/webhook/crypto-normal-scan -H 'Expect:' --data-binary @"$tmp/max"; expect_status 200 "1 MiB accepted"
req POST /n8n/webhook/crypto-normal-scan -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/json' --data-binary '{"chunked": true}'
expect_status 200 "chunked body"
req GET '/_standin/requests?limit=1'; expect_json 'j[0]["body"] == {"chunked": True}' "chunked body recorded"
exec 3<>/dev/tcp/127.0.0.1/"$port"; printf 'GARBAGE\r\n\r\n' >&3; garbage=$(head -1 <&3); exec 3<&-
case $garbage in *" 400 "*) ok ;; *) bad "garbage request line: $garbage" ;; esac
exec 3<>/dev/tcp/127.0.0.1/"$port"; printf 'POST /n8n/webhook/x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nshort' >&3; exec 3<&-
config '{"behaviour": {"dex": "slow"}, "slow_seconds": 1}'
curl -s -m 0.3 -o /dev/null "$base/dex/latest/dex/search?q=solana"   # hangs up before the answer
sleep 1
req GET /_standin/health; expect_status 200 "alive after client disconnects"
# POST /_standin/release wakes a handler held by "slow": it answers at once, normally
config '{"behaviour": {"dex": "slow"}, "slow_seconds": 60}'
t0=$(date +%s)
curl -s -m 30 -o "$tmp/held" -w '%{http_code}' "$base/dex/latest/dex/search?q=solana" >"$tmp/held.code" &
held=$!
# released until the held request has its answer (an earlier handler still
# asleep on a busy machine may be the one a first release wakes)
woken=0
for _ in $(seq 200); do
    req POST /_standin/release
    woken=$((woken + $("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["woken"])' "$tmp/body")))
    [ -s "$tmp/held.code" ] && break
    sleep 0.1
done
wait "$held"
t1=$(date +%s)
[ "$woken" -ge 1 ] && ok || bad "release: woke $woken handlers, wanted at least the held one"
[ "$(cat "$tmp/held.code")" = 200 ] && grep -q '"pairs"' "$tmp/held" && ok || bad "released request: HTTP $(cat "$tmp/held.code")"
[ $((t1 - t0)) -le 20 ] && ok || bad "released request took $((t1 - t0)) s"
reset
# keep-alive: two requests on one connection
n=$(curl -s -o /dev/null -w '%{num_connects}\n' "$base/n8n/healthz" "$base/n8n/healthz" | awk '{ s += $1 } END { print s }')
[ "$n" = 1 ] && ok || bad "keep-alive: $n connections for 2 requests"

# --- explicit port, port in use, SIGTERM ----------------------------------------
"$py" "$standin" --port "$port" >"$tmp/out2" 2>"$tmp/err2"; rc=$?
[ "$rc" = 2 ] && ok || bad "port in use: exit $rc"
free=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pid1=$pid
start_standin "$tmp/out3" --port "$free" --quiet || bad "start with --port $free"
[ "$(head -1 "$tmp/out3")" = "standin listening on 127.0.0.1:$free" ] && ok || bad "explicit port line: $(head -1 "$tmp/out3")"
kill -TERM "$pid"; wait "$pid"; rc=$?
[ "$rc" = 0 ] && ok || bad "SIGTERM exit status $rc"
pid=$pid1
# SIGTERM while a handler sleeps in "timeout"
config '{"behaviour": {"dex": "timeout"}}'
curl -s -m 5 -o /dev/null "$base/dex/latest/dex/search?q=x" &
sleep 0.3
t0=$(date +%s)
kill -TERM "$pid"; wait "$pid"; rc=$?
t1=$(date +%s)
pid=
[ "$rc" = 0 ] && ok || bad "SIGTERM exit status $rc"
[ $((t1 - t0)) -le 3 ] && ok || bad "SIGTERM took $((t1 - t0)) s"
[ ! -e "$tmp/pid" ] && ok || bad "pidfile not removed"
wait

if grep -qE 'Traceback|internal error' "$tmp/stderr"; then bad "stand-in logged errors:"; cat "$tmp/stderr" >&2; else ok; fi
grep -q '/bot<token>/' "$tmp/stderr" && ! grep -q 'AAE-x_y' "$tmp/stderr" && ok || bad "bot token not masked in the log"

echo "standin self-check: $pass passed, $fail failed"
[ "$fail" = 0 ]
