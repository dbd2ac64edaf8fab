#!/bin/sh
# Installs the Debian packages Tether needs to build, test and run the demo.
# Idempotent and quiet when nothing is missing.
set -e
PKGS="build-essential cmake pkg-config libwebsockets-dev libjansson-dev libcurl4-openssl-dev
      libssl-dev libsqlite3-dev libcmocka-dev python3 curl procps faketime
      zsh groff-base man-db"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install/deps.sh: installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
