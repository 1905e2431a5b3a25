#!/usr/bin/env bash
# The installers, tested (scripts/test.sh runs this after the workspace's tests, with their build):
#  1. the release workflows checked against GitHub's workflow schema (check-jsonschema from PyPI);
#  2. .deb and .rpm built (scripts/package.sh), their metadata and contents checked (dpkg-deb, rpm -qp);
#  3. the updater tests again with the real .deb as the package the local feed serves and signs;
#  4. the .deb installed (dpkg -i, then apt-get -f install for its dependencies), the installed app's cold
#     start measured, and the end-to-end test run against /usr/bin/trenddojo-app and /usr/bin/trenddojo
#     under Xvfb in a D-Bus session with an unlocked keyring;
#  5. dpkg -r, and the user's data folder checked to be still there and still open with its key.
# The .rpm cannot be installed on Debian (rpm would install it without dependency resolution into a
# database dpkg does not know); it is checked with rpm -qp queries only.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trenddojo/target}"
export CARGO_TERM_COLOR=never
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
fail() { echo "package-test: FAILED: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); echo "package-test: ok: $*" >&2; }

echo "== workflows: GitHub's workflow schema" >&2
"$HOME/.cache/trenddojo/lint-venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows \
  .github/workflows/*.yml >&2 || fail "a workflow does not match GitHub's schema"
ok "workflows match the schema"

mapfile -t built < <(./scripts/package.sh)
deb="${built[0]}"
rpm="${built[1]}"
version="$(cargo metadata --no-deps --format-version 1 --locked |
  python3 -c 'import json,sys; print([p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="trenddojo-app"][0])')"

echo "== .deb: metadata and contents" >&2
deb_size=$(stat -c %s "$deb")
[ "$deb_size" -lt $((15 * 1024 * 1024)) ] || fail ".deb is $deb_size bytes, over 15 MiB"
ok ".deb is $deb_size bytes (< 15 MiB)"
pkg="$(dpkg-deb -f "$deb" Package)"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail ".deb version $(dpkg-deb -f "$deb" Version), workspace $version"
ok ".deb $pkg version $version (the workspace's)"
dpkg-deb -f "$deb" Depends | grep -q libwebkit2gtk-4.1 || fail ".deb does not depend on WebKitGTK"
dpkg-deb -f "$deb" Description | grep -q "command-line tool" || fail ".deb has no long description"
ok ".deb depends on $(dpkg-deb -f "$deb" Depends); short and long description present"
contents="$(dpkg-deb -c "$deb" | awk '{print $6}')"
for f in ./usr/bin/trenddojo-app ./usr/bin/trenddojo ./usr/share/applications/TrendDojo.desktop \
  ./usr/share/mime/packages/trenddojo.xml ./usr/share/icons/hicolor/32x32/apps/trenddojo-app.png \
  ./usr/share/icons/hicolor/128x128/apps/trenddojo-app.png ./usr/share/icons/hicolor/256x256@2/apps/trenddojo-app.png \
  ./usr/share/icons/hicolor/512x512/apps/trenddojo-app.png ./usr/share/metainfo/com.trenddojo.app.metainfo.xml; do
  grep -qxF "$f" <<<"$contents" || fail ".deb lacks $f (has: $(tr '\n' ' ' <<<"$contents"))"
done
ok ".deb holds the app, the CLI, the desktop entry, the MIME type, the metainfo and icons"
x="$(mktemp -d)"
dpkg-deb -x "$deb" "$x"
desktop="$x/usr/share/applications/TrendDojo.desktop"
grep -qx 'Categories=Office;Finance;' "$desktop" || fail "desktop entry category: $(grep Categories "$desktop")"
grep -qx 'MimeType=application/x-trenddojo-backup;' "$desktop" || fail "desktop entry MIME type: $(cat "$desktop")"
grep -q 'glob pattern="\*.tdbackup"' "$x/usr/share/mime/packages/trenddojo.xml" || fail "MIME glob"
if command -v desktop-file-validate >/dev/null 2>&1; then desktop-file-validate "$desktop" >&2 || fail "desktop entry"; fi
[ "$("$x/usr/bin/trenddojo" --version | awk '{print $2}')" = "$version" ] || fail "packaged CLI version"
rm -rf "$x"
ok "desktop entry (Finance, backup MIME type), MIME glob *.tdbackup, packaged CLI $version"

echo "== .rpm: rpm -qp (installing it on Debian is not possible)" >&2
rpm_info="$(rpm -qpi "$rpm" 2>/dev/null)"
grep -qE "^Version +: $version$" <<<"$rpm_info" || fail ".rpm version: $rpm_info"
grep -qE "^License +: " <<<"$rpm_info" || fail ".rpm licence"
grep -q "command-line tool" <<<"$rpm_info" || fail ".rpm long description"
rpm_files="$(rpm -qpl "$rpm" 2>/dev/null)"
for f in /usr/bin/trenddojo-app /usr/bin/trenddojo /usr/share/applications/TrendDojo.desktop \
  /usr/share/mime/packages/trenddojo.xml; do
  grep -qxF "$f" <<<"$rpm_files" || fail ".rpm lacks $f"
