#!/usr/bin/env bash
# Install and run a private, offline n8n 1.123.x with the orchestrator's eight
# workflows (n8n/workflows/*.json) imported and active.
#
#   scripts/n8n.sh install            install n8n into the cache dir (reused)
#   scripts/n8n.sh start DIR PORT     fresh user folder DIR (own SQLite db), import
#                                     and activate the workflows, start n8n in the
#                                     background (DIR/n8n.log, DIR/n8n.pid), create
#                                     the owner and a public-API key (DIR/api-key,
#                                     0600), wait until every webhook answers;
#                                     PORT "auto": free ports are picked (and
#                                     picked again if another program takes one
#                                     before n8n binds it), written to DIR/n8n.port
#   scripts/n8n.sh stop DIR           stop the n8n started in DIR
#   scripts/n8n.sh status DIR         running? healthy? (exit 0 only when ready)
#
# start uses 127.0.0.1:PORT and, for n8n's Code-node task broker, PORT+1.
#
# Settings (environment):
#   N8N_CACHE_DIR     where n8n is installed (default /var/cache/ai-orchestrator/n8n)
#   N8N_VERSION       n8n version to install (default 1.123.81)
#   N8N_START_TIMEOUT seconds to wait for health and webhooks (default 180)
#   N8N_WORKFLOWS_DIR the workflows to import (default n8n/workflows; e.g. the
#                     exports `n8n/generate.py --catalog FILE --out DIR` writes
#                     for a catalog of your own)
# Webhook auth (n8n "Header Auth" credential "Orchestrator webhook auth", filled in
# from n8n/credentials/webhook-auth.json at import time; the same variables the
# orchestrator's worker sends with):
#   N8N_WEBHOOK_AUTH_HEADER  header name (default X-Orchestrator-Token)
#   N8N_WEBHOOK_AUTH_VALUE   its value, required (ORCH_WEBHOOK_TOKEN is accepted instead)
# Passed through to the workflows ($env in expressions and Code nodes):
#   ORCH_RESULTS_URL     where workflows POST their result (default $ORCH_BASE_URL/results)
#   ORCH_RESULTS_TOKEN   Bearer token sent with that POST
#   ORCH_BASE_URL        orchestrator base URL, health-monitor-check GETs /health
#                        (default http://127.0.0.1:${ORCHESTRATOR_PORT:-8080})
#   DEXSCREENER_BASE_URL (default https://api.dexscreener.com)
#   TRADERMADE_BASE_URL  (default https://marketdata.tradermade.com)
#   TRADERMADE_API_KEY
# Secrets are never printed.  Exit status is non-zero whenever a step fails.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${N8N_CACHE_DIR:-/var/cache/ai-orchestrator/n8n}
version=${N8N_VERSION:-1.123.81}
start_timeout=${N8N_START_TIMEOUT:-180}
wfdir=${N8N_WORKFLOWS_DIR:-$repo/n8n/workflows}

say() { echo "n8n.sh: $*"; }
die() { echo "n8n.sh: error: $*" >&2; exit 1; }

