#!/usr/bin/env bash
# End-to-end test of the Telegram commands (worker/telegram.c): the real
# PostgreSQL, nginx, orch-api and orch-worker, with tests/standin/standin.py
# as the Bot API (getMe, getUpdates with long polling, sendMessage) and the
# market sources; no n8n (a dry run: decisions are recorded, nothing sent).
#
#  1. The leader long-polls getUpdates; /status sent from TELEGRAM_CHAT_ID is
#     answered (running, mode, last decision, next decision, leader, LLM,
#     watch wakes), in plain text, to that chat.
#     While a 25 s long poll is open the schedule (5-8 s) is kept.
#  2. A command from another chat is ignored (no reply, nothing done) and
#     logged without its text; /status@<this bot> works, /pause@<another
#     bot> is left alone.  A /pause sent an hour ago (the worker was away)
#     is not carried out and the chat is told; an hour-old /status is
#     answered.
#  3. /pause: a control command 'stop' requested by telegram:<chat> (the
#     REST API shows who asked), /status of the REST API says running
#     false, no decision is made for longer than the schedule's longest
#     interval, and the chat hears "Paused"; /resume starts it again.
#  4. /force: a decision woken by 'control' answers the command; the chat
#     hears "Decision #N made"; /decisions lists the last 5.  The REST API's
#     force-decision is taken at once while a long poll is open.
#  5. 429 on getUpdates: the next poll waits retry_after.  409 (a webhook is
#     set; another program polls the bot): logged with a hint, tried again
#     later, and commands are answered once it is gone.
#  6. Exactly once: a worker killed (ORCH_FAULT) after recording a /force
#     and before confirming it to Telegram does not run it again when it
#     restarts; killed before recording it, the restarted one runs it once.
#  7. A standby does not poll; SIGTERM to the leader while its long poll is
#     open stops it within 2 s, and the standby takes over the chat.
#  8. No secret in the logs, the replies or the API's answers.
#
# Run by `make check`; by hand:
#   top_srcdir=/path/to/src top_builddir=/path/to/build bash tests/e2e/e2e_telegram.sh
# KEEP_TMP=1 keeps the state directory.  Output: `ok - ...` / `not ok - ...`
# lines, then `N passed, N failed`; exit 0 when nothing failed.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

E2E_NAME=e2e_telegram
# shellcheck source=../lib/e2e.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)/e2e.sh"
e2e_begin

CHAT=-1001234567890
OTHER=777000111
TG_TOKEN=123456789:AA$(rnd 16)

# ---- helpers -------------------------------------------------------------------------