done
rpm -qpR "$rpm" 2>/dev/null | grep -q "libwebkit2gtk-4.1.so.0" || fail ".rpm does not require WebKitGTK 4.1: $(rpm -qpR "$rpm" 2>/dev/null | tr '\n' ' ')"
ok ".rpm $(grep -E '^(Name|Version|Release|License) ' <<<"$rpm_info" | awk -F': ' '{printf "%s ", $2}')holds app, CLI, desktop entry, MIME type; requires $(rpm -qpR "$rpm" 2>/dev/null | grep -v rpmlib | tr '\n' ' ')"

# The test executables of the workspace build scripts/test.sh just ran (no rebuild: same units).
tests_json="$(cargo test --workspace --locked --no-run --message-format=json 2>/dev/null)"
exe() {
  python3 -c '
import json, sys
kind, name = sys.argv[1], sys.argv[2]
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == name and kind in m["target"]["kind"]:
        print(m["executable"]); break
' "$1" "$2" <<<"$tests_json"
}
lib_tests="$(exe lib trenddojo_app)"
e2e="$(exe test e2e)"
[ -x "$lib_tests" ] && [ -x "$e2e" ] || fail "the app's test executables were not found (cargo test --workspace --no-run)"

echo "== updates: the real .deb served from 127.0.0.1, signed with a throwaway key" >&2
(cd src-tauri && TRENDDOJO_UPDATE_PACKAGE="$deb" "$lib_tests" update::)

echo "== install: dpkg -i, apt-get -f install" >&2
cleanup() { $SUDO dpkg -r "$pkg" >/dev/null 2>&1 || true; [ -n "${sandbox:-}" ] && rm -rf "$sandbox"; }
trap cleanup EXIT
$SUDO dpkg -i "$deb" >&2 || true
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -f install -y -qq >&2
dpkg -s "$pkg" | grep -q '^Status: install ok installed' || fail "$pkg is not installed"
[ "$(/usr/bin/trenddojo --version | awk '{print $2}')" = "$version" ] || fail "installed CLI version"
ok "$pkg $version installed; /usr/bin/trenddojo-app and /usr/bin/trenddojo present"

sandbox="$(mktemp -d)"
mkdir -p "$sandbox/data" "$sandbox/config" "$sandbox/cache"
echo "== the installed app: cold start, end-to-end test (Xvfb, D-Bus, unlocked keyring)" >&2
env HOME="$sandbox" XDG_DATA_HOME="$sandbox/data" XDG_CONFIG_HOME="$sandbox/config" XDG_CACHE_HOME="$sandbox/cache" \
  CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" TRENDDOJO_E2E=1 TRENDDOJO_E2E_APP=/usr/bin/trenddojo-app \
  E2E="$e2e" SANDBOX="$sandbox" \
  dbus-run-session -- sh -c '
    set -e
    printf "%s" test-keyring-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    "$(dirname "$0")/cold-start.sh" /usr/bin/trenddojo-app "$SANDBOX/cold-home"
    cd src-tauri && "$E2E" --exact the_app_end_to_end_in_a_real_window
  ' "$PWD/scripts/package-test.sh"
ok "the installed app passed the end-to-end test"

echo "== remove: dpkg -r keeps the user's data folder" >&2
data="$sandbox/data/trenddojo"
env HOME="$sandbox" XDG_DATA_HOME="$sandbox/data" TRENDDOJO_PASSPHRASE="uninstall test passphrase" \
  /usr/bin/trenddojo init --email me@example.com --tier pro >/dev/null 2>&1 || fail "installed CLI: init"
env HOME="$sandbox" XDG_DATA_HOME="$sandbox/data" TRENDDOJO_PASSPHRASE="uninstall test passphrase" \
  /usr/bin/trenddojo db reset --state demo >/dev/null 2>&1 || fail "installed CLI: demo data"
before="$(cd "$data" && find . -type f -not -path './backups/*' | sort | xargs sha256sum)"
$SUDO dpkg -r "$pkg" >&2
! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || fail "$pkg still installed"
[ ! -e /usr/bin/trenddojo-app ] && [ ! -e /usr/bin/trenddojo ] || fail "dpkg -r left the binaries"
after="$(cd "$data" && find . -type f -not -path './backups/*' | sort | xargs sha256sum)"
[ "$before" = "$after" ] || fail "the data folder changed on removal"
trades="$(env HOME="$sandbox" XDG_DATA_HOME="$sandbox/data" TRENDDOJO_PASSPHRASE="uninstall test passphrase" \
  "$CARGO_TARGET_DIR/release/trenddojo" --json trade list --limit 5 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
[ "$trades" -gt 0 ] || fail "the journal left behind does not open"
ok "dpkg -r removed the binaries and left $data ($(wc -l <<<"$after") files, unchanged; the journal opens: $trades trades listed)"
echo "package-test: $checks passed, 0 failed" >&2