usage() {
  sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

n8n_bin() { echo "$cache/node_modules/.bin/n8n"; }

# True when the cache holds a complete install of the wanted version.
installed() {
  [ -f "$cache/.installed" ] && [ "$(cat "$cache/.installed")" = "$version" ] &&
    [ -x "$(n8n_bin)" ] &&
    [ "$(node -p "require('$cache/node_modules/n8n/package.json').version" 2>/dev/null)" = "$version" ]
}

cmd_install() {
  command -v node >/dev/null || die "node is not installed (apt-get install nodejs npm)"
  command -v npm >/dev/null || die "npm is not installed (apt-get install npm)"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || die "n8n $version needs Node >= 20 (found $(node --version))"
  if installed; then
    say "n8n $version already installed in $cache"
    return 0
  fi
  mkdir -p "$cache" || die "cannot create $cache"
  rm -f "$cache/.installed"
  # xlsx: n8n's default points at a CDN tarball that is not reachable here.
  # isolated-vm 6.x needs Node 22; 5.0.4 builds on Node 20.
  cat >"$cache/package.json" <<EOF
{
  "name": "ai-orchestrator-n8n",
  "private": true,
  "description": "n8n for the AI trading orchestrator (installed by scripts/n8n.sh)",
  "dependencies": { "n8n": "$version" },
  "overrides": { "xlsx": "0.18.5", "isolated-vm": "5.0.4" }
}
EOF
  say "installing n8n $version into $cache (first time: 6-10 minutes, about 1.8 GB)"
  local t0 log pid rc=0
  t0=$(date +%s)
  log=$cache/npm-install.log
  (cd "$cache" && exec npm install --no-audit --no-fund --loglevel=http >"$log" 2>&1) &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 20
    kill -0 "$pid" 2>/dev/null || break
    say "  ... $(( $(date +%s) - t0 )) s, node_modules $(du -sh "$cache/node_modules" 2>/dev/null | cut -f1 || echo 0)," \
        "$(grep -c 'http fetch' "$log" 2>/dev/null || echo 0) fetches"
  done
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -n 30 "$log" >&2
    die "npm install failed (exit $rc); full log: $log"
  fi
  [ -x "$(n8n_bin)" ] || die "npm install finished but $(n8n_bin) is missing; log: $log"
  echo "$version" >"$cache/.installed"
  installed || die "installed n8n is not version $version; log: $log"
  say "installed n8n $version in $(( $(date +%s) - t0 )) s ($(du -sh "$cache" | cut -f1))"
}

# ---- helpers for start/stop/status ----------------------------------------------

# curl with secret headers read from stdin (never on the command line, never printed).
# Usage: printf 'header = "Name: value"\n' | secret_curl ARGS...
secret_curl() { curl --config - "$@"; }

# One curl config line 'header = "NAME: VALUE"' with VALUE escaped for curl's config syntax.
header_line() {
  local v=${2//\\/\\\\}
  v=${v//\"/\\\"}
  printf 'header = "%s: %s"\n' "$1" "$v"
}

# Prints a field of a JSON document read from stdin ("" when missing); $1 is a JS path.
json_get() {
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let v;try{v=eval("JSON.parse(s)"+process.argv[1])}catch(e){v=undefined}
    process.stdout.write(v===undefined||v===null?"":typeof v==="object"?JSON.stringify(v):String(v))})' "$1"
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

read_pid() { if [ -f "$1/n8n.pid" ]; then cat "$1/n8n.pid"; fi; }

# Paths of the webhooks: each workflow file's POST Webhook node's path.
workflow_paths() {
  node -e 'const fs=require("fs");for(const f of process.argv.slice(1)){const w=JSON.parse(fs.readFileSync(f,"utf8"));
      const n=(w.nodes||[]).find(x=>x.type==="n8n-nodes-base.webhook"&&x.parameters&&x.parameters.httpMethod==="POST");
      if(n)console.log(n.parameters.path);}' "$wfdir"/*.json
}

# Environment of every n8n command run for DIR/PORT: private, offline, quiet.
n8n_env() {
  local dir=$1 port=$2
  export N8N_USER_FOLDER=$dir N8N_PORT=$port N8N_LISTEN_ADDRESS=127.0.0.1
  export N8N_HOST=127.0.0.1 N8N_PROTOCOL=http WEBHOOK_URL="http://127.0.0.1:$port/"
  export DB_TYPE=sqlite DB_SQLITE_POOL_SIZE=2 GENERIC_TIMEZONE=UTC
  export NODE_ENV=production   # no stack traces in HTTP error answers
  export N8N_DIAGNOSTICS_ENABLED=false N8N_DIAGNOSTICS_CONFIG_FRONTEND='' N8N_DIAGNOSTICS_CONFIG_BACKEND=''
  export N8N_VERSION_NOTIFICATIONS_ENABLED=false N8N_TEMPLATES_ENABLED=false
  export N8N_PERSONALIZATION_ENABLED=false N8N_HIRING_BANNER_ENABLED=false
  export N8N_COMMUNITY_PACKAGES_ENABLED=false EXTERNAL_FRONTEND_HOOKS_URLS=''
  export N8N_LICENSE_AUTO_RENEW_ENABLED=false N8N_PUBLIC_API_SWAGGERUI_DISABLED=true
  export N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS=true N8N_SECURE_COOKIE=false
  export N8N_GIT_NODE_DISABLE_BARE_REPOS=true
  export N8N_BLOCK_ENV_ACCESS_IN_NODE=false N8N_RUNNERS_ENABLED=true
  # The Code nodes' task broker listens on its own port (default 5679): PORT+1 here,
  # so that several instances can run side by side.
  export N8N_RUNNERS_BROKER_PORT=${N8N_RUNNERS_BROKER_PORT:-$((port + 1))}
  export N8N_RUNNERS_BROKER_LISTEN_ADDRESS=127.0.0.1
  export N8N_LOG_LEVEL=${N8N_LOG_LEVEL:-info} N8N_LOG_OUTPUT=console
  export EXECUTIONS_DATA_PRUNE=true EXECUTIONS_DATA_MAX_AGE=${EXECUTIONS_DATA_MAX_AGE:-168}
  export NO_PROXY=127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY} no_proxy=127.0.0.1,localhost${no_proxy:+,$no_proxy}
  # What the workflows read through $env (defaults for the public services).
  export DEXSCREENER_BASE_URL=${DEXSCREENER_BASE_URL:-https://api.dexscreener.com}
  export TRADERMADE_BASE_URL=${TRADERMADE_BASE_URL:-https://marketdata.tradermade.com}
  export TRADERMADE_API_KEY=${TRADERMADE_API_KEY:-}
  export ORCH_BASE_URL=${ORCH_BASE_URL:-http://127.0.0.1:${ORCHESTRATOR_PORT:-8080}}
  export ORCH_RESULTS_URL=${ORCH_RESULTS_URL:-${ORCH_BASE_URL%/}/results}
  export ORCH_RESULTS_TOKEN=${ORCH_RESULTS_TOKEN:-}
}

# Runs an n8n CLI command quietly (output appended to DIR/n8n-cli.log); on failure
# shows the end of its output and returns non-zero.
n8n_cli() {
  local out rc=0
  out=$("$(n8n_bin)" "$@" 2>&1) || rc=$?
  printf '%s\n' "$out" >>"$N8N_USER_FOLDER/n8n-cli.log"
  if [ "$rc" -ne 0 ]; then
    printf '%s\n' "$out" | tail -n 20 >&2
    echo "n8n.sh: error: n8n $1 failed (exit $rc)" >&2
  fi
  return "$rc"
}

started_pid=
on_start_failure() {
  local rc=$?
  if [ "$rc" -ne 0 ] && pid_alive "$started_pid"; then
    echo "n8n.sh: start failed: stopping the n8n it started (pid $started_pid); last log lines:" >&2
    tail -n 15 "$N8N_USER_FOLDER/n8n.log" >&2 || true
    kill -TERM -- "-$started_pid" 2>/dev/null || kill -TERM "$started_pid" 2>/dev/null || true
    local _
    for _ in $(seq 1 40); do pid_alive "$started_pid" || break; sleep 0.25; done
    pid_alive "$started_pid" && kill -KILL -- "-$started_pid" 2>/dev/null
    rm -f "$N8N_USER_FOLDER/n8n.pid"
  fi
  exit "$rc"
}

# port_busy PORT: something listens on 127.0.0.1:PORT
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_pair: a free loopback port whose successor (the task broker's) is free too
free_pair() {
  local p _
  for _ in $(seq 1 20); do
    p=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port));s.close()})') || return 1
    [ "$p" -lt 65535 ] && ! port_busy "$((p + 1))" && { echo "$p"; return 0; }
  done
  return 1
}

