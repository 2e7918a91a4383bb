#!/bin/sh
# fuzz.sh - builds the libFuzzer targets with clang (ASan+UBSan on) into
# build-fuzz and runs each for SECONDS (default 60) from its seed corpus in
# tests/fuzz/<target>/corpus; new inputs go to build-fuzz/corpus/<target>.
# A crash leaves its input in build-fuzz/crashes and fails the script.
# FUZZ_TARGETS="magic_args gate" runs only those.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DTRELLIS_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$(nproc 2>/dev/null || echo 2)" \
    --target fuzz_gate fuzz_csv fuzz_connection fuzz_wire fuzz_magic_args
mkdir -p build-fuzz/crashes
status=0
for t in ${FUZZ_TARGETS:-gate csv connection wire magic_args}; do
    mkdir -p "build-fuzz/corpus/$t" "tests/fuzz/$t/corpus"
    echo "== fuzz_$t for ${seconds}s"
    if ! ASAN_OPTIONS=detect_leaks=1 "build-fuzz/fuzz_$t" \
            -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 \
            -artifact_prefix="build-fuzz/crashes/$t-" \
            "build-fuzz/corpus/$t" "tests/fuzz/$t/corpus" \
            2>"build-fuzz/fuzz_$t.log"; then
        tail -40 "build-fuzz/fuzz_$t.log"
        status=1
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" \
        "build-fuzz/fuzz_$t.log" || true
done
exit $status
