#!/bin/sh
# ROLE=server: init + serve on 0.0.0.0:8600 with data in /data, and write an activation code for
# the agents to /data/activation. ROLE=agent: wait for that code, register, run.
set -eu
case "${ROLE:-agent}" in
server)
    tether-server init --data-dir /data >/data/admin.key.out
    tether-server serve --data-dir /data --listen 0.0.0.0:8600 --set allow_insecure=yes &
    pid=$!
    until curl -fs http://127.0.0.1:8600/healthz >/dev/null; do sleep 0.2; done
    TETHER_API_KEY=$(cat /data/admin.key) tether activation create --uses 1000 >/data/activation
    wait $pid
    ;;
agent)
    until [ -s /shared/activation ]; do sleep 0.5; done
    exec tether-agent run --foreground --server "${TETHER_SERVER:-http://server:8600}" \
        --data-dir /var/lib/tether --activation "$(cat /shared/activation)" \
        --name "$(hostname)" --machine-id "$(hostname)"
    ;;
esac
