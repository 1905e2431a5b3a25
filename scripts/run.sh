#!/usr/bin/env bash
# Runs TrendDojo on its embedded default: the local encrypted store, loaded with the demo portfolio on
# first run, shows the accounts, their statistics and the latest trades, then opens the desktop app on the
# same store when there is a display (DISPLAY or WAYLAND_DISPLAY). Pass any `trenddojo` arguments to run
# that CLI command instead (e.g. `./scripts/run.sh trade list --status open`).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trenddojo/target}"
if [ $# -gt 0 ] || { [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; }; then
  cargo build --release --locked -p trenddojo-cli >&2
  app=""
else
  # The app embeds ui/dist at compile time: build the UI first, then the CLI and the app in one go.
  (cd ui && npm run --silent build >/dev/null)
  cargo build --release --locked -p trenddojo-cli -p trenddojo-app >&2
  app="$CARGO_TARGET_DIR/release/trenddojo-app"
fi
bin="$CARGO_TARGET_DIR/release/trenddojo"
export TRENDDOJO_HOME="${TRENDDOJO_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/trenddojo}"

# Headless machines have no OS keyring: fall back to a passphrase, as documented.
if [ -z "${TRENDDOJO_PASSPHRASE:-}" ] && [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  export TRENDDOJO_PASSPHRASE="trenddojo-demo"
  echo "No OS keyring session found: using TRENDDOJO_PASSPHRASE=trenddojo-demo for $TRENDDOJO_HOME" >&2
fi

if [ ! -f "$TRENDDOJO_HOME/keyinfo.json" ]; then
  "$bin" init --email demo@trenddojo.com --tier pro >&2
  "$bin" db reset --state demo >&2
fi

if [ $# -gt 0 ]; then
  exec "$bin" "$@"
fi
"$bin" account list
echo
"$bin" stats
echo
"$bin" trade list --limit 15
if [ -n "$app" ]; then
  echo "Opening the TrendDojo app on $TRENDDOJO_HOME" >&2
  exec "$app" --home "$TRENDDOJO_HOME"
fi
echo "No display here: the desktop app opens when ./scripts/run.sh runs in a graphical session." >&2