sa() { curl -s --max-time 10 -X "$1" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$SA$2"; }
# tg CHAT TEXT [FROM]: queue a message for getUpdates; UPD gets its update_id
tg() {
  UPD=$(sa POST /_standin/telegram/updates "{\"chat_id\":$1,\"text\":\"$2\",\"from_id\":${3:-4242}}" | jpy 'd["update_ids"][0]')
  [ -n "$UPD" ]
}
# messages: the bot's replies (not its alerts, which start with a bold title), as JSON; nmsg: how many
messages() { sa GET /_standin/telegram/messages | jpy '[m for m in d if not m["text"].startswith("<b>")]'; }
nmsg() { messages | jpy 'len(d)'; }
# replied SINCE REGEX: a message newer than the SINCE-th one (count) matches REGEX
replied() { messages | jpy "any(re.search(r'''$2''', m['plain']) for m in d[$1:])" | grep -qx true; }
# reply_text SINCE REGEX: the first such message
reply_text() { messages | jpy "next((m['plain'] for m in d[$1:] if re.search(r'''$2''', m['plain'])), '')"; }
# confirmed ID: the stand-in saw the bot confirm update ID (offset past it)
confirmed() { [ "$(sa GET /_standin/telegram/updates | jpy 'd["offset"]')" -gt "$1" ]; }
open_poll() { [ "$(sa GET /_standin/telegram/updates | jpy 'd["open_polls"]')" -ge 1 ]; }
# polls_since SEQ: the getUpdates requests recorded after request SEQ, as JSON
polls_since() { sa GET "/_standin/requests?prefix=/telegram/bot$TG_TOKEN/getUpdates&since=$1"; }
last_seq() { sa GET "/_standin/requests?limit=1" | jpy 'd[-1]["seq"] if d else 0'; }
logged() { grep -q "$2" "$T/log/$1.log"; }
tg_cmds() { sql "SELECT count(*) FROM control_commands WHERE requested_by = 'telegram:$CHAT' ${1:+AND command = '$1'}"; }

# wk NAME [ENV...]: a worker process NAME (log T/log/NAME.log) with extra environment
# wk, pid_of, is_leader, dead, stop_timed: tests/lib/e2e.sh
polling() { logged "$1" '"event":"telegram.polling"' && open_poll; }
# command_row ID: "command status requested_by decision" of a control command
command_row() { sql "SELECT command || ' ' || status || ' ' || coalesce(requested_by, '-') || ' ' || coalesce(decision_id::text, '-') FROM control_commands WHERE id = $1"; }
newer_than() { [ "$(last_decision)" -gt "$1" ]; }

# ---- start ----------------------------------------------------------------------------

[ -x "$ORCH_WORKER_BIN" ] && [ -x "$ORCH_API_BIN" ] || bail "binaries built"
PG_FAST=1 stack_start_pg || bail "PostgreSQL started"
standin_start
standin_config "{\"telegram_token\":\"$TG_TOKEN\",\"telegram_retry_after\":3}" || bail "stand-in configured"
TOKEN=$(rnd 24)
export ORCHESTRATOR_API_TOKEN=$TOKEN HEARTBEAT_SECONDS=1 PROBE_TIMEOUT_MS=1500
export DEXSCREENER_BASE_URL=$SA/dex PUMPFUN_BASE_URL=$SA/pumpfun
export DECISION_MIN_SECONDS=5 DECISION_MAX_SECONDS=8 LEADER_TAKEOVER_SECONDS=6
export TELEGRAM_BOT_TOKEN=$TG_TOKEN TELEGRAM_CHAT_ID=$CHAT TELEGRAM_BASE_URL=$SA/telegram
stack_start_api 2 || bail "orch-api started"
for _ in 1 2 3; do stack_start_nginx "$(stack_free_port)" && break; done
[ -n "$STACK_PORT" ] || bail "nginx started"
BASE=http://127.0.0.1:$STACK_PORT
wk wa
ok "PostgreSQL, the stand-in (Bot API, sources), orch-api behind nginx and a worker started"

# ---- 1. polling, /status ----------------------------------------------------------------

check "the leader asks getMe, then long-polls getUpdates (telegram.polling, a poll open)" wait_for 20 polling wa
has_decision() { [ "$(last_decision)" -gt 0 ]; }
wait_for 20 has_decision || note "no decision yet"
body=$(polls_since 0 | jpy 'next((r["body"] for r in d if r.get("body_is_json")), {})')
check "getUpdates asks with offset, limit, a long-poll timeout of 25 s and allowed_updates [message]: $body" \
  test "$(jpy 'isinstance(d.get("offset"), int) and d.get("limit") == 20 and d.get("timeout") == 25 and d.get("allowed_updates") == ["message"]' <<<"$body")" = true

n0=$(nmsg)
t0=$(date +%s%N)
tg "$CHAT" "/status"
check "/status from the allowed chat is answered" wait_for 10 replied "$n0" '^Running'
note "answered in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
ST=$(reply_text "$n0" '^Running')
while IFS= read -r l; do note "  | $l"; done <<<"$ST"
check "the answer says mode, last decision, next decision, leader, LLM and watch wakes" \
  eval 'grep -q "^Mode: " <<<"$ST" && grep -q "^Last decision: #[0-9]" <<<"$ST" && grep -q "^Next decision" <<<"$ST" &&
        grep -q "^Leader: .*this worker" <<<"$ST" && grep -q "^LLM: not configured" <<<"$ST" && grep -q "^Watch wakes today: [0-9]" <<<"$ST"'
check "the answer went to the allowed chat, as plain text escaped for parse_mode HTML" \
  test "$(messages | jpy "all(m['chat_id'] == $CHAT and m['parse_mode'] in (None, 'HTML') for m in d[$n0:])")" = true
check "the update was confirmed to Telegram (the next poll's offset is past it)" wait_for 10 confirmed "$UPD"
check "worker_state keeps the offset" test "$(sql "SELECT telegram_offset > $UPD FROM worker_state")" = t
# the poll waits 25 s for a message; the schedule decides every 5-8 s (a
# cycle's probes take 1.5 s at most): two scheduled decisions in a row, the
# second at most 14 s after the first, show the open poll holds nothing up
two_scheduled() { [ "$(sql "SELECT count(*) FROM decisions WHERE wake = 'scheduled'")" -ge 2 ]; }
wait_for 40 two_scheduled || note "fewer than two scheduled decisions"
gap=$(sql "SELECT round(extract(epoch FROM max(g))::numeric, 1)
             FROM (SELECT id, decided_at - lag(decided_at) OVER (ORDER BY id) AS g FROM decisions) s
            WHERE id <= (SELECT id FROM decisions WHERE wake = 'scheduled' ORDER BY id OFFSET 1 LIMIT 1)")
check "a 25 s long poll open: the schedule is kept (largest gap between the first decisions ${gap} s <= 14 s)" \
  awk -v g="${gap:-99}" 'BEGIN { exit !(g > 0 && g <= 14) }'

# ---- 2. other chats, other bots ------------------------------------------------------------

n0=$(nmsg)
before=$(tg_cmds)
tg "$OTHER" "/pause" 31337
FOREIGN=$UPD
tg "$CHAT" "/pause@some_other_bot"
tg "$CHAT" "/status@StandIn_Bot"
check "/status@<this bot> is answered (bot names in any case)" wait_for 10 replied "$n0" '^Running'
check "the command from another chat is logged (telegram.ignored, its chat and user id)" \
  wait_for 5 eval "grep '\"event\":\"telegram.ignored\"' '$T/log/wa.log' | grep -q '\"update_id\":$FOREIGN,\"chat_id\":$OTHER,\"user_id\":31337'"
check "... and nothing else: no reply to it, no command recorded (one reply in all: /status's)" \
  test "$(nmsg)" = "$((n0 + 1))" -a "$(tg_cmds)" = "$before"
check "... the worker still runs" status_is 'd.get("running") is True'

# an order sent an hour ago (the worker was away): not carried out, the chat is told
n0=$(nmsg)
before=$(tg_cmds)
OLD=$(( $(date +%s) - 3600 ))
STALE_UPD=$(sa POST /_standin/telegram/updates "{\"chat_id\":$CHAT,\"text\":\"/pause\",\"from_id\":4242,\"date\":$OLD}" | jpy 'd["update_ids"][0]')
check "a /pause sent an hour ago is not carried out: the chat is told" \
  wait_for 10 replied "$n0" '^/pause was not carried out: it was sent 1 h'
check "... logged (telegram.ignored, the reason), no command recorded, the worker still runs" \
  eval "grep '\"event\":\"telegram.ignored\"' '$T/log/wa.log' | grep '\"update_id\":$STALE_UPD,' | grep -q 'too long ago' &&
        [ \"\$(tg_cmds)\" = '$before' ] && status_is 'd.get(\"running\") is True'"
n0=$(nmsg)
sa POST /_standin/telegram/updates "{\"chat_id\":$CHAT,\"text\":\"/status\",\"from_id\":4242,\"date\":$OLD}" >/dev/null
check "an hour-old /status is answered (with what is true now)" wait_for 10 replied "$n0" '^Running'

# ---- 3. /pause, /resume ----------------------------------------------------------------------

n0=$(nmsg)
tg "$CHAT" "/pause"
check "/pause answered: Paused (command #N)" wait_for 10 replied "$n0" '^Paused \(command #[0-9]+\)'
PAUSE=$(reply_text "$n0" '^Paused' | sed -n 's/.*command #\([0-9]*\).*/\1/p')
check "command #$PAUSE: stop, done, requested by telegram:$CHAT" test "$(command_row "${PAUSE:-0}")" = "stop done telegram:$CHAT -"
api GET "/control/commands/${PAUSE:-0}" -H "$(auth)"
check "GET /control/commands/$PAUSE says who asked (requested_by telegram:$CHAT)" \
  test "$(jpy "d.get('requested_by') == 'telegram:$CHAT' and d.get('status') == 'done'" < "$BODY")" = true
check "the REST API's /status says running false" wait_for 5 status_is 'd.get("running") is False'
paused_at=$(last_decision)
# the schedule decides every 5-8 s: 12 s without a decision is the pause's
# doing (one that began before the pause, its probes 1.5 s at most, may end after it)
late() { [ "$(sql "SELECT count(*) FROM decisions WHERE decided_at > (SELECT processed_at FROM control_commands
                    WHERE id = ${PAUSE:-0}) + interval '3 seconds'")" -gt 0 ]; }
if wait_for 15 late; then not_ok "no decision while paused (decision $(last_decision) made)"
else ok "no decision for 12 s while paused (the schedule decides every 5-8 s)"; fi
n0=$(nmsg)
tg "$CHAT" "/status"
check "/status in the chat says Paused" wait_for 10 replied "$n0" '^Paused: no decision until /resume'

n0=$(nmsg)
tg "$CHAT" "/resume"
check "/resume answered: Running again" wait_for 10 replied "$n0" '^Running again \(command #[0-9]+\)'
RESUME=$(reply_text "$n0" '^Running again' | sed -n 's/.*command #\([0-9]*\).*/\1/p')
check "command #$RESUME: start, done, requested by telegram:$CHAT" test "$(command_row "${RESUME:-0}")" = "start done telegram:$CHAT -"
check "the REST API's /status says running true" wait_for 5 status_is 'd.get("running") is True'
check "decisions are made again" wait_for 10 newer_than "$paused_at"

# ---- 4. /force, /decisions ---------------------------------------------------------------------

n0=$(nmsg)
tg "$CHAT" "/force"
FORCE_UPD=$UPD
check "/force acknowledged at once: Forcing a decision (command #N)" wait_for 10 replied "$n0" '^Forcing a decision'
check "... then: Decision #D made (command #N)" wait_for 15 replied "$n0" '^Decision #[0-9]+ made \(command #[0-9]+\)'
line=$(reply_text "$n0" '^Decision #')
FD=$(sed -n 's/^Decision #\([0-9]*\) made (command #\([0-9]*\)).*/\1/p' <<<"$line")
FC=$(sed -n 's/^Decision #\([0-9]*\) made (command #\([0-9]*\)).*/\2/p' <<<"$line")
check "command #$FC: force_decision, done, by telegram:$CHAT, answered by decision #$FD" \
  test "$(command_row "${FC:-0}")" = "force_decision done telegram:$CHAT ${FD:-x}"
check "decision #$FD was woken by 'control' (the command in wake_detail) and made as 'forced'" \
  test "$(sql "SELECT wake || ' ' || source || ' ' || (wake_detail->>'command_id') FROM decisions WHERE id = ${FD:-0}")" = "control forced $FC"

# the REST API's commands while a long poll is open: taken at once, not
# after the poll's 25 s
wait_for 10 open_poll || note "no poll open"
api POST /control/force-decision --data-binary '' -H "$(auth)"
API_CMD=$(jpy "d.get('command_id', 0)" < "$BODY")
api_taken() { [ "$(sql "SELECT accepted_at IS NOT NULL FROM control_commands WHERE id = ${API_CMD:-0}")" = t ]; }
wait_for 10 api_taken || note "command $API_CMD not accepted"
lat=$(sql "SELECT round(extract(epoch FROM accepted_at - requested_at)::numeric, 2) FROM control_commands WHERE id = ${API_CMD:-0}")
check "POST /control/force-decision while a long poll is open: accepted in ${lat} s (< 3 s; the poll waits 25 s)" \
  awk -v g="${lat:-99}" 'BEGIN { exit !(g != "" && g < 3) }'

n0=$(nmsg)
tg "$CHAT" "/decisions"
check "/decisions answered" wait_for 10 replied "$n0" '^Last [0-9]+ decisions?, newest first'
DL=$(reply_text "$n0" '^Last [0-9]+ decision')
while IFS= read -r l; do note "  | $l"; done <<<"$DL"
want=$(sql "SELECT string_agg('#' || id, ' ' ORDER BY id DESC) FROM (SELECT id FROM decisions WHERE run_id IS NULL ORDER BY id DESC LIMIT 5) s")
got=$(sed -n 's/^\(#[0-9]*\) .*/\1/p' <<<"$DL" | tr '\n' ' ' | sed 's/ $//')
check "... one line for each of the last 5 decisions, newest first ($got)" test "$got" = "$want"
n0=$(nmsg)
tg "$CHAT" "/selfdestruct"
check "an unknown command gets the list of commands" wait_for 10 replied "$n0" '^Unknown command /selfdestruct\.'

# ---- 5. 429 and 409 -----------------------------------------------------------------------------

# gap SEQ: seconds between the first two getUpdates after request SEQ
gap() { polls_since "$1" | jpy 'round(d[1]["time"] - d[0]["time"], 2) if len(d) >= 2 else -1'; }
wait_for 10 open_poll || note "no poll open"
seq0=$(last_seq)
standin_config '{"behaviour":{"telegram:updates":["429","ok"]}}' || bail "getUpdates made to answer 429"
tg "$CHAT" "hello"                       # ends the poll that is open (plain text: ignored)
rl() { logged wa '"event":"telegram.rate_limited".*"retry_after":3'; }
check "429 on getUpdates: telegram.rate_limited logged with its retry_after (3 s)" wait_for 10 rl
n0=$(nmsg)
tg "$CHAT" "/status"
check "... the worker polls again and answers" wait_for 15 replied "$n0" '^Running'
g=$(gap "$seq0")
check "... not before retry_after: the poll after the 429 came ${g} s later" awk -v g="$g" 'BEGIN { exit !(g >= 2.95) }'
standin_config '{"behaviour":{"telegram:updates":null}}'

# 409: a webhook is set for the bot
wait_for 10 open_poll || note "no poll open"
seq0=$(last_seq)
standin_config '{"telegram_webhook":"https://example.invalid/hook"}' || bail "webhook set"
tg "$CHAT" "hello"                       # ends the open poll; the next ones get 409
conflict() { logged wa '"event":"telegram.conflict".*webhook is active.*"hint":"a webhook is set'; }
check "409 (a webhook is set) logged as telegram.conflict with a hint" wait_for 15 conflict
n0=$(nmsg)
tg "$CHAT" "/status"
FIRST=$UPD
standin_config '{"telegram_webhook":null}' || bail "webhook deleted"
check "tried again later: once the webhook is gone the waiting /status is answered" wait_for 30 replied "$n0" '^Running'
g=$(gap "$seq0")
check "... not at once: the poll after the 409 came ${g} s later (5 s)" awk -v g="$g" 'BEGIN { exit !(g >= 4.9) }'
check "... and the update was confirmed" wait_for 10 confirmed "$FIRST"

# 409: another program polls the same bot (the Bot API ends the older poll)
wait_for 10 open_poll || note "no poll open"
sa POST "/telegram/bot$TG_TOKEN/getUpdates" '{"timeout":1}' > "$T/other-poller.json"
other() { logged wa '"event":"telegram.conflict".*terminated by other getUpdates request'; }
check "another poller of the bot: the worker's poll ends with 409, logged" wait_for 10 other
n0=$(nmsg)
tg "$CHAT" "/status"
check "... and the worker polls again and answers" wait_for 30 replied "$n0" '^Running'

# ---- 6. exactly once across crashes ------------------------------------------------------------

stop_timed wa TERM
check "SIGTERM: the worker exits 0 (${STOP_MS} ms, status $STOP_STATUS)" test "$STOP_STATUS" = 0
# a worker that dies after recording a /force and before confirming it
forces=$(tg_cmds force_decision)
wk wk1 ORCH_FAULT=telegram.recorded
wait_for 20 polling wk1 || note "wk1 not polling"
tg "$CHAT" "/force"
KILLED_UPD=$UPD
check "the worker recording /force is killed there (ORCH_FAULT=telegram.recorded)" wait_for 15 dead wk1
check "... the command was recorded once, with the offset past its update" \
  test "$(tg_cmds force_decision) $(sql "SELECT telegram_offset FROM worker_state")" = "$((forces + 1)) $((KILLED_UPD + 1))"
check "... and Telegram was not told (the stand-in still holds the update)" \
  test "$(sa GET /_standin/telegram/updates | jpy "any(u['update_id'] == $KILLED_UPD for u in d['pending'])")" = true
n0=$(nmsg)
wk wk2
check "the restarted worker polls from the saved offset: the update is confirmed" wait_for 20 confirmed "$KILLED_UPD"
check "... and /force is not run again (still one command for it)" test "$(tg_cmds force_decision)" = "$((forces + 1))"
cmd_done() { [ "$(sql "SELECT count(*) FROM control_commands WHERE requested_by = 'telegram:$CHAT' AND command = 'force_decision' AND status = 'pending'")" = 0 ]; }
check "... the recorded command is answered by a decision of the new leader" wait_for 20 cmd_done
stop_timed wk2 TERM
# a worker that dies before recording it: the restarted one runs it once
wk wk3 ORCH_FAULT=telegram.before_record
wait_for 20 polling wk3 || note "wk3 not polling"
tg "$CHAT" "/force"
LOST_UPD=$UPD
check "the worker is killed before recording /force (ORCH_FAULT=telegram.before_record)" wait_for 15 dead wk3
check "... nothing recorded" test "$(tg_cmds force_decision)" = "$((forces + 1))"
n0=$(nmsg)
wk wb
check "the restarted worker gets the update again and records /force once" wait_for 20 confirmed "$LOST_UPD"
check "... one command" test "$(tg_cmds force_decision)" = "$((forces + 2))"
check "... answered in the chat" wait_for 20 replied "$n0" '^Decision #[0-9]+ made'
# and a clean restart does not run anything again either
before=$(tg_cmds)
stop_timed wb TERM
wk wa
check "after a clean restart the worker polls again" wait_for 20 polling wa
n0=$(nmsg)
tg "$CHAT" "/status"
check "... answers" wait_for 10 replied "$n0" '^Running'
check "... and has run no command again ($(tg_cmds) from the chat)" test "$(tg_cmds)" = "$before"

# ---- 7. a standby does not poll; SIGTERM during a long poll; the takeover ---------------------------

wk wc
standby() { logged wc '"event":"leader.standby"'; }
check "a second worker waits as a standby" wait_for 15 standby
conflicts_a=$(grep -c '"event":"telegram.conflict"' "$T/log/wa.log")
n0=$(nmsg)
tg "$CHAT" "/status"
check "with a standby beside it the leader answers" wait_for 10 replied "$n0" '^Running'
check "the leader's long poll is open again, and it is the only one" \
  wait_for 10 eval '[ "$(sa GET /_standin/telegram/updates | jpy "d[\"open_polls\"]")" = 1 ]'
check "the standby does not poll: no telegram.polling in its log, no poll of the leader's ended by another (409)" \
  eval "! logged wc '\"event\":\"telegram.polling\"' && [ \$(grep -c '\"event\":\"telegram.conflict\"' '$T/log/wa.log') = $conflicts_a ]"
stop_timed wa TERM
check "SIGTERM while a long poll is open: the leader stops within 2 s, exit 0 (${STOP_LOG_MS} ms to its last log line, ${STOP_MS} ms to its exit, status $STOP_STATUS)" \
  stopped_within 2000
check "the standby takes the lead and polls" wait_for 20 polling wc
n0=$(nmsg)
tg "$CHAT" "/status"
check "... and answers the chat as the new leader" wait_for 10 replied "$n0" '^Running'
WC_ID=$(sql "SELECT holder FROM leader_lease")
check "... naming itself ($WC_ID)" eval "reply_text $n0 '^Running' | grep -qF 'Leader: $WC_ID (this worker'"

# ---- 8. secrets ------------------------------------------------------------------------------

check "the bot token is in no log (worker, API, nginx)" eval "! grep -qF '$TG_TOKEN' '$T'/log/*.log"
check "... in no reply" eval "! messages | grep -qF '$TG_TOKEN'"
api GET /status
check "... nor in /status" eval "! grep -qF '$TG_TOKEN' '$BODY'"
counters() { status_is '(lambda c: c["enabled"] is True and c["bot"] == "standin_bot" and c["commands"] >= 1 and c["polls"] >= 1)(d["alerts"]["commands"])'; }
check "/status shows the commands' counters (alerts.commands)" wait_for 10 counters
if grep -q 'AddressSanitizer\|runtime error' "$T"/log/*.log; then not_ok "no sanitizer report"; else ok "no sanitizer report"; fi
