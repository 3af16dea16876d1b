#!/usr/bin/env bash
# Apache Kafka's own command-line tools, run from the jars the local stack installed, against the
# local stack's secured broker.
#
#   bash scripts/kafka.sh <tool> [--as <principal> [--mtls]] [tool options...]
#   npm run kafka -- <tool> ...
#
# Run `bash scripts/kafka.sh --help` for the tools and options.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
STACK_HOME="$(abspath "${STACK_HOME:-$REPO_ROOT/.stack}")"
STACK_DIR="$(abspath "${STACK_DIR:-$STACK_HOME}")"
KAFKA_HOME="$STACK_HOME/kafka"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_VERSION="3.9.1"

say() { printf 'kafka: %s\n' "$*" >&2; }
die() { printf 'kafka: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<EOF
usage: bash scripts/kafka.sh <tool> [--as <principal> [--mtls]] [options of the tool...]
       (or: npm run kafka -- <tool> ...; npm run -s kafka -- ... without npm's banner)

Runs Apache Kafka ${KAFKA_VERSION}'s own console tools with java, from the jars that
'npm run stack -- install' (or 'up') put in STACK_HOME/kafka/libs.

tools:
  console-producer   kafka.tools.ConsoleProducer: one record per line of standard input
                     (--property parse.key=true / parse.headers=true with key.separator,
                     headers.delimiter, headers.separator, headers.key.separator). Sends
                     with --sync unless --async is given: it exits 1 at the first record
                     the broker refuses (e.g. TopicAuthorizationException)
  console-consumer   org.apache.kafka.tools.consumer.ConsoleConsumer: prints records
                     (--from-beginning, --max-messages N, --timeout-ms MS, --property
                     print.key=true, print.headers=true, print.partition=true, ...).
                     Exits 1 when it stopped on an error, an authorization failure say (the
                     tool itself exits 0 then); the end by --timeout-ms is not an error
  topics             org.apache.kafka.tools.TopicCommand (--list, --describe --topic T)
  consumer-groups    org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
                     (--list, --describe --group G)
  get-offsets        org.apache.kafka.tools.GetOffsetShell (--topic T: end offsets)
  acls               kafka.admin.AclCommand (--list; the table: npm run stack -- acls)
  configs            kafka.admin.ConfigCommand (--describe --entity-type topics ...)

  'bash scripts/kafka.sh <tool> --help' prints that tool's own options.

options of this wrapper (anywhere among the arguments; all others go to the tool as they are):
  --as <principal>   log in as this principal of the access table (fia, nccia, ahtc-d, ...,
                     partner-<org>, operator, admin): 'npm run stack -- client-config
                     <principal>' writes STACK_DIR/kafka-clients/<principal>.properties
                     (SASL_SSL, SCRAM-SHA-512, its password, the local CA) and it is passed
                     as --producer.config, --consumer.config or --command-config, as the
                     tool takes it. console-consumer as an agency or partner may only use
                     its own consumer groups ('<principal>.…'): without --group or
                     --partition it gets a new group '<principal>.console-<random>' with
                     enable.auto.commit=false (as the tool's own console-consumer-<random>)
  --mtls             with --as: log in with the principal's client certificate on the mTLS
                     listener instead (<principal>-mtls.properties, security.protocol=SSL)
  --async            console-producer: do not add --sync (faster for many lines; a refused
                     record is then only logged, and the exit status is 0)

  --bootstrap-server defaults to the stack's: KAFKA_BROKERS (with --mtls KAFKA_MTLS_BROKERS)
  from STACK_DIR/endpoints.env, or 127.0.0.1:\$KAFKA_PORT (127.0.0.1:\$KAFKA_MTLS_PORT) when
  set; give it to override. Without --as, give the tool a config file yourself (the broker
  accepts no client that does not log in): its bootstrap.servers, if any, is then the default.

environment:
  STACK_HOME, STACK_DIR        as for scripts/stack.sh        [<repo>/.stack, \$STACK_HOME]
  KAFKA_PORT, KAFKA_MTLS_PORT  the broker's listeners         [endpoints.env, else 9092, 9094]
  KAFKA_TOOLS_LOG_LEVEL        log4j level of the tools, to stderr   [WARN]
  KAFKA_TOOLS_JAVA_OPTS        JVM options                    [-Xmx512m -XX:+UseSerialGC
                                                               -XX:TieredStopAtLevel=1]

examples (README, "Agency integration over Kafka", sends CloudEvents with console-producer):
  bash scripts/kafka.sh topics --as fia --list
  bash scripts/kafka.sh consumer-groups --as admin --describe --group referral-engine-intake
  bash scripts/kafka.sh console-consumer --as fia --topic referrals.notify.fia \\
    --from-beginning --timeout-ms 10000 --property print.key=true --property print.headers=true
  bash scripts/kafka.sh console-consumer --as operator --mtls --topic referrals.events \\
    --from-beginning --max-messages 5
EOF
}

# tool -> main class and the option that takes a client config file.
tool_class() {
  case "$1" in
    console-producer) printf '%s\n' "kafka.tools.ConsoleProducer --producer.config" ;;
    console-consumer) printf '%s\n' "org.apache.kafka.tools.consumer.ConsoleConsumer --consumer.config" ;;
    topics) printf '%s\n' "org.apache.kafka.tools.TopicCommand --command-config" ;;
    consumer-groups) printf '%s\n' "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --command-config" ;;
    get-offsets) printf '%s\n' "org.apache.kafka.tools.GetOffsetShell --command-config" ;;
    acls) printf '%s\n' "kafka.admin.AclCommand --command-config" ;;
    configs) printf '%s\n' "kafka.admin.ConfigCommand --command-config" ;;
    *) return 1 ;;
  esac
}

