#!/usr/bin/env bash
# The desktop app's benchmark (src-tauri/benches/app.rs), in release mode, in a private D-Bus session with
# an unlocked keyring and a throwaway HOME (as the tests run). Prints numbers; docs/benchmarks.md has them.
# Optional argument: the number of trades for the trade-list measurements (default 100000).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trenddojo/target}"
(cd ui && npm run --silent build >/dev/null)
cargo bench --locked -p trenddojo-app --bench app --no-run >&2
sandbox="$(mktemp -d)"
trap 'rm -rf "$sandbox"' EXIT
mkdir -p "$sandbox/data" "$sandbox/config" "$sandbox/cache"
env HOME="$sandbox" XDG_DATA_HOME="$sandbox/data" XDG_CONFIG_HOME="$sandbox/config" XDG_CACHE_HOME="$sandbox/cache" \
  CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" \
  dbus-run-session -- sh -c '
    printf "%s" bench-keyring-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    cargo bench --locked -p trenddojo-app --bench app -- "$@"
  ' bench "$@"
