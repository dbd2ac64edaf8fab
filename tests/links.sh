#!/bin/sh
# What the binaries must not load (their start time and memory depend on it): libcurl nowhere
# (decision D9), and the task shim, exec'd for every task, neither OpenSSL nor libwebsockets.
# Usage: links.sh BINDIR
set -u
bin=$1
fail=0
check() { # binary forbidden-library...
    f=$bin/$1
    shift
    needed=$(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p')
    if [ -z "$needed" ]; then
        echo "links: cannot read the NEEDED entries of $f" >&2
        fail=1
        return
    fi
    for lib in "$@"; do
        case "$needed" in
        *"$lib"*) echo "links: $f needs $lib:" $needed >&2; fail=1 ;;
        esac
    done
}
check tether libcurl libwebsockets
check tether-agent libcurl
check tether-task-shim libcurl libcrypto libssl libwebsockets
[ $fail = 0 ] && echo "links: ok"
exit $fail
