#!/usr/bin/env bash
# Builds the release app and the CLI once, then bundles the Linux installers (.deb and .rpm) with the
# Tauri CLI (prebuilt from npm, pinned in packaging/package-lock.json). Prints the packages' paths and sizes.
#
# The CLI binary goes into the same packages at /usr/bin/trenddojo through the bundlers' `files` mapping, given
# here as a configuration overlay because its path depends on CARGO_TARGET_DIR. AppImage is not built: its
# bundler downloads AppRun and linuxdeploy from GitHub at bundle time, which these machines cannot reach (the
# release workflow builds it on GitHub's runners). Expects ui/dist built (scripts/test.sh builds it first).
#
# Output: $CARGO_TARGET_DIR/release/bundle/{deb,rpm}/; the last lines name the two files.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trenddojo/target}"
export CARGO_TERM_COLOR=never
[ -f ui/dist/index.html ] || { echo "package: ui/dist is missing (npm run build in ui/)" >&2; exit 1; }

start=$(date +%s)
echo "== package: release build (app and CLI, one cargo run so they share every dependency)" >&2
cargo build --release --locked -p trenddojo-app -p trenddojo-cli
built=$(date +%s)

release="$CARGO_TARGET_DIR/release"
overlay="$(mktemp --suffix=.json)"
trap 'rm -f "$overlay"' EXIT
python3 - "$release/trenddojo" "$overlay" <<'PY'
import json, sys
cli, out = sys.argv[1], sys.argv[2]
files = {"/usr/bin/trenddojo": cli}
json.dump({"bundle": {"linux": {"deb": {"files": files}, "rpm": {"files": files}}}}, open(out, "w"))
PY
# The overlay's `files` replace the base configuration's, so the base entries are merged in here.
python3 - "$overlay" <<'PY'
import json, sys
base = json.load(open("tauri.conf.json"))["bundle"]["linux"]
out = sys.argv[1]
o = json.load(open(out))
for kind in ("deb", "rpm"):
    merged = dict(base[kind].get("files", {}))
    merged.update(o["bundle"]["linux"][kind]["files"])
    o["bundle"]["linux"][kind]["files"] = merged
json.dump(o, open(out, "w"), indent=1)
PY

echo "== package: bundle .deb and .rpm" >&2
rm -rf "$release/bundle/deb" "$release/bundle/rpm"
(cd src-tauri && ../packaging/node_modules/.bin/tauri bundle --ci --bundles deb,rpm --config "$overlay" >&2)
deb="$(ls "$release"/bundle/deb/*.deb)"
# Tauri's deb bundler compresses with gzip (21 MiB for the app and the CLI, each with SQLCipher, OpenSSL and
# the core); the same files in xz, which dpkg has read since Debian 6, make it about 15 MiB. The package's
# contents and control data are unchanged (dpkg-deb -R keeps md5sums and the control file).
repack="$(mktemp -d)"
dpkg-deb -R "$deb" "$repack/root"
dpkg-deb --root-owner-group -Zxz -z9 -b "$repack/root" "$deb" >/dev/null
rm -rf "$repack"
done_at=$(date +%s)

rpm="$(ls "$release"/bundle/rpm/*.rpm)"
echo "package: release build $((built - start)) s, bundling $((done_at - built)) s" >&2
for f in "$deb" "$rpm"; do
  echo "package: $(basename "$f") $(stat -c %s "$f") bytes" >&2
done
echo "$deb"
echo "$rpm"