cmd_start() {
  [ $# -eq 2 ] || usage
  local dir=$1 port=$2 auto_port=0
  if [ "$port" = auto ]; then
    # auto: free ports picked now and again right before each start, and a
    # start that loses a port to another program is retried on new ones
    auto_port=1
    port=$(free_pair) || die "no two free consecutive ports on 127.0.0.1"
    unset N8N_RUNNERS_BROKER_PORT
  fi
  if ! [[ $port =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65534 ]; then die "PORT must be 1-65534 or auto, got '$port'"; fi
  installed || die "n8n $version is not installed in $cache: run scripts/n8n.sh install first"
  command -v curl >/dev/null || die "curl is not installed"
  mkdir -p "$dir" || die "cannot create $dir"
  dir=$(cd "$dir" && pwd)
  pid_alive "$(read_pid "$dir")" && die "an n8n is already running for $dir (pid $(read_pid "$dir")): scripts/n8n.sh stop $dir"
  [ -e "$dir/.n8n" ] && die "$dir/.n8n exists: start needs a fresh folder (remove it or pick another DIR)"
  local p
  for p in "$port" "${N8N_RUNNERS_BROKER_PORT:-$((port + 1))}"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      die "port $p on 127.0.0.1 is already in use (n8n needs PORT and, for its task broker, PORT+1)"
    fi
  done

  # Webhook header auth: the same variables the orchestrator's worker sends with.
  local auth_header=${N8N_WEBHOOK_AUTH_HEADER:-X-Orchestrator-Token}
  local auth_value=${N8N_WEBHOOK_AUTH_VALUE:-${ORCH_WEBHOOK_TOKEN:-}}
  [[ $auth_header =~ ^[A-Za-z0-9-]+$ ]] || die "N8N_WEBHOOK_AUTH_HEADER must be a header name (letters, digits, '-')"
  [ -n "$auth_value" ] || die "N8N_WEBHOOK_AUTH_VALUE (or ORCH_WEBHOOK_TOKEN) must be set: the webhooks require it"
  case "$auth_value" in *$'\n'*|*$'\r'*) die "N8N_WEBHOOK_AUTH_VALUE must not contain line breaks" ;; esac

  local t0 paths
  t0=$(date +%s)
  mapfile -t paths < <(workflow_paths)
  [ "${#paths[@]}" -gt 0 ] || die "no workflows in $wfdir"
  n8n_env "$dir" "$port"
  [ -n "$TRADERMADE_API_KEY" ] || say "warning: TRADERMADE_API_KEY is empty: forex scans will report errors"
  [ -n "$ORCH_RESULTS_TOKEN" ] || say "warning: ORCH_RESULTS_TOKEN is empty: results are posted with an empty Bearer token"
  umask 077
  : >"$dir/n8n-cli.log"

  say "importing the webhook credential and ${#paths[@]} workflows into $dir/.n8n"
  # The template's ${N8N_WEBHOOK_AUTH_HEADER} / ${N8N_WEBHOOK_AUTH_VALUE} filled from the
  # environment into a 0600 file that is removed right after the import.
  local cred=$dir/.credentials-import.json
  N8N_WEBHOOK_AUTH_HEADER=$auth_header N8N_WEBHOOK_AUTH_VALUE=$auth_value \
    node -e 'const fs=require("fs");const t=fs.readFileSync(process.argv[1],"utf8");
      const fill=v=>typeof v==="string"?v.replace(/\$\{([A-Z0-9_]+)\}/g,(m,k)=>process.env[k]??""):v;
      const a=JSON.parse(t).map(c=>({...c,data:Object.fromEntries(Object.entries(c.data).map(([k,v])=>[k,fill(v)]))}));
      fs.writeFileSync(process.argv[2],JSON.stringify(a),{mode:0o600})' \
      "$repo/n8n/credentials/webhook-auth.json" "$cred" || die "cannot render the credential template"
  unset N8N_WEBHOOK_AUTH_VALUE ORCH_WEBHOOK_TOKEN   # n8n itself does not need them
  if ! n8n_cli import:credentials --input="$cred"; then
    rm -f "$cred"
    exit 1
  fi
  rm -f "$cred"
  n8n_cli import:workflow --separate --input="$wfdir" || exit 1
  # Activate in the database before start: a running n8n does not notice the CLI.
  # (`update:workflow --all` is one CLI start instead of one per workflow: ~6 s each.)
  n8n_cli update:workflow --all --active=true || exit 1
  say "imported and activated in $(( $(date +%s) - t0 )) s"

  trap on_start_failure EXIT
  # starting_until WHAT CMD...: until CMD succeeds or the n8n being started
  # exits (the caller looks at why); past the deadline: die "WHAT after ..."
  starting_until() {
    local what=$1
    shift
    until "$@"; do
      pid_alive "$started_pid" || return 0
      [ "$(date +%s)" -lt "$deadline" ] || die "$what after ${start_timeout} s (see $dir/n8n.log)"
      sleep 0.5
    done
  }
  local t1 try
  t1=$(date +%s)
  local deadline=$(( t1 + start_timeout ))
  for try in 1 2 3 4 5; do
    if [ "$auto_port" = 1 ] && { port_busy "$port" || port_busy "$((port + 1))"; }; then
      port=$(free_pair) || die "no two free consecutive ports on 127.0.0.1"
    fi
    # auto: the task broker's port follows PORT on every try (n8n_env keeps
    # one already exported)
    [ "$auto_port" = 1 ] && unset N8N_RUNNERS_BROKER_PORT
    n8n_env "$dir" "$port"
    echo "$port" >"$dir/n8n.port"
    setsid "$(n8n_bin)" start >"$dir/n8n.log" 2>&1 </dev/null &
    started_pid=$!
    echo "$started_pid" >"$dir/n8n.pid"
    say "n8n started (pid $started_pid, log $dir/n8n.log); waiting for http://127.0.0.1:$port/healthz"
    starting_until "n8n not ready" curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz/readiness"
    # readiness comes before the Code nodes' task broker binds its port, and
    # n8n exits when that port is taken: wait for the broker's verdict too
    starting_until "n8n's task broker not started" \
      grep -Eq "Task Broker ready|Task Broker's port .* already in use" "$dir/n8n.log"
    if pid_alive "$started_pid" && ! grep -q 'already in use' "$dir/n8n.log"; then break; fi
    if pid_alive "$started_pid"; then
      kill -TERM "$started_pid" 2>/dev/null
      for _ in $(seq 1 40); do pid_alive "$started_pid" || break; sleep 0.25; done
      kill -KILL "$started_pid" 2>/dev/null
    fi
    # another program took one of the ports between our check and n8n's bind
    if [ "$auto_port" = 1 ] && [ "$try" -lt 5 ] && grep -q 'already in use' "$dir/n8n.log"; then
      say "port $port or $((port + 1)) was taken meanwhile ($(grep -m1 'already in use' "$dir/n8n.log")); retrying on other ports"
      port=$(free_pair) || die "no two free consecutive ports on 127.0.0.1"
      continue
    fi
    die "n8n exited during startup: $(tail -n 3 "$dir/n8n.log" | tr '\n' ' ') (see $dir/n8n.log)"
  done
  say "healthy after $(( $(date +%s) - t1 )) s"

  # Owner (no browser): the internal /rest routes of n8n 1.123.x.
  local base="http://127.0.0.1:$port" password resp cookie code
  password=$(node -e 'process.stdout.write("Orch"+require("crypto").randomBytes(18).toString("hex")+"X9")') ||
    die "cannot generate the owner password"
  OWNER_PASSWORD=$password node -e 'require("fs").writeFileSync(process.argv[1],
    JSON.stringify({email:"owner@orchestrator.invalid",password:process.env.OWNER_PASSWORD})+"\n",{mode:0o600})' \
    "$dir/owner.json" || die "cannot write $dir/owner.json"
  # /healthz answers before the /rest routes exist: 404 until then; and while
  # its database is being migrated or opened (a busy machine), n8n answers
  # 503 "Database is not ready": both are waited out, up to the deadline.
  while :; do
    resp=$(printf '{"email":"owner@orchestrator.invalid","firstName":"Orchestrator","lastName":"Owner","password":"%s"}' "$password" |
      curl -s -D "$dir/.owner-headers" -o "$dir/.owner-body" -w '%{http_code}' --max-time 20 \
        -H 'Content-Type: application/json' --data-binary @- "$base/rest/owner/setup") || resp=000
    case "$resp" in 404|000|503) ;; *) break ;; esac
    pid_alive "$started_pid" || die "n8n exited during startup (see $dir/n8n.log)"
    [ "$(date +%s)" -lt "$deadline" ] ||
      die "owner setup still answers HTTP $resp after ${start_timeout} s: $({ json_get '.message' <"$dir/.owner-body"; } 2>/dev/null)"
    sleep 0.5
  done
  cookie=$(sed -nE 's/^[Ss][Ee][Tt]-[Cc][Oo][Oo][Kk][Ii][Ee]: *n8n-auth=([^;]*).*/\1/p' "$dir/.owner-headers" | head -n 1 | tr -d '\r') || cookie=
  if [ "$resp" != 200 ] || [ -z "$cookie" ]; then
    code=$(json_get '.message' <"$dir/.owner-body")
    rm -f "$dir/.owner-headers" "$dir/.owner-body"
    die "owner setup failed: HTTP $resp ${code:-no n8n-auth cookie}"
  fi
  rm -f "$dir/.owner-headers" "$dir/.owner-body"
  while :; do
    resp=$(header_line Cookie "n8n-auth=$cookie" | secret_curl -s -o "$dir/.apikey-body" -w '%{http_code}' --max-time 20 \
      -H 'Content-Type: application/json' \
      --data '{"label":"ai-orchestrator","scopes":["workflow:read","workflow:list","execution:read","execution:list"],"expiresAt":null}' \
      "$base/rest/api-keys") || resp=000
    case "$resp" in 000|503) ;; *) break ;; esac
    pid_alive "$started_pid" || die "n8n exited during startup (see $dir/n8n.log)"
    [ "$(date +%s)" -lt "$deadline" ] || break
    sleep 0.5
  done
  local key
  key=$(json_get '.data.rawApiKey' <"$dir/.apikey-body")
  if [ "$resp" != 200 ] || [ -z "$key" ]; then
    code=$(json_get '.message' <"$dir/.apikey-body")
    rm -f "$dir/.apikey-body"
    die "API key creation failed: HTTP $resp ${code}"
  fi
  rm -f "$dir/.apikey-body"
  printf '%s\n' "$key" >"$dir/api-key"
  chmod 600 "$dir/api-key"
  say "owner set up (login in $dir/owner.json); API key written to $dir/api-key"

  # Webhooks register some seconds after /healthz.  Poll without the auth header:
  # 404 "not registered" = not yet; 403 = registered (auth refused, nothing executed).
  local pending=("${paths[@]}") still
  while [ "${#pending[@]}" -gt 0 ]; do
    still=()
    for p in "${pending[@]}"; do
      code=$(curl -s -o "$dir/.probe-body" -w '%{http_code}' --max-time 5 -H 'Content-Type: application/json' \
        --data '{"probe":true}' "$base/webhook/$p") || code=000
      case "$code" in
        401|403) ;;
        404|000) still+=("$p") ;;
        500) die "webhook $p answers 500 without auth ($(head -c 200 "$dir/.probe-body")): is the credential imported?" ;;
        *) die "webhook $p answers HTTP $code to an unauthenticated probe: it must refuse it" ;;
      esac
    done
    pending=("${still[@]+"${still[@]}"}")
    [ "${#pending[@]}" -eq 0 ] && break
    pid_alive "$started_pid" || die "n8n exited while registering webhooks (see $dir/n8n.log)"
    [ "$(date +%s)" -lt "$deadline" ] ||
      die "webhooks not registered after ${start_timeout} s: ${pending[*]} (last answer: $(head -c 200 "$dir/.probe-body"))"
    sleep 1
  done
  say "all ${#paths[@]} webhooks registered $(( $(date +%s) - t1 )) s after start"
  # One authenticated probe each: the Respond node answers, the workflow stops at Prepare.
  for p in "${paths[@]}"; do
    code=$(header_line "$auth_header" "$auth_value" | secret_curl -s -o "$dir/.probe-body" -w '%{http_code}' --max-time 15 \
      -H 'Content-Type: application/json' --data '{"probe":true}' "$base/webhook/$p") || code=000
    if [ "$code" != 200 ] || [ "$(json_get '.accepted' <"$dir/.probe-body")" != true ]; then
      die "authenticated probe of webhook $p: HTTP $code $(head -c 200 "$dir/.probe-body")"
    fi
  done
  rm -f "$dir/.probe-body"
  local active
  active=$(header_line X-N8N-API-KEY "$key" | secret_curl -s --max-time 10 "$base/api/v1/workflows?active=true&limit=250" |
    json_get '.data.length')
  [ "${active:-0}" -ge "${#paths[@]}" ] || die "public API lists ${active:-no} active workflows, expected ${#paths[@]}"
  trap - EXIT
  say "ready in $(( $(date +%s) - t0 )) s: $base/webhook/<path> for ${#paths[@]} workflows ($active active), header $auth_header"
}

