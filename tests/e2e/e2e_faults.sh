#!/usr/bin/env bash
# Fault injection: one decider and exactly-once actions, whatever crashes.
#
# Real PostgreSQL, nginx, orch-api and orch-worker (built with
# --enable-fault-injection), and the stand-in, whose n8n claims every key
# from the orchestrator like our workflows (POST /claims) and counts, per
# idempotency key, the deliveries it received and the executions that
# scanned.  In order:
#  1. crash points: for each of 24 points of the worker (shared/fault.h:
#     the decision cycle, the outbox, the answers, retries, commands,
#     takeover, the lease, the stop), the worker is started with
#     ORCH_FAULT=<point>, driven there (a forced decision, a retry, a
#     control command, SIGTERM, or just its loop) and killed there by
#     SIGKILL, then restarted without a fault: every command ends done
#     exactly once, every decision and trigger ends in a final state;
#  2. SIGTERM while idle, during a slow market probe, during a slow LLM
#     call and with a slow webhook in flight: the worker exits within 2 s,
#     and what it left is finished by the next one;
#  3. PostgreSQL stopped while webhooks are in flight and started again:
#     the answers that arrived meanwhile are recorded as sent (not sent
#     again, not unknown);
#  4. leader and standby: the leader SIGKILLed (takeover time printed),
#     then a leader frozen with SIGSTOP while a slow webhook is in flight,
#     a standby taking over, and the frozen one woken with SIGCONT: it
#     acts no more (fenced), and nothing was scanned twice;
#  5. workflows that do not claim their key: a trigger left 'sending' by a
#     killed worker is looked up among n8n's executions by its key (the
#     n8n API set): found -> 'sent' with that execution, followed to its
#     end; not found (killed before the POST) -> sent again, once;
#  6. over everything: no key scanned twice, every force command answered
#     by exactly one decision and every forced decision by a command, no
#     trigger or decision left open.
#
# Run by `make check` (needs a build configured with --enable-fault-injection,
# a failure otherwise); by hand: top_builddir=/path/to/build bash tests/e2e/e2e_faults.sh
# Environment: KEEP_TMP=1 keeps the state directory.  Output: `ok`/`not ok`
# lines, timings as `#` notes, then `N passed, N failed`.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

E2E_NAME=e2e_faults
# shellcheck source=../lib/e2e.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)/e2e.sh"
e2e_begin

[ -x "$ORCH_WORKER_BIN" ] && [ -x "$ORCH_API_BIN" ] || bail "binaries built"
"$ORCH_WORKER_BIN" --version | grep -q fault-injection \
  || bail "orch-worker built with --enable-fault-injection (configure flag of the test builds)"

PG_FAST=1 stack_start_pg || bail "PostgreSQL started"
standin_start
TOKEN=$(rnd 24)
RTOKEN=results-$(rnd 16)
export ORCHESTRATOR_API_TOKEN=$TOKEN ORCH_RESULTS_TOKEN=$RTOKEN LOG_LEVEL=info
export DEXSCREENER_BASE_URL=$SA/dex PUMPFUN_BASE_URL= TRADERMADE_BASE_URL= BIRDEYE_BASE_URL=
export DECISION_MIN_SECONDS=5 DECISION_MAX_SECONDS=600 HEARTBEAT_SECONDS=1
export PROBE_TIMEOUT_MS=10000 WEBHOOK_TIMEOUT_MS=10000
export N8N_BASE_URL=$SA/n8n WEBHOOK_MAX_ATTEMPTS=4 WEBHOOK_RETRY_BASE_MS=300 WEBHOOK_RETRY_MAX_MS=2000
export LEADER_TAKEOVER_SECONDS=6 TRACK_TIMEOUT_SECONDS=600
stack_start_api 2 || bail "orch-api started"
for _ in 1 2 3; do stack_start_nginx "$(stack_free_port)" && break; done
[ -n "$STACK_PORT" ] || bail "nginx started"
BASE=http://127.0.0.1:$STACK_PORT
STANDIN_CFG="{\"n8n_respond\":\"accepted\",\"slow_seconds\":4,\"n8n_claim\":{\"url\":\"$BASE/claims\",\"token\":\"$RTOKEN\"}}"
standin_config "$STANDIN_CFG" || bail "stand-in configured (claims through $BASE/claims)"
ok "PostgreSQL, stand-in (n8n claiming keys), orch-api behind nginx started"

