#!/bin/sh
# Installs the Debian packages `make bench` needs on top of install/deps.sh: an OpenSSH server and
# Ansible (the comparisons), perf for wakeup counts. Idempotent and quiet when nothing is missing.
# ansible-core is the package with the `ansible` command and the builtin modules (`command`); the
# `ansible` package only adds community collections the benchmark does not use.
# Installing openssh-server starts no daemon the benchmark relies on: bench/run.py runs its own
# sshd with its own config on a loopback port and never touches the system one.
set -e
PKGS="openssh-server openssh-client ansible-core linux-perf"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install/bench-deps.sh: installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# The package lists are refreshed only when one of the packages is unknown to them.
for p in $missing; do
    if ! apt-cache show "$p" >/dev/null 2>&1; then
        $SUDO apt-get update -qq
        break
    fi
done
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
