#!/usr/bin/env bash
# npm start: bring the local stack up (installing it on first use), run the engine in the
# foreground, and on Ctrl-C stop the engine gracefully and then the stack this start brought up.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

case "${1:-}" in
  -h|--help)
    cat <<'EOF_HELP'
usage: npm start

Installs (first time) and starts the local Temporal dev server and Kafka broker, then runs the
engine: the Temporal worker, the Kafka intake and actions bridges, the HTTP API with the operator
console and partner page (http://127.0.0.1:8080/console, development API keys in
.stack/api-keys.json), and the codec server through which the Web UI shows payloads in clear to
those allowed to see them (sign in at http://127.0.0.1:8234/codec/session, e.g. with the
'operator' key, and turn on "Include cross-origin credentials" in the UI's codec settings; every
decode is recorded on referrals.audit). Ctrl-C, or SIGINT / SIGTERM to npm's own pid, stops the
engine gracefully, then the stack if this command started it (a stack started with
'npm run stack -- up' is left running). Logs are readable lines when standard output is a
terminal, JSON otherwise (LOG_PRETTY=true|false decides instead).
Environment: see README ("Configuration"); KEEP_STACK=1 leaves the stack running on exit.
EOF_HELP
    exit 0 ;;
esac

owns_stack=1
if bash scripts/stack.sh status >/dev/null 2>&1; then owns_stack=0; fi
# Payloads are encrypted: the Web UI decodes them through the engine's codec server (role 'codec').
ui_codec_endpoint="${TEMPORAL_UI_CODEC_ENDPOINT:-}"
if [[ -z "$ui_codec_endpoint" && "${CODEC_SERVER_PORT:-8234}" != 0 ]]; then
  ui_codec_endpoint="http://127.0.0.1:${CODEC_SERVER_PORT:-8234}/codec"
fi
TEMPORAL_UI_CODEC_ENDPOINT="$ui_codec_endpoint" bash scripts/stack.sh up
if [[ "$owns_stack" == 0 && -n "$ui_codec_endpoint" ]]; then
  echo "start: the stack was already running: its Web UI decodes payloads only if it was started with TEMPORAL_UI_CODEC_ENDPOINT=$ui_codec_endpoint"
fi
# 'stack.sh install' generated the local payload key in STACK_HOME; the engine's default is <repo>/.stack.
if [[ -n "${STACK_HOME:-}" && -z "${PAYLOAD_KEYS:-}" && -z "${PAYLOAD_KEYS_FILE:-}" ]]; then
  PAYLOAD_KEYS_FILE="$(cd "$STACK_HOME" && pwd)/payload-keys.json"
  export PAYLOAD_KEYS_FILE
fi

# The broker's CA and the development passwords are where this stack wrote them (the engine's
# defaults are <repo>/.stack): take them from its endpoints file unless set.
endpoints="${STACK_DIR:-${STACK_HOME:-.stack}}/endpoints.env"
if [[ -f "$endpoints" ]]; then
  for var in KAFKA_SSL_CA_FILE KAFKA_CREDENTIALS_FILE; do
    if [[ -z "${!var:-}" ]]; then
      value="$(sed -n "s/^$var=//p" "$endpoints" | head -n 1)"
      if [[ -n "$value" ]]; then export "$var=$value"; fi
    fi
  done
fi

# Development API identities (hashed) and their keys for curl, the CLI and the console.
if [[ -z "${API_IDENTITIES_FILE:-}" ]]; then
  home="${STACK_HOME:-.stack}"
  node --import tsx scripts/dev-identities.ts --out "$home/identities.json" --keys "$home/api-keys.json"
  API_IDENTITIES_FILE="$(cd "$home" && pwd)/identities.json"
  export API_IDENTITIES_FILE
fi
# The public key of the development token-signing key (scripts/dev-identities.ts --token <id> signs with it).
if [[ -z "${API_JWKS_FILE:-}" && -z "${API_JWKS_URL:-}" && -f "$(dirname "$API_IDENTITIES_FILE")/jwks.json" ]]; then
  export API_JWKS_FILE="$(cd "$(dirname "$API_IDENTITIES_FILE")" && pwd)/jwks.json"
fi
echo "start: console http://${API_HOST:-127.0.0.1}:${API_PORT:-8080}/console · partner page /partner · API docs /docs · Temporal UI http://127.0.0.1:${TEMPORAL_UI_PORT:-8233}"
# The broker's development passwords (one per agency, partner and engine principal) and its CA.
echo "start: API keys in ${STACK_HOME:-.stack}/api-keys.json · Kafka passwords in ${STACK_DIR:-${STACK_HOME:-.stack}}/kafka-credentials.json (CA ${STACK_DIR:-${STACK_HOME:-.stack}}/kafka-tls/ca.pem)"
echo "start: Ctrl-C stops the engine and the stack (as does SIGINT or SIGTERM to pid $$ or to npm's own pid)"


engine_pid=""
stop() {
  trap - INT TERM
  if [[ -n "$engine_pid" ]] && kill -0 "$engine_pid" 2>/dev/null; then
    kill -TERM "$engine_pid" 2>/dev/null || true
    wait "$engine_pid" 2>/dev/null || true
  fi
  if [[ "$owns_stack" == 1 && -z "${KEEP_STACK:-}" ]]; then bash scripts/stack.sh down; fi
}
trap 'stop; exit 130' INT TERM

# The sign-in card of the console and the partner page says where this stack's development keys are.
if [[ -z "${API_SIGNIN_HINT:-}" ]]; then
  export API_SIGNIN_HINT="Development keys (this machine's stack): $(cd "${STACK_HOME:-.stack}" && pwd)/api-keys.json — 'operator' for the console, '<agency>-officer' or '<agency>-supervisor' for an agency, 'iom-caseworker' for the partner page."
fi

# On a terminal, readable log lines (pino-pretty); JSON when the output goes to a file or a collector.
if [[ -t 1 && -z "${LOG_PRETTY:-}" ]]; then export LOG_PRETTY=true; fi

# The engine's heap budget, as the image sets it (Dockerfile): a bounded heap keeps RSS flat.
NODE_OPTIONS="${NODE_OPTIONS:---max-old-space-size=384}" node --import tsx workers/engine.ts &
engine_pid=$!
status=0
wait "$engine_pid" || status=$?
engine_pid=""
stop
exit "$status"
