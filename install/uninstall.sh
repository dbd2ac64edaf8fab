#!/bin/sh
# Removes what install.sh installed. Data (/var/lib/tether*, /etc/tether) is kept unless --purge.
set -eu
purge=no
[ "${1:-}" = "--purge" ] && purge=yes
[ "$(id -u)" -eq 0 ] || { echo "uninstall.sh: run as root" >&2; exit 1; }
PREFIX="${PREFIX:-/usr/local}"
for unit in tether-agent tether-server; do
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl disable --now "$unit.service" 2>/dev/null || true
    fi
    rm -f "/etc/systemd/system/$unit.service"
done
command -v systemctl >/dev/null && [ -d /run/systemd/system ] && systemctl daemon-reload || true
rm -f "$PREFIX/bin/tether-agent" "$PREFIX/bin/tether-server" "$PREFIX/bin/tether" \
      "$PREFIX/bin/tether-agent-rollback-check" "$PREFIX/bin/tether-agent.prev"
rm -rf "$PREFIX/share/tether/web"
rmdir "$PREFIX/share/tether" 2>/dev/null || true
if [ "$purge" = yes ]; then
    rm -rf /var/lib/tether /var/lib/tether-server /var/log/tether /etc/tether
fi
echo "tether removed${purge:+ (purge=$purge)}"
