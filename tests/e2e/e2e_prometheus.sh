#!/usr/bin/env bash
# End-to-end test of what a Prometheus/Grafana user gets: the alert rules
# (promtool check rules, promtool test rules), the Grafana dashboard (up to
# date with grafana/generate.py, one ${DS_PROMETHEUS} datasource input), the
# /metrics allow-list of the nginx site; then a real Prometheus (Debian's
# package) scrapes the running stack through nginx every second with the rules
# loaded, and every dashboard panel query, every PromQL example of the README
# and every alert expression is evaluated through /api/v1/query and must
# return data; Prometheus evaluates every rule without error, a healthy stack
# fires no alert, and five LLM failures in a row fire OrchestratorFallbackStreak.
#
# Run by `make check TESTS=tests/e2e/e2e_prometheus.sh`; by hand:
#   top_builddir=/path/to/build bash tests/e2e/e2e_prometheus.sh   (KEEP_TMP=1 keeps the logs)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

E2E_NAME=e2e_prometheus
# shellcheck source=../lib/e2e.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)/e2e.sh"
e2e_begin
G=$top_srcdir/grafana

# ---- the files -------------------------------------------------------------------------
command -v prometheus >/dev/null && command -v promtool >/dev/null || bail "prometheus and promtool installed (scripts/setup-deps.sh)"
if out=$(promtool check rules "$G/alerts.yml" 2>&1); then ok "promtool check rules grafana/alerts.yml ($(grep -o '[0-9]* rules found' <<< "$out"))"
else not_ok "promtool check rules: $out"; fi
if out=$(cd "$G" && promtool test rules alerts_test.yml 2>&1); then ok "promtool test rules grafana/alerts_test.yml"
else not_ok "promtool test rules: $out"; fi
check "the dashboard is what grafana/generate.py writes" "$PYTHON" "$G/generate.py" --check
check "the dashboard: panels with targets[].expr, every datasource \${DS_PROMETHEUS}, declared in __inputs" \
  "$PYTHON" - "$G/orchestrator-dashboard.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert any(i["name"] == "DS_PROMETHEUS" and i["type"] == "datasource" and i["pluginId"] == "prometheus" for i in d["__inputs"])
panels = [p for p in d["panels"] if p["type"] != "row"]
assert len(panels) >= 20
for p in panels:
    assert p["datasource"]["uid"] == "${DS_PROMETHEUS}", p["title"]
    assert p["targets"] and all(t["expr"] and t["datasource"]["uid"] == "${DS_PROMETHEUS}" for t in p["targets"]), p["title"]
ids = [p["id"] for p in d["panels"]]
assert len(ids) == len(set(ids))
PY

# ---- the stack ---------------------------------------------------------------------------
[ -x "$ORCH_WORKER_BIN" ] && [ -x "$ORCH_API_BIN" ] || bail "binaries built"
PG_FAST=1 stack_start_pg || bail "PostgreSQL started"
# The watch runs in this stack (WATCH_SECONDS=10: it samples DexScreener from
# the start).  Its threshold needs a history of window peaks and the
# scorecard's 30-day ratios a finished day: given here as a worker running
# for a day and more would have saved them (watch_state, watch_days), so
# that the watch's panels have data at once; tests/e2e/e2e_watch.sh shows
# the watch building both from samples.
"$PYTHON" - > "$T/watch-state.json" <<'PY' || bail "watch history made"
import json, time
w = 900                                   # WATCH_WINDOW_MINUTES=15, the default
t0 = int(time.time()) // w * w - 120 * w
peaks = {"t0": t0, "dt": w, "v": [1 + 2 * k / 119 for k in range(120)]}
print(json.dumps({"version": 1, "window_s": w, "instruments": [],
                  "markets": {m: {"peaks": peaks} for m in ("crypto", "forex")}}))
PY
echo "UPDATE watch_state SET state = :'st'::jsonb, saved_at = now()" |
  pg_psql -d orchestrator -v "st=$(cat "$T/watch-state.json")" || bail "watch history saved"
sql "INSERT INTO watch_days (market, day, windows, top, covered, runs, wakes, cron5_runs, equal_runs_covered,
                             latency_median_minutes)
     VALUES ('crypto', current_date - 1, 96, 10, 7, 24, 5, 288, 2.4, 3.5),
            ('forex', current_date - 1, 96, 10, 4, 12, 2, 288, 1.2, 6.0)" >/dev/null || bail "a finished day of the scorecard"
