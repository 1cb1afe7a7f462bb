#!/usr/bin/env bash
# End-to-end test of running the orchestrator as a service: `make install`
# into a prefix under the test's directory (every path the units name then
# exists), the layout it makes, `systemd-analyze verify` and `security` on the
# installed units (no systemd as PID 1 needed), logrotate's parse of the
# installed file, and then the installed orch-api behind nginx: it starts with
# an invalid worker-only setting and a worker secret file that does not exist
# (it reads only its own settings) while orch-worker refuses the same
# environment; its token from ORCHESTRATOR_API_TOKEN_FILE; LOG_FILE gets its
# JSON lines, and after the file is moved away (as logrotate does) SIGHUP
# makes the parent and the children write into a new one.
#
# Run by `make check TESTS=tests/e2e/e2e_service.sh`; by hand:
#   top_builddir=/path/to/build bash tests/e2e/e2e_service.sh   (KEEP_TMP=1 keeps the logs)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

E2E_NAME=e2e_service
# shellcheck source=../lib/e2e.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)/e2e.sh"
e2e_begin

R=$T/root
UNITS=$R/usr/lib/systemd/system
# a make of its own: not the jobserver of the make check that runs us
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$top_builddir" install \
     prefix="$R/usr" sysconfdir="$R/etc" localstatedir="$R/var" \
     systemdsystemunitdir="$UNITS" sysusersdir="$R/usr/lib/sysusers.d" >"$T/log/install.log" 2>&1; then
  ok "make install into $R"
else
  tail -n 20 "$T/log/install.log" | sed 's/^/#   /'
  bail "make install"
fi

# ---- the layout --------------------------------------------------------------------
for f in usr/bin/orch-worker usr/bin/orch-api usr/bin/orch-replay usr/bin/orchctl \
         usr/share/ai-orchestrator/prompt.txt usr/share/ai-orchestrator/www/index.html \
         usr/share/ai-orchestrator/www/app.js usr/share/ai-orchestrator/sql/001_init.sql \
         usr/share/ai-orchestrator/sql/migrate.sh usr/share/doc/ai-orchestrator/README.md \
         usr/lib/systemd/system/ai-orchestrator-worker.service usr/lib/systemd/system/ai-orchestrator-api.service \
         usr/lib/sysusers.d/ai-orchestrator.conf etc/logrotate.d/ai-orchestrator \
         etc/nginx/sites-available/ai-orchestrator.conf etc/ai-orchestrator/orchestrator.env.example \
         usr/share/ai-orchestrator/grafana/orchestrator-dashboard.json usr/share/ai-orchestrator/grafana/alerts.yml \
         usr/share/ai-orchestrator/grafana/prometheus.yml; do
  [ -f "$R/$f" ] || not_ok "installed: $f"
done
ok "programs, prompt, www/, SQL, README, units, sysusers, logrotate, nginx site, settings and grafana/ installed"
for d in var/lib/ai-orchestrator var/log/ai-orchestrator etc/ai-orchestrator/nginx/orchestrator.d; do
  [ -d "$R/$d" ] || not_ok "installed directory: $d"
done
check "the programs are executable" test -x "$R/usr/bin/orchctl" -a -x "$R/usr/bin/orch-api" -a -x "$R/usr/share/ai-orchestrator/sql/migrate.sh"
check "no placeholder left" bash -c "! grep -rn '@[a-zA-Z_]*@' '$UNITS' '$R/etc/logrotate.d' '$R/etc/nginx' '$R/usr/lib/sysusers.d'"

# ---- the units ---------------------------------------------------------------------
W=$UNITS/ai-orchestrator-worker.service A=$UNITS/ai-orchestrator-api.service
if out=$(cd "$UNITS" && systemd-analyze verify ai-orchestrator-worker.service ai-orchestrator-api.service 2>&1) &&
   [ -z "$out" ]; then
  ok "systemd-analyze verify: both units clean"
else
  not_ok "systemd-analyze verify: $out"