cmd_stop() {
  [ $# -eq 1 ] || usage
  local dir=$1 pid
  pid=$(read_pid "$dir")
  if ! pid_alive "$pid"; then
    rm -f "$dir/n8n.pid"
    say "not running ($dir)"
    return 0
  fi
  # n8n was started with setsid: its pid is its process group (n8n + task runner).
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 120); do
    pid_alive "$pid" || break
    sleep 0.25
  done
  if pid_alive "$pid"; then
    say "n8n (pid $pid) still running after 30 s: killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  pid_alive "$pid" && die "cannot stop n8n (pid $pid)"
  rm -f "$dir/n8n.pid"
  say "stopped (pid $pid)"
}

cmd_status() {
  [ $# -eq 1 ] || usage
  local dir=$1 pid port code
  pid=$(read_pid "$dir")
  if ! pid_alive "$pid"; then
    say "not running ($dir)"
    return 1
  fi
  port=$(cat "$dir/n8n.port" 2>/dev/null || true)
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$port/healthz/readiness") || code=000
  if [ "$code" = 200 ]; then
    say "running (pid $pid) on http://127.0.0.1:$port: ready"
    return 0
  fi
  say "running (pid $pid) on port ${port:-?}, but /healthz/readiness answers $code"
  return 3
}

case "${1:-}" in
  install) shift; [ $# -eq 0 ] || usage; cmd_install ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  *) usage ;;
esac