# ---- helpers ---------------------------------------------------------------------

# wk NAME [ENV...]: start a worker process NAME (its log: T/log/NAME.log) with extra environment
# wk, pid_of, is_leader, dead, stop_timed, force_cmd, killed_at_force, nc_col: tests/lib/e2e.sh
control() {
  api POST "/control/$1" --data-binary '' -H "$(auth)"
  [ "$CODE" = 202 ] || { note "$1 -> HTTP $CODE"; return 1; }
  CMD=$(jpy 'd.get("command_id") or d.get("id")' < "$BODY")
}
# everything finished: no command pending, no trigger or decision open
quiet() {
  [ "$(sql "SELECT (SELECT count(*) FROM control_commands WHERE status = 'pending')
                 + (SELECT count(*) FROM triggers WHERE status IN ('pending','sending','retrying'))
                 + (SELECT count(*) FROM decisions WHERE status IN ('pending','acting') AND run_id IS NULL)")" = 0 ]
}
open_things() {
  sql "SELECT 'command #' || id || ' ' || command || ' ' || status FROM control_commands WHERE status = 'pending'
       UNION ALL SELECT 'trigger #' || id || ' ' || workflow || ' ' || status FROM triggers WHERE status IN ('pending','sending','retrying')
       UNION ALL SELECT 'decision #' || id || ' ' || status FROM decisions WHERE status IN ('pending','acting')" | head -n 8 | sed 's/^/#   /'
}
cmd_done() { [ "$(sql "SELECT status FROM control_commands WHERE id = $1")" = done ]; }
scans_json() { curl -s --max-time 5 "$SA/_standin/n8n/scans"; }
deliveries() { curl -s --max-time 5 "$SA/_standin/requests?prefix=/n8n/webhook/&method=POST" | jpy "len([r for r in d if (r.get('headers') or {}).get('idempotency-key') == '$1'])"; }
behaviour() { standin_config "{\"behaviour\":{\"n8n\":$1}}"; }

# the worker decides only when forced (no schedule noise): running = false
wk w0
wait_for 20 is_leader w0 || bail "the first worker leads"
control stop && wait_for 10 status_is 'd.get("running") is False' || bail "worker stopped deciding on its own"
stop_timed w0 TERM
check "a clean SIGTERM: stopped within 2 s, exit 0 (${STOP_LOG_MS} ms to its last log line, ${STOP_MS} ms to its exit, status $STOP_STATUS)" stopped_within 2000

# a stop asked for while the database does not answer yet (systemd stopping a
# worker that waits for PostgreSQL at boot): a clean end, exit 0, not a failure
wk wn DATABASE_URL="postgresql://orch@127.0.0.1:1/none?connect_timeout=2"
db_tried() { grep -q '"event":"db\.' "$T/log/wn.log" 2>/dev/null; }
wait_for 30 db_tried || note "no db.* line from the worker without a database"
stop_timed wn TERM
check "SIGTERM while waiting for the database: exit 0 with a worker.stop line within 2 s (${STOP_LOG_MS} ms, status $STOP_STATUS)" stopped_within 2000
check "... and that line says it stopped before the database answered" grep -q '"worker.stop".*before the database answered' "$T/log/wn.log"

# ---- 1. crash points ---------------------------------------------------------------------

# crash POINT KIND: start a worker that dies at POINT, drive it there, restart, check
crash() {
  local point=$1 kind=$2 cmd=
  case $kind in
    retry) behaviour '["503","ok"]' ;;
    *) behaviour '"ok"' ;;
  esac
  wk wf ORCH_FAULT="$point"
  case $kind in
    force|retry)
      if wait_for 20 is_leader wf; then force_cmd; cmd=$CMD; fi ;;
    stop)
      if wait_for 20 is_leader wf && force_cmd; then cmd=$CMD; wait_for 20 quiet; kill -TERM "$(pid_of wf)"; fi ;;
    start|stopcmd)
      if wait_for 20 is_leader wf; then control "${kind%cmd}"; cmd=$CMD; fi ;;
    boot|loop) ;;
  esac
  if wait_for 30 dead wf && [ "$DEAD_STATUS" = 137 ] && grep -q "\"fault.injected\".*\"point\":\"$point\"" "$T/log/wf.log"; then
    ok "crash at $point ($kind): killed there"
  else
    not_ok "crash at $point ($kind): killed there (status ${DEAD_STATUS:-alive})"
    stack_kill wf 1
  fi
  behaviour '"ok"'
  wk wr
  # the next worker leads first (a crash with nothing open is quiet at once:
  # a SIGTERM then would stop a worker still starting, not the one tested)
  if wait_for 30 is_leader wr && wait_for 30 quiet && { [ -z "$cmd" ] || cmd_done "$cmd"; }; then
    ok "after the crash at $point the next worker finished everything${cmd:+ (command #$cmd done)}"
  else
    not_ok "after the crash at $point the next worker finished everything${cmd:+ (command #$cmd: $(sql "SELECT status FROM control_commands WHERE id = $cmd"))}"
    open_things
  fi
  stop_timed wr TERM
  stopped_within 2000 || not_ok "SIGTERM after $point: stopped within 2 s, exit 0 (${STOP_LOG_MS} ms to its last log line, ${STOP_MS} ms to its exit, $STOP_STATUS)"
  mv "$T/log/wf.log" "$T/log/wf-$point.log" 2>/dev/null
}

