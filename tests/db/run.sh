#!/usr/bin/env bash
# Database tests: start a throwaway PostgreSQL (tests/lib/pg.sh) in a fresh
# directory under /tmp, run tests/db/test_db, tests/db/test_db_deliver (its
# delivery side), tests/db/test_replay_db (the replay's batched writer) and tests/db/test_db_catalog (the catalog, and the
# upgrade of a database with history by 008), or the programs $DB_TEST names,
# against it, stop it.
# Run by `make check` (top_srcdir and top_builddir set by Makefile.am); by hand:
#   top_builddir=/path/to/build bash tests/db/run.sh
# They connect as orch_worker, orch_api and postgres through PGHOST/PGDATABASE.
# Exit status: 0 when every program passed; 1 when one failed or the cluster
# cannot be started (never a skip).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
export top_srcdir top_builddir

progs=
for t in ${DB_TEST:-test_db test_db_deliver test_replay_db test_db_catalog}; do      # tests/db/history.sh: test_history
  if [ ! -x "$top_builddir/tests/db/$t" ]; then
    echo "run.sh: $top_builddir/tests/db/$t not built (make check builds it)" >&2
    exit 1
  fi
  progs="$progs $top_builddir/tests/db/$t"
done

PG_SRCDIR=$top_srcdir
# shellcheck source=../lib/pg.sh
. "$top_srcdir/tests/lib/pg.sh"

dir=$(mktemp -d /tmp/orch-db.XXXXXX) || exit 1
chmod 755 "$dir"
# On failure the server log's tail is printed; KEEP_TMP=1 keeps the directory.
cleanup() {
  pg_stop "$dir"
  if [ "${status:-1}" != 0 ] && [ -f "$dir/postgresql.log" ]; then
    echo "--- tail of $dir/postgresql.log" >&2
    tail -n 30 "$dir/postgresql.log" >&2
  fi
  if [ -n "${KEEP_TMP:-}" ]; then echo "run.sh: kept $dir" >&2; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

status=1
if ! PG_FAST=1 pg_start "$dir"; then
  echo "run.sh: could not start PostgreSQL" >&2
  exit 1
fi
echo "run.sh: PostgreSQL on $PGHOST, database $PGDATABASE"
status=0
for t in $progs; do
  "$t" || status=1
done
exit $status
