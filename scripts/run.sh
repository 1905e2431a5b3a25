#!/usr/bin/env bash
# Runs TrendDojo on its embedded default: the local encrypted store, loaded with the demo portfolio on
# first run, then shows the accounts, their statistics and the latest trades. Pass any `trenddojo`
# arguments to run that command instead (e.g. `./scripts/run.sh trade list --status open`).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trenddojo/target}"
cargo build --release --locked -p trenddojo-cli >&2
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