endpoint() { # endpoint VAR: its value in STACK_DIR/endpoints.env, if any
  sed -n "s/^$1=//p" "$STACK_DIR/endpoints.env" 2>/dev/null | head -n 1
}

default_bootstrap() { # default_bootstrap 0|1 (mTLS)
  local v
  if [[ "$1" == 1 ]]; then
    if [[ -n "${KAFKA_MTLS_PORT:-}" ]]; then printf '127.0.0.1:%s\n' "$KAFKA_MTLS_PORT"; return; fi
    if [[ -n "${KAFKA_PORT:-}" && "$KAFKA_PORT" =~ ^[0-9]+$ ]]; then printf '127.0.0.1:%s\n' "$((10#$KAFKA_PORT + 2))"; return; fi
    v="$(endpoint KAFKA_MTLS_BROKERS)"
    printf '%s\n' "${v:-127.0.0.1:9094}"
  else
    if [[ -n "${KAFKA_PORT:-}" ]]; then printf '127.0.0.1:%s\n' "$KAFKA_PORT"; return; fi
    v="$(endpoint KAFKA_BROKERS)"
    printf '%s\n' "${v:-127.0.0.1:9092}"
  fi
}

# A log4j configuration that keeps the tools quiet: warnings and errors on stderr only.
log4j_config() {
  local f="$KAFKA_HOME/tools-log4j.properties" level="${KAFKA_TOOLS_LOG_LEVEL:-WARN}" want tmp
  want="$(cat <<EOF
# Generated by scripts/kafka.sh: the console tools log $level and above, to stderr.
log4j.rootLogger=$level, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.stderr.Target=System.err
log4j.logger.org.reflections=ERROR
EOF
  )"
  if [[ ! -f "$f" || "$(cat "$f")" != "$want" ]]; then
    tmp="$f.tmp.$$"
    printf '%s\n' "$want" >"$tmp"
    mv "$tmp" "$f"
  fi
  printf '%s\n' "$f"
}

