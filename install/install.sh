#!/bin/sh
# Installs a built agent (and optionally the server and CLI) on this host under systemd.
#   install/install.sh agent --server URL --activation CODE     # registers on first start
#   install/install.sh server                                   # server + CLI
# Binaries come from build/bin (run `make` first) or from $TETHER_BIN.
set -eu
cd "$(dirname "$0")/.."
BIN="${TETHER_BIN:-$(pwd)/build/bin}"
PREFIX="${PREFIX:-/usr/local}"
role="${1:-}"
[ -n "$role" ] && shift || true

die() { echo "install.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root"

server="" activation=""
while [ $# -gt 0 ]; do
    case "$1" in
    --server) server="$2"; shift 2 ;;
    --activation) activation="$2"; shift 2 ;;
    *) die "unknown option $1" ;;
    esac
done

case "$role" in
agent)
    [ -x "$BIN/tether-agent" ] || die "no $BIN/tether-agent; run make first"
    install -m 0755 "$BIN/tether-agent" "$PREFIX/bin/tether-agent"
    install -m 0755 "$BIN/tether-agent-rollback-check" "$PREFIX/bin/tether-agent-rollback-check"
    install -d -m 0755 /etc/tether
    install -d -m 0711 /var/lib/tether
    install -d -m 0700 /var/log/tether
    if [ ! -f /etc/tether/agent.conf ]; then
        install -m 0600 install/agent.conf /etc/tether/agent.conf
        [ -n "$server" ] && echo "server = $server" >> /etc/tether/agent.conf
        [ -n "$activation" ] && echo "activation = $activation" >> /etc/tether/agent.conf
    fi
    install -m 0644 install/systemd/tether-agent.service /etc/systemd/system/tether-agent.service
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        systemctl enable --now tether-agent.service
    else
        echo "no systemd here: start it with $PREFIX/bin/tether-agent run --config /etc/tether/agent.conf"
    fi
    ;;
server)
    [ -x "$BIN/tether-server" ] || die "no $BIN/tether-server; run make first"
    install -m 0755 "$BIN/tether-server" "$PREFIX/bin/tether-server"
    install -m 0755 "$BIN/tether" "$PREFIX/bin/tether"
    # the man page the build printed from the CLI's --help texts (build/share/man/man1)
    if [ -f "$BIN/../share/man/man1/tether.1" ]; then
        install -d -m 0755 "$PREFIX/share/man/man1"
        install -m 0644 "$BIN/../share/man/man1/tether.1" "$PREFIX/share/man/man1/tether.1"
    fi
    # the web console's files, where the server looks by default (BINDIR/../share/tether/web)
    if [ -d web ]; then
        rm -rf "$PREFIX/share/tether/web"
        install -d -m 0755 "$PREFIX/share/tether/web"
        (cd web && find . -type d ! -name '.*' -exec install -d -m 0755 "$PREFIX/share/tether/web/{}" \; &&
         find . -type f ! -name '.*' -exec install -m 0644 {} "$PREFIX/share/tether/web/{}" \;)
    fi
    install -d -m 0700 /var/lib/tether-server
    install -d -m 0755 /etc/tether
    [ -f /etc/tether/server.conf ] || : > /etc/tether/server.conf
    "$PREFIX/bin/tether-server" init --data-dir /var/lib/tether-server >/dev/null
    install -m 0644 install/systemd/tether-server.service /etc/systemd/system/tether-server.service
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        systemctl enable --now tether-server.service
    fi
    echo "admin API key: /var/lib/tether-server/admin.key"
    echo "web console: the server's URL (http://127.0.0.1:8600/ by default); sign in with an API key"
    ;;
*)
    die "usage: install.sh agent --server URL --activation CODE | install.sh server"
    ;;
esac
