#!/usr/bin/env bash
# Installs what building and testing TrendDojo needs on a fresh Debian 12 machine (idempotent).
# Rust, Node, Python and git are assumed present; everything else comes from Debian's packages.
set -euo pipefail

need=()
# postgresql: the server binaries the server tests and `trenddojo server dev` run (a private cluster each).
# pgbouncer: the sync tests run a transaction-mode pooler in front of such a cluster (as Supabase's).
# The desktop app (Tauri 2 on WebKitGTK): libwebkit2gtk-4.1-dev and friends to build it; xvfb,
# webkit2gtk-driver (WebKitWebDriver), xauth and imagemagick to run and screenshot it headless in the
# end-to-end test. rpm (queries of the built .rpm) and desktop-file-utils (desktop entry check): the installer
# tests (scripts/package-test.sh).
for pkg in build-essential pkg-config perl make dbus dbus-x11 gnome-keyring libsecret-tools postgresql pgbouncer \
  curl wget file libssl-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev libwebkit2gtk-4.1-dev \
  xvfb xauth webkit2gtk-driver imagemagick rpm desktop-file-utils python3-venv; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# rust-toolchain.toml pins 1.95.0. These machines cannot download toolchains: if the pinned name is
# missing but the installed stable toolchain is that version, register it under the pinned name.
pinned="$(sed -n 's/^channel = "\(.*\)"/\1/p' "$(dirname "$0")/../rust-toolchain.toml")"
if ! rustup toolchain list | grep -q "^$pinned"; then
  stable_version="$(rustc +stable --version | awk '{print $2}')"
  if [ "$stable_version" = "$pinned" ]; then
    rustup toolchain link "$pinned" "$(rustc +stable --print sysroot)"
  else
    echo "setup: Rust $pinned is pinned but only $stable_version is installed" >&2
    exit 1
  fi
fi
rustup component add --toolchain "$pinned" rustfmt clippy >/dev/null 2>&1 || true

# The UI's packages (ui/package-lock.json), installed again only when the lock file changed.
ui="$(dirname "$0")/../ui"
stamp="$ui/node_modules/.trenddojo-lock.sha256"
want="$(sha256sum "$ui/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci in ui/" >&2
  (cd "$ui" && npm ci --no-audit --no-fund >/dev/null)
  echo "$want" > "$stamp"
fi

# tauri-driver: the WebDriver server the end-to-end test drives the app through.
if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver" ]; then
  echo "setup: cargo install tauri-driver" >&2
  cargo install tauri-driver --locked --quiet
fi

# cargo-machete finds dependencies no code uses (scripts/test.sh fails on any); built from crates.io once.
if ! command -v cargo-machete >/dev/null 2>&1; then
  echo "setup: installing cargo-machete" >&2
  cargo install cargo-machete --locked --version 0.9.2 >/dev/null 2>&1
fi

# The installers: the Tauri CLI (prebuilt from npm, packaging/package-lock.json) bundles .deb/.rpm and makes
# the updater tests' throwaway signing keys; check-jsonschema (PyPI, GitHub's workflow schema vendored in it)
# checks .github/workflows. Both installed again only when their pins change.
pk="$(dirname "$0")/../packaging"
stamp="$pk/node_modules/.trenddojo-lock.sha256"
want="$(sha256sum "$pk/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci in packaging/" >&2
  (cd "$pk" && npm ci --no-audit --no-fund >/dev/null)
  echo "$want" > "$stamp"
fi
venv="$HOME/.cache/trenddojo/lint-venv"
if ! "$venv/bin/check-jsonschema" --version 2>/dev/null | grep -q "0.39.0"; then
  echo "setup: check-jsonschema in $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check check-jsonschema==0.39.0
fi