POINTS=(
  cycle.start:force cycle.sensed:force cycle.decided:force store.decision_inserted:force
  store.decision_before_commit:force store.decision_committed:force deliver.before_sending:force
  deliver.marked_sending:force post.before_start:force post.started:force answer.before_record:force
  answer.attempt_recorded:force answer.recorded:force cycle.done:force command.accepted:force
  retry.before_sending:retry retry.marked_sending:retry
  takeover.start:boot takeover.recovered:boot follow.retries:loop lease.renewed:loop
  stop.before_release:stop command.before_apply:start command.applied:stopcmd
)
for p in "${POINTS[@]}"; do crash "${p%%:*}" "${p##*:}"; done
note "${#POINTS[@]} crash points"

# ---- 2. SIGTERM at each step -------------------------------------------------------------

sigterm_at() {
  local what=$1
  stop_timed wt TERM
  check "SIGTERM $what: stopped within 2 s, exit 0 (${STOP_LOG_MS} ms to its last log line, ${STOP_MS} ms to its exit, status $STOP_STATUS)" \
    stopped_within 2000
  wk wr
  if wait_for 30 is_leader wr && wait_for 30 quiet; then ok "after SIGTERM $what the next worker finished everything"
  else not_ok "after SIGTERM $what the next worker finished everything"; open_things; fi
  stop_timed wr TERM
}
wk wt
wait_for 20 is_leader wt || not_ok "worker leads"
sigterm_at "while idle"

standin_config '{"behaviour":{"dex":"slow"}}'
wk wt
wait_for 20 is_leader wt && force_cmd
dex_called() { [ "$(curl -s --max-time 5 "$SA/_standin/requests/count?prefix=/dex/" | jpy 'd["count"]')" -ge 1 ]; }
curl -s -o /dev/null -X DELETE --max-time 5 "$SA/_standin/requests"
wait_for 15 dex_called
sleep 0.5               # what is tested: SIGTERM well inside the 4 s probe
sigterm_at "during a slow market probe"
standin_config '{"behaviour":{"dex":"ok"}}'

standin_config "{\"behaviour\":{\"llm\":\"slow\"}}"
curl -s -o /dev/null -X DELETE --max-time 5 "$SA/_standin/requests"
wk wt LLM_BASE_URL="$SA/llm/v1" LLM_API_KEY=k LLM_TIMEOUT_MS=8000 LLM_CYCLE_BUDGET_MS=9000
wait_for 20 is_leader wt && force_cmd
llm_called() { [ "$(curl -s --max-time 5 "$SA/_standin/requests/count?prefix=/llm/&method=POST" | jpy 'd["count"]')" -ge 1 ]; }
wait_for 15 llm_called
sleep 0.5               # what is tested: SIGTERM well inside the 4 s answer
sigterm_at "during a slow LLM call"
standin_config '{"behaviour":{"llm":"ok"}}'

behaviour '"slow"'
wk wt
wait_for 20 is_leader wt && force_cmd
in_flight() { [ "$(sql "SELECT count(*) FROM triggers WHERE status = 'sending'")" -ge 1 ]; }
wait_for 15 in_flight
sleep 0.5               # what is tested: SIGTERM well inside the 4 s webhook
behaviour '"ok"'
sigterm_at "with a slow webhook in flight"

# ---- 3. PostgreSQL away while webhooks are in flight ------------------------------------------