fi
for u in "$W" "$A"; do
  n=$(basename "$u")
  for want in "ExecStart=$R/usr/bin/" "User=orchestrator" "ProtectSystem=strict" "NoNewPrivileges=yes" \
              "PrivateTmp=yes" "ProtectHome=yes" "EnvironmentFile=-$R/etc/ai-orchestrator/orchestrator.env" \
              "ReadWritePaths=" "ExecReload=/bin/kill -HUP" "CapabilityBoundingSet=" "RestartSec="; do
    grep -q -- "^$want" "$u" || not_ok "$n has $want"
  done
  score=$(systemd-analyze security --offline=yes "$u" 2>/dev/null | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
  if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
    ok "$n: systemd-analyze security exposure $score (at most 2.0)"
  else
    not_ok "$n: systemd-analyze security exposure '${score:-none}'"
  fi
done
check "worker: Restart=always, the state directory writable" \
  bash -c "grep -q '^Restart=always' '$W' && grep -q '^ReadWritePaths=.*$R/var/lib/ai-orchestrator' '$W' && grep -q '^StateDirectory=ai-orchestrator' '$W'"
check "api: Restart=on-failure, its socket in RuntimeDirectory" \
  bash -c "grep -q '^Restart=on-failure' '$A' && grep -q '^RuntimeDirectory=ai-orchestrator' '$A' && grep -q -- '--socket /run/ai-orchestrator/api.sock' '$A'"
check "sysusers: a system user orchestrator, nginx in its group" \
  bash -c "grep -q '^u orchestrator ' '$R/usr/lib/sysusers.d/ai-orchestrator.conf' && grep -q '^m www-data orchestrator' '$R/usr/lib/sysusers.d/ai-orchestrator.conf'"

# ---- logrotate and the nginx site ------------------------------------------------------
# logrotate -d (parse only) with the service user replaced by root: there is
# no user orchestrator on a test machine (systemd-sysusers makes it on a server)
sed 's/ orchestrator orchestrator$/ root root/' "$R/etc/logrotate.d/ai-orchestrator" > "$T/logrotate-parse.conf"
if out=$(logrotate -d -s "$T/logrotate-parse.state" "$T/logrotate-parse.conf" 2>&1) && ! grep -qi 'error' <<< "$out"; then
  ok "logrotate -d parses the installed file"
else
  not_ok "logrotate -d: $(grep -i error <<< "$out" | head -n 3)"
fi
check "logrotate: postrotate sends SIGHUP to both services" \
  grep -q 'systemctl kill --signal=HUP --kill-whom=main ai-orchestrator-api.service ai-orchestrator-worker.service' \
  "$R/etc/logrotate.d/ai-orchestrator"
mkdir -p "$T/nginx-t/tmp"
cp /etc/nginx/fastcgi_params /etc/nginx/mime.types "$T/nginx-t/"
cat > "$T/nginx-t/nginx.conf" <<NGINX
pid $T/nginx-t/nginx.pid;
error_log $T/nginx-t/error.log;
events {}
http {
    include mime.types;
    client_body_temp_path $T/nginx-t/tmp/cb;
    fastcgi_temp_path $T/nginx-t/tmp/fc;
    proxy_temp_path $T/nginx-t/tmp/px;
    scgi_temp_path $T/nginx-t/tmp/sc;
    uwsgi_temp_path $T/nginx-t/tmp/uw;
    access_log off;
    include $R/etc/nginx/sites-available/ai-orchestrator.conf;
}
NGINX
if out=$(nginx -t -q -c "$T/nginx-t/nginx.conf" -p "$T/nginx-t/" 2>&1); then
  ok "nginx -t accepts the installed site inside Debian's nginx.conf layout"
else
  not_ok "nginx -t on the installed site: $out"
fi
check "the site serves the installed www/ and passes the API to the unit's socket" \
  bash -c "grep -q 'root $R/usr/share/ai-orchestrator/www;' '$R/etc/nginx/sites-available/ai-orchestrator.conf' &&
           grep -q 'server unix:/run/ai-orchestrator/api.sock;' '$R/etc/nginx/sites-available/ai-orchestrator.conf' &&
           grep -q 'fastcgi_pass orchestrator_api;' '$R/etc/nginx/sites-available/ai-orchestrator.conf' &&
           grep -q 'listen 127.0.0.1:8080;' '$R/etc/nginx/sites-available/ai-orchestrator.conf'"

# ---- the installed API: its own settings only, LOG_FILE and SIGHUP ------------------------
PG_FAST=1 stack_start_pg || bail "PostgreSQL started"
TOKEN=$(rnd 24)
printf '%s\n' "$TOKEN" > "$T/api-token"
chmod 600 "$T/api-token"
LOGF=$T/log/files/api.log
mkdir -p "$T/log/files"
export ORCHESTRATOR_API_TOKEN_FILE=$T/api-token LOG_FILE=$LOGF LOG_LEVEL=INFO
# worker-only settings the API must not read: an invalid value, a missing secret file
export LEARN_EPSILON=often LLM_API_KEY_FILE=$T/no-such-llm-key TELEGRAM_BOT_TOKEN=123:secret-telegram
ORCH_API_BIN=$R/usr/bin/orch-api stack_start_api 2 || bail "the installed orch-api started"
ok "the installed orch-api starts with LEARN_EPSILON=often and a missing LLM_API_KEY_FILE"
for _ in 1 2 3; do stack_start_nginx "$(stack_free_port)" && break; done
[ -n "$STACK_PORT" ] || bail "nginx started"
BASE=http://127.0.0.1:$STACK_PORT

if "$R/usr/bin/orch-worker" --once >"$T/log/worker-refused.log" 2>&1; then
  not_ok "orch-worker refuses LEARN_EPSILON=often"
else
  check "orch-worker refuses the same environment, naming LEARN_EPSILON" \
    grep -q 'LEARN_EPSILON' "$T/log/worker-refused.log"
fi

api GET /health
check "/health answers through nginx" test "$CODE" = 200 -o "$CODE" = 503
post /control/stop -H "$(auth)"
check "the token from ORCHESTRATOR_API_TOKEN_FILE controls (202)" test "$CODE" = 202
post /control/stop -H "Authorization: Bearer $TOKEN-not"
check "another token is refused (401)" test "$CODE" = 401

in_log() { grep -q "$1" "$2" 2>/dev/null; }
check "LOG_FILE gets the JSON lines (api.start, api.control)" \
  wait_for 10 bash -c "grep -q '\"event\":\"api.start\"' '$LOGF' && grep -q '\"event\":\"api.control\"' '$LOGF'"
check "nothing but startup messages on stderr" bash -c "! grep -q '\"event\":\"api.control\"' '$T/log/api.log'"
check "no worker secret in the API's log" bash -c "! grep -q 'secret-telegram' '$LOGF' '$T/log/api.log'"
check "LOG_LEVEL=INFO (the seed's spelling) is accepted" grep -q '"level":"info"' "$LOGF"

# logrotate itself, forced, with the installed file pointed at this test's
# log directory and its postrotate's `systemctl kill --kill-whom=main` as the
# plain kill it stands for (no systemd here)
sed -e "s|$R/var/log/ai-orchestrator|$T/log/files|" -e 's/ orchestrator orchestrator$/ root root/' \
    -e "s|systemctl kill --signal=HUP --kill-whom=main ai-orchestrator-api.service ai-orchestrator-worker.service|kill -HUP ${STACK_PID[api]}|" \
    -e 's|if \[ -d /run/systemd/system \]; then|if true; then|' \
    "$R/etc/logrotate.d/ai-orchestrator" > "$T/logrotate.conf"
if out=$(logrotate -f -s "$T/logrotate.state" "$T/logrotate.conf" 2>&1); then ok "logrotate -f rotated $LOGF"
else not_ok "logrotate -f: $out"; fi
ROTATED=$(ls "$LOGF"-* 2>/dev/null | head -n 1)
check "the rotated file is there, uncompressed (delaycompress)" test -n "$ROTATED" -a -f "$ROTATED"
ROTATED=${ROTATED:-$LOGF.missing}
check "the parent reopens LOG_FILE on SIGHUP" wait_for 10 in_log '"event":"log.reopened"' "$LOGF"
# every process of orch-api holds the new file, none the moved one
# (children reopen when SIGHUP breaks their accept())
fds_moved() {
  local p ok_new=0 n=0
  for p in "${STACK_PID[api]}" $(pgrep -P "${STACK_PID[api]}"); do
    n=$((n + 1))
    if ls -l "/proc/$p/fd" 2>/dev/null | grep -q -- "-> $ROTATED\$"; then return 1; fi
    ls -l "/proc/$p/fd" 2>/dev/null | grep -q -- "-> $LOGF\$" && ok_new=$((ok_new + 1))
  done
  [ "$n" -ge 3 ] && [ "$ok_new" = "$n" ]
}
check "the parent and every child hold the new LOG_FILE, none the rotated one" wait_for 10 fds_moved
for _ in 1 2 3 4 5 6; do post /control/start -H "$(auth)"; done
check "control requests after SIGHUP are logged in the new file" \
  wait_for 10 bash -c "grep -q '\"command\":\"start\"' '$LOGF'"
check "the old file gets no line after the reopen" bash -c "! grep -q '\"command\":\"start\"' '$ROTATED'"
check "every line of both files is one JSON object" \
  "$PYTHON" -c "
import json, sys
for f in sys.argv[1:]:
    for line in open(f):
        json.loads(line)
" "$LOGF" "$ROTATED"
note "the log file had $(wc -l < "$LOGF") lines after the reopen, the rotated one $(wc -l < "$ROTATED")"

# ---- the installed worker: LOG_FILE, and SIGHUP reopens it instead of stopping it --------------
WLOG=$T/log/files/worker.log
unset LEARN_EPSILON LLM_API_KEY_FILE TELEGRAM_BOT_TOKEN
stack_spawn worker "$T/log/worker-stderr.log" env LOG_FILE="$WLOG" N8N_BASE_URL= \
  LLM_PROMPT_FILE="$top_srcdir/worker/prompt.txt" "$R/usr/bin/orch-worker"
check "the installed worker writes its JSON lines to LOG_FILE" \
  wait_for 15 bash -c "grep -q '\"event\":\"worker.start\"' '$WLOG'"
mv "$WLOG" "$WLOG.1"
kill -HUP "${STACK_PID[worker]}"
check "SIGHUP: the worker reopens LOG_FILE (log.reopened in the new file)" \
  wait_for 10 bash -c "grep -q '\"event\":\"log.reopened\"' '$WLOG'"
check "... and goes on running" stack_alive worker
check "... holding the new file, not the moved one" \
  bash -c "ls -l /proc/${STACK_PID[worker]}/fd | grep -q -- '-> $WLOG\$' && ! ls -l /proc/${STACK_PID[worker]}/fd | grep -q -- '-> $WLOG.1\$'"
stack_stop_worker TERM
check "the worker stops on SIGTERM (exit 0), its last line in the new file" \
  bash -c "[ '$STACK_WORKER_STATUS' = 0 ] && grep -q '\"event\":\"worker.stop\"' '$WLOG'"
