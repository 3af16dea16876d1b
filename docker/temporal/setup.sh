#!/bin/sh
# One-off steps of docker-compose.yml around the Temporal server, the same ones scripts/cluster.sh runs:
#   setup.sh schema      the temporal and temporal_visibility databases, then Temporal's schemas with
#                        temporal-sql-tool: setup-schema -v 0.0, update-schema -d <versioned dir>
#   setup.sh namespace   the namespace (NAMESPACE, default "default") and the engine's search
#                        attributes (SEARCH_ATTRIBUTES: Name=Type ...), with the Temporal CLI
# Both are idempotent. Environment: POSTGRES_SEEDS, POSTGRES_USER, POSTGRES_PWD; TEMPORAL_ADDRESS
# (SCHEMA_DIR: where the image keeps the server module's schema/postgresql/v12).
set -eu
SCHEMA_DIR="${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}"
case "${1:-}" in
  schema)
    export SQL_PASSWORD="$POSTGRES_PWD"
    sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${POSTGRES_PORT:-5432}" -u "$POSTGRES_USER" "$@"; }
    # The postgres image made the database "temporal" (POSTGRES_USER): its setup-schema is the readiness probe.
    tries=0
    until sql --db temporal setup-schema -v 0.0 >/dev/null 2>&1; do
      tries=$((tries + 1)); [ "$tries" -lt 60 ] || { echo "setup: PostgreSQL at $POSTGRES_SEEDS does not answer" >&2; exit 1; }
      sleep 2
    done
    sql --db temporal_visibility create-database >/dev/null 2>&1 || true
    sql --db temporal_visibility setup-schema -v 0.0
    for db in temporal temporal_visibility; do
      dir=temporal; [ "$db" = temporal_visibility ] && dir=visibility
      sql --db "$db" update-schema -d "$SCHEMA_DIR/$dir/versioned"
      echo "setup: schema of $db up to date"
    done ;;
  namespace)
    ns="${NAMESPACE:-default}"
    tries=0
    until temporal operator namespace describe --namespace temporal-system >/dev/null 2>&1; do
      tries=$((tries + 1)); [ "$tries" -lt 90 ] || { echo "setup: Temporal at $TEMPORAL_ADDRESS does not answer" >&2; exit 1; }
      sleep 2
    done
    temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1 ||
      temporal operator namespace create --namespace "$ns" --retention 168h
    until temporal operator search-attribute list --namespace "$ns" >/dev/null 2>&1; do sleep 2; done
    for pair in $SEARCH_ATTRIBUTES; do
      name="${pair%%=*}"; type="${pair#*=}"
      if out=$(temporal operator search-attribute create --namespace "$ns" --name "$name" --type "$type" 2>&1); then
        echo "setup: registered $name ($type)"
      elif printf '%s' "$out" | grep -qi 'already exists'; then
        if temporal operator search-attribute list --namespace "$ns" | grep -w "$name" | grep -qi "$type"; then
          echo "setup: $name ($type) already registered"
        else
          echo "setup: $name already exists with a type other than $type" >&2; exit 1
        fi
      else
        printf '%s\n' "$out" >&2; exit 1
      fi
    done ;;
  *) echo "usage: setup.sh schema|namespace" >&2; exit 2 ;;
esac
