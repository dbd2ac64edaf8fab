#!/bin/sh
# `make demo`: a server with its embedded SQLite store and one agent for this host, both on
# 127.0.0.1, data under ./demo/. Runs two commands through them and shows how to go on.
# `install/demo.sh stop` (or `make demo-stop`) stops both. Re-running restarts cleanly.
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
BIN="$TOP/build/bin"
DEMO="$TOP/demo"
PORT="${DEMO_PORT:-8600}"
URL="http://127.0.0.1:$PORT"

stop_demo() {
    for name in agent server; do
        pidfile="$DEMO/$name.pid"
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            i=0
            while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile"
    done
}

if [ "${1:-}" = "stop" ]; then
    stop_demo
    echo "demo stopped (data kept in $DEMO; remove it to start from scratch)"
    exit 0
fi

stop_demo
mkdir -p "$DEMO"

if curl -fsS -o /dev/null "$URL/healthz" 2>/dev/null; then
    echo "demo: something already answers on $URL; stop it or set DEMO_PORT" >&2
    exit 1
fi

KEY=$("$BIN/tether-server" init --data-dir "$DEMO/server" 2>>"$DEMO/server.log")
setsid "$BIN/tether-server" serve --data-dir "$DEMO/server" --listen "127.0.0.1:$PORT" \
    --log-file "$DEMO/server.log" >/dev/null 2>&1 &
echo $! > "$DEMO/server.pid"

i=0
until curl -fsS -o /dev/null "$URL/healthz" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then echo "demo: server did not start, see $DEMO/server.log" >&2; exit 1; fi
    sleep 0.1
done

export TETHER_SERVER="$URL" TETHER_API_KEY="$KEY"
NAME=$(hostname | tr -c 'A-Za-z0-9._\n-' '-' | cut -c1-63)
if [ ! -f "$DEMO/agent/identity.json" ]; then
    CODE=$("$BIN/tether" activation create)
    "$BIN/tether-agent" register --server "$URL" --activation "$CODE" --data-dir "$DEMO/agent" \
        --name "$NAME" --machine-id "demo-$NAME" >/dev/null
fi
setsid "$BIN/tether-agent" run --foreground --server "$URL" --data-dir "$DEMO/agent" \
    --log-file "$DEMO/agent.log" >/dev/null 2>&1 &
echo $! > "$DEMO/agent.pid"

i=0
until "$BIN/tether" agents -o json 2>/dev/null | grep -q '"online"'; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then echo "demo: agent did not come online, see $DEMO/agent.log" >&2; exit 1; fi
    sleep 0.1
done

USER_OPT="--user $(id -un)"
CONSOLE_USER_HINT=""
# The agent runs as this user here, so it can only run tasks as this user (root is the default).
[ "$(id -u)" -ne 0 ] && CONSOLE_USER_HINT="
  (The demo agent is not root: put $(id -un) in the User field.)"
echo
echo "== tether agents"
"$BIN/tether" agents
echo
echo "== tether run -t $NAME -- uname -a"
"$BIN/tether" run -t "$NAME" $USER_OPT -- uname -a
echo
echo "== tether run -t $NAME -- 'id; echo to stderr >&2; exit 3'"
rc=0
"$BIN/tether" run -t "$NAME" $USER_OPT -- 'id; echo to stderr >&2; exit 3' || rc=$?
echo "(exit code $rc, as on the host)"
cat <<EOT

Tether is running: server $URL (data in $DEMO/server), one agent "$NAME".
Web console: open $URL/ and sign in with the API key
  $KEY
  then Hosts: tick $NAME, "Run on selected", Run (uname -a is filled in).$CONSOLE_USER_HINT
Try it yourself:
  export TETHER_SERVER=$URL
  export TETHER_API_KEY=$KEY
  export PATH=$BIN:\$PATH
  tether run -t $NAME -- 'df -h /'
  tether invocations
  tether logs <task-or-invocation-id>
Logs: $DEMO/server.log, $DEMO/agent.log
Stop it with: make demo-stop
EOT
