#!/usr/bin/env bash
# Render nginx/nginx.conf.in, nginx/orchestrator.conf.in and
# nginx/security-headers.conf.in into OUTDIR and
# check the result with `nginx -t`.
# Usage: nginx/render.sh PORT WWW_ROOT FCGI_SOCKET PREFIX OUTDIR
#   PORT         TCP port (on ORCHESTRATOR_LISTEN, default 127.0.0.1)
#   WWW_ROOT     directory served at / (the dashboard)
#   FCGI_SOCKET  the API's FastCGI Unix socket
#   PREFIX       nginx's prefix: pid file, temp dirs (and logs unless NGINX_LOG_DIR)
#   OUTDIR       where nginx.conf, orchestrator.conf, security-headers.conf,
#                fastcgi_params, mime.types go
# Environment (optional):
#   ORCHESTRATOR_LISTEN         address to listen on (127.0.0.1); 0.0.0.0 or :: for
#                               every interface, or one address of this host
#   ORCHESTRATOR_METRICS_ALLOW  addresses or CIDR ranges, comma separated, that may
#                               GET /metrics (others get 403); empty: everyone who
#                               reaches the listen address
#   NGINX_LOG_DIR     directory for nginx-error.log and nginx-access.log (PREFIX/logs)
#   NGINX_ACCESS_LOG  on (default) or off
#   NGINX_USER        user the workers run as; default www-data when run as root,
#                     none otherwise (the workers then run as the caller)
# Start the result with: nginx -c OUTDIR/nginx.conf -p PREFIX/ -g 'daemon off;'
set -euo pipefail

usage() { echo "usage: $0 PORT WWW_ROOT FCGI_SOCKET PREFIX OUTDIR" >&2; exit 2; }
[ $# -eq 5 ] || usage
port=$1 www=$2 sock=$3 prefix=$4 outdir=$5
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "render.sh: $*" >&2; exit 1; }