standin_start
TOKEN=$(rnd 24) RTOKEN=results-$(rnd 12) LLM_KEY=llm-$(rnd 6)
export ORCHESTRATOR_API_TOKEN=$TOKEN ORCH_RESULTS_TOKEN=$RTOKEN
export DEXSCREENER_BASE_URL=$SA/dex PUMPFUN_BASE_URL=$SA/pumpfun
export DECISION_MIN_SECONDS=5 DECISION_MAX_SECONDS=8 HEARTBEAT_SECONDS=1 PROBE_TIMEOUT_MS=1500 WEBHOOK_TIMEOUT_MS=2000
export WATCH_SECONDS=10
export LLM_BASE_URL=$SA/llm/v1 LLM_API_KEY=$LLM_KEY LLM_TIMEOUT_MS=2000 LLM_CYCLE_BUDGET_MS=4000
LLM_ANSWER='{"mode":"crypto","intensity":"normal","workflows":["crypto-normal-scan","health-monitor-check"],"next_decision_seconds":8,"reason":"e2e_prometheus: a crypto scan","confidence":0.8}'
standin_config "{\"llm_key\":\"$LLM_KEY\",\"llm_content\":$LLM_ANSWER,\"n8n_respond\":\"accepted\"}" || bail "stand-in configured"
stack_start_api 2 || bail "orch-api started"
# /metrics for 127.0.0.1 only (Prometheus scrapes from there)
export ORCHESTRATOR_METRICS_ALLOW=127.0.0.1
for _ in 1 2 3; do stack_start_nginx "$(stack_free_port)" && break; done
unset ORCHESTRATOR_METRICS_ALLOW
[ -n "$STACK_PORT" ] || bail "nginx started"
BASE=http://127.0.0.1:$STACK_PORT
N8N_BASE_URL=$SA/n8n stack_start_worker || bail "orch-worker started"

code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
check "/metrics from 127.0.0.1 (allowed): 200" test "$(code "$BASE/metrics")" = 200
if ip -4 addr show lo 2>/dev/null | grep -q '127.0.0.1/8' && [ "$(code --interface 127.0.0.2 "$BASE/status")" = 200 ]; then
  check "/metrics from 127.0.0.2 (not in ORCHESTRATOR_METRICS_ALLOW): 403" test "$(code --interface 127.0.0.2 "$BASE/metrics")" = 403
else
  note "no second loopback source address here: the 403 of the allow-list is not checked"
fi

has_decision() { [ "$(last_decision)" -gt 0 ]; }
wait_for 20 has_decision || bail "a first decision"
# what the panels need: an LLM failure (fallback reasons, LLM errors)
standin_config '{"behaviour":{"llm":"401"}}' || bail "LLM made to fail"
force_new 20 || bail "a decision while the LLM fails"
standin_config '{"behaviour":{"llm":"ok"}}' || bail "LLM back"
force_new 20 || bail "a decision with the LLM"
wait_for 20 settled "$D" || note "decision $D not settled"
# ---- Prometheus ----------------------------------------------------------------------------
PPORT=$(stack_free_port)
mkdir -p "$T/prometheus/data"
cp "$G/alerts.yml" "$T/prometheus/alerts.yml"
cat > "$T/prometheus/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [alerts.yml]
scrape_configs:
  - job_name: ai-orchestrator
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:$STACK_PORT']
YML
stack_spawn prometheus "$T/log/prometheus.log" prometheus --config.file="$T/prometheus/prometheus.yml" \
  --storage.tsdb.path="$T/prometheus/data" --web.listen-address="127.0.0.1:$PPORT" --web.enable-lifecycle
PROM=http://127.0.0.1:$PPORT
stack_wait_http "$PROM/-/ready" 30 || bail "Prometheus ready on $PROM"
ok "Prometheus $(prometheus --version 2>&1 | sed -n '1s/.*version \([^ ]*\).*/\1/p') on $PROM scrapes $BASE/metrics every second"

# q EXPR: an instant query; the answer in $T/q.json, 0 when it succeeded
q() { curl -s --max-time 10 -o "$T/q.json" --data-urlencode "query=$1" "$PROM/api/v1/query" && is "d['status'] == 'success'" < "$T/q.json"; }
# has_data EXPR: the query returns a series (or a scalar), at least one value finite
has_data() {
  q "$1" || return 1
  is "d['data']['resultType'] == 'scalar' and d['data']['result'][1] not in ('NaN', '+Inf', '-Inf') or d['data']['resultType'] == 'vector' and any(r['value'][1] not in ('NaN',) for r in d['data']['result'])" < "$T/q.json"
}
scraped() { has_data 'count_over_time(up{job="ai-orchestrator"}[1m]) >= 8 and up{job="ai-orchestrator"} == 1'; }
check "Prometheus has scraped the stack (up == 1, 8 samples)" wait_for 60 scraped
# a result posted back once Prometheus watches: executions end (outcomes,
# the duration histogram's rate), results and opportunities
TID=$(sql "SELECT min(id) FROM triggers WHERE decision_id = $D")
KEY=$(sql "SELECT idempotency_key FROM triggers WHERE id = $TID")
WF=$(sql "SELECT workflow FROM triggers WHERE id = $TID")
EID=$(sql "SELECT coalesce(execution_id, 'e2e-1') FROM triggers WHERE id = $TID")
api POST /results -H "Authorization: Bearer $RTOKEN" -H 'Content-Type: application/json' -H "Idempotency-Key: result-$KEY" \
  --data-binary "{\"trigger_id\":$TID,\"idempotency_key\":\"$KEY\",\"decision_id\":$D,\"workflow\":\"$WF\",\"execution_id\":\"$EID\",\"status\":\"success\",\"opportunities\":3,\"duration_ms\":2500,\"error\":null,\"details\":{}}"
