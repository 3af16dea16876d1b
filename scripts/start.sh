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
engine: the Temporal worker and the Kafka intake bridge. Ctrl-C stops the engine, then the stack
if this command started it (a stack started with 'npm run stack -- up' is left running).
Environment: see README ("Configuration"); KEEP_STACK=1 leaves the stack running on exit.
EOF_HELP
    exit 0 ;;
esac

owns_stack=1
if bash scripts/stack.sh status >/dev/null 2>&1; then owns_stack=0; fi
bash scripts/stack.sh up

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

node --import tsx workers/engine.ts &
engine_pid=$!
status=0
wait "$engine_pid" || status=$?
engine_pid=""
stop
exit "$status"
