#!/usr/bin/env bash
# End-to-end test of orchctl (ctl/), the terminal client: against the real
# stack (PostgreSQL, orch-api behind nginx, orch-worker, the stand-in), every
# command with its human and --json output, settings from the environment,
# from a config file and from *_FILE, and the documented exit codes: 2 usage,
# 3 unreachable, 4 bad or missing token, 5 unknown id (and reload while the
# API has no catalog reload).
#
# Run by `make check TESTS=tests/e2e/e2e_orchctl.sh`; by hand:
#   top_builddir=/path/to/build bash tests/e2e/e2e_orchctl.sh   (KEEP_TMP=1 keeps the logs)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

E2E_NAME=e2e_orchctl
# shellcheck source=../lib/e2e.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)/e2e.sh"
e2e_begin

ORCHCTL=${ORCHCTL_BIN:-$top_builddir/ctl/orchctl}
[ -x "$ORCHCTL" ] || bail "orchctl built ($ORCHCTL)"
[ -x "$ORCH_WORKER_BIN" ] && [ -x "$ORCH_API_BIN" ] || bail "binaries built"

# ctl ARGS...: run orchctl with HOME in T (no user config); OUT, ERR, RC
ctl() {
  OUT=$T/ctl.out ERR=$T/ctl.err
  HOME=$T/home XDG_CONFIG_HOME= "$ORCHCTL" "$@" >"$OUT" 2>"$ERR"
  RC=$?
}
# expect_rc WANT DESCRIPTION
expect_rc() {
  if [ "$RC" = "$1" ]; then ok "$2 (exit $RC)"
  else not_ok "$2: exit $RC, want $1; stderr: $(head -c 300 "$ERR"); stdout: $(head -c 200 "$OUT")"; fi
}
# out_is EXPR DESCRIPTION: EXPR over the JSON in OUT
out_is() { if [ "$(jpy "$1" < "$OUT")" = true ]; then ok "$2"; else not_ok "$2: $(head -c 300 "$OUT")"; fi; }
has() { grep -q -- "$1" "$2"; }

PG_FAST=1 stack_start_pg || bail "PostgreSQL started"
standin_start
TOKEN=$(rnd 24)
export ORCHESTRATOR_API_TOKEN=$TOKEN
export DEXSCREENER_BASE_URL=$SA/dex PUMPFUN_BASE_URL=$SA/pumpfun
export DECISION_MIN_SECONDS=5 DECISION_MAX_SECONDS=8 HEARTBEAT_SECONDS=1 PROBE_TIMEOUT_MS=1500
stack_start_api 2 || bail "orch-api started"
for _ in 1 2 3; do stack_start_nginx "$(stack_free_port)" && break; done
[ -n "$STACK_PORT" ] || bail "nginx started"
BASE=http://127.0.0.1:$STACK_PORT
N8N_BASE_URL=$SA/n8n stack_start_worker || bail "orch-worker started"
mkdir -p "$T/home"
export ORCH_URL=$BASE

has_decision() { [ "$(last_decision)" -gt 0 ]; }
wait_for 20 has_decision || bail "a first decision"

# ---- reading ---------------------------------------------------------------------
ctl --help
expect_rc 0 "--help"
check "--help documents the exit codes" has "4  no token" "$OUT"

ctl status
expect_rc 0 "status"
check "status shows the state, the sources and the next decision" \
  bash -c "grep -q '^state  *running' '$OUT' && grep -q '^SOURCE' '$OUT' && grep -q '^dexscreener *ok' '$OUT' && grep -q '^next decision' '$OUT'"
ctl status --json
expect_rc 0 "status --json"
out_is "d['running'] is True and d['worker']['alive'] is True and 'sources' in d" "status --json is /status"

force_new 20 || bail "a forced decision"   # at least two decisions
ctl decisions --limit 2 --json
expect_rc 0 "decisions --limit 2 --json"
out_is "len(d['decisions']) == 2 and d['limit'] == 2" "--limit 2 gives two decisions"
FIRST=$(jpy "d['decisions'][0]['id']" < "$OUT")
ctl decisions --mode standby --json
expect_rc 0 "decisions --mode standby --json"
out_is "all(r['mode'] == 'standby' for r in d['decisions'])" "--mode filters"
ctl decisions
expect_rc 0 "decisions (table)"
check "the table has its header and the newest decision first" \
  bash -c "head -n 1 '$OUT' | grep -q '^ID *DECIDED (UTC) *MODE' && sed -n 2p '$OUT' | grep -q '^$FIRST '"
ctl decisions --limit 0
expect_rc 2 "decisions --limit 0 is a usage error"
ctl decisions --mode turbo
expect_rc 2 "decisions --mode turbo is a usage error"

ctl show "$FIRST"
expect_rc 0 "show $FIRST"
check "show prints the decision, its LLM audit and its triggers" \
  bash -c "grep -q '^decision *#$FIRST' '$OUT' && grep -q '^llm ' '$OUT' && grep -Eq '^(WORKFLOW|\\(no triggers\\))' '$OUT'"
ctl show "$FIRST" --json
expect_rc 0 "show --json"
out_is "d['id'] == $FIRST and 'audit' in d and 'inputs' in d" "show --json is /decisions/$FIRST"
ctl show 987654321
expect_rc 5 "show of an unknown id"
check "the message says not found" has "not found" "$ERR"
ctl show abc
expect_rc 2 "show abc"
ctl show
expect_rc 2 "show without an id"
ctl frobnicate
expect_rc 2 "an unknown command"

