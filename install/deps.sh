#!/bin/sh
# Installs the Debian packages Tether needs to build, test and run the demo, and the npm packages
# of the browser tests (tests/web: playwright-core, driving the distribution's chromium).
# Idempotent and quiet when nothing is missing.
set -e
cd "$(dirname "$0")/.."
PKGS="build-essential cmake pkg-config libwebsockets-dev libwebsockets-evlib-ev libev-dev libjansson-dev
      libssl-dev libsqlite3-dev libcmocka-dev python3 curl procps faketime
      zsh groff-base man-db chromium"
# node and npm: any install that provides both commands will do (nodesource's nodejs has npm).
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "install/deps.sh: installing:$missing"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The browser tests' packages, exactly as locked. npm ci wipes and reinstalls node_modules, so it
# runs only when the lock file changed since the last install (npm keeps a copy of it there).
WEB=tests/web
if ! cmp -s "$WEB/package-lock.json" "$WEB/node_modules/.package-lock.json.installed" 2>/dev/null; then
    echo "install/deps.sh: npm ci in $WEB"
    (cd "$WEB" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$WEB/package-lock.json" "$WEB/node_modules/.package-lock.json.installed"
fi
