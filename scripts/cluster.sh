#!/usr/bin/env bash
# Production-shaped local stack ("cluster" profile): PostgreSQL 15 with Temporal's schemas, the
# Temporal server (all services in one process) with PostgreSQL visibility and the Web UI, three
# KRaft Kafka nodes (replication factor 3, min.insync.replicas=2, secured as the single-node
# stack), two engine replicas (worker,bridge) and one API process (api,codec). Loopback only.
#
#   npm run stack -- <install|up|down|status|logs|start <c>|stop <c>|help> --profile cluster
#   (or: bash scripts/cluster.sh <command>)
#
# Functions shared with the single-node stack (installs, credentials, CA and certificates, the
# Kafka admin, process helpers) come from scripts/stack.sh, sourced below.
set -euo pipefail

CLUSTER_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }

# ---- pinned versions ---------------------------------------------------------------------
TEMPORAL_SERVER_MODULE="go.temporal.io/server"
TEMPORAL_SERVER_VERSION="v1.32.0"
# ui-server v2.55.0: the newest whose go.mod asks for no newer Go than this machine's 1.26.8
# (v2.56.0 and later name go 1.26.9+); its assets are embedded in the module.
TEMPORAL_UI_MODULE="github.com/temporalio/ui-server/v2"
TEMPORAL_UI_VERSION="v2.55.0"
POSTGRES_MAJOR="15"
# Fixed for the life of a cluster (a change needs a new database): see README "Deployment".
NUM_HISTORY_SHARDS="${CLUSTER_HISTORY_SHARDS:-4}"
# 1: the Temporal frontend serves TLS and requires a client certificate of the local CA (mTLS);
# the engines, the UI, the server's own system worker and this script's CLI calls present one.
CLUSTER_TEMPORAL_TLS="${CLUSTER_TEMPORAL_TLS:-0}"

# ---- layout: every port from one base -----------------------------------------------------
CLUSTER_PORT_BASE="${CLUSTER_PORT_BASE:-27000}"
[[ "$CLUSTER_PORT_BASE" =~ ^[0-9]{4,5}$ ]] && ((CLUSTER_PORT_BASE >= 1024 && CLUSTER_PORT_BASE <= 62000)) ||
  { printf 'cluster: CLUSTER_PORT_BASE=%s: give a number from 1024 to 62000\n' "$CLUSTER_PORT_BASE" >&2; exit 2; }
B="$CLUSTER_PORT_BASE"
PG_PORT=$((B + 432))
T_FRONTEND_PORT=$((B + 233)) T_HISTORY_PORT=$((B + 234)) T_MATCHING_PORT=$((B + 235)) T_WORKER_PORT=$((B + 239))
T_FRONTEND_HTTP_PORT=$((B + 243)) T_METRICS_PORT=$((B + 800))
# Membership ports: Temporal stores them as a PostgreSQL smallint (cluster_membership.rpc_port), so
# they must stay below 32768: half the base, plus Temporal's usual offsets.
M=$((B / 2))
T_FRONTEND_MEMBER_PORT=$((M + 933)) T_HISTORY_MEMBER_PORT=$((M + 934)) T_MATCHING_MEMBER_PORT=$((M + 935)) T_WORKER_MEMBER_PORT=$((M + 939))
UI_PORT=$((B + 1233))
API_PORT_C=$((B + 1080)) CODEC_PORT_C=$((B + 1234))
KAFKA_NODES=(1 2 3)
kafka_client_port() { echo $((B + 2092 + 100 * ($1 - 1))); }
kafka_controller_port() { echo $((B + 2093 + 100 * ($1 - 1))); }
kafka_mtls_port() { echo $((B + 2094 + 100 * ($1 - 1))); }
worker_metrics_port() { echo $((B + 1464 + $1)); }
ENGINES=(engine-1 engine-2)

export STACK_HOME="$(_abspath "${STACK_HOME:-$CLUSTER_REPO_ROOT/.stack}")"
export STACK_DIR="$(_abspath "${STACK_DIR:-$STACK_HOME/cluster}")"
# What scripts/stack.sh's Kafka helpers read: node 1's listeners.
export KAFKA_PORT="$(kafka_client_port 1)" KAFKA_CONTROLLER_PORT="$(kafka_controller_port 1)" KAFKA_MTLS_PORT="$(kafka_mtls_port 1)"
export KAFKA_DEV_PLAINTEXT_PORT="" KAFKA_TOPICS="${KAFKA_TOPICS:-}" KAFKA_SHARED_TOPICS="${KAFKA_SHARED_TOPICS:-0}"

# shellcheck source=scripts/stack.sh
source "$CLUSTER_REPO_ROOT/scripts/stack.sh"

say() { printf 'cluster: %s\n' "$*"; }
die() { printf 'cluster: %s\n' "$*" >&2; exit 1; }

GO_HOME="$STACK_HOME/go"
GO_BIN="$GO_HOME/bin"
TEMPORAL_SERVER_BIN="$GO_BIN/temporal-server"
TEMPORAL_SQL_TOOL="$GO_BIN/temporal-sql-tool"
TEMPORAL_UI_BIN="$GO_BIN/temporal-ui-server"
SCHEMA_HOME="$GO_HOME/schema/$TEMPORAL_SERVER_VERSION/postgresql/v12"
PG_BIN="${CLUSTER_PG_BIN:-/usr/lib/postgresql/$POSTGRES_MAJOR/bin}"
PG_DIR="$STACK_DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_SECRETS="$STACK_DIR/postgres-credentials.json"
KAFKA_CLUSTER_DIR="$STACK_DIR/kafka"
COMPONENTS=(postgres temporal ui kafka-1 kafka-2 kafka-3 engine-1 engine-2 api)
T_TLS_DIR="$STACK_DIR/temporal-tls"
temporal_tls_on() { [[ "$CLUSTER_TEMPORAL_TLS" == 1 ]]; }

