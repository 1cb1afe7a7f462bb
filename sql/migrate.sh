#!/bin/sh
# Apply every sql/NNN_*.sql not yet recorded in schema_migrations, in order,
# each in one transaction together with its record. Safe to run again.
# Usage: sql/migrate.sh [psql connection options...]   (e.g. -h /run/pg -d orchestrator)
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
PSQL="psql -X -q -v ON_ERROR_STOP=1 $*"
$PSQL -c "CREATE TABLE IF NOT EXISTS schema_migrations (
            version integer PRIMARY KEY, name text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now())" 2>&1 | grep -v 'already exists, skipping' || true
applied=0
for f in "$dir"/[0-9][0-9][0-9]_*.sql; do
  [ -e "$f" ] || continue
  name=$(basename "$f" .sql)
  version=$(echo "$name" | sed 's/^0*\([0-9]\)/\1/; s/_.*//')
  done_already=$($PSQL -At -c "SELECT 1 FROM schema_migrations WHERE version = $version")
  [ "$done_already" = 1 ] && continue
  echo "migrate: applying $name"
  $PSQL --single-transaction -f "$f" \
        -c "INSERT INTO schema_migrations (version, name) VALUES ($version, '$name')"
  applied=$((applied + 1))
done
echo "migrate: $applied applied, schema at $($PSQL -At -c 'SELECT coalesce(max(version),0) FROM schema_migrations')"
