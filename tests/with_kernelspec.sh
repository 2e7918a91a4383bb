#!/bin/sh
# with_kernelspec.sh TRELLIS_BINARY COMMAND... - runs COMMAND with the
# Trellis kernelspec installed into a fresh temporary JUPYTER_PATH and a
# throw-away history database, so tests never touch the user's setup.
set -eu
bin=$1
shift
tmp=$(mktemp -d "${TMPDIR:-/tmp}/trellis-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
"$bin" install --prefix "$tmp/prefix" >/dev/null
export JUPYTER_PATH="$tmp/prefix/share/jupyter"
export JUPYTER_DATA_DIR="$tmp/data"
export JUPYTER_RUNTIME_DIR="$tmp/runtime"
export JUPYTER_CONFIG_DIR="$tmp/config"
export IPYTHONDIR="$tmp/ipython"
export TRELLIS_HISTORY="$tmp/history.sqlite"
export TRELLIS_REGISTRY="$tmp/registry.sqlite"
export TRELLIS_TEST_TMP="$tmp"
# Sanitizer reports from kernel processes (which the clients do not watch)
# land in files; any report fails the test.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$tmp/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$tmp/sanitizer"
# CPython's own allocations, which an embedded interpreter leaves at exit
# (see the file); no pattern in it names our code.
export LSAN_OPTIONS="${LSAN_OPTIONS:-}:print_suppressions=0:suppressions=$(cd "$(dirname "$0")" && pwd)/lsan_libpython.supp"
status=0
"$@" || status=$?
if ls "$tmp"/sanitizer.* >/dev/null 2>&1; then
    echo "sanitizer reports from kernel processes:" >&2
    cat "$tmp"/sanitizer.* >&2
    [ "$status" -ne 0 ] || status=1
fi
exit "$status"
