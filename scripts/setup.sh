#!/usr/bin/env bash
# Installs what building and testing TrendDojo needs on a fresh Debian 12 machine (idempotent).
# Rust, Node, Python and git are assumed present; everything else comes from Debian's packages.
set -euo pipefail

need=()
# postgresql: the server binaries the server tests and `trenddojo server dev` run (a private cluster each).
# pgbouncer: the sync tests run a transaction-mode pooler in front of such a cluster (as Supabase's).
for pkg in build-essential pkg-config perl make dbus dbus-x11 gnome-keyring libsecret-tools postgresql pgbouncer; do
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
# cargo-machete finds dependencies no code uses (scripts/test.sh fails on any); built from crates.io once.
if ! command -v cargo-machete >/dev/null 2>&1; then
  echo "setup: installing cargo-machete" >&2
  cargo install cargo-machete --locked --version 0.9.2 >/dev/null 2>&1
fi
