#!/usr/bin/env bash
# Installs what building and testing TrendDojo needs on a fresh Debian 12 machine (idempotent).
# Rust, Node, Python and git are assumed present; everything else comes from Debian's packages.
set -euo pipefail

need=()
for pkg in build-essential pkg-config perl make dbus dbus-x11 gnome-keyring libsecret-tools; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
