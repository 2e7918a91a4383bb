#!/bin/sh
# test.sh - the one command that runs every test: installs what is missing,
# builds, runs the whole ctest suite (unit tests also under valgrind), then
# the same suite under AddressSanitizer + UndefinedBehaviorSanitizer, then
# every libFuzzer target for FUZZ_SECONDS (default 60) each.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)

echo "== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRELLIS_VALGRIND_TESTS=ON >/dev/null
cmake --build build -j "$jobs"
echo "== tests (unit tests also under valgrind)"
(cd build && ctest --output-on-failure -j 1)

echo "== build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTRELLIS_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs"
echo "== tests under ASan + UBSan"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure -j 1)

echo "== fuzzing (scripts/fuzz.sh ${FUZZ_SECONDS:-60})"
sh scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
