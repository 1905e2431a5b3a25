#!/usr/bin/env bash
# Cold start of a built or installed TrendDojo app: from the WebDriver request that launches it to its first
# screen (the unlock screen of a journal with demo data) shown, 5 launches on a private Xvfb through
# tauri-driver. Prints the numbers (docs/benchmarks.md records them); asserts only that the screen appears.
# Usage: scripts/cold-start.sh APP HOME_DIR (HOME_DIR is created; the CLI beside APP makes its journal).
# Run inside a D-Bus session (scripts/package-test.sh does); no keyring access is needed to reach the screen.
set -euo pipefail
app="$1"
home="$2"
cli="$(dirname "$app")/trenddojo"
runs=5
export TRENDDOJO_PASSPHRASE="cold start passphrase"
"$cli" --home "$home" init --email cold@example.com --tier pro >/dev/null 2>&1
"$cli" --home "$home" db reset --state demo >/dev/null 2>&1
unset TRENDDOJO_PASSPHRASE

work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
# Xvfb tells the display it chose on a pipe once it accepts connections: no waiting by the clock.
exec {fd}<> <(:)
Xvfb -displayfd "$fd" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
read -r -u "$fd" display
export DISPLAY=":$display" NO_AT_BRIDGE=1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
native=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
driver="$(command -v tauri-driver || echo "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver")"
"$driver" --port "$port" --native-port "$native" >"${COLD_START_LOG:-/dev/null}" 2>&1 &
pids+=($!)
url="http://127.0.0.1:$port"
curl -sSf --retry 30 --retry-all-errors --retry-delay 1 "$url/status" >/dev/null 2>&1

caps="$(python3 -c 'import json,sys; print(json.dumps({"capabilities": {"alwaysMatch": {"browserName": "wry",
  "tauri:options": {"application": sys.argv[1], "args": ["--home", sys.argv[2]]}}}}))' "$app" "$home")"
probe='{"script":"return document.body.innerText.includes(\"Unlock your journal\");","args":[]}'
times=()
for i in $(seq "$runs"); do
  t0=$(date +%s%N)
  sid="$(curl -sSf -m 60 -H 'Content-Type: application/json' -d "$caps" "$url/session" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["value"]["sessionId"])')"
  # Each probe waits for the page's answer: the loop ends on the first answer that shows the screen.
  shown=""
  for _ in $(seq 20000); do
    if curl -sSf -m 30 -H 'Content-Type: application/json' -d "$probe" "$url/session/$sid/execute/sync" |
      grep -q '"value":true'; then shown=1; break; fi
  done
  t1=$(date +%s%N)
  pid="$(pgrep -n -f "^$app --home $home" || true)"
  curl -sSf -m 60 -X DELETE "$url/session/$sid" >/dev/null
  # The app is single-instance: the next launch must not find this one still closing its store. Wait for
  # its exit through a pidfd (woken by the kernel, no polling).
  [ -z "$pid" ] || python3 -c 'import os, select, sys
try:
    fd = os.pidfd_open(int(sys.argv[1]))
except ProcessLookupError:
    sys.exit(0)
select.select([fd], [], [], 60)' "$pid"
  [ -n "$shown" ] || { echo "cold start: the unlock screen did not appear (run $i)" >&2; exit 1; }
  times+=($(( (t1 - t0) / 1000000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "cold start of $app to the unlock screen, $runs launches: first ${times[0]} ms," \
  "median ${sorted[$((runs / 2))]} ms, min ${sorted[0]} ms, max ${sorted[$((runs - 1))]} ms (all: ${times[*]} ms)"