usage() {
  cat <<EOF
usage: npm run stack -- <command> --profile cluster       (or: bash scripts/cluster.sh <command>)

The production-shaped stack, on loopback: PostgreSQL $POSTGRES_MAJOR (Debian's server binaries),
the Temporal server $TEMPORAL_SERVER_VERSION built from the Go module proxy (all services in one
process, PostgreSQL persistence and visibility, $NUM_HISTORY_SHARDS history shards), its Web UI
($TEMPORAL_UI_MODULE $TEMPORAL_UI_VERSION) with the engine's codec server, three KRaft Kafka
$KAFKA_VERSION nodes (replication factor 3, min.insync.replicas=2; SASL_SSL + SCRAM-SHA-512, mTLS,
controller listener authenticated, StandardAuthorizer with the ACL table of config/kafka-access.json),
two engine replicas (ENGINE_ROLES=worker,bridge: one task queue, one pair of consumer groups) and
one API process (ENGINE_ROLES=api,codec).

commands:
  built            exit 0 if the Go builds are cached at the pinned versions, 1 if not
  install          'bash scripts/stack.sh install' (Temporal CLI, Kafka jars), then the Go builds:
                   temporal-server, temporal-sql-tool and temporal-ui-server into
                   \$STACK_HOME/go/bin (once; a cold build takes minutes and its time is printed)
  up               install, then start what is not running, each step with a progress line:
                   PostgreSQL and the schemas, Temporal, namespace and search attributes, the UI,
                   the three Kafka nodes, topics and ACLs, the engines and the API
  down             stop exactly what 'up' started (engines first, PostgreSQL last)
  status           each component: running / stopped, pid, ports (exit 0 if all run, 3 otherwise)
  logs [component] last 100 lines of one log or of all
  start <component>, stop <component>
                   one component alone (fault tests): ${COMPONENTS[*]}
                   (stop postgres is a fast shutdown; stop of an engine is SIGTERM)
  help             this text

environment [defaults]:
  STACK_HOME             installs, shared with the single-node stack    [<repo>/.stack]
  STACK_DIR              this cluster's data, pids, logs, secrets       [\$STACK_HOME/cluster]
  CLUSTER_PORT_BASE      every port is base + offset                    [27000]
  CLUSTER_HISTORY_SHARDS numHistoryShards of a new database             [4]
  CLUSTER_ENGINES        0: no engine or API process ('up' stops there) [1]
  CLUSTER_TEMPORAL_TLS   1: mTLS on the Temporal frontend (certificates [0]
                         of the local CA; the engines get TEMPORAL_TLS_*)
  STACK_READY_TIMEOUT    seconds to wait for each component             [60]

ports with the base $B:
  PostgreSQL 127.0.0.1:$PG_PORT
  Temporal frontend 127.0.0.1:$T_FRONTEND_PORT (history $T_HISTORY_PORT, matching $T_MATCHING_PORT, worker $T_WORKER_PORT,
    HTTP $T_FRONTEND_HTTP_PORT, membership $T_FRONTEND_MEMBER_PORT-$T_WORKER_MEMBER_PORT, metrics $T_METRICS_PORT)
  Temporal Web UI http://127.0.0.1:$UI_PORT
  Kafka SASL_SSL 127.0.0.1:$(kafka_client_port 1),127.0.0.1:$(kafka_client_port 2),127.0.0.1:$(kafka_client_port 3)
    (controllers $(kafka_controller_port 1),$(kafka_controller_port 2),$(kafka_controller_port 3); mTLS $(kafka_mtls_port 1),$(kafka_mtls_port 2),$(kafka_mtls_port 3))
  API and console http://127.0.0.1:$API_PORT_C/console, codec server http://127.0.0.1:$CODEC_PORT_C/codec
  engine metrics 127.0.0.1:$(worker_metrics_port 1), 127.0.0.1:$(worker_metrics_port 2)

files:
  \$STACK_DIR/endpoints.env        the engine's variables for this cluster (source it)
  \$STACK_DIR/kafka-credentials.json, kafka-tls/   as in the single-node stack
  \$STACK_DIR/postgres-credentials.json             PostgreSQL passwords (mode 600)
  \$STACK_DIR/api-keys.json                         development API keys
  \$STACK_DIR/logs/<component>.log, pids/<component>.pid
EOF
}

elapsed() { # elapsed START_SECONDS: "12s" or "7m 31s"
  local s=$((SECONDS - $1))
  if ((s >= 60)); then printf '%dm %02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

STEP=0 STEPS=9
step() { STEP=$((STEP + 1)); say "[$STEP/$STEPS] $*"; }

# ---- install: the Go builds ----------------------------------------------------------------
# go_bin_ok BIN MODULE VERSION: BIN exists and was built from MODULE@VERSION (go version -m).
go_bin_ok() {
  [[ -x "$1" ]] || return 1
  go version -m "$1" 2>/dev/null | awk -v m="$2" -v v="$3" '$1 == "mod" && $2 == m && $3 == v { ok = 1 } END { exit ok ? 0 : 1 }'
}

need_go() {
  command -v go >/dev/null 2>&1 || die "go not found: install Go 1.26+ (the Temporal server and UI are built from the Go module proxy)"
}

install_go_binaries() {
  local todo=() start=$SECONDS
  need_go
  go_bin_ok "$TEMPORAL_SERVER_BIN" "$TEMPORAL_SERVER_MODULE" "$TEMPORAL_SERVER_VERSION" &&
    go_bin_ok "$TEMPORAL_SQL_TOOL" "$TEMPORAL_SERVER_MODULE" "$TEMPORAL_SERVER_VERSION" || todo+=(server)
  go_bin_ok "$TEMPORAL_UI_BIN" "$TEMPORAL_UI_MODULE" "$TEMPORAL_UI_VERSION" || todo+=(ui)
  if ((${#todo[@]} == 0)) && [[ -f "$SCHEMA_HOME/temporal/versioned/v1.0/schema.sql" ]]; then
    say "go: already built (temporal-server, temporal-sql-tool $TEMPORAL_SERVER_VERSION, temporal-ui-server $TEMPORAL_UI_VERSION in $GO_BIN)"
    return
  fi
  mkdir -p "$GO_BIN" "$GO_HOME/logs"
  local pids=() what tmp
  for what in "${todo[@]}"; do
    tmp="$GO_HOME/build-$what"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    if [[ "$what" == server ]]; then
      say "go: building $TEMPORAL_SERVER_MODULE/cmd/server and cmd/tools/sql@$TEMPORAL_SERVER_VERSION (16-17 minutes measured on 2 shared cores the first time; log $GO_HOME/logs/build-server.log)"
      (GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "$TEMPORAL_SERVER_MODULE/cmd/server@$TEMPORAL_SERVER_VERSION" \
        "$TEMPORAL_SERVER_MODULE/cmd/tools/sql@$TEMPORAL_SERVER_VERSION" >"$GO_HOME/logs/build-server.log" 2>&1 &&
        mv "$tmp/server" "$TEMPORAL_SERVER_BIN" && mv "$tmp/sql" "$TEMPORAL_SQL_TOOL") &
    else
      say "go: building $TEMPORAL_UI_MODULE/cmd/server@$TEMPORAL_UI_VERSION (log $GO_HOME/logs/build-ui.log)"
      (GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "$TEMPORAL_UI_MODULE/cmd/server@$TEMPORAL_UI_VERSION" \
        >"$GO_HOME/logs/build-ui.log" 2>&1 && mv "$tmp/server" "$TEMPORAL_UI_BIN") &
    fi
    pids+=("$!:$what")
  done
  local failed=() p
  for p in ${pids[@]+"${pids[@]}"}; do
    wait "${p%%:*}" || failed+=("${p#*:}")
  done
  for what in "${todo[@]}"; do rm -rf "$GO_HOME/build-$what"; done
  if ((${#failed[@]} > 0)); then
    die "go: the build of ${failed[*]} failed: $(grep -v '^go: downloading' "$GO_HOME/logs/build-${failed[0]}.log" | tail -n 3 | tr '\n' ' ')"
  fi
  # The schema files ship in the server module: kept beside the binaries, so a cleaned module cache does not matter.
  if [[ ! -f "$SCHEMA_HOME/temporal/versioned/v1.0/schema.sql" ]]; then
    local mod
    mod="$(go env GOMODCACHE)/$TEMPORAL_SERVER_MODULE@$TEMPORAL_SERVER_VERSION"
    if [[ ! -d "$mod/schema" ]]; then
      GOFLAGS=-modcacherw go mod download "$TEMPORAL_SERVER_MODULE@$TEMPORAL_SERVER_VERSION" >/dev/null 2>&1 || true
    fi
    [[ -d "$mod/schema/postgresql/v12" ]] || die "go: the schema files of $TEMPORAL_SERVER_MODULE@$TEMPORAL_SERVER_VERSION are not in $mod"
    mkdir -p "$SCHEMA_HOME"
    cp -R "$mod/schema/postgresql/v12/temporal" "$mod/schema/postgresql/v12/visibility" "$SCHEMA_HOME/"
    chmod -R u+w,go+rX "$SCHEMA_HOME"
  fi
  if ((${#todo[@]} > 0)); then
    say "go: built ${todo[*]} in $(elapsed "$start") (cold build; cached in $GO_BIN from now on)"
  fi
}

need_postgres() {
  [[ -x "$PG_BIN/postgres" && -x "$PG_BIN/initdb" ]] ||
    die "PostgreSQL $POSTGRES_MAJOR server binaries not found in $PG_BIN (Debian: apt-get install postgresql-$POSTGRES_MAJOR; or set CLUSTER_PG_BIN)"
  command -v psql >/dev/null 2>&1 || die "psql not found (Debian: apt-get install postgresql-client-$POSTGRES_MAJOR)"
}

cluster_install() {
  local start=$SECONDS
  cmd_install
  need_postgres
  install_go_binaries
  say "install: done in $(elapsed "$start")"
}

# ---- process identity --------------------------------------------------------------------
pattern_for() {
  case "$1" in
    postgres) printf '%s\n' "-D $PG_DATA" ;;
    temporal) printf '%s\n' "--config-file $STACK_DIR/temporal/config.yaml" ;;
    ui) printf '%s\n' "--root $STACK_DIR/ui" ;;
    kafka-*) printf '%s\n' "kafka.Kafka $KAFKA_CLUSTER_DIR/node${1#kafka-}/server.properties" ;;
    engine-* | api) printf '%s\n' "workers/engine.ts --stack-process=$STACK_DIR/$1" ;;
  esac
}

component_ports() {
  case "$1" in
    postgres) echo "$PG_PORT" ;;
    temporal) echo "$T_FRONTEND_PORT" ;;
    ui) echo "$UI_PORT" ;;
    kafka-*) echo "$(kafka_client_port "${1#kafka-}")" ;;
    engine-*) echo "$(worker_metrics_port "${1#engine-}")" ;;
    api) echo "$API_PORT_C" ;;
  esac
}

component_desc() {
  local n
  case "$1" in
    postgres) echo "127.0.0.1:$PG_PORT, data $PG_DATA" ;;
    temporal) echo "frontend 127.0.0.1:$T_FRONTEND_PORT$(temporal_tls_on && echo ' (mTLS)'), $NUM_HISTORY_SHARDS history shards, PostgreSQL persistence and visibility" ;;
    ui) echo "http://127.0.0.1:$UI_PORT, codec http://127.0.0.1:$CODEC_PORT_C/codec" ;;
    kafka-*) n="${1#kafka-}"; echo "node $n: SASL_SSL 127.0.0.1:$(kafka_client_port "$n"), mTLS $(kafka_mtls_port "$n"), controller $(kafka_controller_port "$n")" ;;
    engine-*) echo "ENGINE_ROLES=worker,bridge, metrics 127.0.0.1:$(worker_metrics_port "${1#engine-}")" ;;
    api) echo "ENGINE_ROLES=api,codec, http://127.0.0.1:$API_PORT_C/console" ;;
  esac
}

