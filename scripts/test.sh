#!/usr/bin/env bash
# The one command that runs every check: installs what is missing, then rustfmt, clippy (-D warnings)
# and every test, inside a private D-Bus session with an unlocked Secret Service so the OS-keyring path is
# tested for real.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trenddojo/target}"
export CARGO_TERM_COLOR=never

# The UI first: its checks, then the build the app embeds at compile time (ui/dist).
echo "== ui: lint, types, unit tests, build" >&2
(cd ui && npm run --silent lint && npm run --silent typecheck && npm test --silent && npm run --silent build >/dev/null)

echo "== rustfmt" >&2
cargo fmt --all -- --check
echo "== clippy" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== build" >&2
cargo build --workspace --all-targets --locked
echo "== docs (warnings denied; internal items documented too)" >&2
RUSTDOCFLAGS="-D warnings -A rustdoc::private_intra_doc_links" \
  cargo doc --workspace --no-deps --document-private-items --locked --quiet
echo "== unused dependencies" >&2
cargo machete
echo "== performance ratios to same-run floors (fails on a regression of more than 50%)" >&2
"$CARGO_TARGET_DIR/debug/trenddojo-bench" ratios 2000 --check docs/benchmarks.md

# A throwaway HOME so the Secret Service keyring files and any default data folder stay out of the user's.
# The end-to-end test (TRENDDOJO_E2E=1) starts its own Xvfb and tauri-driver inside this session.
sandbox="$(mktemp -d)"
trap 'rm -rf "$sandbox"' EXIT
mkdir -p "$sandbox/data" "$sandbox/config" "$sandbox/cache"
echo "== tests (with a Secret Service for the keyring tests)" >&2
set +e
env HOME="$sandbox" XDG_DATA_HOME="$sandbox/data" XDG_CONFIG_HOME="$sandbox/config" XDG_CACHE_HOME="$sandbox/cache" \
  CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" \
  TRENDDOJO_TEST_KEYRING=1 TRENDDOJO_E2E=1 \
  dbus-run-session -- sh -c '
    printf "%s" test-keyring-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    cargo test --workspace --locked --no-fail-fast
  ' 2>&1 | tee "$sandbox/test.log"
status=${PIPESTATUS[0]}
# The installers: built from the release app, checked, installed, end-to-end tested, removed (docs/packaging.md).
./scripts/package-test.sh 2>&1 | tee -a "$sandbox/test.log"; [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
set -e

# One closing line for the whole run (cargo prints one per test binary, the last often a doc-test "0 passed").
awk '/^test result:/ { p += $4; f += $6 } END { printf "all tests: %d passed, %d failed\n", p, f }' "$sandbox/test.log"
exit "$status"
