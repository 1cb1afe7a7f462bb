#!/usr/bin/env bash
# The replay benchmark: replays the recorded market data in ../shared/data
# through the worker's real decision cycle (worker/orch-replay) and prints
# each scorecard against crons every 1, 5, 15 and 60 minutes, with timings.
#
#   scripts/replay.sh [BUILDDIR]      (default: the source tree, or $top_builddir)
#
# Runs, each stored in PostgreSQL under its own replay run id:
#   crypto  BTC, ETH, SOL USDT, 2025-01-01 .. 2025-01-28 (28 days)
#   forex   EURUSD, GBPUSD, January 2019
#   forex   EURUSD, GBPUSD, all of 2019 (with --no-db unless REPLAY_FULL_DB=1)
# With DATABASE_URL set it uses that database (sql/003_learning.sql applied);
# otherwise it starts a throwaway PostgreSQL (tests/lib/pg.sh) and stops it.
# SHARED_DATA overrides the data directory; REPLAY_SEED the seed (1);
# REPLAY_OUT a directory for the SVG pictures and CSV scorecards (/tmp).
# Exit status: 0 when every run met the target (>= 90 % of market-hours
# cron-5's coverage with <= 35 % of its runs; the scorecard also shows 24/7
# cron-5 and the equal-runs cron), 1 otherwise or on errors.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/.." && pwd)}
build=${1:-${top_builddir:-$top_srcdir}}
replay=$build/worker/orch-replay
[ -x "$replay" ] || { echo "replay.sh: $replay not built (make)" >&2; exit 1; }
data=${SHARED_DATA:-$top_srcdir/../shared/data}
# not installed: the seed catalog of the source tree (its simulated workflows)
export CATALOG_FILE=${CATALOG_FILE:-$top_srcdir/catalog/default.json}
seed=${REPLAY_SEED:-1}
out=${REPLAY_OUT:-/tmp}
mkdir -p "$out"

dir=
if [ -z "${DATABASE_URL:-}" ]; then
  PG_SRCDIR=$top_srcdir
  # shellcheck source=../tests/lib/pg.sh
  . "$top_srcdir/tests/lib/pg.sh"
  dir=$(mktemp -d /tmp/orch-replay.XXXXXX)
  chmod 755 "$dir"
  trap 'pg_stop "$dir"; rm -rf "$dir"' EXIT
  PG_FAST=1 pg_start "$dir" || { echo "replay.sh: could not start PostgreSQL" >&2; exit 1; }
  DATABASE_URL=$(pg_conninfo orch_worker)
  export DATABASE_URL
fi

status=0
run() {
  local name=$1; shift
  echo "=== $name"
  local t0=$SECONDS
  if ! "$replay" --seed "$seed" --label "$name" --svg-out "$out/replay-$name.svg" --csv-out "$out/replay-$name.csv" "$@" \
       | tee "$out/replay-$name.txt"; then
    status=1
  fi
  grep -q "target NOT met" "$out/replay-$name.txt" && status=1
  echo "($name: $((SECONDS - t0)) s wall clock; picture $out/replay-$name.svg)"
  echo
}

run crypto-28d "$data"/crypto/binance_*USDT_1m_2025-01-01_2025-01-28.csv.gz
run forex-2019-01 --to 2019-02-01 "$data"/forex/DAT_ASCII_*_M1_2019.csv.gz
if [ -n "${REPLAY_FULL_DB:-}" ]; then
  run forex-2019 "$data"/forex/DAT_ASCII_*_M1_2019.csv.gz
else
  run forex-2019 --no-db "$data"/forex/DAT_ASCII_*_M1_2019.csv.gz
fi
exit $status
