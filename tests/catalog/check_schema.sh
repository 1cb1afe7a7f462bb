#!/usr/bin/env bash
# The catalog's JSON Schema and the worker's validator against one table of
# cases (tests/catalog/check_schema.py).  Run by `make check`; by hand:
#   top_builddir=/path/to/build bash tests/catalog/check_schema.sh
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
worker=$top_builddir/worker/orch-worker
[ -x "$worker" ] || { echo "check_schema.sh: $worker not built" >&2; exit 1; }
exec python3 "$top_srcdir/tests/catalog/check_schema.py" --worker "$worker"