main() {
  local tool="${1:-}"
  case "$tool" in
    "" ) usage >&2; exit 2 ;;
    -h | --help | help) usage; exit 0 ;;
  esac
  shift
  local spec
  spec="$(tool_class "$tool")" || { printf "kafka: unknown tool '%s'\n\n" "$tool" >&2; usage >&2; exit 2; }
  local class="${spec%% *}" config_opt="${spec#* }"

  local as="" mtls=0 async=0 args=() arg has_bootstrap=0 has_config=0 config_file="" has_group=0 has_partition=0 wants_help=0
  while (($# > 0)); do
    arg="$1"
    shift
    case "$arg" in
      --as)
        (($# > 0)) || die "--as needs a principal (e.g. --as fia)"
        as="$1"
        shift ;;
      --as=*) as="${arg#--as=}" ;;
      --mtls) mtls=1 ;;
      --async) async=1 ;;
      *)
        case "$arg" in
          --bootstrap-server | --bootstrap-server=* | --broker-list | --broker-list=*) has_bootstrap=1 ;;
          "$config_opt") has_config=1 config_file="${1:-}" ;;
          "$config_opt"=*) has_config=1 config_file="${arg#*=}" ;;
          --group | --group=*) has_group=1 ;;
          --partition | --partition=* | --partitions) has_partition=1 ;;
          --help | -h) wants_help=1 ;;
          --sync) async=1 ;;
        esac
        case "$arg" in
          group.id=*) has_group=1 ;;
        esac
        args+=("$arg") ;;
    esac
  done
  if ((mtls)) && [[ -z "$as" ]]; then die "--mtls goes with --as <principal>"; fi

  command -v java >/dev/null 2>&1 || die "java not found: install a JDK 17+ (Debian: apt-get install openjdk-17-jre-headless)"
  [[ -f "$KAFKA_LIBS/kafka-tools-$KAFKA_VERSION.jar" && -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]] ||
    die "the Kafka tools are not installed in $KAFKA_LIBS: run 'npm run stack -- install' (or 'up') first"

  local pre=()
  if [[ "$tool" == console-producer && "$async" == 0 ]]; then pre+=(--sync); fi
  if ((wants_help == 0)); then
    if ((has_bootstrap == 0)); then
      local bootstrap=""
      # A config file of one's own: its bootstrap.servers, if it names them (client-config's do).
      if [[ -n "$config_file" && -r "$config_file" ]]; then
        bootstrap="$(sed -n 's/^[[:space:]]*bootstrap\.servers[[:space:]]*[=:][[:space:]]*//p' "$config_file" | tail -n 1 | tr -d '[:space:]')"
      fi
      pre+=(--bootstrap-server "${bootstrap:-$(default_bootstrap "$mtls")}")
    fi
    if [[ -n "$as" ]]; then
      ((has_config == 0)) || die "--as $as writes and passes $config_opt itself: give one or the other"
      local cc=(client-config "$as")
      ((mtls == 0)) || cc+=(--mtls)
      local file
      file="$(bash "$REPO_ROOT/scripts/stack.sh" "${cc[@]}")" || exit 1
      pre+=("$config_opt" "$file")
      if [[ "$tool" == console-consumer && "$has_group" == 0 && "$has_partition" == 0 && "$as" != admin ]]; then
        pre+=(--group "$as.console-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')" --consumer-property enable.auto.commit=false)
      fi
    fi
  fi

  local log4j opts
  log4j="$(log4j_config)"
  # shellcheck disable=SC2206
  opts=(${KAFKA_TOOLS_JAVA_OPTS:--Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1})
  local cmd=(java "${opts[@]}" -Djava.awt.headless=true -Dlog4j.configuration="file:$log4j"
    -cp "$KAFKA_LIBS/*" "$class" ${pre[@]+"${pre[@]}"} ${args[@]+"${args[@]}"})
  if [[ "$tool" != console-consumer ]]; then exec "${cmd[@]}"; fi
  # --timeout-ms ends the console consumer by an ERROR "terminating consumer process" with a bare
  # TimeoutException: that pair is its normal end here, not an error, so it is left out of stderr
  # (every other line passes; the filter outlives Ctrl-C to pass the last lines). Any other such
  # ERROR (an authorization failure, say) makes the exit status 1, where the tool's own is 0.
  local status
  { "${cmd[@]}" 2>&1 1>&3 3>&- | (trap '' INT TERM; exec awk '
      held != "" {
        if ($0 == "org.apache.kafka.common.errors.TimeoutException") { held = ""; next }
        print held; held = ""; failed = 1
      }
      /ERROR Error processing message, terminating consumer process: *\(org\.apache\.kafka\.tools\.consumer\.ConsoleConsumer\)$/ { held = $0; next }
      { print; fflush() }
      END { if (held != "") { print held; failed = 1 } exit failed }' >&2); status=("${PIPESTATUS[@]}"); } 3>&1
  if ((status[0] != 0)); then exit "${status[0]}"; fi
  exit "${status[1]}"
}

main "$@"