# ---- secrets -------------------------------------------------------------------------------
# PostgreSQL passwords (the superuser's and Temporal's), generated once, mode 600.
ensure_pg_secrets() {
  if [[ -f "$PG_SECRETS" ]]; then return; fi
  local su tp
  su="$(openssl rand -hex 24)" tp="$(openssl rand -hex 24)"
  (umask 077 && printf '{ "postgres": "%s", "temporal": "%s" }\n' "$su" "$tp" >"$PG_SECRETS.tmp")
  mv "$PG_SECRETS.tmp" "$PG_SECRETS"
  say "postgres: passwords generated ($PG_SECRETS, mode 600)"
}
pg_secret() { node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]])' "$PG_SECRETS" "$1"; }

# ---- PostgreSQL ----------------------------------------------------------------------------
# Run as the postgres user when this is root (PostgreSQL refuses to run as root), else as oneself.
as_pg() {
  if ((EUID == 0)); then
    id postgres >/dev/null 2>&1 || die "postgres: running as root, and there is no 'postgres' user to run the server as"
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  else
    "$@"
  fi
}
pg_owner_chown() { if ((EUID == 0)); then chown -R postgres:postgres "$@"; fi; }

psql_su() { # psql_su [psql args...]: as the superuser over TCP, the password from the environment
  PGPASSWORD="$(pg_secret postgres)" psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres "$@"
}

init_postgres() {
  if [[ -f "$PG_DATA/PG_VERSION" ]]; then return; fi
  mkdir -p "$PG_DIR"
  pg_owner_chown "$PG_DIR"
  chmod 700 "$PG_DIR"
  local pw="$PG_DIR/.pw.$$" out
  (umask 077 && pg_secret postgres >"$pw")
  pg_owner_chown "$pw"
  if ! out="$(as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --pwfile="$pw" --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 2>&1)"; then
    rm -f "$pw"
    die "postgres: initdb failed: $(printf '%s\n' "$out" | tail -n 2 | tr '\n' ' ')"
  fi
  rm -f "$pw"
  as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null <<EOF

# scripts/cluster.sh: loopback only; Temporal's 4 services in one process pool up to ~90 connections.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_DIR'
max_connections = 200
shared_buffers = 128MB
EOF
  say "postgres: initialised $PG_DATA (superuser and Temporal passwords in $PG_SECRETS)"
}

start_postgres() {
  local pid
  pid="$(running_pid postgres)"
  if [[ -n "$pid" ]]; then say "postgres: already running (pid $pid, 127.0.0.1:$PG_PORT)"; return; fi
  rm -f "$PID_DIR/postgres.pid"
  check_port_free_n "$PG_PORT" postgres
  ensure_pg_secrets
  init_postgres
  local cmd=("$PG_BIN/postgres" -D "$PG_DATA" -p "$PG_PORT")
  if ((EUID == 0)); then cmd=(setpriv --reuid=postgres --regid=postgres --init-groups -- "${cmd[@]}"); fi
  start_detached postgres "$LOG_DIR/postgres.log" "${cmd[@]}"
  say "postgres: starting (pid $(read_pid postgres), 127.0.0.1:$PG_PORT)"
}

wait_postgres() {
  local start=$SECONDS pid
  pid="$(read_pid postgres)"
  until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2 && psql_su -c 'select 1' >/dev/null 2>&1; do
    pid_alive "$pid" "$(pattern_for postgres)" || { log_tail_hint "$LOG_DIR/postgres.log"; die "postgres exited during startup: see $LOG_DIR/postgres.log"; }
    ((SECONDS - start < READY_TIMEOUT_S)) || die "postgres did not answer on 127.0.0.1:$PG_PORT within ${READY_TIMEOUT_S}s"
    sleep 0.5
  done
  say "postgres: ready (127.0.0.1:$PG_PORT answers a query)"
}