# n8n starts the execution (its key claimed) at once, its answer is held by
# the stand-in until POST /_standin/release, which comes once PostgreSQL is
# down (the worker waits as long for it: WEBHOOK_TIMEOUT_MS)
standin_config '{"n8n_answer_seconds":120}'
wk wp WEBHOOK_TIMEOUT_MS=120000
wait_for 20 is_leader wp && force_cmd
P_CMD=$CMD
claimed_now() { [ "$(sql "SELECT count(*) FROM triggers WHERE status = 'sending' AND claimed_at IS NOT NULL")" -ge 1 ]; }
wait_for 15 claimed_now
P_KEYS=$(sql "SELECT string_agg(idempotency_key, ' ') FROM triggers WHERE status = 'sending' AND claimed_at IS NOT NULL")
pg_stop "$T" >/dev/null 2>&1
note "PostgreSQL stopped with $(echo "$P_KEYS" | wc -w) webhook(s) in flight"
curl -s -o /dev/null -X POST --max-time 5 "$SA/_standin/release"
# the worker logs each answer (hook.sent) as it arrives, before it records it
answered() {
  local k
  # released again on every poll: a handler that reached its sleep after the first release
  curl -s -o /dev/null -X POST --max-time 5 "$SA/_standin/release"
  for k in $P_KEYS; do grep -q "\"event\":\"hook.sent\".*\"key\":\"$k\"" "$T/log/wp.log" || return 1; done
}
check "the held answers arrive while PostgreSQL is away" wait_for 30 answered
PG_FAST=1 pg_start "$T" "$T/log/postgresql.log" >/dev/null 2>&1 || bail "PostgreSQL started again"
standin_config '{"n8n_answer_seconds":0}'
recorded() {
  local k
  for k in $P_KEYS; do [ "$(sql "SELECT status FROM triggers WHERE idempotency_key = '$k'")" = sent ] || return 1; done
}
check "after PostgreSQL came back, the answers that arrived meanwhile are recorded as sent" wait_for 40 recorded
once() { local k; for k in $P_KEYS; do [ "$(deliveries "$k")" = 1 ] || return 1; done; }
check "... and not sent again (one delivery per key)" once
check "... with the execution ids n8n answered" \
  test "$(sql "SELECT count(*) FROM triggers WHERE idempotency_key = ANY(string_to_array('$P_KEYS', ' ')) AND execution_id IS NULL")" = 0
check "the worker kept its lease across the database restart (no takeover)" is_leader wp
check "the forced decision's command is done" wait_for 10 cmd_done "$P_CMD"
stop_timed wp TERM

# ---- 4. leader and standby -------------------------------------------------------------------

wk wa
wait_for 20 is_leader wa || not_ok "worker A leads"
wk wb
standby_seen() { status_is '[s for s in d.get("standbys", []) if s.get("pid") == '"$(pid_of wb)"'] != []'; }
check "worker B waits as a standby and /status says so" wait_for 15 standby_seen
check "worker B logs that it is a standby" grep -q '"event":"leader.standby"' "$T/log/wb.log"
t0=$(date +%s%N)
kill -KILL "$(pid_of wa)"
wait_for 20 dead wa
if wait_for 20 is_leader wb; then
  ms=$(logged_ms "$T/log/wb.log" leader.taken "$t0")    # when B took it, by its log
  note "takeover after SIGKILL of the leader: $ms ms (seen by the test after $(( ($(date +%s%N) - t0) / 1000000 )) ms)"
  check "the standby takes over within LEADER_TAKEOVER_SECONDS after the leader is killed ($ms ms)" test "$ms" -lt 6000
else
  not_ok "the standby takes over after the leader is killed"
fi
force_cmd && K1=$CMD
check "the new leader answers a forced decision" wait_for 20 cmd_done "${K1:-0}"

# SIGSTOP: B leads with a slow webhook in flight, C waits; B frozen; C takes over
wk wc
wait_for 15 status_is '[s for s in d.get("standbys", []) if s.get("pid") == '"$(pid_of wc)"'] != []'
behaviour '"slow"'
force_cmd && K2=$CMD
wait_for 15 in_flight
kill -STOP "$(pid_of wb)"
t0=$(date +%s%N)
if wait_for 25 is_leader wc; then
  ms=$(logged_ms "$T/log/wc.log" leader.taken "$t0")
  note "takeover after SIGSTOP of the leader: $ms ms (seen by the test after $(( ($(date +%s%N) - t0) / 1000000 )) ms)"
  check "a standby takes over from a frozen leader within LEADER_TAKEOVER_SECONDS plus a poll ($ms ms)" test "$ms" -lt 9000
