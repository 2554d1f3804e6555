#!/usr/bin/env bash
# A tour of the five scripts in a throwaway data dir: start a REPL, type into it, read its
# output, list, stop. Leaves nothing running and removes its data dir.
set -euo pipefail
cd "$(dirname "$0")/.."
S=skills/background-manager/dist
export BG_DATA_DIR="$(mktemp -d)/data"
export BG_PASSWORD="${BG_PASSWORD:-demo-password}"
trap 'rm -rf "$(dirname "$BG_DATA_DIR")"' EXIT
# Shown as it could be typed: arguments with spaces or shell characters in single quotes.
quote() {
  local a out=()
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./=:@%+-]+$ ]]; then out+=("$a"); else out+=("'${a//\'/\'\\\'\'}'"); fi
  done
  echo "${out[*]}"
}
run() { echo "\$ $(quote "$@")"; "$@"; echo; }

out=$(node $S/start_process.mjs python3 -q)
echo "\$ node $S/start_process.mjs python3 -q"; echo "$out"; echo
id=$(sed -n 's/^Started process \([0-9a-f]*\).*/\1/p' <<<"$out")
run node $S/send_input.mjs "$id" 'print(6*7)'
node $S/get_logs.mjs "$id" --wait-for '^42$' --timeout 30 >/dev/null
run node $S/get_logs.mjs "$id"
run node $S/list_processes.mjs
run node $S/stop_process.mjs "$id"
run node $S/list_processes.mjs