# The temporal role and both databases, then Temporal's schemas with its sql tool:
# setup-schema -v 0.0 once, then update-schema -d <versioned dir> (applies what is new).
setup_temporal_schemas() {
  local tp db dir out
  tp="$(pg_secret temporal)"
  if ! psql_su -tAc "select 1 from pg_roles where rolname = 'temporal'" | grep -q 1; then
    psql_su -v pw="$tp" <<'EOF' >/dev/null
create role temporal login password :'pw';
EOF
  fi
  for db in temporal temporal_visibility; do
    if ! psql_su -tAc "select 1 from pg_database where datname = '$db'" | grep -q 1; then
      psql_su -c "create database $db owner temporal" >/dev/null
    fi
    dir="temporal"; [[ "$db" == temporal_visibility ]] && dir="visibility"
    if ! PGPASSWORD="$tp" psql -X -h 127.0.0.1 -p "$PG_PORT" -U temporal -d "$db" -tAc "select 1 from information_schema.tables where table_name = 'schema_version'" | grep -q 1; then
      out="$(SQL_PASSWORD="$tp" "$TEMPORAL_SQL_TOOL" --plugin postgres12 --ep 127.0.0.1 -p "$PG_PORT" -u temporal --db "$db" setup-schema -v 0.0 2>&1)" ||
        die "postgres: temporal-sql-tool setup-schema on $db failed: $(printf '%s\n' "$out" | tail -n 2 | tr '\n' ' ')"
    fi
    out="$(SQL_PASSWORD="$tp" "$TEMPORAL_SQL_TOOL" --plugin postgres12 --ep 127.0.0.1 -p "$PG_PORT" -u temporal --db "$db" update-schema -d "$SCHEMA_HOME/$dir/versioned" 2>&1)" ||
      die "postgres: temporal-sql-tool update-schema on $db failed: $(printf '%s\n' "$out" | tail -n 2 | tr '\n' ' ')"
    printf '%s\n' "$out" >>"$LOG_DIR/schema.log"
  done
  local v vv
  v="$(PGPASSWORD="$tp" psql -X -h 127.0.0.1 -p "$PG_PORT" -U temporal -d temporal -tAc 'select curr_version from schema_version')"
  vv="$(PGPASSWORD="$tp" psql -X -h 127.0.0.1 -p "$PG_PORT" -U temporal -d temporal_visibility -tAc 'select curr_version from schema_version')"
  say "postgres: schemas ready (temporal $v, temporal_visibility $vv; temporal-sql-tool $TEMPORAL_SERVER_VERSION)"
}

stop_postgres() {
  local pid waited=0
  pid="$(running_pid postgres)"
  if [[ -n "$pid" ]]; then
    # SIGINT: fast shutdown (sessions are ended, then a checkpoint); SIGTERM would wait for every session.
    kill -INT "$pid" 2>/dev/null || true
    while pid_alive "$pid" "$(pattern_for postgres)" && ((waited < STOP_TIMEOUT_S * 4)); do sleep 0.25; waited=$((waited + 1)); done
    if ! pid_alive "$pid" "$(pattern_for postgres)"; then
      rm -f "$PID_DIR/postgres.pid"
      say "postgres: stopped (pid $pid, fast shutdown, $(awk "BEGIN{printf \"%.1f\", $waited/4}")s)"
      return
    fi
  fi
  stop_component postgres
}

# ---- Temporal server -----------------------------------------------------------------------
write_temporal_config() {
  local d="$STACK_DIR/temporal" tp tls_block=""
  mkdir -p "$d"
  tp="$(pg_secret temporal)"
  if temporal_tls_on; then
    # mTLS on the frontend: a client certificate of the local CA is required; the server's own
    # clients of the frontend (the system worker, other services) present the internal certificate.
    tls_block="  tls:
    frontend:
      server:
        certFile: $T_TLS_DIR/frontend.pem
        keyFile: $T_TLS_DIR/frontend.key
        requireClientAuth: true
        clientCaFiles: [$TLS_DIR/ca.pem]
      client:
        serverName: localhost
        rootCaFiles: [$TLS_DIR/ca.pem]
    systemWorker:
      certFile: $T_TLS_DIR/internal.pem
      keyFile: $T_TLS_DIR/internal.key
      client:
        serverName: localhost
        rootCaFiles: [$TLS_DIR/ca.pem]"
  fi
  (umask 077 && cat >"$d/config.yaml.tmp" <<EOF
# Generated by scripts/cluster.sh: the Temporal server, every service in one process, on PostgreSQL.
# Holds the database password: mode 600.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  # Fixed when the database is first used; see README "Deployment" for the choice.
  numHistoryShards: $NUM_HISTORY_SHARDS
  datastores:
    postgres-default:
      sql:
        pluginName: postgres12
        databaseName: temporal
        connectAddr: "127.0.0.1:$PG_PORT"
        connectProtocol: tcp
        user: temporal
        password: "$tp"
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    postgres-visibility:
      sql:
        pluginName: postgres12
        databaseName: temporal_visibility
        connectAddr: "127.0.0.1:$PG_PORT"
        connectProtocol: tcp
        user: temporal
        password: "$tp"
        maxConns: 4
        maxIdleConns: 4
        maxConnLifetime: 1h
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
$tls_block
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: "127.0.0.1:$T_METRICS_PORT"
services:
  frontend:
    rpc: { grpcPort: $T_FRONTEND_PORT, membershipPort: $T_FRONTEND_MEMBER_PORT, bindOnLocalHost: true, httpPort: $T_FRONTEND_HTTP_PORT }
  matching:
    rpc: { grpcPort: $T_MATCHING_PORT, membershipPort: $T_MATCHING_MEMBER_PORT, bindOnLocalHost: true }
  history:
    rpc: { grpcPort: $T_HISTORY_PORT, membershipPort: $T_HISTORY_MEMBER_PORT, bindOnLocalHost: true }
  worker:
    rpc: { grpcPort: $T_WORKER_PORT, membershipPort: $T_WORKER_MEMBER_PORT, bindOnLocalHost: true }
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:$T_FRONTEND_PORT"
      httpAddress: "127.0.0.1:$T_FRONTEND_HTTP_PORT"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: "$d/dynamicconfig.yaml"
  pollInterval: 10s
EOF
  )
  mv "$d/config.yaml.tmp" "$d/config.yaml"
  cat >"$d/dynamicconfig.yaml" <<EOF
# Generated by scripts/cluster.sh.
limit.maxIDLength:
  - value: 255
# New search attributes are seen at once (the engine writes them right after 'up' registers them).
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
EOF
}

temporal_cli() {
  local tls=()
  if temporal_tls_on; then
    tls=(--tls-ca-path "$TLS_DIR/ca.pem" --tls-cert-path "$T_TLS_DIR/internal.pem" --tls-key-path "$T_TLS_DIR/internal.key")
  fi
  "$TEMPORAL" "$@" --address "127.0.0.1:$T_FRONTEND_PORT" ${tls[@]+"${tls[@]}"} --disable-config-file --disable-config-env </dev/null
}

