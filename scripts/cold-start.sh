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
"$driver" --port "$port" --native-port "$native" >/dev/null 2>&1 &
pids+=($!)
url="http://127.0.0.1:$port"
curl -sf --retry 30 --retry-connrefused --retry-delay 1 "$url/status" >/dev/null

python3 - "$url" "$app" "$home" "$runs" <<'PY'
import json, sys, time, urllib.request
url, app, home, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def call(method, path, body=None):
    req = urllib.request.Request(url + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)
caps = {"capabilities": {"alwaysMatch": {"browserName": "wry",
        "tauri:options": {"application": app, "args": ["--home", home]}}}}
times = []
for i in range(runs):
    t0 = time.monotonic()
    sid = call("POST", "/session", caps)["value"]["sessionId"]
    shown = False
    deadline = t0 + 60
    # Each probe waits for the page's answer: the loop ends on the first frame that shows the screen.
    while time.monotonic() < deadline:
        v = call("POST", f"/session/{sid}/execute/sync",
                 {"script": "return document.body.innerText.includes('Unlock your journal');", "args": []})
        if v.get("value") is True:
            shown = True
            break
    dt = time.monotonic() - t0
    call("DELETE", f"/session/{sid}")
    if not shown:
        sys.exit(f"cold start: the unlock screen did not appear within 60 s (run {i + 1})")
    times.append(dt)
s = sorted(times)
print(f"cold start of {app} to the unlock screen, {runs} launches: first {times[0]*1000:.0f} ms, "
      f"median {s[len(s)//2]*1000:.0f} ms, min {s[0]*1000:.0f} ms, max {s[-1]*1000:.0f} ms")
PY
