#!/usr/bin/env bash
# The history database tests (tests/db/test_history.c: retention in batches,
# daily rollups, the views and the API's counts before and after a prune,
# the totals, the API's plans) against a throwaway PostgreSQL, started and
# stopped by tests/db/run.sh.  By hand:
#   top_builddir=/path/to/build bash tests/db/history.sh
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
DB_TEST=test_history exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/run.sh" "$@"