# The frontend's certificate (IP:127.0.0.1, DNS:localhost) and two client certificates, signed by
# the local CA that the Kafka nodes use: one for the engines, one for the server's system worker,
# the UI and this script's CLI calls. Made once, kept.
ensure_temporal_tls() {
  temporal_tls_on || return 0
  mkdir -p "$T_TLS_DIR"
  chmod 700 "$T_TLS_DIR"
  local made=()
  if [[ ! -f "$T_TLS_DIR/frontend.pem" ]]; then
    new_ec_key "$T_TLS_DIR/frontend.key" || die "temporal: TLS: openssl could not make a key"
    tls_sign "$T_TLS_DIR/frontend.key" "/O=referral-engine local stack/CN=temporal frontend" \
      "$(printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' \
        'extendedKeyUsage=serverAuth' 'subjectAltName=IP:127.0.0.1,DNS:localhost')" "$T_TLS_DIR/frontend.pem"
    made+=(frontend)
  fi
  local who
  for who in engine internal; do
    [[ -f "$T_TLS_DIR/$who.pem" ]] && continue
    new_ec_key "$T_TLS_DIR/$who.key" || die "temporal: TLS: openssl could not make a key"
    tls_sign "$T_TLS_DIR/$who.key" "/O=referral-engine local stack/CN=temporal-$who" \
      "$(printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' 'extendedKeyUsage=clientAuth')" \
      "$T_TLS_DIR/$who.pem"
    made+=("$who")
  done
  say "temporal: TLS: frontend certificate and client certificates in $T_TLS_DIR (CA $TLS_DIR/ca.pem; made now: ${made[*]:-nothing})"
}

start_temporal_server() {
  local pid
  pid="$(running_pid temporal)"
  if [[ -n "$pid" ]]; then say "temporal: already running (pid $pid, 127.0.0.1:$T_FRONTEND_PORT)"; return; fi
  rm -f "$PID_DIR/temporal.pid"
  local p
  for p in "$T_FRONTEND_PORT" "$T_HISTORY_PORT" "$T_MATCHING_PORT" "$T_WORKER_PORT" "$T_FRONTEND_HTTP_PORT" "$T_METRICS_PORT"; do
    check_port_free_n "$p" temporal
  done
  write_temporal_config
  start_detached temporal "$LOG_DIR/temporal.log" "$TEMPORAL_SERVER_BIN" --config-file "$STACK_DIR/temporal/config.yaml" --allow-no-auth start
  say "temporal: starting (pid $(read_pid temporal), server $TEMPORAL_SERVER_VERSION)"
}

wait_temporal_server() {
  local start=$SECONDS pid
  pid="$(read_pid temporal)"
  # The frontend answers once membership and the shards are up: a real RPC on the system namespace.
  until temporal_cli operator namespace describe --namespace temporal-system --command-timeout 3s >/dev/null 2>&1; do
    pid_alive "$pid" "$(pattern_for temporal)" || { log_tail_hint "$LOG_DIR/temporal.log"; die "temporal exited during startup: see $LOG_DIR/temporal.log"; }
    ((SECONDS - start < READY_TIMEOUT_S * 2)) || { log_tail_hint "$LOG_DIR/temporal.log"; die "temporal did not answer on 127.0.0.1:$T_FRONTEND_PORT within $((READY_TIMEOUT_S * 2))s"; }
    sleep 1
  done
  say "temporal: ready (frontend 127.0.0.1:$T_FRONTEND_PORT answers)"
}