else
  not_ok "a standby takes over from a frozen leader"
fi
behaviour '"ok"'
force_cmd && K3=$CMD
check "the new leader answers a forced decision while the old one is frozen" wait_for 20 cmd_done "${K3:-0}"
kill -CONT "$(pid_of wb)"
check "the frozen leader, woken, steps down (leader.lost or store.fenced in its log)" \
  wait_for 15 grep -Eq '"event":"(leader.lost|store.fenced)"' "$T/log/wb.log"
check "... and waits as a standby" wait_for 15 grep -q '"event":"leader.standby"' "$T/log/wb.log"
check "worker C still leads" is_leader wc
check "everything finished after the takeovers" wait_for 30 quiet
check "command #${K2:-0} (forced before the freeze) is done" cmd_done "${K2:-0}"
stop_timed wb TERM
stop_timed wc TERM

# ---- 5. workflows that do not claim their key ---------------------------------------------------

# the user's own workflows may not claim: a trigger its worker left
# 'sending' becomes 'unknown' at the takeover, and with the n8n API set the
# new leader looks it up among n8n's executions by its key -- found: 'sent'
# with that execution (followed to its end); none: it never left, sent again
"$PYTHON" - "$top_srcdir/catalog/default.json" > "$T/catalog-noclaim.json" <<'PY'
import json, sys
cat = json.load(open(sys.argv[1]))
for w in cat["workflows"]:
    w["claims"] = False
