#!/bin/sh
# Runs every libFuzzer target for FUZZ_SECONDS (default 60) each, starting from the committed seed
# corpus; new inputs go to $FUZZ_WORK/<target> (never into the committed corpus) and crashes to
# $FUZZ_WORK/crash-<target>-*. Usage: tests/fuzz/run.sh BUILD_DIR [TARGET...]
set -eu
build=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
secs=${FUZZ_SECONDS:-60}
work=${FUZZ_WORK:-$build/fuzz-work}
targets=${*:-"json b64 utf8 config output_body ids sse route params"}
status=0
for t in $targets; do
    mkdir -p "$work/$t"
    echo "fuzz_$t: ${secs}s"
    if ! "$build/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$work/crash-$t-" \
            "$work/$t" "$here/corpus/$t" > "$work/$t.log" 2>&1; then
        echo "fuzz_$t: FAILED, see $work/$t.log"; status=1
    fi
    grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$work/$t.log" | tail -2 || true
done
exit $status