check "a result posted for trigger $TID (HTTP $CODE)" test "$CODE" = 201

result_seen() { has_data 'orchestrator_results_received_total{status="success"} >= 1'; }
check "Prometheus has seen the result" wait_for 20 result_seen
# every counter has two samples after the events above
force_new 20 || note "one more decision"
sleep_until_scraped() { has_data "orchestrator_decisions_total >= $(last_decision)"; }
wait_for 20 sleep_until_scraped || note "Prometheus has not seen decision $(last_decision) yet"

# ---- every dashboard query ---------------------------------------------------------------------
n=0 bad=0
while IFS=$'\t' read -r title expr; do
  n=$((n + 1))
  if ! wait_for 10 has_data "$expr"; then
    bad=$((bad + 1))
    not_ok "dashboard \"$title\": $expr -> $(head -c 300 "$T/q.json")"
  fi
done < <("$PYTHON" "$G/generate.py" --exprs)
[ "$bad" = 0 ] && ok "all $n dashboard queries return data"

# ---- the README's PromQL examples --------------------------------------------------------------
n=0 bad=0
while read -r expr; do
  [ -n "$expr" ] || continue
  n=$((n + 1))
  if ! wait_for 10 has_data "$expr"; then
    bad=$((bad + 1))
    not_ok "README example: $expr -> $(head -c 300 "$T/q.json")"
  fi
done < <(sed -n '/^```promql$/,/^```$/p' "$top_srcdir/README.md" | grep -v '^```' | sed 's/ *# .*$//')
check "the README has PromQL examples" test "$n" -ge 8
[ "$bad" = 0 ] && ok "all $n README PromQL examples return data"

# ---- every alert expression --------------------------------------------------------------------
# An alert's expression returns nothing while it does not fire; its "bool"
# form (each comparison made `op bool`) returns the series compared, 0 or 1.
"$PYTHON" - "$G/alerts.yml" > "$T/alerts.tsv" <<'PY'
import re, sys, yaml
ops = re.compile(r'(==|!=|>=|<=|>|<)(?!\s*bool)')
def boolify(e):
    out, depth = [], 0
    i = 0
    while i < len(e):
        c = e[i]
        if c in '{[':
            depth += 1
        elif c in '}]':
            depth -= 1
        if depth == 0:
            m = ops.match(e, i)
            if m and not (e[i] == '=' and i > 0 and e[i-1] in '!<>=') :
                out.append(m.group(1) + ' bool')
                i = m.end()
                continue
        out.append(c)
        i += 1
    return ''.join(out)
for g in yaml.safe_load(open(sys.argv[1]))['groups']:
    for r in g['rules']:
        e = ' '.join(r['expr'].split())
        print(r['alert'] + '\t' + e + '\t' + boolify(e))
PY
n=0 bad=0
while IFS=$'\t' read -r name expr bexpr; do
  n=$((n + 1))
  q "$expr" || { bad=$((bad + 1)); not_ok "alert $name: $expr is not a valid query: $(head -c 300 "$T/q.json")"; continue; }
  if ! wait_for 10 has_data "$bexpr"; then
    bad=$((bad + 1))
    not_ok "alert $name: $bexpr -> $(head -c 300 "$T/q.json")"
  fi
done < "$T/alerts.tsv"
[ "$bad" = 0 ] && ok "all $n alert expressions evaluate to data (in their bool form)"

rules_ok() {
  curl -s --max-time 10 "$PROM/api/v1/rules" > "$T/rules.json" &&
  is "len([r for g in d['data']['groups'] for r in g['rules']]) == $n and all(r['health'] == 'ok' and r['lastEvaluation'][:4] != '0001' for g in d['data']['groups'] for r in g['rules'])" < "$T/rules.json"
}
check "Prometheus evaluates all $n rules without error" wait_for 20 rules_ok
firing() { curl -s --max-time 10 "$PROM/api/v1/alerts" > "$T/alerts.json" && jpy "sorted({a['labels']['alertname'] for a in d['data']['alerts'] if a['state'] == 'firing'})" < "$T/alerts.json"; }
check "a healthy stack fires no alert (firing: $(firing))" test "$(firing)" = "[]"

# five decisions in a row on which the LLM fails: the fallback streak alert
standin_config '{"behaviour":{"llm":"401"}}' || bail "LLM made to fail"
for i in 1 2 3 4 5; do force_new 20 || note "forced decision $i"; done
streak_fires() { [ "$(firing)" != "[]" ] && firing | grep -q OrchestratorFallbackStreak; }
check "five LLM failures in a row fire OrchestratorFallbackStreak in Prometheus" wait_for 30 streak_fires
standin_config '{"behaviour":{"llm":"ok"}}'
