#!/bin/sh
# fuzz.sh [SECONDS] - builds the libFuzzer targets with clang (ASan+UBSan
# on) into build-fuzz and runs each for SECONDS (default 60), as many at
# once as there are cores, from its seed corpus in tests/fuzz/NAME/corpus;
# new inputs go to build-fuzz/corpus/NAME. A crash leaves its input in
# build-fuzz/crashes and fails the script: fix it, then keep the input in
# tests/fuzz/NAME/regressions, which ctest replays in every build.
# FUZZ_TARGETS="magic_args gate" runs only those.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}
jobs=$(nproc 2>/dev/null || echo 2)
targets=${FUZZ_TARGETS:-$(cd tests/fuzz && for d in */corpus; do echo "${d%/corpus}"; done)}
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DTRELLIS_FUZZ=ON >/dev/null
# shellcheck disable=SC2046
cmake --build build-fuzz -j "$jobs" \
    --target $(for t in $targets; do echo "fuzz_$t"; done)
mkdir -p build-fuzz/crashes

fuzz_one() {
    t=$1
    mkdir -p "build-fuzz/corpus/$t"
    if ASAN_OPTIONS=detect_leaks=1 "build-fuzz/fuzz_$t" \
            -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 \
            -artifact_prefix="build-fuzz/crashes/$t-" \
            "build-fuzz/corpus/$t" "tests/fuzz/$t/corpus" \
            >"build-fuzz/fuzz_$t.log" 2>&1; then
        echo ok >"build-fuzz/fuzz_$t.status"
    else
        echo failed >"build-fuzz/fuzz_$t.status"
    fi
}

echo "== fuzzing $(echo $targets | wc -w) targets for ${seconds}s each, $jobs at a time"
running=0
for t in $targets; do
    rm -f "build-fuzz/fuzz_$t.status"
    fuzz_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait
        running=0
    fi
done
wait

status=0
for t in $targets; do
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build-fuzz/fuzz_$t.log")
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "build-fuzz/fuzz_$t.log")
    corpus=$(ls "build-fuzz/corpus/$t" | wc -l)
    if [ "$(cat "build-fuzz/fuzz_$t.status" 2>/dev/null)" = ok ]; then
        echo "fuzz_$t: ${execs:-?} executions, no crash (corpus $corpus inputs, peak RSS ${rss:-?} MB)"
    else
        echo "fuzz_$t: FAILED after ${execs:-?} executions; input in build-fuzz/crashes:"
        tail -40 "build-fuzz/fuzz_$t.log"
        status=1
    fi
done
exit $status
