#!/usr/bin/env bash
# A tour of the five scripts in a throwaway data dir: start a REPL, type into it, read its
# output, list, stop. Leaves nothing running and removes its data dir.
set -euo pipefail
cd "$(dirname "$0")/.."
S=skills/background-manager/scripts
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

out=$(npx tsx $S/start_process.ts python3 -q)
echo "\$ npx tsx $S/start_process.ts python3 -q"; echo "$out"; echo
id=$(sed -n 's/^Started process \([0-9a-f]*\).*/\1/p' <<<"$out")
run npx tsx $S/send_input.ts "$id" 'print(6*7)'
npx tsx $S/get_logs.ts "$id" --wait-for '^42$' --timeout 30 >/dev/null
run npx tsx $S/get_logs.ts "$id"
run npx tsx $S/list_processes.ts
run npx tsx $S/stop_process.ts "$id"
run npx tsx $S/list_processes.ts