# The default namespace and the engine's search attributes (SEARCH_ATTRIBUTES of scripts/stack.sh).
setup_namespace() {
  if ! temporal_cli operator namespace describe --namespace default >/dev/null 2>&1; then
    temporal_cli operator namespace create --namespace default --retention 168h >/dev/null ||
      die "temporal: could not create the namespace 'default'"
    say "temporal: namespace 'default' created (retention 7 days)"
  fi
  local have sa name type added=() start=$SECONDS
  until have="$(temporal_cli operator search-attribute list --namespace default 2>/dev/null | awk '{print $1}')"; do
    ((SECONDS - start < READY_TIMEOUT_S)) || die "temporal: the namespace 'default' does not answer"
    sleep 1
  done
  for sa in "${SEARCH_ATTRIBUTES[@]}"; do
    name="${sa%%=*}" type="${sa#*=}"
    grep -qx "$name" <<<"$have" && continue
    temporal_cli operator search-attribute create --namespace default --name "$name" --type "$type" --yes >/dev/null 2>&1 ||
      temporal_cli operator search-attribute create --namespace default --name "$name" --type "$type" >/dev/null ||
      die "temporal: could not register search attribute $name ($type)"
    added+=("$name")
  done
  if ((${#added[@]} > 0)); then say "temporal: registered search attributes ${added[*]}"; else say "temporal: search attributes already registered"; fi
}

# ---- Web UI --------------------------------------------------------------------------------
start_ui() {
  local pid
  pid="$(running_pid ui)"
  if [[ -n "$pid" ]]; then say "ui: already running (pid $pid, http://127.0.0.1:$UI_PORT)"; return; fi
  rm -f "$PID_DIR/ui.pid"
  check_port_free_n "$UI_PORT" ui
  mkdir -p "$STACK_DIR/ui/config"
  cat >"$STACK_DIR/ui/config/cluster.yaml" <<EOF
# Generated by scripts/cluster.sh: the Temporal Web UI ($TEMPORAL_UI_MODULE $TEMPORAL_UI_VERSION).
temporalGrpcAddress: 127.0.0.1:$T_FRONTEND_PORT
host: 127.0.0.1
port: $UI_PORT
publicPath:
enableUi: true
defaultNamespace: default
disableNewsFetch: true
notifyOnNewVersion: false
refreshInterval: 1m
cors:
  cookieInsecure: true
  allowOrigins:
    - http://127.0.0.1:$UI_PORT
codec:
  endpoint: http://127.0.0.1:$CODEC_PORT_C/codec
  passAccessToken: false
  # The browser sends the codec server's sign-in cookie (http://127.0.0.1:$CODEC_PORT_C/codec/session).
  includeCredentials: true
EOF
  if temporal_tls_on; then
    cat >>"$STACK_DIR/ui/config/cluster.yaml" <<EOF
tls:
  caFile: $TLS_DIR/ca.pem
  certFile: $T_TLS_DIR/internal.pem
  keyFile: $T_TLS_DIR/internal.key
  serverName: localhost
  enableHostVerification: true
EOF
  fi
  start_detached ui "$LOG_DIR/ui.log" "$TEMPORAL_UI_BIN" --root "$STACK_DIR/ui" --config config --env cluster start
  say "ui: starting (pid $(read_pid ui))"
}

wait_ui() {
  local start=$SECONDS pid
  pid="$(read_pid ui)"
  until curl -fsS -o /dev/null "http://127.0.0.1:$UI_PORT/api/v1/settings" 2>/dev/null; do
    pid_alive "$pid" "$(pattern_for ui)" || { log_tail_hint "$LOG_DIR/ui.log"; die "ui exited during startup: see $LOG_DIR/ui.log"; }
    ((SECONDS - start < READY_TIMEOUT_S)) || die "ui did not answer on http://127.0.0.1:$UI_PORT within ${READY_TIMEOUT_S}s"
    sleep 0.5
  done
  say "ui: ready (http://127.0.0.1:$UI_PORT, payloads decoded through http://127.0.0.1:$CODEC_PORT_C/codec)"
}

# ---- Kafka: three KRaft nodes ---------------------------------------------------------------
all_brokers() { local n out=(); for n in "${KAFKA_NODES[@]}"; do out+=("127.0.0.1:$(kafka_client_port "$n")"); done; (IFS=,; echo "${out[*]}"); }
all_mtls_brokers() { local n out=(); for n in "${KAFKA_NODES[@]}"; do out+=("127.0.0.1:$(kafka_mtls_port "$n")"); done; (IFS=,; echo "${out[*]}"); }
quorum_voters() { local n out=(); for n in "${KAFKA_NODES[@]}"; do out+=("$n@127.0.0.1:$(kafka_controller_port "$n")"); done; (IFS=,; echo "${out[*]}"); }

# The storage of node 1 says the cluster id (stack.sh's SCRAM bookkeeping reads it).
cluster_id() {
  [[ -f "$KAFKA_CLUSTER_DIR/node1/data/meta.properties" ]] || return 0
  sed -n 's/^cluster\.id=//p' "$KAFKA_CLUSTER_DIR/node1/data/meta.properties" | head -n 1
}

write_node_config() { # write_node_config N
  local n="$1" dir="$KAFKA_CLUSTER_DIR/node$1" broker_pw controller_pw admin
  local port ctl mtls
  port="$(kafka_client_port "$n")" ctl="$(kafka_controller_port "$n")" mtls="$(kafka_mtls_port "$n")"
  mkdir -p "$dir/data"
  broker_pw="$(cred "$KAFKA_BROKER_USER")"
  controller_pw="$(cred "$KAFKA_CONTROLLER_USER")"
  admin="$(admin_user)"
  [[ -n "$admin" ]] || die "kafka: the access table names no admin principal ($PRINCIPALS_FILE)"
  (umask 077 && cat >"$dir/server.properties.tmp" <<EOF
# Generated by scripts/cluster.sh on every start: node $n of 3 (combined broker+controller, KRaft).
# Holds the broker's and the controller's passwords: mode 600, never copied into logs.
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$(quorum_voters)
listeners=CLIENT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctl,MTLS://127.0.0.1:$mtls
advertised.listeners=CLIENT://127.0.0.1:$port,MTLS://127.0.0.1:$mtls
controller.listener.names=CONTROLLER
inter.broker.listener.name=CLIENT
listener.security.protocol.map=CLIENT:SASL_SSL,CONTROLLER:SASL_SSL,MTLS:SSL

# Clients: SCRAM-SHA-512 over TLS; brokers talk to each other as $KAFKA_BROKER_USER.
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$KAFKA_BROKER_USER" password="$broker_pw";
# Controllers: PLAIN over TLS, one static user, between the three controllers and from the brokers.
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="$KAFKA_CONTROLLER_USER" password="$controller_pw" user_$KAFKA_CONTROLLER_USER="$controller_pw";

ssl.keystore.type=PEM
ssl.keystore.location=$TLS_DIR/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem
ssl.endpoint.identification.algorithm=https
ssl.client.auth=none
listener.name.mtls.ssl.client.auth=required
ssl.principal.mapping.rules=RULE:^CN=([a-z0-9][a-z0-9_-]*)\$/\$1/,DEFAULT

authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:$admin;User:$KAFKA_BROKER_USER;User:$KAFKA_CONTROLLER_USER

# Durability: every partition on all three nodes, a write acknowledged (acks=all) by at least two.
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
unclean.leader.election.enable=false
num.partitions=3
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
log.dirs=$dir/data
EOF
  )
  mv "$dir/server.properties.tmp" "$dir/server.properties"
  cat >"$dir/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$LOG_DIR/kafka-$n.log
log4j.appender.file.MaxFileSize=50MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.authorizer.logger=WARN
log4j.logger.org.apache.kafka.clients.NetworkClient=WARN
EOF
}

# Every node's storage, formatted once with one cluster id and the SCRAM credentials (KIP-900).
format_cluster_storage() {
  local n todo=() uuid args user pw out
  for n in "${KAFKA_NODES[@]}"; do
    [[ -f "$KAFKA_CLUSTER_DIR/node$n/data/meta.properties" ]] || todo+=("$n")
  done
  ((${#todo[@]} > 0)) || return 0
  uuid="$(cluster_id)"
  if [[ -z "$uuid" ]]; then
    uuid="-"
    while [[ "$uuid" == -* ]]; do uuid="$(openssl rand -base64 16 | tr '+/' '-_' | tr -d '=\n')"; done
  fi
  args="$(mktemp "$KAFKA_CLUSTER_DIR/.format-args.XXXXXX")"
  for user in $(scram_users); do
    pw="$(cred "$user")" || { rm -f "$args"; die "kafka: no password for $user in $CREDENTIALS_FILE"; }
    printf -- '--add-scram\nSCRAM-SHA-512=[name=%s,password=%s]\n' "$user" "$pw" >>"$args"
  done
  for n in "${todo[@]}"; do
    if ! out="$(kafka_java kafka.tools.StorageTool format -t "$uuid" -c "$KAFKA_CLUSTER_DIR/node$n/server.properties" "@$args" 2>&1)"; then
      rm -f "$args"
      die "kafka: storage format of node $n failed: $(printf '%s\n' "$out" | grep -v '^\s*$' | tail -n 1 | sed 's/password=[^],"[:space:]]*/password=<hidden>/g')"
    fi
  done
  rm -f "$args"
  rm -f "$SCRAM_STAMP"
  # shellcheck disable=SC2046
  stamp_scram_users $(scram_users)
  say "kafka: formatted the storage of node(s) ${todo[*]} (cluster id $uuid, SCRAM-SHA-512 credentials for $(scram_users | wc -l) users)"
}

start_kafka_node() { # start_kafka_node N
  local n="$1" name="kafka-$1" pid
  pid="$(running_pid "$name")"
  if [[ -n "$pid" ]]; then say "$name: already running (pid $pid, 127.0.0.1:$(kafka_client_port "$n"))"; return; fi
  rm -f "$PID_DIR/$name.pid"
  check_port_free_n "$(kafka_client_port "$n")" "$name"
  check_port_free_n "$(kafka_controller_port "$n")" "$name"
  check_port_free_n "$(kafka_mtls_port "$n")" "$name"
  write_node_config "$n"
  start_detached "$name" "$LOG_DIR/$name.out" java -Xms128m -Xmx512m -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dlog4j.configuration="file:$KAFKA_CLUSTER_DIR/node$n/log4j.properties" \
    -Dkafka.logs.dir="$LOG_DIR" -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CLUSTER_DIR/node$n/server.properties"
  say "$name: starting (pid $(read_pid "$name"))"
}

wait_kafka_node() { # wait_kafka_node N: an authenticated metadata request answered by that node
  local n="$1" name="kafka-$1" pid start=$SECONDS out=""
  pid="$(read_pid "$name")"
  until port_listening "$(kafka_client_port "$n")" && out="$(kafka_admin ready --brokers "127.0.0.1:$(kafka_client_port "$n")" \
    --ca-file "$TLS_DIR/ca.pem" --credentials-file "$CREDENTIALS_FILE" --timeout-ms 3000 2>&1)"; do
    pid_alive "$pid" "$(pattern_for "$name")" || { log_tail_hint "$LOG_DIR/kafka-$n.log"; die "$name exited during startup: see $LOG_DIR/kafka-$n.log"; }
    ((SECONDS - start < READY_TIMEOUT_S * 2)) || die "$name did not answer an authenticated metadata request within $((READY_TIMEOUT_S * 2))s: $(printf '%s\n' "$out" | tail -n 1)"
    sleep 1
  done
  say "$name: ready (metadata request answered on 127.0.0.1:$(kafka_client_port "$n"), SASL_SSL as $(admin_user))"
}

provision_cluster() {
  local out line
  if ! out="$(kafka_admin provision --brokers "$(all_brokers)" --ca-file "$TLS_DIR/ca.pem" --credentials-file "$CREDENTIALS_FILE" \
    "--topics=$KAFKA_TOPICS" --shared "$KAFKA_SHARED_TOPICS" --partitions 3 --replication-factor 3 --timeout-ms 60000 2>&1)"; then
    die "kafka: provisioning topics and ACLs failed: $(printf '%s\n' "$out" | tail -n 1)"
  fi
  while IFS= read -r line; do
    if [[ "$line" == topics:* ]]; then line+=" (3 partitions, replication factor 3, min.insync.replicas=2)"; fi
    say "kafka: $line"
  done <<<"$out"
}

# ---- engines ---------------------------------------------------------------------------------
engine_env() { # engine_env NAME: the variables of one engine process (config/env.ts)
  local name="$1"
  printf '%s\n' \
    "TEMPORAL_ADDRESS=127.0.0.1:$T_FRONTEND_PORT" \
    "TEMPORAL_UI_URL=http://127.0.0.1:$UI_PORT" \
    "KAFKA_BROKERS=$(all_brokers)" \
    "KAFKA_SECURITY_PROTOCOL=SASL_SSL" \
    "KAFKA_SASL_MECHANISM=SCRAM-SHA-512" \
    "KAFKA_SSL_CA_FILE=$TLS_DIR/ca.pem" \
    "KAFKA_CREDENTIALS_FILE=$CREDENTIALS_FILE" \
    "KAFKA_SHARED_TOPICS=$([[ "$KAFKA_SHARED_TOPICS" == 1 ]] && echo true || echo false)" \
    "PAYLOAD_KEYS_FILE=$STACK_HOME/payload-keys.json" \
    "API_IDENTITIES_FILE=$STACK_DIR/identities.json" \
    "NODE_OPTIONS=--max-old-space-size=384"
  if temporal_tls_on; then
    printf '%s\n' "TEMPORAL_TLS_CA_FILE=$TLS_DIR/ca.pem" "TEMPORAL_TLS_CERT_FILE=$T_TLS_DIR/engine.pem" "TEMPORAL_TLS_KEY_FILE=$T_TLS_DIR/engine.key"
  fi
  case "$name" in
    engine-*) printf '%s\n' "ENGINE_ROLES=worker,bridge" "WORKER_METRICS_ADDRESS=127.0.0.1:$(worker_metrics_port "${name#engine-}")" "KAFKA_CLIENT_ID=referral-engine-${name#engine-}" ;;
    api) printf '%s\n' "ENGINE_ROLES=api,codec" "API_HOST=127.0.0.1" "API_PORT=$API_PORT_C" "CODEC_SERVER_HOST=127.0.0.1" "CODEC_SERVER_PORT=$CODEC_PORT_C" "WORKER_METRICS_ADDRESS=0" ;;
  esac
}

start_engine() { # start_engine NAME
  local name="$1" pid env=() line
  pid="$(running_pid "$name")"
  if [[ -n "$pid" ]]; then say "$name: already running (pid $pid)"; return; fi
  rm -f "$PID_DIR/$name.pid"
  if [[ "$name" == api ]]; then check_port_free_n "$API_PORT_C" api; check_port_free_n "$CODEC_PORT_C" api;
  else check_port_free_n "$(worker_metrics_port "${name#engine-}")" "$name"; fi
  if [[ ! -f "$STACK_DIR/identities.json" ]]; then
    (cd "$REPO_ROOT" && node --import tsx scripts/dev-identities.ts --out "$STACK_DIR/identities.json" --keys "$STACK_DIR/api-keys.json" >/dev/null)
  fi
  while IFS= read -r line; do env+=("$line"); done < <(engine_env "$name")
  # Where this start's output begins: readiness is read from the new part of the log only.
  stat -c %s "$LOG_DIR/$name.log" 2>/dev/null >"$PID_DIR/$name.logstart" || echo 0 >"$PID_DIR/$name.logstart"
  (cd "$REPO_ROOT" && start_detached "$name" "$LOG_DIR/$name.log" env "${env[@]}" node --import tsx workers/engine.ts "--stack-process=$STACK_DIR/$name")
  say "$name: starting (pid $(read_pid "$name"), $(component_desc "$name"))"
}

wait_engine() { # wait_engine NAME: the process logged 'referral-engine running'
  local name="$1" pid start=$SECONDS from
  pid="$(read_pid "$name")"
  from="$(cat "$PID_DIR/$name.logstart" 2>/dev/null || echo 0)"
  until tail -c "+$((from + 1))" "$LOG_DIR/$name.log" 2>/dev/null | grep -q 'referral-engine running'; do
    pid_alive "$pid" "$(pattern_for "$name")" || { log_tail_hint "$LOG_DIR/$name.log"; die "$name exited during startup: see $LOG_DIR/$name.log"; }
    ((SECONDS - start < READY_TIMEOUT_S * 2)) || die "$name did not report running within $((READY_TIMEOUT_S * 2))s: see $LOG_DIR/$name.log"
    sleep 0.5
  done
  say "$name: running"
}

write_cluster_endpoints() {
  {
    printf '# Generated by scripts/cluster.sh up: the engine variables of the cluster in %s.\n' "$STACK_DIR"
    engine_env api | grep -v '^ENGINE_ROLES=\|^WORKER_METRICS_ADDRESS=\|^NODE_OPTIONS='
    printf 'KAFKA_MTLS_BROKERS=%s\n' "$(all_mtls_brokers)"
    printf 'KAFKA_TLS_DIR=%s\n' "$TLS_DIR"
    printf 'POSTGRES_ADDRESS=127.0.0.1:%s\n' "$PG_PORT"
  } >"$STACK_DIR/endpoints.env.tmp"
  mv "$STACK_DIR/endpoints.env.tmp" "$STACK_DIR/endpoints.env"
}

# ---- helpers ---------------------------------------------------------------------------------
check_port_free_n() { # check_port_free_n PORT COMPONENT
  if port_taken "$1"; then
    die "port $1 (for $2) is already in use by a process this cluster did not start: stop it or set CLUSTER_PORT_BASE to another base"
  fi
}

stop_named() { # stop_named NAME
  case "$1" in
    postgres) stop_postgres ;;
    *) stop_component "$1" ;;
  esac
}

cluster_lock() {
  mkdir -p "$STACK_DIR" "$PID_DIR" "$LOG_DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$STACK_DIR/.stack.lock"
    flock -n 9 || { say "waiting for another cluster command on $STACK_DIR"; flock 9; }
  fi
}

# ---- commands --------------------------------------------------------------------------------
c_up() {
  local t0=$SECONDS t n with_engines="${CLUSTER_ENGINES:-1}"
  need_node_modules
  STEPS=9
  step "install (Temporal CLI, Kafka jars, Go builds of the Temporal server, sql tool and UI)"
  t=$SECONDS; cluster_install; say "      install: $(elapsed "$t")"
  need_java
  cluster_lock
  mkdir -p "$KAFKA_CLUSTER_DIR"
  step "postgres $POSTGRES_MAJOR"
  t=$SECONDS; start_postgres
  # The Kafka nodes boot (JVMs, tens of seconds on 2 cores) while PostgreSQL and Temporal come up.
  prepare_kafka
  ensure_temporal_tls
  for n in "${KAFKA_NODES[@]}"; do [[ -n "$(running_pid "kafka-$n")" ]] || write_node_config "$n"; done
  format_cluster_storage
  for n in "${KAFKA_NODES[@]}"; do start_kafka_node "$n"; done
  wait_postgres; say "      postgres: $(elapsed "$t")"
  step "Temporal schemas (temporal-sql-tool setup-schema -v 0.0, update-schema)"
  t=$SECONDS; setup_temporal_schemas; say "      schemas: $(elapsed "$t")"
  step "Temporal server"
  t=$SECONDS; start_temporal_server; wait_temporal_server; say "      temporal: $(elapsed "$t")"
  step "namespace 'default' and search attributes"
  t=$SECONDS; setup_namespace; say "      namespace: $(elapsed "$t")"
  step "Temporal Web UI"
  t=$SECONDS; start_ui; wait_ui; say "      ui: $(elapsed "$t")"
  step "Kafka: three KRaft nodes"
  t=$SECONDS
  for n in "${KAFKA_NODES[@]}"; do wait_kafka_node "$n"; done
  ensure_scram_users
  say "      kafka: $(elapsed "$t")"
  step "Kafka topics and ACLs"
  t=$SECONDS; provision_cluster; say "      provision: $(elapsed "$t")"
  write_cluster_endpoints
  step "engines: ${ENGINES[*]} (worker,bridge) and api (api,codec)"
  t=$SECONDS
  if [[ "$with_engines" == 0 ]]; then
    say "engines: not started (CLUSTER_ENGINES=0)"
  else
    for n in "${ENGINES[@]}" api; do start_engine "$n"; done
    for n in "${ENGINES[@]}" api; do wait_engine "$n"; done
  fi
  say "      engines: $(elapsed "$t")"
  say "up in $(elapsed "$t0") — Temporal 127.0.0.1:$T_FRONTEND_PORT, Web UI http://127.0.0.1:$UI_PORT, Kafka $(all_brokers), API http://127.0.0.1:$API_PORT_C/console, PostgreSQL 127.0.0.1:$PG_PORT"
  say "engine variables: $STACK_DIR/endpoints.env · API keys $STACK_DIR/api-keys.json · Kafka passwords $CREDENTIALS_FILE (CA $TLS_DIR/ca.pem)"
}

c_down() {
  if [[ ! -d "$PID_DIR" ]]; then say "nothing started from $STACK_DIR"; return; fi
  cluster_lock
  local n
  for n in api "${ENGINES[@]}" ui temporal; do stop_named "$n"; done
  # All three Kafka nodes at once: the last node of a quorum cannot shut down cleanly alone.
  local pids=()
  for n in "${KAFKA_NODES[@]}"; do stop_named "kafka-$n" & pids+=("$!"); done
  for n in "${pids[@]}"; do wait "$n" || true; done
  stop_named postgres
}

c_status() {
  local rc=0 name pid port
  for name in "${COMPONENTS[@]}"; do
    pid="$(running_pid "$name")"
    port="$(component_ports "$name")"
    if [[ -z "$pid" ]]; then
      say "$name: stopped ($(component_desc "$name"))"; rc=3
    elif [[ "$name" == engine-* ]] || port_listening "$port"; then
      say "$name: running (pid $pid, $(component_desc "$name"))"
    else
      say "$name: starting or unhealthy (pid $pid alive, 127.0.0.1:$port not answering)"; rc=3
    fi
  done
  say "state: $STACK_DIR"
  return "$rc"
}

c_logs() {
  local which="${1:-all}" f files=()
  if [[ "$which" == all ]]; then
    for f in "${COMPONENTS[@]}"; do files+=("$(log_of "$f")"); done
  else
    [[ " ${COMPONENTS[*]} " == *" $which "* ]] || die "unknown component '$which': ${COMPONENTS[*]}"
    files=("$(log_of "$which")")
  fi
  local found=()
  for f in "${files[@]}"; do if [[ -f "$f" ]]; then found+=("$f"); else say "no log yet: $f"; fi; done
  ((${#found[@]} == 0)) || tail -n 100 "${found[@]}"
}
log_of() { case "$1" in kafka-*) echo "$LOG_DIR/$1.log" ;; *) echo "$LOG_DIR/$1.log" ;; esac; }

# Exit 0 when the Go builds are cached at the pinned versions (the cluster tests run only then by default).
c_built() {
  command -v go >/dev/null 2>&1 || { say "built: no (go not found)"; return 1; }
  if go_bin_ok "$TEMPORAL_SERVER_BIN" "$TEMPORAL_SERVER_MODULE" "$TEMPORAL_SERVER_VERSION" &&
    go_bin_ok "$TEMPORAL_SQL_TOOL" "$TEMPORAL_SERVER_MODULE" "$TEMPORAL_SERVER_VERSION" &&
    go_bin_ok "$TEMPORAL_UI_BIN" "$TEMPORAL_UI_MODULE" "$TEMPORAL_UI_VERSION" &&
    [[ -f "$SCHEMA_HOME/temporal/versioned/v1.0/schema.sql" ]]; then
    say "built: yes ($GO_BIN)"
  else
    say "built: no (run 'npm run stack -- install --profile cluster': a cold build takes minutes)"
    return 1
  fi
}

c_start() {
  local name="${1:-}"
  [[ " ${COMPONENTS[*]} " == *" $name "* ]] || die "usage: bash scripts/cluster.sh start <${COMPONENTS[*]}>"
  need_node_modules
  cluster_lock
  case "$name" in
    postgres) start_postgres; wait_postgres ;;
    temporal) ensure_temporal_tls; start_temporal_server; wait_temporal_server ;;
    ui) start_ui; wait_ui ;;
    kafka-*) need_java; write_node_config "${name#kafka-}"; start_kafka_node "${name#kafka-}"; wait_kafka_node "${name#kafka-}" ;;
    engine-* | api) start_engine "$name"; wait_engine "$name" ;;
  esac
}

c_stop() {
  local name="${1:-}"
  [[ " ${COMPONENTS[*]} " == *" $name "* ]] || die "usage: bash scripts/cluster.sh stop <${COMPONENTS[*]}>"
  [[ -d "$PID_DIR" ]] || { say "$name: not running"; return; }
  cluster_lock
  stop_named "$name"
}

cluster_main() {
  local cmd="${1:-}"
  [[ $# -eq 0 ]] || shift
  case "$cmd" in
    install) cluster_install ;;
    built) c_built ;;
    up) c_up ;;
    down) c_down ;;
    status) c_status ;;
    logs) c_logs "$@" ;;
    start) c_start "$@" ;;
    stop) c_stop "$@" ;;
    help | --help | -h) usage ;;
    "") usage >&2; exit 2 ;;
    *) printf "cluster: unknown command '%s'\n" "$cmd" >&2; usage >&2; exit 2 ;;
  esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then cluster_main "$@"; fi