print(json.dumps(cat))
PY
# executions end at once: the one found has ended before the lookup, and
# its end is still followed (n8n's status read by the tracking pass)
standin_config '{"n8n_claim":null,"n8n_exec_seconds":0}'
NOCLAIM=(CATALOG_FILE="$T/catalog-noclaim.json" N8N_API_KEY=n8n-key-$(rnd 8) TRACK_POLL_SECONDS=1)
# noclaim POINT [CMD...]: a worker killed at POINT of a forced decision (the key of its
# trigger in NC_KEY), CMD run, then the next worker started
noclaim() {
  NC_KEY=
  if killed_at_force wu "$1" "${NOCLAIM[@]}"; then
    NC_KEY=$(sql "SELECT t.idempotency_key FROM triggers t JOIN control_commands c ON c.decision_id = t.decision_id
                   WHERE c.id = $CMD ORDER BY t.id LIMIT 1")
  fi
  [ -n "$NC_KEY" ] || { not_ok "a worker of non-claiming workflows killed at $1 (status ${DEAD_STATUS:-alive})"; stack_kill wu 1; }
  shift
  [ $# -eq 0 ] || "$@"
  wk wv "${NOCLAIM[@]}"
  wait_for 30 is_leader wv || not_ok "the next worker leads after the kill"
}
n8n_exec_of() { curl -s --max-time 5 "$SA/n8n/api/v1/executions?limit=250&includeData=true" -H "X-N8N-API-KEY: x" \
  | jpy "[e['id'] for e in d['data'] if e.get('data') for b in [e['data']['resultData']['runData']['Webhook'][0]['data']['main'][0][0]['json']['body']] if isinstance(b, dict) and b.get('idempotency_key') == '$NC_KEY']"; }

# killed once n8n had answered, before the answer was recorded: n8n has the execution
noclaim answer.before_record
found_sent() { [ "$(nc_col status)" = sent ] && [ -n "$(nc_col execution_id)" ]; }
check "killed after n8n answered, not claiming: the next leader finds the execution by its key -> sent" wait_for 30 found_sent
check "... the execution id is the one n8n ran for that key ($(nc_col execution_id), n8n: $(n8n_exec_of))" \
  test "[\"$(nc_col execution_id)\"]" = "$(n8n_exec_of)"
check "... the trigger says so (n8n execution ... carries its key)" grep -q "carries its key" <<< "$(nc_col error)"
check "... the log says so (trigger.reconciled, found)" grep -q '"trigger.reconciled".*"result":"found"' "$T/log/wv.log"
check "... not sent again (one delivery of the key)" test "$(deliveries "$NC_KEY")" = 1
outcome_is() { [ "$(nc_col "coalesce(outcome, '')")" = "$1" ]; }
check "... and followed to its end: outcome succeeded" wait_for 20 outcome_is succeeded
stop_timed wv TERM

# killed after 'sending' was committed, before the POST: no execution carries the key
# killed after 'sending' was committed, before the POST: no execution carries the key.
# Another run of the same workflow is still going (n8n lists an execution's data only
# once it ended): the key cannot be ruled out before that run ends
other_run() {
  standin_config '{"n8n_exec_seconds":12}'
  OTHER_T0=$(date +%s%N)          # before the POST: the run starts at or after this
  curl -s -o /dev/null --max-time 5 -X POST -H 'Content-Type: application/json' \
    --data-binary '{"idempotency_key":"e2e-another-run-of-it"}' "$SA/n8n/webhook/crypto-light-monitoring"
  standin_config '{"n8n_exec_seconds":0}'
}
noclaim deliver.marked_sending other_run
resent_once() { [ "$(nc_col status)" = sent ] && [ "$(deliveries "$NC_KEY")" = 1 ]; }
check "killed before the POST, not claiming: no execution carries the key -> sent again, once" wait_for 60 resent_once
check "... not before the other run of the workflow ended: the lookup waited (trigger.lookup_waiting)" \
  grep -q '"trigger.lookup_waiting"' "$T/log/wv.log"
resent_ms=$(logged_ms "$T/log/wv.log" trigger.reconciled "$OTHER_T0")
check "... and sent again only after that run's 12 s ($resent_ms ms after it started)" test "$resent_ms" -ge 12000
check "... the log says why (trigger.reconciled, sent_again)" grep -q '"trigger.reconciled".*"result":"sent_again"' "$T/log/wv.log"
NC_ATT=$(nc_col "attempts || ' ' || coalesce(execution_id, '-')")
check "... in its second attempt, with the execution id n8n answered (attempts, execution: $NC_ATT)" \
  test "${NC_ATT%% *}" = 2 -a "${NC_ATT#* }" != -
check "... its decision settled after the resend" wait_for 15 quiet
stop_timed wv TERM
standin_config "$STANDIN_CFG"

# ---- 6. over everything ------------------------------------------------------------------------

scans_json > "$T/scans.json"
twice=$(jpy '[k for k, v in d["scans"].items() if v > 1]' < "$T/scans.json")
check "no key was scanned twice ($(jpy 'len(d["scans"])' < "$T/scans.json") keys scanned${twice:+, twice: $twice})" test "$twice" = "[]"
sent_keys=$(sql "SELECT idempotency_key FROM triggers WHERE status = 'sent'")
missing=
for k in $sent_keys; do
  [ "$(jpy "d['scans'].get('$k', 0)" < "$T/scans.json")" = 1 ] || missing="$missing $k"
done
check "every trigger recorded 'sent' was scanned exactly once ($(echo "$sent_keys" | wc -w) triggers${missing:+; not:$missing})" test -z "$missing"
resent=$(sql "SELECT count(*) FROM triggers WHERE attempts > 1 OR error LIKE '%sent again%'")
note "triggers sent more than once by the orchestrator (a repeat told it is a duplicate): $resent"
forced=$(sql "SELECT count(*) FROM control_commands WHERE command = 'force_decision'")
answered=$(sql "SELECT count(*) FROM control_commands WHERE command = 'force_decision' AND status = 'done' AND decision_id IS NOT NULL")
check "every force command was answered by a decision ($answered of $forced)" test "$answered" = "$forced" -a "$forced" -gt 20
orphans=$(sql "SELECT count(*) FROM decisions d WHERE d.source = 'forced' AND NOT EXISTS
               (SELECT 1 FROM control_commands c WHERE c.decision_id = d.id)")
check "no command was run twice: every forced decision is the one its command names ($orphans without)" test "$orphans" = 0
unclosed=$(sql "SELECT count(*) FROM control_commands WHERE status <> 'done' OR processed_at IS NULL")
check "every command (force, start, stop) is done, with the time it was done ($unclosed not)" test "$unclosed" = 0
check "no trigger or decision left open" quiet
lost=$(sql "SELECT count(*) FROM triggers WHERE status IN ('unknown','abandoned')")
check "no trigger unknown or abandoned: every half-sent one was reconciled by its claim ($lost)" test "$lost" = 0
E2E_EXTRA_LOGS="$T/log/wb.log $T/log/wc.log"