case $port in ''|*[!0-9]*) die "PORT must be a number, got '$port'";; esac
[ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "PORT out of range: $port"

# Values go into nginx directives unquoted: refuse what would break them.
abs() { case $1 in /*) ;; *) die "$2 must be an absolute path, got '$1'";; esac
        case $1 in *[[:space:]\;\{\}\'\"\$\#\\\|\&]*) die "$2 contains a character nginx or sed would misread: '$1'";; esac; }
abs "$www" WWW_ROOT; abs "$sock" FCGI_SOCKET; abs "$prefix" PREFIX; abs "$outdir" OUTDIR
prefix=${prefix%/}; outdir=${outdir%/}; www=${www%/}
logdir=${NGINX_LOG_DIR:-$prefix/logs}
abs "$logdir" NGINX_LOG_DIR
logdir=${logdir%/}

# The listen address: an IPv4 or IPv6 literal (the API checks the same
# variable with inet_pton; here a character check keeps sed and nginx safe).
listen_addr=${ORCHESTRATOR_LISTEN:-127.0.0.1}
case $listen_addr in
  *:*) [[ $listen_addr =~ ^[0-9a-fA-F:.]+$ ]] || die "ORCHESTRATOR_LISTEN: not an IPv6 address: '$listen_addr'"
       listen="[$listen_addr]:$port";;
  *)   [[ $listen_addr =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || die "ORCHESTRATOR_LISTEN: expected an IPv4 or IPv6 address, got '$listen_addr'"
       listen="$listen_addr:$port";;
esac

# /metrics for an allow-list only: "allow A; allow B; deny all;"
metrics_acl="# ORCHESTRATOR_METRICS_ALLOW is empty: every client that reaches the listen address may read /metrics"
if [ -n "${ORCHESTRATOR_METRICS_ALLOW:-}" ]; then
  metrics_acl=
  IFS=', ' read -r -a _allow <<< "$ORCHESTRATOR_METRICS_ALLOW"
  for a in "${_allow[@]}"; do
    [ -n "$a" ] || continue
    [[ $a =~ ^[0-9a-fA-F:.]+(/[0-9]{1,3})?$ ]] || die "ORCHESTRATOR_METRICS_ALLOW: not an address or CIDR range: '$a'"
    metrics_acl="${metrics_acl}allow $a; "
  done
  metrics_acl="${metrics_acl}deny all;"
fi

command -v nginx >/dev/null 2>&1 || die "nginx not found: run scripts/setup-deps.sh"

if [ -n "${NGINX_USER+x}" ]; then user=$NGINX_USER
elif [ "$(id -u)" = 0 ]; then user="www-data"
else user=; fi
user_line="# no 'user': the workers run as the user who started nginx"
if [ -n "$user" ]; then
  id "$user" >/dev/null 2>&1 || die "NGINX_USER '$user' does not exist"
  user_line="user $user $(id -gn "$user");"
fi

case ${NGINX_ACCESS_LOG:-on} in
  on) access_log="$logdir/nginx-access.log combined buffer=32k flush=2s";;
  off) access_log=off;;
  *) die "NGINX_ACCESS_LOG must be on or off";;
esac

mkdir -p "$outdir/orchestrator.d" "$prefix/tmp" "$logdir"

render() {
  sed -e "s|@LISTEN@|$listen|g" \
      -e "s|@METRICS_ACL@|$metrics_acl|g" \
      -e "s|@PORT@|$port|g" \
      -e "s|@WWW_ROOT@|$www|g" \
      -e "s|@FCGI_SOCKET@|$sock|g" \
      -e "s|@PREFIX@|$prefix|g" \
      -e "s|@CONF_DIR@|$outdir|g" \
      -e "s|@LOG_DIR@|$logdir|g" \
      -e "s|@ACCESS_LOG@|$access_log|g" \
      -e "s|@USER_LINE@|$user_line|g" \
      "$1" > "$2.tmp"
  if grep -n '@[A-Z_]*@' "$2.tmp" >&2; then die "unreplaced placeholder in $2"; fi
  mv "$2.tmp" "$2"
}
render "$here/nginx.conf.in" "$outdir/nginx.conf"
render "$here/orchestrator.conf.in" "$outdir/orchestrator.conf"
render "$here/security-headers.conf.in" "$outdir/security-headers.conf"

# mime.types: the system's, or the few types the dashboard and API use.
if [ -r /etc/nginx/mime.types ]; then
  cp /etc/nginx/mime.types "$outdir/mime.types"
else
  cat > "$outdir/mime.types" <<'MIME'
types {
    text/html                html htm;
    text/css                 css;
    application/javascript   js;
    application/json         json;
    text/plain               txt;
    image/svg+xml            svg;
    image/png                png;
    image/x-icon             ico;
}
MIME
fi

# fastcgi_params: the system's, then each parameter the API reads that it
# lacks, so that every one is set exactly once (a second fastcgi_param line for
# the same name would send the name twice).
if [ -r /etc/nginx/fastcgi_params ]; then
  cp /etc/nginx/fastcgi_params "$outdir/fastcgi_params"
else
  : > "$outdir/fastcgi_params"
fi
while read -r name value; do
  grep -Eq "^[[:space:]]*fastcgi_param[[:space:]]+${name}[[:space:]]" "$outdir/fastcgi_params" ||
    printf 'fastcgi_param  %-18s %s;\n' "$name" "$value" >> "$outdir/fastcgi_params"
done <<'PARAMS'
SCRIPT_NAME $fastcgi_script_name
DOCUMENT_URI $document_uri
REQUEST_URI $request_uri
QUERY_STRING $query_string
REQUEST_METHOD $request_method
CONTENT_TYPE $content_type
CONTENT_LENGTH $content_length
REMOTE_ADDR $remote_addr
SERVER_PROTOCOL $server_protocol
GATEWAY_INTERFACE CGI/1.1
HTTP_AUTHORIZATION $http_authorization if_not_empty
PARAMS

if ! out=$(nginx -t -q -c "$outdir/nginx.conf" -p "$prefix/" 2>&1); then
  echo "$out" >&2
  die "nginx -t rejected $outdir/nginx.conf"
fi
[ -z "$out" ] || echo "$out" >&2
echo "render.sh: $outdir/nginx.conf ok ($listen, www $www, api $sock${ORCHESTRATOR_METRICS_ALLOW:+, /metrics for $ORCHESTRATOR_METRICS_ALLOW})"