# ---- control -----------------------------------------------------------------------
before=$(last_decision)
ctl force --wait --json
expect_rc 0 "force --wait"
out_is "d['status'] == 'done' and d['command'] == 'force_decision' and int(d['decision_id'] or 0) > $before" \
  "force --wait follows the command to its decision"
ctl stop --wait
expect_rc 0 "stop --wait"
check "stop shows the command" has "stop: done" "$OUT"
ctl status --json
out_is "d['running'] is False" "/status says stopped"
ctl status
check "status says STOPPED" grep -q '^state  *STOPPED' "$OUT"
ctl start
expect_rc 0 "start (no wait)"
running_again() { api GET /status; [ "$CODE" = 200 ] && is "d['running'] is True" < "$BODY"; }
check "start is carried out" wait_for 15 running_again
ctl force
expect_rc 0 "force (no wait)"
check "force prints the pending command" has "force_decision: pending" "$OUT"

ctl reload
if [ "$RC" = 5 ]; then
  ok "reload: the API has no /control/reload-catalog yet (exit 5)"
  check "reload says so clearly" bash -c "grep -q 'not found: /control/reload-catalog' '$ERR' && grep -q 'no catalog reload' '$ERR'"
elif [ "$RC" = 0 ]; then ok "reload accepted"
else not_ok "reload: exit $RC: $(cat "$ERR")"; fi

# ---- tokens and settings ------------------------------------------------------------
ORCHESTRATOR_API_TOKEN=wrong ctl force
expect_rc 4 "a wrong token"
check "the message names the refused token, not the token" \
  bash -c "grep -q 'refused the token' '$ERR' && ! grep -q wrong '$ERR'"
ORCHESTRATOR_API_TOKEN= ctl stop
expect_rc 4 "no token at all"
check "the message says how to set one" has "ORCHESTRATOR_API_TOKEN_FILE" "$ERR"

printf '%s\n' "$TOKEN" > "$T/token"
chmod 600 "$T/token"
ORCHESTRATOR_API_TOKEN= ORCHESTRATOR_API_TOKEN_FILE=$T/token ctl force
expect_rc 0 "the token from ORCHESTRATOR_API_TOKEN_FILE"
ORCHESTRATOR_API_TOKEN_FILE=$T/token ctl force
expect_rc 2 "ORCHESTRATOR_API_TOKEN and ORCHESTRATOR_API_TOKEN_FILE both set"
ORCHESTRATOR_API_TOKEN= ORCHESTRATOR_API_TOKEN_FILE=$T/missing ctl status
expect_rc 2 "an unreadable token file"
check "the message names the variable" has "ORCHESTRATOR_API_TOKEN_FILE" "$ERR"

mkdir -p "$T/home/.config"
printf '# orchctl settings\nORCH_URL=%s/\nORCHESTRATOR_API_TOKEN=%s\n' "$BASE" "$TOKEN" > "$T/home/.config/orchctl"
chmod 600 "$T/home/.config/orchctl"
ORCH_URL= ORCHESTRATOR_API_TOKEN= ctl force --json
expect_rc 0 "URL and token from ~/.config/orchctl"
printf 'ORCH_URL=%s\nORCHESTRATOR_API_TOKEN_FILE=%s\n' "$BASE" "$T/token" > "$T/other.conf"
ORCH_URL= ORCHESTRATOR_API_TOKEN= ctl --config "$T/other.conf" stop
expect_rc 0 "--config with a token file"
ORCH_URL= ORCHESTRATOR_API_TOKEN= ctl --config "$T/other.conf" start --wait
expect_rc 0 "start --wait again"
ctl --config "$T/nonexistent.conf" status
expect_rc 2 "a --config file that does not exist"
printf 'this is not a setting\n' > "$T/bad.conf"
ctl --config "$T/bad.conf" status
expect_rc 2 "a config line without NAME=VALUE"
ORCH_URL=ftp://x ctl status
expect_rc 2 "ORCH_URL that is not http"
check "the message names ORCH_URL" has "ORCH_URL" "$ERR"

# ---- unreachable ---------------------------------------------------------------------
dead=$(stack_free_port)
ctl --url "http://127.0.0.1:$dead" status
expect_rc 3 "nothing listening on the URL"
check "the message says the API cannot be reached" has "cannot reach the API at http://127.0.0.1:$dead" "$ERR"
ctl --url "http://127.0.0.1:$dead" --timeout 0 status
expect_rc 2 "--timeout 0"

# ---- watch ------------------------------------------------------------------------------
ctl watch --interval 1 --count 2 --json
expect_rc 0 "watch --count 2 --json"
check "two refreshes, each with status and decisions" \
  "$PYTHON" -c "
import json, sys
lines = [json.loads(l) for l in open('$OUT') if l.strip()]
sys.exit(0 if len(lines) == 2 and all('running' in l['status'] and isinstance(l['decisions'], list) for l in lines) else 1)"
ctl watch --interval 1 --count 1
expect_rc 0 "watch --count 1 (table)"
check "watch shows the status and the decisions" bash -c "grep -q '^orchctl watch' '$OUT' && grep -q '^ID *DECIDED' '$OUT'"
ctl watch --limit 3
expect_rc 2 "--limit with watch is a usage error"
